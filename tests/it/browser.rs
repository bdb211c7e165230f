//! The headless-Chromium harness (support/browser.rs) against small pages a
//! local axum server serves on 127.0.0.1: a click that runs the page's own
//! script under a strict Content-Security-Policy, an uncaught error, an
//! inline alert the policy blocks, and one no policy blocks — so each check
//! the report-page tests will lean on is seen both to pass and to fail.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::support::browser::{Browser, screenshot_dir};

/// What every page here that has a policy is served with: scripts only from
/// the server's own files, nothing else at all.
const STRICT_CSP: &str = "default-src 'none'; script-src 'self'";

/// How long a test waits for something the browser does asynchronously.
const WAIT: Duration = Duration::from_secs(10);

const BUTTON_PAGE: &str = r#"<!doctype html>
<html><head><title>driftd browser self-test</title></head>
<body>
<h1>Drift report</h1>
<input id="name" value="">
<button id="go" type="button">Show</button>
<p id="out">waiting</p>
<a id="link" href="/elsewhere" data-tier="critical">elsewhere</a>
<ul><li class="row">one</li><li class="row">two</li><li class="row">three</li></ul>
<script src="/app.js"></script>
</body></html>
"#;

const APP_JS: &str = r#"document.getElementById("go").addEventListener("click", () => {
  const name = document.getElementById("name").value;
  document.getElementById("out").textContent = "clicked by " + name;
});
"#;

const THROWING_PAGE: &str = r#"<!doctype html>
<html><head><title>throws</title></head>
<body><script>throw new Error("driftd-selftest boom");</script></body></html>
"#;

/// An inline alert under the strict policy, then a script of the server's
/// own that runs after it: once that one has run, the inline one had its
/// chance.
const BLOCKED_ALERT_PAGE: &str = r#"<!doctype html>
<html><head><title>blocked</title></head>
<body><p id="after">not yet</p>
<script>alert(1)</script>
<script src="/after.js"></script>
</body></html>
"#;

const AFTER_JS: &str = r#"document.getElementById("after").textContent = "ran";"#;

const ALERT_PAGE: &str = r#"<!doctype html>
<html><head><title>alerts</title></head>
<body><script>alert("driftd-selftest alert")</script></body></html>
"#;

