//! `GET /search?q=`: full text over what the session may read.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{nav, page, refused};
use crate::domain::CohortId;
use crate::store::HitKind;
use crate::web::DeskState;
use crate::web::session::Signed;
use crate::web::views::{self, HitView, SearchPage, person};

/// The longest search text read, in characters.
const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(State(state): State<DeskState>, signed: Signed, Query(query): Query<SearchQuery>) -> Response {
    let q: String = query.q.trim().chars().take(MAX_QUERY_CHARS).collect();
    let mut hits = Vec::new();
    if !q.is_empty() {
        let found = match state.engine.desk_search(&signed.grant, &q).await {
            Ok(f) => f,
            Err(e) => return refused(&e, nav(&signed, &q)),
        };
        // Time zones by cohort, for the dates.
        let zones: HashMap<CohortId, chrono_tz::Tz> = match state.engine.desk_home(&signed.grant).await {
            Ok(h) => h.mentored.iter().chain(&h.own).map(|c| (c.id, c.spec.schedule.timezone())).collect(),
            Err(e) => return refused(&e, nav(&signed, &q)),
        };
        let me = signed.grant.user_id;
        for h in found {
            let tz = zones.get(&h.cohort_id).copied().unwrap_or(chrono_tz::UTC);
            let record = format!("/cohorts/{}/members/{}", h.cohort_id, h.user_id);
            let (href, what) = match h.kind {
                // A mentor reads the answer with its week; a member on their own record.
                HitKind::Answer { checkin_id, track } if h.user_id != me => (
                    format!("/checkins/{checkin_id}#answer-{}", h.ref_id),
                    format!("answer · {}", views::track_name(track)),
                ),
                HitKind::Answer { track, .. } => {
                    (format!("{record}#answer-{}", h.ref_id), format!("answer · {}", views::track_name(track)))
                }
                HitKind::Impact => (format!("{record}#impact-{}", h.ref_id), "impact entry".to_string()),
                HitKind::Step(step) => (format!("{record}#step-{}", step.as_str()), format!("path · {}", step.title())),
            };
            hits.push(HitView {
                href,
                member: if h.user_id == me { "you".to_string() } else { person(h.user_id) },
                when: views::day(h.at, tz),
                what,
                parts: views::snippet_parts(&h.snippet),
            });
        }
    }
    page(StatusCode::OK, &SearchPage { nav: nav(&signed, &q), searched: !q.is_empty(), query: q, hits })
}
