//! The desk over HTTP: a browser-like client (no cookie jar, no
//! redirects followed, so each test sees every status and header), and the
//! way a person gets there: `/desk` in the fake Discord, then the link.

use fake_discord::{Actor, FakeDiscord};
use reqwest::header::{self, HeaderMap};

use crate::bot::WAIT;

/// One page or form answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first `name="…" value="…"` hidden input.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\" value=\""))?;
        let rest = &self.body[at + name.len() + 15..];
        Some(rest[..rest.find('"')?].to_string())
    }
}

/// A browser on the desk: its base URL and the session cookie it holds.
#[derive(Debug, Clone)]
pub struct Browser {
    pub base: String,
    pub cookie: Option<String>,
    client: reqwest::Client,
}

impl Browser {
    /// A browser with no cookie, at `base` (the desk's public URL).
    pub fn new(base: &str) -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
        Browser { base: base.trim_end_matches('/').to_string(), cookie: None, client }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let req = match &self.cookie {
            Some(c) => req.header(header::COOKIE, format!("trellis_desk={c}")),
            None => req,
        };
        let r = req.send().await.expect("the desk answers");
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        Answer { status, headers, body: r.text().await.unwrap_or_default() }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn head(&self, path: &str) -> Answer {
        self.send(self.client.head(self.url(path))).await
    }

    /// A form POST from the desk's own origin.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_from(path, form, Some(&self.base.clone())).await
    }

    /// A form POST with this `Origin` (or none).
    pub async fn post_from(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> Answer {
        let mut req = self.client.post(self.url(path)).form(form);
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        self.send(req).await
    }

    /// Open a sign-in link and continue: the session cookie it sets is kept.
    /// Panics unless the link signs in.
    pub async fn sign_in(&mut self, link: &str) -> Answer {
        let page = self.get(link).await;
        assert_eq!(page.status, 200, "the continue page: {}", page.body);
        let token = page.hidden("token").expect("the continue form holds the token");
        let done = self.post("/signin", &[("token", &token)]).await;
        assert_eq!((done.status, done.header("location")), (303, "/"), "{}", done.body);
        let set = done.header("set-cookie").to_string();
        let value = set.strip_prefix("trellis_desk=").and_then(|v| v.split(';').next()).expect("a session cookie");
        self.cookie = Some(value.to_string());
        done
    }
}

/// `actor` runs `/desk`; returns the link button's URL (panics if the
/// reply has none).
pub async fn desk_link(fake: &FakeDiscord, actor: Actor) -> String {
    let h = fake.slash_command(actor.command("desk"));
    let r = fake.wait_interaction_response(&h, WAIT).await;
    assert!(r.is_ephemeral(), "{r:?}");
    let button = &r.data["components"][0]["components"][0];
    assert_eq!(button["style"], 5, "a link button: {r:?}");
    button["url"].as_str().unwrap_or_else(|| panic!("no link: {r:?}")).to_string()
}

/// `actor` runs `/desk`; returns the reply's text.
pub async fn desk_reply(fake: &FakeDiscord, actor: Actor) -> String {
    let h = fake.slash_command(actor.command("desk"));
    let r = fake.wait_interaction_response(&h, WAIT).await;
    r.content().to_string()
}
