//! The desk's handlers: each reads the session, makes one engine call and
//! renders its page. Refusals reveal nothing: what a session may not see
//! answers 404, like what does not exist.

use std::net::SocketAddr;
use std::time::Instant;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::DeskState;
use super::session::{self, Signed};
use super::views::{ContinuePage, HomePage, Link, MessagePage, Nav};
use crate::domain::{CheckInId, CohortId, ReplyId, UserId};
use crate::engine::{EngineError, NoteDelivery};
use crate::store::LinkState;
use crate::telemetry::ErrorChain;

mod cohort;
mod member;
mod search;

pub use cohort::{checkin, cohort};
pub use member::{member, packet, packet_markdown};
pub use search::search;

/// A rendered page with a status.
pub(super) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a desk page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}

/// A page that says one thing.
pub(super) fn message(status: StatusCode, nav: Option<Nav>, title: &str, text: &str) -> Response {
    page(status, &MessagePage { nav, title: title.to_string(), text: text.to_string() })
}

/// The header of a signed-in page.
pub(super) fn nav(signed: &Signed, query: &str) -> Option<Nav> {
    Some(Nav { user_name: signed.grant.user_name.clone(), csrf: signed.csrf.clone(), query: query.to_string() })
}

/// The page for an engine error: unknown or not theirs → 404; the
/// person's to fix → 400 with its text; ours → 500, logged (ids only).
pub(super) fn refused(e: &EngineError, nav: Option<Nav>) -> Response {
    match e {
        EngineError::NotOnDesk => message(StatusCode::NOT_FOUND, nav, "Not found", &e.to_string()),
        e if e.is_user_error() => message(StatusCode::BAD_REQUEST, nav, "Not done", &e.to_string()),
        e => {
            tracing::error!(error = %ErrorChain(e), "desk request failed");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                nav,
                "Something went wrong",
                "Something went wrong on our side; nothing was saved. Please try again in a minute.",
            )
        }
    }
}

/// The live session of a request, or the page that says to sign in.
pub(super) async fn signed(state: &DeskState, headers: &HeaderMap) -> Result<Signed, Response> {
    let not_signed = || {
        message(
            StatusCode::UNAUTHORIZED,
            None,
            "Sign in from Discord",
            "You are not signed in, or your session ended (sessions last 12 hours). Run /desk in your cohort's \
             server for a new sign-in link.",
        )
    };
    let Some(session) = session::session_cookie(headers) else { return Err(not_signed()) };
    match state.engine.desk_session(&session).await {
        Ok(Some(grant)) => Ok(Signed { grant, csrf: session::form_token(&session), session }),
        Ok(None) => Err(not_signed()),
        Err(e) => Err(refused(&e, None)),
    }
}

/// A page's session, as an extractor: a handler that takes a [`Signed`]
/// runs only for a live session; anyone else gets the sign-in page.
impl axum::extract::FromRequestParts<DeskState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &DeskState) -> Result<Self, Response> {
        signed(state, &parts.headers).await
    }
}

/// A POST's own checks: from the desk's origin, with the session's form
/// token. Both failures answer 403 and change nothing.
pub(super) async fn signed_post(state: &DeskState, headers: &HeaderMap, csrf: &str) -> Result<Signed, Response> {
    let forbidden = |text: &str| message(StatusCode::FORBIDDEN, None, "Refused", text);
    if !session::same_origin(headers, &state.origin) {
        return Err(forbidden("This form was not sent from the desk's own page, so nothing was changed."));
    }
    let signed = signed(state, headers).await?;
    if !session::form_token_matches(&signed.session, csrf) {
        return Err(forbidden("This form is out of date or was not sent from your desk; nothing was changed."));
    }
    Ok(signed)
}

/// An id from a path, or `None` (then the page is not found).
pub(super) fn id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|v| *v > 0)
}

/// A Discord user id from a path.
pub(super) fn user(raw: &str) -> Option<UserId> {
    raw.parse::<u64>().ok().filter(|v| *v > 0 && *v < (1 << 63)).map(UserId::new)
}

/// A 303 See Other to a path of the desk.
pub(super) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

pub async fn not_found(State(state): State<DeskState>, headers: HeaderMap) -> Response {
    let nav = signed(&state, &headers).await.ok().and_then(|s| nav(&s, ""));
    message(StatusCode::NOT_FOUND, nav, "Not found", "There is no such page on the desk.")
}

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../../assets/desk.css"),
    )
        .into_response()
}

/// What a link page says when it cannot sign in.
const SPENT: &str = "This sign-in link was used already, or it is older than 10 minutes. Run /desk in Discord \
     for a new one.";
const UNKNOWN_LINK: &str = "This sign-in link is not valid (it may have been cut or altered). Run /desk in \
     Discord for a new one.";
const TOO_MANY: &str = "Too many sign-in attempts from here; wait a minute and try again.";

/// `GET /signin/{token}`: asks to continue; never uses the link up, so a
/// link preview or a mail scanner fetching it changes nothing.
pub async fn continue_page(
    State(state): State<DeskState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
) -> Response {
    if !state.limiter.allow(client.ip(), Instant::now()) {
        return message(StatusCode::TOO_MANY_REQUESTS, None, "Slow down", TOO_MANY);
    }
    if !is_token(&token) {
        return message(StatusCode::NOT_FOUND, None, "Link not valid", UNKNOWN_LINK);
    }
    match state.engine.desk_link_state(&token).await {
        Ok(LinkState::Usable) => page(StatusCode::OK, &ContinuePage { nav: None, token }),
        Ok(LinkState::Spent) => message(StatusCode::GONE, None, "Link used or expired", SPENT),
        Ok(LinkState::Unknown) => message(StatusCode::NOT_FOUND, None, "Link not valid", UNKNOWN_LINK),
        Err(e) => refused(&e, None),
    }
}

