//! The PVE API client: one authenticated HTTPS connection pool and PVE's transport rules,
//! shared by every resource module.
//!
//! What lives here is what every PVE call has in common (docs/pve-api.md, "Transport and
//! errors", "Authentication and privileges"): the
//! `Authorization: PVEAPIToken=<id>=<secret>` header, the `{"data": …}` envelope, error text
//! taken from the HTTP reason phrase (PVE's only error text before 8.4, where a `message`
//! member was added), a timeout per request, and bounded retries with exponential backoff
//! for failures another attempt can cure. What each endpoint returns lives in one module
//! per PVE resource, split into a fetch method on [`Client`] and a pure `parse` function
//! (today [`resources`]: `/cluster/resources`). How the server's certificate is trusted
//! lives in [`tls`]; how loosely typed values are read, in [`lenient`].
//!
//! Retries: a GET is retried on any retryable error ([`PveError::is_retryable`]). A POST or
//! PUT changes something (starts a guest, sets a rate), so it is retried only when the
//! request surely did not reach a handler: the connection was never made, or pveproxy
//! answered 595 (it could not reach the node). A 401 is never retried: PVE delays each one
//! by 3 s and the same token fails the same way.
//!
//! The token secret is read in exactly one place, [`Client::new`], to build the header
//! value, which is marked sensitive. No error, log line or `Debug` output contains it.

mod error;
pub mod guest_config;
pub mod guest_status;
pub mod lenient;
pub mod pending;
pub mod power;
pub mod resources;
pub mod tls;
pub mod version;

use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::Method;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::secret::Secret;
pub use error::PveError;
pub use guest_config::{is_digest_conflict, GuestConfig};
pub use guest_status::GuestStatus;
pub use pending::PendingChange;
pub use power::{is_paused_refusal, task_type, PowerAction, TaskStatus};
pub use resources::{parse_cluster_guests, split_tags, GuestResource};
use tls::Trust;
pub use version::PveVersion;

/// Default per-request timeout (`pve.timeout_seconds`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of retries after the first attempt.
pub const DEFAULT_RETRIES: u32 = 2;
/// Wait before the first retry; doubled before each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Characters escaped in API paths: everything that would end or change a path segment's
/// meaning in a URL. `/` is kept (it separates segments); `:`, `@` and `!` (in UPIDs and
/// token ids) are legal in paths.
const PATH_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// How to reach and authenticate to PVE (the config's `pve:` section).
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `https://host:8006`; a trailing `/` or `/api2/json` is tolerated.
    pub url: String,
    /// API token id, `user@realm!tokenname`.
    pub token_id: String,
    /// API token secret (a UUID); never printed.
    pub token_secret: Secret,
    /// Trust only the CA certificates in this PEM file (`pve.tls.ca_file`).
    pub ca_file: Option<PathBuf>,
    /// Accept only the server certificate with this SHA-256 (`pve.tls.fingerprint`; parse
    /// PVE's `AB:CD:…` text with [`crate::fingerprint::parse`]).
    pub fingerprint: Option<[u8; 32]>,
    /// Accept any certificate (`pve.tls.insecure`).
    pub insecure: bool,
    /// Time allowed for one request, answer body included.
    pub timeout: Duration,
    /// Further attempts after a retryable failure (0 = try once).
    pub retries: u32,
}

impl ClientOptions {
    /// Options with the defaults: web PKI trust, [`DEFAULT_TIMEOUT`], [`DEFAULT_RETRIES`].
    pub fn new(
        url: impl Into<String>,
        token_id: impl Into<String>,
        token_secret: Secret,
    ) -> ClientOptions {
        ClientOptions {
            url: url.into(),
            token_id: token_id.into(),
            token_secret,
            ca_file: None,
            fingerprint: None,
            insecure: false,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
        }
    }

    /// The one trust mode the options ask for; contradictions are errors naming the keys.
    fn trust(&self) -> Result<Trust, PveError> {
        match (&self.ca_file, self.fingerprint, self.insecure) {
            (Some(_), Some(_), _) => Err(PveError::Config(
                "pve.tls.ca_file and pve.tls.fingerprint are both set: choose one".into(),
            )),
            (Some(_), None, true) | (None, Some(_), true) => Err(PveError::Config(
                "pve.tls.insecure turns verification off, yet pve.tls.ca_file or \
                 pve.tls.fingerprint is set: remove one"
                    .into(),
            )),
            (Some(path), None, false) => Ok(Trust::CaFile(path.clone())),
            (None, Some(fp), false) => Ok(Trust::Pin(fp)),
            (None, None, true) => Ok(Trust::Insecure),
            (None, None, false) => Ok(Trust::WebPki),
        }
    }
}

