//! The embedded front-end over HTTP: every vendored file matches its recorded SHA-256 sum,
//! every file under web/assets/ is served with its media type, ETag and gzip; the message
//! catalogues have the same keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::support::{client, with_tokens, Server};

fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_vendored_file_is_served_unchanged_as_recorded_in_sha256sums() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let sums = std::fs::read_to_string(assets_dir().join("vendor/SHA256SUMS")).unwrap();
    let mut checked = 0;
    for line in sums.lines() {
        let (sum, path) = line.split_once("  ").unwrap();
        let body = client()
            .get(s.url(&format!("/assets/vendor/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(body.status(), 200, "{path}");
        let got: String = Sha256::digest(body.bytes().await.unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, sum, "{path} differs from its recorded sum");
        checked += 1;
    }
    assert!(checked >= 14, "{checked}");
}

#[tokio::test]
async fn every_file_under_web_assets_is_served_with_its_media_type() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let mut files = Vec::new();
    files_under(&assets_dir(), &mut files);
    for file in files {
        let relative = file
            .strip_prefix(assets_dir())
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let response = client()
            .get(s.url(&format!("/assets/{relative}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{relative} is not embedded");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        let expected = match relative.rsplit_once('.').map(|(_, e)| e) {
            Some("js" | "mjs") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("json") => "application/json",
            Some("html") => "text/html; charset=utf-8",
            Some("md") => "text/markdown; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        };
        assert_eq!(content_type, expected, "{relative}");
        assert_eq!(
            response.bytes().await.unwrap().as_ref(),
            std::fs::read(&file).unwrap(),
            "{relative}"
        );
    }
}

#[tokio::test]
async fn assets_revalidate_by_etag_and_compress_with_gzip() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let url = s.url("/assets/vendor/vue/vue.runtime.esm-browser.prod.js");
    let raw = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .unwrap();
    let first = raw
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(first.headers()["content-encoding"], "gzip");
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let etag = first.headers()["etag"].clone();
    let compressed = first.bytes().await.unwrap();
    let plain = raw.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert!(
        compressed.len() < plain.len() / 2,
        "{} vs {}",
        compressed.len(),
        plain.len()
    );
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(compressed.as_ref()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain);
    let again = raw
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_page_is_served_at_the_root_without_a_token() {
    let s = Server::start(with_tokens("127.0.0.1"), 0).await;
    let response = client().get(s.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<script type=\"importmap\">"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no remote origin in the page"
    );
}

fn keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                keys(v, &format!("{prefix}{k}."), out);
            }
        }
        _ => {
            out.insert(prefix.trim_end_matches('.').to_string());
        }
    }
}

#[test]
fn both_catalogues_have_the_same_keys() {
    let read = |name: &str| {
        let text = std::fs::read_to_string(assets_dir().join("app/locales").join(name)).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut out = BTreeSet::new();
        keys(&value, "", &mut out);
        out
    };
    let (en, zh) = (read("en-US.json"), read("zh-CN.json"));
    assert!(en.len() > 50, "{}", en.len());
    let only_en: Vec<_> = en.difference(&zh).collect();
    let only_zh: Vec<_> = zh.difference(&en).collect();
    assert!(
        only_en.is_empty() && only_zh.is_empty(),
        "only en-US: {only_en:?}; only zh-CN: {only_zh:?}"
    );
}
