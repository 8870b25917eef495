//! The UI in real headless Chromium against the server over the fake source: every page in
//! both languages and both themes, checked against what the API answers, with no console
//! error and no request leaving the origin; screenshots land in target/web-screenshots/.

use serde_json::{json, Value};

use crate::cdp::Browser;
use crate::support::{with_tokens, Server, OPERATOR, VIEWER};

/// Generated guests beyond the three named ones: enough that the table must virtualise.
const EXTRA: u32 = 2_000;

async fn start(name: &str) -> (Server, Browser) {
    let server = Server::start(with_tokens("127.0.0.1"), EXTRA).await;
    let browser = Browser::start(name).await;
    (server, browser)
}

/// Opens the UI with `token` and `locale` already chosen and the system theme `dark`.
async fn open(server: &Server, browser: &Browser, token: &str, locale: &str, dark: bool) {
    let scheme = if dark { "dark" } else { "light" };
    browser
        .call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        )
        .await;
    browser.goto(&server.url("/assets/vendor/README.md")).await;
    browser
        .wait_for("document.readyState === 'complete'", "the origin loads")
        .await;
    browser
        .eval(&format!(
            "localStorage.setItem('pve-traffic-locale', {locale:?}); localStorage.removeItem('pve-traffic-theme'); \
             sessionStorage.setItem('pve-traffic-token', {token:?}); true"
        ))
        .await;
}

fn text(selector: &str) -> String {
    format!("document.querySelector({selector:?})?.innerText ?? ''")
}

/// Every request went to `server`'s origin (or stayed in the page: data:, blob:).
fn assert_same_origin(server: &Server, browser: &Browser) {
    let origin = server.url("/");
    let requests = browser.requests();
    assert!(!requests.is_empty());
    for url in requests {
        let local = url.starts_with(&origin)
            || url.starts_with("data:")
            || url.starts_with("blob:")
            || url == "about:blank";
        assert!(local, "a request left the origin: {url}");
    }
}

/// No console error, exception or error log entry; `expected_401` lets through Chromium's
/// network log entries for the 401s that ask for a token.
fn assert_no_errors(browser: &Browser, expected_401: bool) {
    let mut errors = browser.errors();
    if expected_401 {
        errors.retain(|e| !(e.contains("\"source\":\"network\"") && e.contains("status of 401")));
    }
    assert!(
        errors.is_empty(),
        "errors in the page:\n{}",
        errors.join("\n")
    );
}

async fn visit_every_page(server: &Server, browser: &Browser, locale: &str, dark: bool) {
    let label = format!("{locale}-{}", if dark { "dark" } else { "light" });
    let zh = locale == "zh-CN";
    let (_, system) = server.get("/api/system/stats", Some(VIEWER)).await;
    let (_, logs) = server.get("/api/logs?period=30d", Some(VIEWER)).await;
    let (_, rules) = server.get("/api/rules", Some(VIEWER)).await;

    browser.goto(&server.url("/#/")).await;
    browser
        .wait_for(
            "document.querySelector('[data-test=guest-count]')",
            "the overview",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.documentElement.classList.contains('dark')")
            .await,
        json!(dark)
    );
    assert_eq!(
        browser.eval("document.documentElement.lang").await,
        json!(locale)
    );
    assert_eq!(
        browser.eval(&text("[data-test=guest-count]")).await,
        json!(system["data"]["guests"].to_string())
    );
    assert_eq!(
        browser.eval(&text("[data-test=nav-guests]")).await,
        json!(if zh { "虚拟机" } else { "Guests" })
    );
    browser.screenshot(&format!("{label}-overview")).await;

    browser.click("[data-test=nav-guests]").await;
    browser
        .wait_for(
            "document.querySelector('.el-table-v2__row')",
            "the guests table",
        )
        .await;
    let count = browser.eval(&text("[data-test=guest-count]")).await;
    assert!(
        count.as_str().unwrap().contains(&(EXTRA + 3).to_string()),
        "{count}"
    );
    let rendered = browser
        .eval("document.querySelectorAll('.el-table-v2__row').length")
        .await
        .as_u64()
        .unwrap();
    assert!(
        rendered > 5 && rendered < 200,
        "rows are virtualised: {rendered} rendered"
    );
    assert_eq!(browser.eval("location.hash").await, json!("#/guests"));
    browser.screenshot(&format!("{label}-guests")).await;

    browser
        .goto(&server.url("/#/guests?q=prod&sort=month_rx_bytes&order=desc"))
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('.el-table-v2__row').length === 2",
            "the search",
        )
        .await;
    assert_eq!(
        browser.eval(&text(".el-table-v2__row a")).await,
        json!("101"),
        "sorted by month received, most first"
    );

    browser.click(".el-table-v2__row a").await;
    browser
        .wait_for(
            "document.querySelector('[data-test=history-chart] canvas')",
            "the guest's chart",
        )
        .await;
    assert_eq!(browser.eval("location.hash").await, json!("#/guest/101"));
    browser.screenshot(&format!("{label}-guest-24h")).await;
    let quota = browser.eval(&text("[data-test=quota-monthly-cap]")).await;
    assert!(quota.as_str().unwrap().contains("110.0 %"), "{quota}");
    browser.click("[data-test=preset-7d]").await;
    browser
        .wait_for(
            "location.hash === '#/guest/101?period=7d'",
            "the 7-day preset in the URL",
        )
        .await;
    browser
        .wait_for(
            "document.querySelector('[data-test=history-chart] canvas')",
            "the chart again",
        )
        .await;
    browser.screenshot(&format!("{label}-guest")).await;

    browser.click("[data-test=nav-rules]").await;
    browser
        .wait_for(
            "document.querySelector('[data-test=rules] tbody tr')",
            "the rules",
        )
        .await;
    let rows = browser
        .eval("document.querySelectorAll('[data-test=rules] tbody tr').length")
        .await;
    assert_eq!(rows, json!(rules["data"].as_array().unwrap().len()));
    browser.screenshot(&format!("{label}-rules")).await;

    browser.goto(&server.url("/#/logs?period=30d")).await;
    browser
        .wait_for(
            "document.querySelector('[data-test=log-table] tbody tr')",
            "the action log",
        )
        .await;
    let rows = browser
        .eval("document.querySelectorAll('[data-test=log-table] tbody tr').length")
        .await;
    assert_eq!(rows, json!(logs["data"].as_array().unwrap().len()));
    browser
        .goto(&server.url("/#/logs?period=30d&action=restore"))
        .await;
    browser
        .wait_for(
            "document.querySelectorAll('[data-test=log-table] tbody tr').length === 1",
            "the action filter",
        )
        .await;
    browser.screenshot(&format!("{label}-logs")).await;

    browser.click("[data-test=nav-health]").await;
    browser
        .wait_for(
            "document.querySelector('[data-test=enforcer]')",
            "the health page",
        )
        .await;
    let enforcer = browser.eval(&text("[data-test=enforcer]")).await;
    assert!(
        enforcer
            .as_str()
            .unwrap()
            .contains(if zh { "降级" } else { "degraded" }),
        "{enforcer}"
    );
    assert!(enforcer
        .as_str()
        .unwrap()
        .contains("pve2: connection refused"));
    browser.screenshot(&format!("{label}-health")).await;
}

