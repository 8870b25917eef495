//! The log of every PVE API request the simulator received, for tests to read back what a
//! client did (`GET /sim/requests`): which writes an enforcer made, how many calls a poll
//! cycle cost. It records the caller's token id, never its secret.

use std::collections::VecDeque;

use serde::Serialize;

use crate::params::Params;

/// Entries kept; older ones are dropped first.
const CAPACITY: usize = 100_000;

/// One request.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Simulated time, epoch seconds.
    pub time: u64,
    /// HTTP method.
    pub method: String,
    /// Path below `/api2/json`.
    pub path: String,
    /// Query and body parameters, merged.
    pub params: Params,
    /// Status answered.
    pub status: u16,
    /// Token id of the caller, when the header named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Injected fault, if one hit this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// A bounded log.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    next_seq: u64,
}

impl RequestLog {
    /// Appends an entry, numbering it.
    pub fn push(&mut self, mut entry: LoggedRequest) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Entries with `seq > since`.
    pub fn since(&self, since: u64) -> Vec<&LoggedRequest> {
        self.entries.iter().filter(|e| e.seq > since).collect()
    }

    /// Forgets everything (sequence numbers go on).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// The token id named in an `Authorization` header, without the secret.
pub fn token_id_of(authorization: Option<&str>) -> Option<String> {
    let value = authorization?.split("PVEAPIToken").nth(1)?;
    let value = value.trim_start_matches(['=', ' ']);
    let value = value.split(';').next()?;
    let (id, _secret) = value.rsplit_once('=')?;
    Some(
        percent_encoding::percent_decode_str(id)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_id_never_includes_the_secret() {
        let h = "PVEAPIToken=mon@pve!traffic=0b7e0a4c-3c1e-4c55-9f0e-1f2a3b4c5d6e";
        assert_eq!(token_id_of(Some(h)).as_deref(), Some("mon@pve!traffic"));
        assert_eq!(token_id_of(Some("Basic abc")), None);
        assert_eq!(token_id_of(None), None);
    }
}
