//! A real browser for the desk's tests: Debian's `chromium`, headless,
//! driven by its `chromedriver` over the W3C WebDriver protocol (JSON over
//! HTTP on loopback). The handful of commands the tests use, over the
//! reqwest the bot already builds, rather than a WebDriver crate and its
//! dependencies.
//!
//! Without `chromedriver` the browser tests are skipped with one line, and
//! fail instead when `TRELLIS_REQUIRE_BROWSER=1` (CI sets it).

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The environment variable that turns a missing browser into a failure.
pub const REQUIRE_ENV: &str = "TRELLIS_REQUIRE_BROWSER";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Whether the browser tests can run here; says why not once, or panics
/// when [`REQUIRE_ENV`] asks for them.
pub fn available() -> bool {
    let found = std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists();
    if !found {
        let why = format!("{CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)");
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("browser tests required ({REQUIRE_ENV}=1) but {why}");
        }
        eprintln!("browser tests skipped: {why}");
    }
    found
}

/// A headless Chromium session; the driver process dies with it.
pub struct Chromium {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Chromium {
    /// Start chromedriver on a free port and open a session, `width` CSS
    /// pixels wide.
    pub async fn start(width: u32) -> Chromium {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},1000"), "--lang=en-US"]
            }
        }}});
        let mut me = Chromium { driver, base, session: String::new(), http };
        let created = me.call("POST", "/session", Some(caps)).await;
        me.session = created["sessionId"].as_str().expect("a session id").to_string();
        me
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path.starts_with("/session/") || path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(serde_json::to_string(&body.unwrap_or_else(|| json!({}))).unwrap()),
        };
        let text = req.send().await.expect("chromedriver answers").text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        value["value"].clone()
    }

    /// A command that must succeed.
    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = self.call(method, path, body).await;
        assert!(v.get("error").is_none(), "WebDriver {method} {path}: {v}");
        v
    }

    pub async fn goto(&self, url: &str) {
        self.ok("POST", "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.ok("GET", "/url", None).await.as_str().unwrap_or("").to_string()
    }

    /// Waits (up to 10 s) until the address holds `part`, as after a click
    /// that navigates; returns it.
    pub async fn wait_url(&self, part: &str) -> String {
        self.wait_url_where(part, |url| url.contains(part)).await
    }

    /// Waits (up to 10 s) until the address is `url` exactly.
    pub async fn wait_url_is(&self, url: &str) -> String {
        self.wait_url_where(url, |u| u == url).await
    }

    async fn wait_url_where(&self, part: &str, done: impl Fn(&str) -> bool) -> String {
        for _ in 0..100 {
            let url = self.url().await;
            if done(&url) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the browser never reached an address with {part}: {}", self.url().await)
    }

    pub async fn source(&self) -> String {
        self.ok("GET", "/source", None).await.as_str().unwrap_or("").to_string()
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> String {
        let v = self.ok("POST", "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    /// How many elements match a CSS selector.
    pub async fn count(&self, css: &str) -> usize {
        let v = self.ok("POST", "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().map_or(0, Vec::len)
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.ok("POST", &format!("/element/{e}/click"), None).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.ok("POST", &format!("/element/{e}/value"), Some(json!({"text": text}))).await;
    }

    /// The rendered text of the first element matching `css`.
    /// Found again if the page changed under it (a navigation still landing).
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            let e = self.find(css).await;
            let v = self.call("GET", &format!("/element/{e}/text"), None).await;
            if v.get("error").is_none() {
                return v.as_str().unwrap_or("").to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the text of {css} could not be read")
    }

    /// Whether a JavaScript dialog (an `alert` some markup ran) is open.
    pub async fn alert_open(&self) -> bool {
        self.call("GET", "/alert/text", None).await.get("error").is_none()
    }

    /// The page as a PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let v = self.ok("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap_or("")).expect("a PNG")
    }

    /// The browser's cookies, as WebDriver reports them.
    pub async fn cookies(&self) -> Vec<Value> {
        self.ok("GET", "/cookie", None).await.as_array().cloned().unwrap_or_default()
    }

    pub async fn quit(mut self) {
        let _ = self.call("DELETE", &format!("/session/{}", self.session), None).await;
        let _ = self.driver.kill().await;
    }
}
