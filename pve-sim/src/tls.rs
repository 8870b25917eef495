//! The simulator's certificates, made at start the way PVE makes its own: a cluster CA
//! (`pve-root-ca.pem`) that signs the node certificate (`pve-ssl.pem`).
//!
//! Clients get all three ways of trusting it that a real cluster offers: the CA file, the
//! SHA-256 fingerprint of the node certificate (what PVE's GUI shows and operators pin), or
//! no verification at all. Nothing is written to disk unless the caller asks.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// A CA, the node certificate it signed, and the node key.
pub struct SimCertificate {
    /// PEM of the CA certificate (trust this as `ca_file`).
    pub ca_pem: String,
    /// PEM of the node certificate.
    pub cert_pem: String,
    /// SHA-256 of the node certificate's DER, uppercase hex pairs joined by `:` (as PVE shows).
    pub fingerprint: String,
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for SimCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCertificate")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl SimCertificate {
    /// Generates a fresh CA and a node certificate valid for `localhost`, `127.0.0.1`, `::1`
    /// and the given extra names.
    pub fn generate(extra_names: &[String]) -> Result<SimCertificate, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Proxmox Virtual Environment (pve-sim)");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;

        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        names.extend(extra_names.iter().cloned());
        let node_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "pve-sim.localdomain");
        let cert = params.signed_by(&node_key, &ca)?;

        let fingerprint = fingerprint(cert.der());
        Ok(SimCertificate {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            fingerprint,
            chain: vec![cert.der().clone(), ca.der().clone()],
            key_der: node_key.serialize_der(),
        })
    }

    /// A rustls server config presenting the node certificate and the CA.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// SHA-256 of a DER certificate as PVE prints it: `AB:CD:...`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_uppercase_colon_separated_sha256() {
        let cert = SimCertificate::generate(&[]).unwrap();
        assert_eq!(cert.fingerprint.len(), 32 * 3 - 1);
        assert!(cert.fingerprint.split(':').all(|p| p.len() == 2
            && p.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
        assert_eq!(cert.fingerprint, fingerprint(&cert.chain[0]));
        assert!(cert.server_config().is_ok());
        assert_ne!(cert.ca_pem, cert.cert_pem);
    }
}
