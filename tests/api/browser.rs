//! The real Chromium, driven through ChromeDriver (WebDriver), for the page
//! tests: headless, a fresh profile each time, at a phone's size or a desktop's,
//! with axe-core injected into a page on demand.
//!
//! Chromium and ChromeDriver are Debian's `chromium` and `chromium-driver`
//! (`.ci/run` installs them); axe-core comes from `tests/browser` (npm).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::free_port;

const AXE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/node_modules/axe-core/axe.min.js");

/// A phone (360 × 640) and a desktop (1280 × 800).
#[derive(Debug, Clone, Copy)]
pub enum Viewport {
    Phone,
    Desktop,
}

impl Viewport {
    fn size(self) -> (u32, u32) {
        match self {
            Viewport::Phone => (360, 640),
            Viewport::Desktop => (1280, 800),
        }
    }
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Installs axe-core from the committed lock file, once per test process.
fn install_axe() {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap();
    if *installed || std::path::Path::new(AXE_PATH).exists() {
        *installed = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
        .stdout(Stdio::null())
        .status()
        .expect("npm is installed (it brings axe-core for the page tests)");
    assert!(status.success(), "npm ci in tests/browser failed");
    *installed = true;
}

/// Installs Debian's Chromium and ChromeDriver once per test process when this
/// machine lacks them (as the S3 tests install moto), so `cargo test` needs no
/// set-up of its own.
fn install_chromium() {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap();
    let present = |program: &str| {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if *installed || (present("chromium") && present("chromedriver")) {
        *installed = true;
        return;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    assert!(
        apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium", "chromium-driver"]),
        "Chromium and ChromeDriver are needed for the page tests: apt-get install chromium chromium-driver"
    );
    *installed = true;
}

impl Browser {
    pub async fn start(viewport: Viewport) -> Self {
        tokio::task::spawn_blocking(install_chromium).await.unwrap();
        install_axe();
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (Debian's chromium-driver; .ci/run installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let (width, height) = viewport.size();
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--no-first-run", "--lang=en-US",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        if let Viewport::Phone = viewport {
            // A phone's viewport and pixel ratio, as Chromium's device mode sets them.
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0, "touch": true}});
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with Chromium");
        Browser { client, driver, _profile: profile }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|error| panic!("opening {url}: {error}"));
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// The value of the form field matching `css` (what a person sees in it).
    pub async fn value(&self, css: &str) -> String {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css} on the page"));
        field.prop("value").await.unwrap().unwrap_or_default()
    }

    /// The text of the first element matching `css`; tried again when the page
    /// swapped it (a live refresh) between finding and reading it.
    /// Waits up to 5 seconds for the element (a page still loading).
    pub async fn text(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => {
                    if let Ok(text) = element.text().await {
                        return text;
                    }
                }
                Err(_) if started.elapsed() > Duration::from_secs(5) => panic!("{css} on the page"),
                Err(_) => {}
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{css} kept changing under the reader");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to `seconds` for the element matching `css` to contain `wanted`
    /// (changed by the page's script, not by a reload); its last text otherwise.
    pub async fn wait_for_text(&self, css: &str, wanted: &str, seconds: u64) -> String {
        let started = Instant::now();
        loop {
            let text = self.text(css).await;
            if text.contains(wanted) || started.elapsed() > Duration::from_secs(seconds) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The width the page is laid out at (360 on the phone, 1280 on the desktop).
    pub async fn layout_width(&self) -> u64 {
        let width: Value = self.client.execute("return document.documentElement.clientWidth", vec![]).await.unwrap();
        width.as_u64().unwrap()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css} on the page"));
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.click_located(Locator::Css(css), css).await;
    }

    pub async fn click_link(&self, text: &str) {
        self.click_located(Locator::LinkText(text), &format!("a link {text:?}")).await;
    }

    /// Finds and clicks; found again when a live refresh replaced the element
    /// between finding and clicking it (the demo changes records every few seconds).
    async fn click_located(&self, locator: Locator<'_>, what: &str) {
        let started = Instant::now();
        loop {
            let element = self.client.find(locator).await.unwrap_or_else(|_| panic!("{what} on the page"));
            match element.click().await {
                Ok(()) => return,
                Err(fantoccini::error::CmdError::Standard(error))
                    if error.error == fantoccini::error::ErrorStatus::StaleElementReference
                        && started.elapsed() < Duration::from_secs(10) =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("clicking {what}: {error}"),
            }
        }
    }

    /// Where the link with this text leads (its `href` as written).
    /// Read again when a live refresh replaced the link meanwhile.
    pub async fn link_href(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let link = self.client.find(Locator::LinkText(text)).await.unwrap_or_else(|_| panic!("a link {text:?}"));
            match link.attr("href").await {
                Ok(href) => return href.unwrap_or_else(|| panic!("the link {text:?} leads somewhere")),
                Err(error) if started.elapsed() < Duration::from_secs(10) => {
                    eprintln!("reading the link {text:?} again: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("the link {text:?}: {error}"),
            }
        }
    }

    /// Clicks `css` (a form's button, a link) and waits for the document it leads
    /// to, even at the same address as the one before (a refused form).
    pub async fn click_and_wait(&self, css: &str) {
        // `__submitted` tells a slow answer (the form went, the old page stays
        // until the new one arrives) from a click that sent nothing.
        self.client
            .execute(
                "window.__leaving = true; window.__submitted = false;
                 document.addEventListener('submit', function () { window.__submitted = true; }, true);",
                vec![],
            )
            .await
            .unwrap();
        self.click(css).await;
        let started = Instant::now();
        loop {
            let fresh = self
                .client
                .execute("return window.__leaving !== true && document.readyState === 'complete'", vec![])
                .await
                .unwrap_or(Value::Bool(false));
            if fresh == Value::Bool(true) {
                return;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let state: Value = self
                    .client
                    .execute(
                        "const main = document.querySelector('main');
                         return [window.__submitted === true, document.readyState, location.pathname,
                                 main ? main.innerText.slice(0, 400) : ''];",
                        vec![],
                    )
                    .await
                    .unwrap_or(Value::Null);
                self.screenshot("failed-click").await;
                panic!(
                    "clicking {css} led to no new page after 30 s ([form submitted, readyState, path, the page]: {state})"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the page at `path` to have loaded.
    pub async fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let ready: Value = self.client.execute("return document.readyState", vec![]).await.unwrap();
            if self.path().await == path && ready == "complete" {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "never reached {path} (at {})", self.path().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the page scrolls sideways (it must not, at any size).
    pub async fn scrolls_sideways(&self) -> bool {
        let widths: Value = self
            .client
            // Not innerWidth: a phone's browser widens its layout viewport to fit
            // content that overflows, and innerWidth grows with it.
            .execute("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]", vec![])
            .await
            .unwrap();
        widths[0].as_i64().unwrap() > widths[1].as_i64().unwrap()
    }

    /// axe-core's violations of impact "serious" or "critical" on the page as it
    /// is (WCAG 2.2 AA rules and best practices), one line each.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(AXE_PATH).expect("axe-core is installed");
        self.client.execute(&axe, vec![]).await.expect("axe-core loads into the page");
        let script = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] } })
              .then(results => done(results.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))))
              .catch(error => done(["axe failed: " + error]));
        "#;
        let violations: Value = self.client.execute_async(script, vec![]).await.expect("axe-core runs");
        violations.as_array().unwrap().iter().map(|line| line.as_str().unwrap().to_owned()).collect()
    }

    /// A PNG of the viewport, written to `target/screenshots/NAME.png` (and to
    /// `docs/screenshots/` when `UPDATE_SCREENSHOTS=1`).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(format!("{name}.png")), &png).unwrap();
        if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|value| value == "1") {
            let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::write(docs.join(format!("{name}.png")), &png).unwrap();
        }
    }

    /// Fetches `url` from the page (with its cookies): status, content type and
    /// the body's first bytes as text.
    pub async fn fetch(&self, url: &str) -> (u16, String, String) {
        let script = r#"
            const done = arguments[arguments.length - 1];
            fetch(arguments[0]).then(async response => {
              const bytes = new Uint8Array(await response.arrayBuffer());
              done([response.status, response.headers.get("content-type") || "", String.fromCharCode(...bytes.slice(0, 8))]);
            }).catch(error => done([0, "", String(error)]));
        "#;
        let answer: Value = self.client.execute_async(script, vec![json!(url)]).await.unwrap();
        (
            answer[0].as_u64().unwrap() as u16,
            answer[1].as_str().unwrap().to_owned(),
            answer[2].as_str().unwrap().to_owned(),
        )
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
