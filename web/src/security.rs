//! Headers every answer carries. The Content-Security-Policy allows scripts, styles, fonts
//! and requests from this origin only (images also as `data:` URLs, which Element Plus' CSS
//! uses), no inline script but the page's import map (allowed by its hash, computed from the
//! embedded page when the server starts), no `eval`, no framing; so an injected string can
//! run nothing and the page can talk to nothing but this server.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::assets;

/// The headers to add to every response.
#[derive(Clone)]
pub(crate) struct SecurityHeaders {
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// The headers for a server that is (`tls`) or is not behind TLS.
    pub(crate) fn new(tls: bool) -> SecurityHeaders {
        let csp = format!(
            "default-src 'none'; script-src 'self' '{}'; style-src 'self'; img-src 'self' data:; \
             font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
            import_map_hash()
        );
        let mut headers = vec![
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::X_FRAME_OPTIONS, "DENY".into()),
            (header::REFERRER_POLICY, "no-referrer".into()),
            (
                HeaderName::from_static("cross-origin-opener-policy"),
                "same-origin".into(),
            ),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-origin".into(),
            ),
            (
                HeaderName::from_static("permissions-policy"),
                "camera=(), microphone=(), geolocation=(), payment=(), usb=()".into(),
            ),
        ];
        if tls {
            headers.push((header::STRICT_TRANSPORT_SECURITY, "max-age=31536000".into()));
        }
        let headers = headers
            .into_iter()
            .map(|(name, value)| {
                (
                    name,
                    HeaderValue::from_str(&value).expect("ASCII header value"),
                )
            })
            .collect();
        SecurityHeaders { headers }
    }

    /// Adds the headers to `response`.
    pub(crate) fn apply(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        response
    }
}

/// `sha256-…` of the text of `index.html`'s `<script type="importmap">`.
fn import_map_hash() -> String {
    let page = std::str::from_utf8(
        assets::find("index.html")
            .expect("index.html is embedded")
            .bytes(),
    )
    .expect("index.html is UTF-8");
    let open = "<script type=\"importmap\">";
    let start = page.find(open).expect("index.html has an import map") + open.len();
    let end = start
        + page[start..]
            .find("</script>")
            .expect("the import map is closed");
    let digest = Sha256::digest(&page.as_bytes()[start..end]);
    format!("sha256-{}", base64(&digest))
}

/// Standard base64 with padding, as CSP hashes are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }
}