/// A PVE API client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct Client {
    /// Connection pool with the chosen TLS trust.
    http: reqwest::Client,
    /// `https://host:8006/api2/json`, no trailing slash.
    api_base: String,
    /// For `Debug` and logs.
    token_id: String,
    /// `PVEAPIToken=<id>=<secret>`, marked sensitive.
    authorization: HeaderValue,
    /// For `Debug`.
    trust: Trust,
    /// Per-request timeout.
    timeout: Duration,
    /// Further attempts after a retryable failure.
    retries: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.api_base)
            .field("token_id", &self.token_id)
            .field("token_secret", &Secret::default())
            .field("trust", &self.trust.to_string())
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// A failed attempt, and whether PVE surely did not act on it (so a write may be retried).
struct Attempt {
    error: PveError,
    not_processed: bool,
}

impl From<PveError> for Attempt {
    fn from(error: PveError) -> Attempt {
        Attempt {
            error,
            not_processed: false,
        }
    }
}

impl Client {
    /// Checks the options and builds the client; no request is made. Errors are
    /// [`PveError::Config`] naming the setting. With `insecure`, logs a warning once.
    pub fn new(opts: ClientOptions) -> Result<Client, PveError> {
        let api_base = api_base(&opts.url)?;
        if opts.token_id.trim().is_empty() {
            return Err(PveError::Config(
                "pve.token_id is empty: set it (user@realm!tokenname) or PVE_API_TOKEN_ID".into(),
            ));
        }
        if !opts.token_id.contains('!') {
            return Err(PveError::Config(format!(
                "pve.token_id {:?} is not an API token id: expected user@realm!tokenname",
                opts.token_id
            )));
        }
        if opts.token_secret.is_empty() {
            return Err(PveError::Config(
                "pve.token_secret is empty: set pve.token_secret or PVE_API_TOKEN_SECRET".into(),
            ));
        }
        if opts.timeout.is_zero() {
            return Err(PveError::Config(
                "pve.timeout_seconds must be above 0".into(),
            ));
        }
        let mut authorization = HeaderValue::from_str(&format!(
            "PVEAPIToken={}={}",
            opts.token_id,
            opts.token_secret.expose()
        ))
        // The value is not shown: it holds the secret.
        .map_err(|_| {
            PveError::Config(
                "pve.token_id or pve.token_secret holds a character not allowed in an HTTP \
                 header (control character or non-ASCII)"
                    .into(),
            )
        })?;
        authorization.set_sensitive(true);

        let trust = opts.trust()?;
        let builder = reqwest::Client::builder()
            .user_agent(concat!("pve-traffic/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.timeout)
            .timeout(opts.timeout)
            // pveproxy gzips every answer over 1 KiB when asked: at 10,000 guests that is
            // ~40 ms of the PVE host's CPU per poll to save 3 MB on a LAN once a minute.
            .no_gzip();
        let builder = match tls::client_config(&trust)? {
            Some(config) => builder.use_preconfigured_tls(config),
            None => builder.use_rustls_tls().tls_built_in_root_certs(true),
        };
        let http = builder
            .build()
            .map_err(|e| PveError::Config(format!("HTTP client setup: {}", chain(&e))))?;
        if trust == Trust::Insecure {
            tracing::warn!(
                url = %api_base,
                "TLS verification is OFF (pve.tls.insecure): anyone between here and PVE can \
                 impersonate it and read the API token; set pve.tls.ca_file or \
                 pve.tls.fingerprint instead"
            );
        }
        Ok(Client {
            http,
            api_base,
            token_id: opts.token_id,
            authorization,
            trust,
            timeout: opts.timeout,
            retries: opts.retries,
        })
    }

    /// `GET <path>?<query>`; returns the `data` member.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, PveError> {
        self.call(Method::GET, path, query).await
    }

    /// `GET <path>?<query>`; deserializes the `data` member straight into `T`, without a
    /// [`Value`] tree of the whole answer (a big list costs its final form, not a tree).
    /// `T` should accept any JSON (see [`parse_envelope`]).
    async fn get_typed<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, PveError> {
        self.call(Method::GET, path, query).await
    }

    /// `POST <path>` with a form body; returns the `data` member (a UPID for tasks).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PveError> {
        self.call(Method::POST, path, form).await
    }

