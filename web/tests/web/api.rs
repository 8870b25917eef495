//! Every API route over HTTP: what it answers, and each way a request can be wrong.

use serde_json::Value;

use crate::fake::now_ms;
use crate::support::{client, with_tokens, Server, OPERATOR, VIEWER};

async fn server() -> Server {
    Server::start(with_tokens("127.0.0.1"), 0).await
}

fn vmids(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| g["vmid"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn vms_lists_every_guest_with_its_period_usage() {
    let s = server().await;
    let (status, body) = s.get("/api/vms", Some(VIEWER)).await;
    assert_eq!(status, 200);
    assert_eq!(vmids(&body["data"]), [101, 102, 203]);
    assert_eq!(body["data"][0]["tags"], serde_json::json!(["prod", "web"]));
    assert_eq!(body["data"][0]["enforced"], true);
}

#[tokio::test]
async fn vm_answers_one_guest_and_404_for_an_unknown_one_and_400_for_a_bad_id() {
    let s = server().await;
    let (status, body) = s.get("/api/vm/102", Some(VIEWER)).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["guest"]["name"], "db");
    assert_eq!(body["data"]["quotas"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"]["enforcement"], Value::Null);
    assert_eq!(s.get("/api/vm/104", Some(VIEWER)).await.0, 404);
    let (status, body) = s.get("/api/vm/abc", Some(VIEWER)).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("VMID"), "{body}");
}

#[tokio::test]
async fn source_failures_become_503_and_500() {
    let s = server().await;
    let (status, body) = s.get("/api/vm/503", Some(VIEWER)).await;
    assert_eq!(status, 503);
    assert!(body["error"].as_str().unwrap().contains("retry"), "{body}");
    assert_eq!(s.get("/api/history/500", Some(VIEWER)).await.0, 500);
}

#[tokio::test]
async fn stats_default_to_today_and_take_periods_and_explicit_ranges() {
    let s = server().await;
    let (status, body) = s.get("/api/stats", Some(VIEWER)).await;
    assert_eq!(status, 200);
    let day_start = "2025-03-15T00:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    assert_eq!(body["data"]["range"]["start_ms"], day_start);
    assert_eq!(body["data"]["range"]["end_ms"], day_start + 86_400_000);
    let (_, month) = s.get("/api/stats?period=month", Some(VIEWER)).await;
    let month_start = "2025-03-01T00:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    assert_eq!(month["data"]["range"]["start_ms"], month_start);
    let (_, last) = s.get("/api/stats?period=last_month", Some(VIEWER)).await;
    let feb = "2025-02-01T00:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    assert_eq!(last["data"]["range"]["start_ms"], feb);
    assert_eq!(last["data"]["range"]["end_ms"], month_start);
    let (status, body) = s
        .get(
            "/api/stats?start=2025-03-01T00:00:00Z&end=1741046400",
            Some(VIEWER),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["range"]["end_ms"], 1_741_046_400_000i64);
    assert!(body["data"]["top"].as_array().unwrap().len() <= 10);
}

#[tokio::test]
async fn bad_ranges_are_400_with_what_to_change() {
    let s = server().await;
    let cases = [
        ("/api/stats?period=fortnight", "unknown period"),
        ("/api/stats?period=today&start=1", "not both"),
        ("/api/stats?end=1741046400", "needs start"),
        ("/api/stats?start=yesterday-ish", "not a time"),
        ("/api/stats?start=1741046400&end=1741046400", "empty"),
        ("/api/stats?start=1741046400&end=1700000000", "empty"),
        ("/api/history/101?start=0", "longer than 400 days"),
        (
            "/api/logs?start=1970-01-01T00:00:00Z&end=2025-03-15T00:00:00Z",
            "longer than 400 days",
        ),
    ];
    for (path, expected) in cases {
        let (status, body) = s.get(path, Some(VIEWER)).await;
        assert_eq!(status, 400, "{path}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(expected), "{path}: {error}");
    }
}

#[tokio::test]
async fn unknown_and_repeated_query_parameters_are_refused() {
    let s = server().await;
    let (status, body) = s.get("/api/stats?perod=month", Some(VIEWER)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("known: period, start, end"),
        "{body}"
    );
    let (status, _) = s
        .get("/api/stats?period=month&period=today", Some(VIEWER))
        .await;
    assert_eq!(status, 400);
    let (status, body) = s.get("/api/vms?x=1", Some(VIEWER)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no query parameters"),
        "{body}"
    );
}

#[tokio::test]
async fn history_defaults_to_24h_in_buckets_covering_the_range() {
    let s = server().await;
    let (status, body) = s.get("/api/history/101", Some(VIEWER)).await;
    assert_eq!(status, 200);
    let data = &body["data"];
    assert_eq!(data["range"]["end_ms"], now_ms());
    assert_eq!(data["range"]["start_ms"], now_ms() - 86_400_000);
    assert_eq!(data["step_seconds"], 300);
    assert_eq!(data["points"].as_array().unwrap().len(), 288);
    assert_eq!(s.get("/api/history/999", Some(VIEWER)).await.0, 404);
}

#[tokio::test]
async fn logs_filter_and_limit() {
    let s = server().await;
    let (status, body) = s.get("/api/logs", Some(VIEWER)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        2,
        "the 40-day-old entry is outside 24h"
    );
    let (_, body) = s
        .get("/api/logs?period=30d&action=restore", Some(VIEWER))
        .await;
    assert_eq!(vmids(&body["data"]), [102]);
    let (_, body) = s
        .get(
            "/api/logs?period=30d&vmid=101&result=ok&rule=monthly-cap",
            Some(VIEWER),
        )
        .await;
    assert_eq!(vmids(&body["data"]), [101]);
    let (_, body) = s
        .get("/api/logs?start=2025-01-01T00:00:00Z&limit=1", Some(VIEWER))
        .await;
    assert_eq!(vmids(&body["data"]), [101], "newest first");
    for bad in ["limit=0", "limit=5001", "limit=many", "vmid=x"] {
        let (status, _) = s.get(&format!("/api/logs?{bad}"), Some(VIEWER)).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn rules_quotas_enforcements_and_system_stats() {
    let s = server().await;
    let (_, rules) = s.get("/api/rules", Some(VIEWER)).await;
    assert_eq!(rules["data"][0]["name"], "monthly-cap");
    let (_, quotas) = s.get("/api/quotas", Some(VIEWER)).await;
    assert_eq!(quotas["data"].as_array().unwrap().len(), 3);
    assert_eq!(quotas["data"][0]["state"], "enforced");
    let (_, enforced) = s.get("/api/enforcements", Some(VIEWER)).await;
    assert_eq!(vmids(&enforced["data"]), [101]);
    let (_, system) = s.get("/api/system/stats", Some(VIEWER)).await;
    assert_eq!(system["data"]["enforcer"]["state"], "degraded");
    assert_eq!(system["data"]["guests"], 3);
}

#[tokio::test]
async fn export_downloads_each_format_as_an_attachment() {
    let s = server().await;
    for (format, content_type) in [
        ("csv", "text/csv"),
        ("json", "application/json"),
        ("html", "text/html; charset=utf-8"),
        ("svg", "image/svg+xml"),
        ("png", "image/png"),
    ] {
        let response = client()
            .get(s.url(&format!("/api/export?vm=101&format={format}&period=7d")))
            .bearer_auth(VIEWER)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{format}");
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"pve-traffic-101.{format}\"").as_str()
        );
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    let response = client()
        .get(s.url("/api/export?vm=all&format=csv&theme=dark"))
        .header("x-api-token", VIEWER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "vmid,rx,tx\nall,1,2\n");
}

#[tokio::test]
async fn export_errors() {
    let s = server().await;
    for (path, status, expected) in [
        ("/api/export", 400, "vm=… is needed"),
        ("/api/export?vm=101&format=gif", 400, "not one of"),
        ("/api/export?vm=101&theme=blue", 400, "light or dark"),
        ("/api/export?vm=101&width=wide", 400, "number of pixels"),
        ("/api/export?vm=101&format=png&width=9000", 400, "8000"),
        ("/api/export?vm=104", 404, "no guest"),
    ] {
        let (got, body) = s.get(path, Some(VIEWER)).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(expected),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn an_operator_releases_a_penalty_and_the_action_log_names_the_token() {
    let s = server().await;
    let (status, body) = s
        .post(
            "/api/guests/101/release",
            Some(OPERATOR),
            r#"{"reason": "customer paid"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["rules"], serde_json::json!(["monthly-cap"]));
    let logged = s
        .source
        .log()
        .into_iter()
        .find(|e| e.action == "release")
        .unwrap();
    assert_eq!(
        (logged.actor.as_str(), logged.message.as_str()),
        ("alice", "customer paid")
    );
    let (_, enforced) = s.get("/api/enforcements", Some(VIEWER)).await;
    assert_eq!(vmids(&enforced["data"]), Vec::<u64>::new());
    let (status, body) = s
        .post(
            "/api/guests/101/release",
            Some(OPERATOR),
            r#"{"reason": "again"}"#,
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn release_errors() {
    let s = server().await;
    let long = format!(r#"{{"reason": "{}"}}"#, "x".repeat(501));
    let big = format!(r#"{{"reason": "{}"}}"#, "x".repeat(20_000));
    for (path, body, status) in [
        ("/api/guests/101/release", "", 400),
        ("/api/guests/101/release", "reason=x", 400),
        ("/api/guests/101/release", r#"{"reason": "  "}"#, 400),
        (
            "/api/guests/101/release",
            r#"{"reason": "x", "force": true}"#,
            400,
        ),
        ("/api/guests/101/release", long.as_str(), 400),
        ("/api/guests/101/release", big.as_str(), 413),
        ("/api/guests/104/release", r#"{"reason": "x"}"#, 404),
        ("/api/guests/102/release", r#"{"reason": "x"}"#, 409),
        ("/api/guests/x/release", r#"{"reason": "x"}"#, 400),
    ] {
        let (got, answer) = s.post(path, Some(OPERATOR), body).await;
        assert_eq!(got, status, "{path} {body:.40}: {answer}");
    }
    assert!(s.source.log().iter().all(|e| e.action != "release"));
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_the_envelope() {
    let s = server().await;
    assert_eq!(s.get("/api/nothing", Some(VIEWER)).await.0, 404);
    assert_eq!(s.get("/assets/app/missing.js", None).await.0, 404);
    assert_eq!(s.post("/api/vms", Some(VIEWER), "{}").await.0, 405);
    assert_eq!(
        s.get("/api/guests/101/release", Some(OPERATOR)).await.0,
        405
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let s = server().await;
    let (status, doc) = s.get("/api/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 13, "{:?}", paths.keys());
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let query = if path == "/api/export" { "?vm=101" } else { "" };
            let url = s.url(&format!("{}{query}", path.replace("{vmid}", "101")));
            let request = match method.as_str() {
                "get" => client().get(url),
                "post" => client().post(url).body(r#"{"reason": "documented"}"#),
                other => panic!("unexpected method {other}"),
            };
            let response = request.bearer_auth(OPERATOR).send().await.unwrap();
            assert_eq!(response.status(), 200, "{method} {path}");
        }
    }
}
