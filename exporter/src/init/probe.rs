//! Where PVE is, and which certificate it presents.
//!
//! PVE's certificate is signed by the cluster's own CA, which this host does not trust yet,
//! so the wizard cannot simply connect and verify. Instead it connects once accepting any
//! certificate, *only* to read the certificate's SHA-256 fingerprint and show it; nothing is
//! sent over that connection. The operator compares it with what PVE shows and pins it (or
//! names a CA file), and every later request (the token test, the daemons) goes through the
//! verifying client of `pve_traffic_core::pve`, which refuses anything but the pinned certificate.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use pve_traffic_core::pve::tls::{self, Trust};
use rustls::pki_types::ServerName;

/// PVE's API port, when the URL leaves it out.
const PVE_PORT: u16 = 8006;

/// A PVE API address, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://host:port` (or `http://` for pve-sim's plain mode), as written to the file.
    pub url: String,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the URL is `https`.
    pub tls: bool,
}

impl Endpoint {
    /// Reads `pve1.example.com`, `10.0.0.1:8006`, `https://pve1:8006/api2/json`,
    /// `https://[fd00::1]`, …: scheme and port may be left out (https, 8006); any path is
    /// dropped.
    pub fn parse(input: &str) -> Result<Endpoint, String> {
        let input = input.trim();
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_string(), input),
        };
        if scheme != "https" && scheme != "http" {
            return Err(format!(
                "unsupported scheme {scheme:?}: PVE's API is https://host:8006"
            ));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = split_host_port(authority)?;
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '@') {
            return Err(format!(
                "{input:?} names no host: write the PVE host's name or address, e.g. \
                 https://pve1.example.com:8006"
            ));
        }
        let shown_host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        Ok(Endpoint {
            url: format!("{scheme}://{shown_host}:{port}"),
            host,
            port,
            tls: scheme == "https",
        })
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(authority: &str) -> Result<(String, u16), String> {
    let bad_port = |p: &str| format!("port {p:?} is not a number from 1 to 65535");
    let parse_port = |p: &str| match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad_port(p)),
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{authority:?}: an IPv6 address needs its closing ']'"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p)?,
            None => PVE_PORT,
        };
        return Ok((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, p)) => Ok((host.to_string(), parse_port(p)?)),
        None => Ok((authority.to_string(), PVE_PORT)),
    }
}

/// Connects to `endpoint` and returns the SHA-256 fingerprint of the certificate it presents.
/// The errors say whether the host was unreachable or does not speak TLS.
pub fn presented_fingerprint(endpoint: &Endpoint, timeout: Duration) -> Result<[u8; 32], String> {
    let at = format!("{}:{}", endpoint.host, endpoint.port);
    let unreachable = |e: &dyn std::fmt::Display| {
        format!(
            "cannot reach {at}: {e}; check the address and that pveproxy listens there \
             (port 8006)"
        )
    };
    let addrs: Vec<_> = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(&e))?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let mut stream = stream.ok_or_else(|| unreachable(&last))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| unreachable(&e))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| unreachable(&e))?;

    let not_tls = |e: &dyn std::fmt::Display| {
        format!(
            "{at} answered, but the TLS handshake failed: {e}; is this PVE's API port \
             (8006)? For a plain-HTTP test server write http://"
        )
    };
    let config = tls::client_config(&Trust::Insecure)
        .map_err(|e| e.to_string())?
        .ok_or("TLS setup: no client configuration for the probe")?;
    let name = ServerName::try_from(endpoint.host.clone()).map_err(|e| not_tls(&e))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| not_tls(&e))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut stream).map_err(|e| not_tls(&e))?;
    }
    let cert = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or_else(|| not_tls(&"the server presented no certificate"))?;
    Ok(tls::fingerprint_of(cert.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised() {
        let e = Endpoint::parse("pve1.example.com").unwrap();
        assert_eq!(e.url, "https://pve1.example.com:8006");
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("pve1.example.com", 8006, true)
        );
        let e = Endpoint::parse(" HTTPS://10.0.0.1:443/api2/json/ ").unwrap();
        assert_eq!(e.url, "https://10.0.0.1:443");
        let e = Endpoint::parse("https://[fd00::1]").unwrap();
        assert_eq!(
            (e.url.as_str(), e.host.as_str()),
            ("https://[fd00::1]:8006", "fd00::1")
        );
        let e = Endpoint::parse("http://127.0.0.1:8006").unwrap();
        assert!(!e.tls);
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (input, says) in [
            ("ftp://pve1", "scheme"),
            ("https://", "names no host"),
            ("pve1:0", "port"),
            ("pve1:99999", "port"),
            ("[fd00::1", "closing"),
            ("user@pve1", "names no host"),
        ] {
            let e = Endpoint::parse(input).unwrap_err();
            assert!(e.contains(says), "{input}: {e}");
        }
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = Endpoint::parse(&format!("127.0.0.1:{port}")).unwrap();
        let err = presented_fingerprint(&e, Duration::from_secs(5)).unwrap_err();
        assert!(
            err.starts_with(&format!("cannot reach 127.0.0.1:{port}")),
            "{err}"
        );
    }
}