#[tokio::test]
async fn every_page_in_both_languages_and_both_themes() {
    let (server, browser) = start("pages").await;
    for locale in ["en-US", "zh-CN"] {
        for dark in [false, true] {
            open(&server, &browser, VIEWER, locale, dark).await;
            visit_every_page(&server, &browser, locale, dark).await;
        }
    }
    assert_no_errors(&browser, false);
    assert_same_origin(&server, &browser);
}

#[tokio::test]
async fn the_token_dialog_appears_on_401_and_the_toggle_switches_the_theme() {
    let (server, browser) = start("token").await;
    browser
        .call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
        )
        .await;
    browser.goto(&server.url("/#/rules")).await;
    browser
        .wait_for(
            "document.querySelector('#token-input')?.offsetParent",
            "the token dialog",
        )
        .await;
    browser.screenshot("token-dialog").await;
    assert!(
        !browser.errors().is_empty(),
        "the 401s were logged, so the filter below is needed"
    );
    browser
        .eval(&format!(
            "(() => {{ const i = document.querySelector('#token-input'); i.value = {OPERATOR:?}; \
             i.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()"
        ))
        .await;
    browser.click("#token-save").await;
    browser
        .wait_for(
            "document.querySelector('[data-test=rules] tbody tr')",
            "the rules after the token",
        )
        .await;
    browser
        .wait_for(
            "document.querySelector('[data-test=session]')?.innerText.includes('alice')",
            "the session",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.documentElement.classList.contains('dark')")
            .await,
        json!(false)
    );
    browser.click("[data-test=theme]").await;
    browser
        .wait_for(
            "document.documentElement.classList.contains('dark')",
            "dark after the toggle",
        )
        .await;
    assert_eq!(
        browser
            .eval("localStorage.getItem('pve-traffic-theme')")
            .await,
        json!("dark")
    );
    let stored: Value = browser.eval("document.cookie + location.search").await;
    assert!(
        !stored.as_str().unwrap().contains(OPERATOR),
        "the token is in no URL or cookie"
    );
    assert_no_errors(&browser, true);
    assert_same_origin(&server, &browser);
}

#[tokio::test]
async fn an_operator_releases_a_guest_and_a_viewer_has_no_button() {
    let (server, browser) = start("release").await;
    open(&server, &browser, VIEWER, "en-US", false).await;
    browser.goto(&server.url("/#/guest/101")).await;
    browser
        .wait_for(
            "document.querySelector('[data-test=quota-monthly-cap]')",
            "the guest page",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector('[data-test=release]') === null")
            .await,
        json!(true)
    );

    open(&server, &browser, OPERATOR, "en-US", false).await;
    browser.goto(&server.url("/#/guest/101")).await;
    browser
        .wait_for(
            "document.querySelector('[data-test=release]')",
            "the release button",
        )
        .await;
    browser.click("[data-test=release]").await;
    browser
        .wait_for(
            "document.querySelector('.release-box input')",
            "the reason prompt",
        )
        .await;
    browser
        .eval("(() => { const i = document.querySelector('.release-box input'); i.value = 'paid the invoice'; \
               i.dispatchEvent(new Event('input', {bubbles: true})); return true; })()")
        .await;
    browser.screenshot("release-prompt").await;
    browser.click(".release-box .el-button--primary").await;
    browser
        .wait_for(
            "document.querySelector('[data-test=not-enforced]')",
            "the guest without penalty",
        )
        .await;
    let release = server
        .source
        .log()
        .into_iter()
        .find(|e| e.action == "release")
        .expect("the release is logged");
    assert_eq!(
        (release.actor.as_str(), release.message.as_str()),
        ("alice", "paid the invoice")
    );
    browser.screenshot("released").await;
    assert_no_errors(&browser, false);
    assert_same_origin(&server, &browser);
}