/// A link token as `/desk` makes them: 64 hex digits.
fn is_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    token: String,
}

/// `POST /signin`: uses the link up, opens a session, sets its cookie and
/// goes to the desk (the token leaves the address bar).
pub async fn sign_in(
    State(state): State<DeskState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !session::same_origin(&headers, &state.origin) {
        return message(StatusCode::FORBIDDEN, None, "Refused", "Sign in from the desk's own page.");
    }
    if !state.limiter.allow(client.ip(), Instant::now()) {
        return message(StatusCode::TOO_MANY_REQUESTS, None, "Slow down", TOO_MANY);
    }
    if !is_token(&form.token) {
        return message(StatusCode::NOT_FOUND, None, "Link not valid", UNKNOWN_LINK);
    }
    match state.engine.desk_sign_in(&form.token).await {
        Ok(Some((session, grant))) => {
            tracing::info!(guild = %grant.guild_id, user = %grant.user_id, "signed in to the desk");
            let mut r = see_other("/");
            if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&session, state.secure)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(None) => message(StatusCode::GONE, None, "Link used or expired", SPENT),
        Err(e) => refused(&e, None),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /signout`: the session ends on the server and the cookie goes.
pub async fn sign_out(State(state): State<DeskState>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let signed = match signed_post(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = state.engine.desk_sign_out(&signed.session).await {
        return refused(&e, None);
    }
    let mut r = message(StatusCode::OK, None, "Signed out", "You are signed out. Run /desk in Discord to come back.");
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(state.secure)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `GET /`: the cohorts the session mentors, and its own record.
pub async fn home(State(state): State<DeskState>, signed: Signed) -> Response {
    let home = match state.engine.desk_home(&signed.grant).await {
        Ok(h) => h,
        Err(e) => return refused(&e, nav(&signed, "")),
    };
    let me = signed.grant.user_id;
    page(
        StatusCode::OK,
        &HomePage {
            nav: nav(&signed, ""),
            mentored: home
                .mentored
                .iter()
                .map(|c| Link { href: format!("/cohorts/{}", c.id), text: c.spec.name.clone() })
                .collect(),
            own: home
                .own
                .iter()
                .map(|c| Link { href: format!("/cohorts/{}/members/{me}", c.id), text: c.spec.name.clone() })
                .collect(),
        },
    )
}

#[derive(Deserialize)]
pub struct NoteFormData {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

/// `POST /answers/{answer}/note`: a mentor's note, saved exactly as from
/// Discord; back to the page it was written on.
pub async fn note(
    State(state): State<DeskState>,
    headers: HeaderMap,
    Path(answer): Path<String>,
    Form(form): Form<NoteFormData>,
) -> Response {
    let signed = match signed_post(&state, &headers, &form.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(reply_id) = id(&answer).map(ReplyId::new) else {
        return refused(&EngineError::NotOnDesk, nav(&signed, ""));
    };
    match state.engine.desk_note(&signed.grant, reply_id, &form.note).await {
        Ok(saved) => {
            let outcome = match saved.delivery {
                NoteDelivery::Sent => "sent",
                NoteDelivery::Unchanged => "unchanged",
                NoteDelivery::Refused => "refused",
                NoteDelivery::Failed => "failed",
            };
            see_other(&format!("{}?saved={outcome}#answer-{reply_id}", local_path(&form.back)))
        }
        Err(e) => refused(&e, nav(&signed, "")),
    }
}

/// A path of the desk to go back to, from a form: anything that is not a
/// plain local path (another site, `//host`, a scheme) becomes `/`.
fn local_path(back: &str) -> &str {
    let path = back.split(['?', '#']).next().unwrap_or("");
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    if plain { path } else { "/" }
}

/// What a page says after a note was saved (`?saved=`).
pub(super) fn saved_line(saved: Option<&str>) -> Option<String> {
    Some(
        match saved? {
            "sent" => "Note saved and sent to the member by DM.",
            "unchanged" => "Note saved; it was the same text, so nothing new was sent.",
            "refused" => "Note saved. Discord refused the DM (the member's DMs are closed); they will find it in /progress and on their desk.",
            "failed" => "Note saved. Discord did not take the DM just now; the member finds it in /progress and on their desk.",
            _ => return None,
        }
        .to_string(),
    )
}

/// A cohort id from a path.
pub(super) fn cohort_id(raw: &str) -> Option<CohortId> {
    id(raw).map(CohortId::new)
}

/// A check-in id from a path.
pub(super) fn checkin_id(raw: &str) -> Option<CheckInId> {
    id(raw).map(CheckInId::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_goes_back_only_to_a_local_path() {
        assert_eq!(local_path("/checkins/4"), "/checkins/4");
        assert_eq!(local_path("/cohorts/1/members/300?track=scope"), "/cohorts/1/members/300");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil", "javascript:alert(1)", "", "/a b"] {
            assert_eq!(local_path(bad), "/", "{bad}");
        }
    }

    #[test]
    fn a_link_token_is_64_hex_digits() {
        assert!(is_token(&"ab".repeat(32)));
        assert!(!is_token(&"ab".repeat(31)));
        assert!(!is_token(&"zz".repeat(32)));
    }
}