    /// `PUT <path>` with a form body; returns the `data` member (usually `null`).
    pub async fn put(&self, path: &str, form: &[(&str, &str)]) -> Result<Value, PveError> {
        self.call(Method::PUT, path, form).await
    }

    /// The API base URL, `https://host:8006/api2/json`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Runs a request with bounded retries (see the module doc for which); the `data` member
    /// of the answer is deserialized into `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, PveError> {
        let path = normalise_path(path);
        let url = format!(
            "{}{}",
            self.api_base,
            utf8_percent_encode(&path, PATH_ESCAPES)
        );
        let mut backoff = FIRST_BACKOFF;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let failed = match self.attempt(&method, &url, &path, params).await {
                Ok(data) => return Ok(data),
                Err(failed) => failed,
            };
            let may_retry = failed.error.is_retryable()
                && (method == Method::GET || failed.not_processed)
                && attempt <= self.retries;
            if !may_retry {
                return Err(failed.error);
            }
            tracing::warn!(
                %method,
                path = %path,
                attempt,
                error = %failed.error,
                "PVE request failed; retrying in {backoff:?}"
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One HTTP exchange, mapped to `data` or a [`PveError`].
    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<T, Attempt> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(self.timeout);
        request = if *method == Method::GET {
            request.query(params)
        } else {
            request.form(params)
        };
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&e, path))?;
        let status = response.status();
        // hyper keeps a reason phrase that differs from the canonical one as an extension,
        // and reqwest passes response extensions through: PVE's error text.
        let reason_phrase = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).trim().to_string())
            .filter(|r| !r.is_empty());
        tracing::debug!(method = %method, path, status = status.as_u16(), "PVE answered");
        if status.is_success() {
            let body = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(&e, path))?;
            return parse_envelope(&body, path).map_err(Attempt::from);
        }
        // The body of an error answer is optional (401 and 595 have none); a failure to
        // read it does not hide the status.
        let body = response.bytes().await.unwrap_or_default();
        let reason = error_text(status, reason_phrase, &body);
        let error = match status.as_u16() {
            401 => PveError::Unauthorized { reason },
            403 => PveError::Forbidden {
                path: path.to_string(),
                reason,
            },
            code => PveError::Api {
                status: code,
                reason,
                path: path.to_string(),
            },
        };
        Err(Attempt {
            // pveproxy answers 595 when it could not connect to the node: nothing ran.
            not_processed: status.as_u16() == 595,
            error,
        })
    }

    /// Maps a reqwest failure (no HTTP status) to a [`PveError`].
    fn transport_error(&self, e: &reqwest::Error, path: &str) -> Attempt {
        if let Some(detail) = tls::tls_failure(e) {
            return PveError::Tls { detail }.into();
        }
        if e.is_timeout() {
            return PveError::Timeout {
                path: path.to_string(),
                after: self.timeout,
            }
            .into();
        }
        if e.is_decode() {
            return PveError::Malformed {
                path: path.to_string(),
                detail: chain(e),
            }
            .into();
        }
        Attempt {
            not_processed: e.is_connect(),
            error: PveError::Connect {
                url: self.api_base.clone(),
                detail: chain(e),
            },
        }
    }
}