/// Serves the pages on 127.0.0.1; stops when the test's runtime ends.
async fn serve_pages() -> SocketAddr {
    fn page(body: &'static str, csp: Option<&'static str>, content_type: &'static str) -> Response {
        let mut response =
            (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
        if let Some(csp) = csp {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp.parse().unwrap());
        }
        response
    }
    const HTML: &str = "text/html; charset=utf-8";
    const JS: &str = "text/javascript";
    let pages = [
        ("/", BUTTON_PAGE, Some(STRICT_CSP), HTML),
        ("/app.js", APP_JS, Some(STRICT_CSP), JS),
        ("/throws", THROWING_PAGE, None, HTML),
        ("/blocked", BLOCKED_ALERT_PAGE, Some(STRICT_CSP), HTML),
        ("/after.js", AFTER_JS, Some(STRICT_CSP), JS),
        ("/alerts", ALERT_PAGE, None, HTML),
    ];
    // Chromium asks for one on every page; a 404 would be logged as an error
    // and blur what the tests look for.
    let mut app = Router::new().route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    for (path, body, csp, content_type) in pages {
        app = app.route(
            path,
            get(move || async move { page(body, csp, content_type) }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("page server");
    });
    address
}

#[tokio::test]
async fn a_click_runs_the_pages_own_script_under_a_strict_csp() {
    let address = serve_pages().await;
    let browser = Browser::start().await;
    let url = format!("http://{address}/");
    browser.goto(&url).await;
    assert_eq!(browser.title().await, "driftd browser self-test");
    assert_eq!(browser.current_url().await, url);

    browser.find("#name").await.send_keys("alice").await;
    browser.find("#go").await.click().await;
    let out = browser.find("#out").await;
    // The click handler runs synchronously inside the click command.
    assert_eq!(out.text().await, "clicked by alice");

    let link = browser.find("#link").await;
    assert_eq!(link.attr("data-tier").await.as_deref(), Some("critical"));
    assert_eq!(link.attr("data-missing").await, None);
    let rows = browser.find_all("li.row").await;
    let mut texts = Vec::new();
    for row in &rows {
        texts.push(row.text().await);
    }
    assert_eq!(texts, ["one", "two", "three"]);
    assert!(browser.find_all("table").await.is_empty());
    assert!(browser.try_find("table").await.unwrap().is_none());

    let sum = browser
        .exec(
            "return arguments[0] + arguments[1].textContent.length",
            &[json!(40), out.reference()],
        )
        .await;
    assert_eq!(sum, json!(40 + "clicked by alice".len()));

    // Added later by the page: wait_for sees it once it is there.
    browser
        .exec(
            "setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<p id=late>late</p>'), 200)",
            &[],
        )
        .await;
    assert!(browser.try_find("#late").await.unwrap().is_none());
    assert_eq!(browser.wait_for("#late", WAIT).await.text().await, "late");

    assert_eq!(browser.alert_text().await, None);
    assert_eq!(browser.console_errors().await, Vec::<String>::new());

    let path = browser.screenshot("browser-selftest.png").await;
    assert_eq!(path, screenshot_dir().join("browser-selftest.png"));
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
}

#[tokio::test]
async fn an_uncaught_error_is_among_the_console_errors() {
    let address = serve_pages().await;
    let browser = Browser::start().await;
    browser.goto(&format!("http://{address}/throws")).await;
    let errors = browser
        .wait_for_console_error("Uncaught Error: driftd-selftest boom", WAIT)
        .await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    // Each entry is handed out once.
    assert_eq!(browser.console_errors().await, Vec::<String>::new());
}

#[tokio::test]
async fn an_inline_alert_the_csp_blocks_opens_nothing_and_is_reported() {
    let address = serve_pages().await;
    let browser = Browser::start().await;
    browser.goto(&format!("http://{address}/blocked")).await;
    // The script after the inline one ran, so the inline one was passed over.
    assert_eq!(browser.find("#after").await.text().await, "ran");
    assert_eq!(browser.alert_text().await, None);
    // Chromium's words: "Executing inline script violates the following
    // Content Security Policy directive 'script-src 'self''. ... The action
    // has been blocked."
    let errors = browser
        .wait_for_console_error(
            "inline script violates the following Content Security Policy directive 'script-src 'self''",
            WAIT,
        )
        .await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("has been blocked"), "{errors:#?}");
}

#[tokio::test]
async fn an_alert_no_policy_blocks_is_seen_and_holds_up_other_commands() {
    let address = serve_pages().await;
    let browser = Browser::start().await;
    browser.goto(&format!("http://{address}/alerts")).await;
    assert_eq!(
        browser.alert_text().await.as_deref(),
        Some("driftd-selftest alert")
    );
    // While it is open, other commands fail, and the error says why.
    let error = browser
        .try_find("p")
        .await
        .err()
        .expect("an error while the alert is open");
    assert_eq!(error.error, "unexpected alert open");
    assert_eq!(error.command, "POST /element");
    assert!(
        error.to_string().contains("driftd-selftest alert"),
        "{error}"
    );

    browser.dismiss_alert().await;
    assert_eq!(browser.alert_text().await, None);
    assert_eq!(browser.title().await, "alerts");
}

#[tokio::test]
async fn a_page_off_the_machine_goes_to_the_dead_loopback_proxy() {
    let browser = Browser::start().await;
    // Chromium hands the whole URL to the proxy on 127.0.0.1 port 1 without
    // resolving the name (and host-resolver-rules would refuse it anyway):
    // the refused proxy connection is all that happens.
    let error = browser
        .try_goto("http://driftd-selftest.invalid/")
        .await
        .expect_err("navigating off the machine fails");
    assert_eq!(error.command, "POST /url");
    assert!(
        error.message.contains("net::ERR_PROXY_CONNECTION_FAILED"),
        "{error}"
    );
}
