//! The front-end, embedded in the binary: `web/assets/` (the UI's own ES modules, styles and
//! message catalogues, and the vendored libraries under `vendor/`, see its README). Nothing is
//! read from disk or fetched at run time.
//!
//! Each file is served with its media type, a strong ETag (answering `If-None-Match` with 304)
//! and `Cache-Control: no-cache`, so browsers revalidate cheaply and never run a stale UI
//! after an upgrade; text files are gzip-compressed once, on first request, for clients that
//! accept it.

use std::io::Write;
use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

/// One embedded file.
pub(crate) struct Asset {
    /// Its path under `web/assets/`.
    pub(crate) path: &'static str,
    bytes: &'static [u8],
    prepared: OnceLock<Prepared>,
}

struct Prepared {
    etag: HeaderValue,
    gzip: Option<Vec<u8>>,
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        /// Every embedded file.
        pub(crate) static ASSETS: [Asset; [$($path),*].len()] = [$(Asset {
            path: $path,
            bytes: include_bytes!(concat!("../assets/", $path)),
            prepared: OnceLock::new(),
        }),*];
    };
}

assets! {
    "index.html",
    "app/api.js",
    "app/chart.js",
    "app/format.js",
    "app/i18n.js",
    "app/main.js",
    "app/shell.js",
    "app/style.css",
    "app/theme.js",
    "app/token-dialog.js",
    "app/ui.js",
    "app/locales/en-US.json",
    "app/locales/zh-CN.json",
    "app/pages/guest.js",
    "app/pages/guests.js",
    "app/pages/health.js",
    "app/pages/logs.js",
    "app/pages/overview.js",
    "app/pages/rules.js",
    "vendor/README.md",
    "vendor/SHA256SUMS",
    "vendor/echarts/LICENSE",
    "vendor/echarts/LICENSE-d3",
    "vendor/echarts/NOTICE",
    "vendor/echarts/echarts.esm.min.js",
    "vendor/element-plus/LICENSE",
    "vendor/element-plus/dark-css-vars.css",
    "vendor/element-plus/index.css",
    "vendor/element-plus/index.full.min.mjs",
    "vendor/element-plus/locale-en.min.mjs",
    "vendor/element-plus/locale-zh-cn.min.mjs",
    "vendor/vue-i18n/LICENSE",
    "vendor/vue-i18n/vue-i18n.esm-browser.prod.js",
    "vendor/vue/LICENSE",
    "vendor/vue/vue.runtime.esm-browser.prod.js",
}

/// The embedded file at `path` (under `web/assets/`).
pub(crate) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

impl Asset {
    /// The file's bytes.
    pub(crate) fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// Its media type, from its name.
    pub(crate) fn content_type(&self) -> &'static str {
        let ext = self.path.rsplit_once('.').map_or("", |(_, ext)| ext);
        match ext {
            "html" => "text/html; charset=utf-8",
            "js" | "mjs" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "json" => "application/json",
            "md" => "text/markdown; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }

    fn prepared(&self) -> &Prepared {
        self.prepared.get_or_init(|| {
            let digest = Sha256::digest(self.bytes);
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a header value");
            let gzip = (self.bytes.len() > 1024).then(|| gzip(self.bytes));
            Prepared { etag, gzip }
        })
    }

    /// The answer to a GET with `request` headers: 304 if the client's copy is current, the
    /// gzip-compressed file if it accepts that, else the file.
    pub(crate) fn respond(&self, request: &HeaderMap) -> Response {
        let prepared = self.prepared();
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, prepared.etag.clone());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        let current = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',')
                    .any(|t| t.trim().as_bytes() == prepared.etag.as_bytes())
            });
        if current {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type()),
        );
        let accepts_gzip = request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        match &prepared.gzip {
            Some(compressed) if accepts_gzip => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                (headers, compressed.clone()).into_response()
            }
            _ => (headers, self.bytes).into_response(),
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}