/// `https://host:8006/api2/json` from what the operator wrote.
fn api_base(url: &str) -> Result<String, PveError> {
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/api2/json")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| {
        PveError::Config(format!(
            "pve.url {url:?} is not a URL ({e}): expected https://host:8006"
        ))
    })?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(PveError::Config(format!(
            "pve.url {url:?}: expected https://host:8006"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(PveError::Config(
            "pve.url must not carry credentials: use pve.token_id and pve.token_secret".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(PveError::Config(format!(
            "pve.url {url:?}: expected https://host:8006, without ? or #"
        )));
    }
    Ok(format!("{trimmed}/api2/json"))
}

/// `cluster/resources` → `/cluster/resources`.
fn normalise_path(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// The `data` member of a 2xx body, deserialized into `T`.
///
/// The body is read in one pass, without a [`Value`] tree unless `T` is one. A `T` that
/// accepts any JSON (as [`Value`] and the resource modules' list types do) fails only on
/// broken JSON: "body is not JSON". Should a `T` refuse a shape, that is reported as such
/// rather than as broken JSON.
fn parse_envelope<T: DeserializeOwned>(body: &[u8], path: &str) -> Result<T, PveError> {
    let malformed = |detail: String| PveError::Malformed {
        path: path.to_string(),
        detail,
    };
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|e| {
        malformed(match e.classify() {
            serde_json::error::Category::Data => format!("unexpected content ({e})"),
            _ => format!("body is not JSON ({e})"),
        })
    })?;
    match envelope {
        Envelope::Data(data) => Ok(data),
        Envelope::NoData => Err(malformed("no `data` member in the answer".into())),
        Envelope::NotObject => Err(malformed(
            "expected a JSON object with a `data` member".into(),
        )),
    }
}

/// PVE's `{"data": …}` envelope as it came: other members are skipped unread; when `data`
/// is repeated, the last one counts (as in a JSON object read whole).
enum Envelope<T> {
    Data(T),
    NoData,
    NotObject,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Envelope<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EnvelopeVisitor(std::marker::PhantomData))
    }
}

struct EnvelopeVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for EnvelopeVisitor<T> {
    type Value = Envelope<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object with a `data` member")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut envelope = Envelope::NoData;
        while let Some(key) = map.next_key::<String>()? {
            if key == "data" {
                envelope = Envelope::Data(map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(envelope)
    }

    // Anything else is read to its end (so broken JSON still shows as such) and refused.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Envelope::NotObject)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Envelope::NotObject)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Envelope::NotObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Envelope::NotObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Envelope::NotObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Envelope::NotObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Envelope::NotObject)
    }
}

/// PVE's error text: the reason phrase; else the body's `message` (PVE ≥ 8.4); else the
/// canonical phrase. Per-parameter `errors` (400) are appended.
fn error_text(status: reqwest::StatusCode, reason_phrase: Option<String>, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    let mut text = reason_phrase
        .or(message)
        .or_else(|| status.canonical_reason().map(str::to_string))
        .unwrap_or_default();
    if let Some(Value::Object(errors)) = parsed.as_ref().and_then(|v| v.get("errors")) {
        let list: Vec<String> = errors
            .iter()
            .map(|(param, msg)| {
                let msg = msg.as_str().map_or_else(|| msg.to_string(), str::to_string);
                format!("{param}: {}", msg.trim())
            })
            .collect();
        if !list.is_empty() {
            text = format!("{text} ({})", list.join("; "));
        }
    }
    text
}

/// An error and its sources as one line, repeated messages dropped.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn opts() -> ClientOptions {
        ClientOptions::new(
            "https://pve1.example.com:8006",
            "monitor@pve!traffic",
            Secret::new("5ec2e7-very-secret"),
        )
    }

    #[test]
    fn api_base_tolerates_trailing_parts() {
        for url in [
            "https://pve1:8006",
            "https://pve1:8006/",
            "https://pve1:8006/api2/json",
            " https://pve1:8006/api2/json/ ",
        ] {
            assert_eq!(
                api_base(url).unwrap(),
                "https://pve1:8006/api2/json",
                "{url}"
            );
        }
        for url in [
            "pve1:8006",
            "ftp://pve1",
            "",
            "https://u:p@pve1:8006",
            "https://pve1/?x=1",
        ] {
            let e = api_base(url).unwrap_err();
            assert!(e.to_string().contains("pve.url"), "{e}");
        }
    }

    #[test]
    fn contradictory_tls_settings_are_refused_by_name() {
        let mut o = opts();
        o.ca_file = Some("/etc/pve/pve-root-ca.pem".into());
        o.fingerprint = Some([0; 32]);
        let e = Client::new(o).unwrap_err();
        assert!(
            e.to_string()
                .contains("pve.tls.ca_file and pve.tls.fingerprint"),
            "{e}"
        );
        let mut o = opts();
        o.fingerprint = Some([0; 32]);
        o.insecure = true;
        assert!(Client::new(o)
            .unwrap_err()
            .to_string()
            .contains("pve.tls.insecure"));
    }

    #[test]
    fn bad_credentials_are_config_errors_without_the_secret() {
        let mut o = opts();
        o.token_secret = Secret::default();
        assert!(Client::new(o)
            .unwrap_err()
            .to_string()
            .contains("PVE_API_TOKEN_SECRET"));
        let mut o = opts();
        o.token_id = "monitor@pve".into();
        assert!(Client::new(o)
            .unwrap_err()
            .to_string()
            .contains("user@realm!tokenname"));
        let mut o = opts();
        o.token_secret = Secret::new("bad\nsecret-xyz");
        let e = Client::new(o).unwrap_err();
        assert!(!format!("{e} {e:?}").contains("secret-xyz"), "{e}");
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = Client::new(opts()).unwrap();
        let shown = format!("{c:?} {:?}", opts());
        assert!(!shown.contains("5ec2e7"), "{shown}");
        assert!(shown.contains("monitor@pve!traffic"), "{shown}");
    }

    #[test]
    fn envelope() {
        assert_eq!(
            parse_envelope::<Value>(br#"{"data":[1]}"#, "/x").unwrap(),
            serde_json::json!([1])
        );
        assert_eq!(
            parse_envelope::<Value>(br#"{"data":null}"#, "/x").unwrap(),
            Value::Null
        );
        for body in [&b"{}"[..], b"[]", b"{\"data\":", b""] {
            assert_eq!(
                parse_envelope::<Value>(body, "/x")
                    .unwrap_err()
                    .reason_label(),
                "malformed"
            );
        }
    }

    /// The messages of the one-pass reading are those of reading the whole answer first:
    /// broken JSON anywhere (even after `data`) is "not JSON"; the shape errors name the
    /// shape; the last `data` counts; other members are skipped.
    #[test]
    fn envelope_messages() {
        let detail = |body: &[u8]| match parse_envelope::<Value>(body, "/x").unwrap_err() {
            PveError::Malformed { detail, .. } => detail,
            other => panic!("expected Malformed, got {other:?}"),
        };
        for body in [
            &b""[..],
            b"{\"data\":",
            b"{\"data\":[1],}",
            b"{\"data\":[1]} x",
            b"[1,",
            b"{\"data\":1,\"x\":[}",
        ] {
            let d = detail(body);
            let whole = serde_json::from_slice::<Value>(body).unwrap_err();
            assert_eq!(d, format!("body is not JSON ({whole})"));
        }
        assert_eq!(detail(b"{}"), "no `data` member in the answer");
        assert_eq!(
            detail(b"{\"x\":{\"data\":1}}"),
            "no `data` member in the answer"
        );
        for body in [
            &b"[]"[..],
            b"[{\"data\":1}]",
            b"null",
            b"1",
            b"\"data\"",
            b"true",
        ] {
            assert_eq!(detail(body), "expected a JSON object with a `data` member");
        }
        assert_eq!(
            parse_envelope::<Value>(br#"{"x":[{}],"data":1,"data":{"a":[2]},"y":null}"#, "/x")
                .unwrap(),
            serde_json::json!({"a": [2]})
        );
        // A `T` that refuses a shape is not reported as broken JSON.
        let e = parse_envelope::<Vec<u32>>(br#"{"data":"x"}"#, "/x").unwrap_err();
        assert!(e.to_string().contains("unexpected content"), "{e}");
    }

    #[test]
    fn error_text_prefers_the_reason_phrase() {
        let s = StatusCode::INTERNAL_SERVER_ERROR;
        let body = br#"{"data":null,"message":"VM 100 not running\n"}"#;
        assert_eq!(
            error_text(s, Some("VM 100 not running".into()), body),
            "VM 100 not running"
        );
        assert_eq!(error_text(s, None, body), "VM 100 not running");
        assert_eq!(error_text(s, None, b""), "Internal Server Error");
        let body = br#"{"data":null,"errors":{"type":"value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn'"}}"#;
        assert_eq!(
            error_text(StatusCode::BAD_REQUEST, Some("Parameter verification failed.".into()), body),
            "Parameter verification failed. (type: value 'qemu' does not have a value in the enumeration 'vm, storage, node, sdn')"
        );
    }

    #[test]
    fn paths_are_escaped_but_keep_upid_characters() {
        let p = normalise_path("nodes/pve1/tasks/UPID:pve1:0001:root@pam!sim:");
        assert_eq!(
            utf8_percent_encode(&p, PATH_ESCAPES).to_string(),
            "/nodes/pve1/tasks/UPID:pve1:0001:root@pam!sim:"
        );
        assert_eq!(
            utf8_percent_encode("/a b?#", PATH_ESCAPES).to_string(),
            "/a%20b%3F%23"
        );
    }
}
