//! How the client decides to trust a PVE server's certificate.
//!
//! PVE serves a certificate signed by a CA it made itself, which no operating system trusts
//! (docs/pve-api.md, "TLS"), so the usual "system roots" default fails on almost every
//! cluster. The operator picks one of four ways (`pve.tls` in the config):
//!
//! - **CA file** (`ca_file`): trust exactly the certificates in that PEM file (usually the
//!   cluster's `/etc/pve/pve-root-ca.pem`), with normal chain and host-name checks;
//! - **fingerprint pin** (`fingerprint`): accept the server iff the SHA-256 of its end-entity
//!   certificate equals the pin, the value PVE's GUI shows under the node's certificates.
//!   Host name, chain and expiry are not checked: the pin is the whole trust decision, as
//!   with `ssh` host keys, and works when the cluster is reached by IP;
//! - **insecure**: accept any certificate (logged loudly once at start);
//! - none of these: the public web PKI roots, for a cluster with an ACME certificate.
//!
//! In the pin and insecure modes the handshake signatures are still verified with the ring
//! provider's algorithms, so the peer must hold the key of the certificate it shows.
//!
//! Everything here uses the ring provider explicitly, so no process-wide default provider
//! is needed (and aws-lc is not compiled in).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};

use super::PveError;
use crate::fingerprint;

/// The trust decision, as chosen from the client options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// The public web PKI roots.
    WebPki,
    /// Only the CA certificates in this PEM file.
    CaFile(std::path::PathBuf),
    /// Exactly the end-entity certificate with this SHA-256.
    Pin([u8; 32]),
    /// Anything.
    Insecure,
}

impl std::fmt::Display for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::WebPki => f.write_str("public web PKI roots"),
            Trust::CaFile(p) => write!(f, "CA file {}", p.display()),
            Trust::Pin(fp) => write!(f, "SHA-256 pin {}", fingerprint::format(fp)),
            Trust::Insecure => f.write_str("NO verification (insecure)"),
        }
    }
}

/// The ring provider every TLS object here is built with.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for `trust`; `None` for [`Trust::WebPki`], which
/// is reqwest's own rustls setup with its built-in web PKI roots (no extra root crate).
/// `CaFile` errors name the file.
pub fn client_config(trust: &Trust) -> Result<Option<rustls::ClientConfig>, PveError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PveError::Config(format!("TLS setup: {e}")))?;
    let config = match trust {
        Trust::WebPki => return Ok(None),
        Trust::CaFile(path) => builder
            .with_root_certificates(load_ca_file(path)?)
            .with_no_client_auth(),
        Trust::Pin(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier {
                pin: Some(*pin),
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier {
                pin: None,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(Some(config))
}

/// Reads every certificate of a PEM file into a root store.
fn load_ca_file(path: &Path) -> Result<rustls::RootCertStore, PveError> {
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| PveError::Config(format!("pve.tls.ca_file: cannot read {shown}: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert = cert.map_err(|e| {
            PveError::Config(format!("pve.tls.ca_file: {shown} is not valid PEM: {e}"))
        })?;
        roots.add(cert).map_err(|e| {
            PveError::Config(format!(
                "pve.tls.ca_file: {shown} holds a certificate that cannot be a trust anchor: {e}"
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(PveError::Config(format!(
            "pve.tls.ca_file: {shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----, \
             e.g. a copy of /etc/pve/pve-root-ca.pem)"
        )));
    }
    Ok(roots)
}

/// SHA-256 of a DER certificate.
pub fn fingerprint_of(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// The presented certificate is not the pinned one; carried inside the rustls error so the
/// client can report both fingerprints.
#[derive(Debug)]
pub struct FingerprintMismatch {
    /// The pin.
    pub expected: [u8; 32],
    /// SHA-256 of the certificate the server presented.
    pub presented: [u8; 32],
}

impl std::fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "certificate fingerprint mismatch: expected {}, server presented {}",
            fingerprint::format(&self.expected),
            fingerprint::format(&self.presented)
        )
    }
}

impl std::error::Error for FingerprintMismatch {}

/// Accepts the end-entity certificate iff its SHA-256 equals `pin` (any certificate when
/// `pin` is `None`: the insecure mode), and verifies handshake signatures normally.
#[derive(Debug)]
struct PinVerifier {
    pin: Option<[u8; 32]>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(expected) = self.pin else {
            return Ok(ServerCertVerified::assertion());
        };
        let presented = fingerprint_of(end_entity.as_ref());
        // Not secret data, so a plain comparison is fine.
        if presented == expected {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(FingerprintMismatch {
                    expected,
                    presented,
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Finds the TLS failure inside a transport error chain, if there is one, as text for
/// [`PveError::Tls`]. `io::Error` hides its payload from `source()`, so it is opened with
/// `get_ref` at every level.
pub(crate) fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(describe(t));
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = tls_failure(inner) {
                return Some(found);
            }
        }
        cur = e.source();
    }
    None
}

fn describe(e: &rustls::Error) -> String {
    if let rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner))) = e {
        if let Some(m) = inner.downcast_ref::<FingerprintMismatch>() {
            return m.to_string();
        }
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_sha256_of_der() {
        // SHA-256("abc"), a published test vector.
        assert_eq!(
            fingerprint::format(&fingerprint_of(b"abc")),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_config_error_naming_it() {
        let e = client_config(&Trust::CaFile("/nonexistent/ca.pem".into())).unwrap_err();
        assert!(
            e.to_string()
                .contains("pve.tls.ca_file: cannot read /nonexistent/ca.pem"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("pve-tls-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = client_config(&Trust::CaFile(empty)).unwrap_err();
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn mismatch_is_found_inside_io_errors() {
        let mismatch = rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(FingerprintMismatch {
                expected: [0xAB; 32],
                presented: [0xCD; 32],
            }),
        )));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, mismatch);
        let text = tls_failure(&io).unwrap();
        assert!(text.starts_with("certificate fingerprint mismatch: expected AB:AB:"));
        assert!(text.contains("server presented CD:CD:"));
        assert_eq!(tls_failure(&std::io::Error::other("refused")), None);
    }
}
