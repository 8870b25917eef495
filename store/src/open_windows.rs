//! Each guest's open period windows: the running sums a commit adds to, kept in the guest's
//! own row.
//!
//! Why: a cycle adds every guest's delta to one window per period key (hour, day, week,
//! month and each rule's period). As rows of `period_usage`, that was one upsert per guest and
//! key, 40,000–60,000 B-tree writes per cycle at 10,000 guests, about half of a commit. But a
//! guest's traffic nearly always lands in the same window per key as its previous cycle's, and
//! the commit rewrites the guest's row anyway (raw counters, lifetime totals). So the newest
//! window per key lives in that row as a small blob, and a window moves to `period_usage`
//! only when it closes for that guest: when the guest's traffic reaches the next window of the
//! key (once per window and guest), or when a late part (after an outage) belongs to a window
//! older than the open one.
//!
//! A guest's usage in a window is therefore its `period_usage` row (closed part) plus its
//! open window if that is the one asked for; readers add both, and every byte is in exactly
//! one of the two places.
//!
//! Format (tied to the schema version, like `store::detail`): LEB128 varints; the number of
//! windows, then per window the key's length and UTF-8 bytes, the window start as a zigzag
//! varint (times before 1970 are valid), rx and tx. Windows are sorted by key, one per key.
//! Decoding checks everything and answers [`None`] on any doubt; the caller reports
//! `StoreError::Corrupt`.

use super::detail::{get_varint, put_varint};
use super::MAX_STORED;

/// The running sum of one open window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpenWindow {
    /// The period key (`"day"`, `"month@15"`…).
    pub(crate) key: String,
    /// The window's start, Unix milliseconds UTC.
    pub(crate) start_ms: i64,
    /// Bytes received in the window so far (this part of it).
    pub(crate) rx: u64,
    /// Bytes sent in the window so far.
    pub(crate) tx: u64,
}

/// A guest's open windows, at most one per period key, sorted by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct OpenWindows(Vec<OpenWindow>);

/// A sum went past what the database stores.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooBig;

impl OpenWindows {
    /// The open window's sums if `key`'s open window starts at `start_ms` (readers use
    /// [`lookup`] on the encoded set instead).
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str, start_ms: i64) -> Option<(u64, u64)> {
        self.0
            .iter()
            .find(|w| w.key == key && w.start_ms == start_ms)
            .map(|w| (w.rx, w.tx))
    }

    /// Whether no window is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Drops the windows `(key, start)` for which `remove` says so (history cleanup);
    /// returns how many went.
    pub(crate) fn remove_where(&mut self, mut remove: impl FnMut(&str, i64) -> bool) -> u64 {
        let before = self.0.len();
        self.0.retain(|w| !remove(&w.key, w.start_ms));
        (before - self.0.len()) as u64
    }

    /// Adds one part of a cycle's delta. Parts of one key must come in ascending window
    /// order. Whatever leaves the open set (the previous window when a newer one starts, or
    /// a part of a window older than the open one) is pushed onto `closed` as
    /// `(key, start, rx, tx)`, to be added to `period_usage`.
    pub(crate) fn add(
        &mut self,
        key: &str,
        start_ms: i64,
        rx: u64,
        tx: u64,
        closed: &mut Vec<(String, i64, u64, u64)>,
    ) -> Result<(), TooBig> {
        let fresh = || OpenWindow {
            key: key.to_owned(),
            start_ms,
            rx,
            tx,
        };
        match self.0.binary_search_by(|w| w.key.as_str().cmp(key)) {
            Err(at) => self.0.insert(at, fresh()),
            Ok(at) => {
                let open = &mut self.0[at];
                if start_ms == open.start_ms {
                    (open.rx, open.tx) = (checked_sum(open.rx, rx)?, checked_sum(open.tx, tx)?);
                } else if start_ms > open.start_ms {
                    let old = std::mem::replace(open, fresh());
                    closed.push((old.key, old.start_ms, old.rx, old.tx));
                } else {
                    closed.push((key.to_owned(), start_ms, rx, tx));
                }
            }
        }
        Ok(())
    }

    /// The encoding described in the module doc.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.0.len() * 24);
        put_varint(&mut out, self.0.len() as u64);
        for w in &self.0 {
            put_varint(&mut out, w.key.len() as u64);
            out.extend_from_slice(w.key.as_bytes());
            put_varint(&mut out, zigzag(w.start_ms));
            put_varint(&mut out, w.rx);
            put_varint(&mut out, w.tx);
        }
        out
    }

    /// Decodes [`OpenWindows::encode`]'s output; `None` if the bytes are not exactly that.
    pub(crate) fn decode(mut bytes: &[u8]) -> Option<OpenWindows> {
        let n = get_varint(&mut bytes)?;
        // Each window takes at least 5 bytes: a bound before allocating.
        if n > bytes.len() as u64 / 5 {
            return None;
        }
        let mut windows = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let len = usize::try_from(get_varint(&mut bytes)?).ok()?;
            let key = bytes.get(..len)?;
            let key = std::str::from_utf8(key).ok()?.to_owned();
            bytes = &bytes[len..];
            let start_ms = unzigzag(get_varint(&mut bytes)?);
            let (rx, tx) = (get_varint(&mut bytes)?, get_varint(&mut bytes)?);
            if rx > MAX_STORED || tx > MAX_STORED {
                return None;
            }
            windows.push(OpenWindow {
                key,
                start_ms,
                rx,
                tx,
            });
        }
        let sorted = windows.windows(2).all(|p| p[0].key < p[1].key);
        (sorted && bytes.is_empty()).then_some(OpenWindows(windows))
    }
}

/// The sums of `key`'s open window in an encoded set if it starts at `start_ms`, read in
/// place (no allocation: readers scan every guest's set). `Err` if the bytes do not decode
/// exactly as [`OpenWindows::decode`] would accept them.
pub(crate) fn lookup(mut bytes: &[u8], key: &str, start_ms: i64) -> Result<Option<(u64, u64)>, ()> {
    let n = get_varint(&mut bytes).ok_or(())?;
    let mut found = None;
    let mut previous: Option<&[u8]> = None;
    for _ in 0..n {
        let len = usize::try_from(get_varint(&mut bytes).ok_or(())?).map_err(|_| ())?;
        let k = bytes.get(..len).ok_or(())?;
        bytes = &bytes[len..];
        let start = unzigzag(get_varint(&mut bytes).ok_or(())?);
        let rx = get_varint(&mut bytes).ok_or(())?;
        let tx = get_varint(&mut bytes).ok_or(())?;
        let valid = std::str::from_utf8(k).is_ok() && previous.is_none_or(|p| p < k);
        if !valid || rx > MAX_STORED || tx > MAX_STORED {
            return Err(());
        }
        if k == key.as_bytes() && start == start_ms {
            found = Some((rx, tx));
        }
        previous = Some(k);
    }
    if bytes.is_empty() {
        Ok(found)
    } else {
        Err(())
    }
}

fn checked_sum(a: u64, b: u64) -> Result<u64, TooBig> {
    a.checked_add(b).filter(|&v| v <= MAX_STORED).ok_or(TooBig)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn add(w: &mut OpenWindows, key: &str, start: i64, rx: u64) -> Vec<(String, i64, u64, u64)> {
        let mut closed = Vec::new();
        w.add(key, start, rx, rx * 2, &mut closed).unwrap();
        closed
    }

    #[test]
    fn same_window_adds_newer_closes_older_goes_straight_out() {
        let mut w = OpenWindows::default();
        assert!(add(&mut w, "day", 100, 1).is_empty());
        assert!(add(&mut w, "day", 100, 2).is_empty());
        assert!(add(&mut w, "hour", 100, 5).is_empty());
        assert_eq!(w.get("day", 100), Some((3, 6)));
        // The next day: the previous one closes, the new one opens.
        assert_eq!(add(&mut w, "day", 200, 4), vec![("day".into(), 100, 3, 6)]);
        assert_eq!(w.get("day", 200), Some((4, 8)));
        assert_eq!(w.get("day", 100), None);
        // A late part of an older window never reopens it.
        assert_eq!(add(&mut w, "day", 100, 7), vec![("day".into(), 100, 7, 14)]);
        assert_eq!(w.get("day", 200), Some((4, 8)));
        assert_eq!(w.get("hour", 100), Some((5, 10)));
    }

    #[test]
    fn sums_past_the_database_limit_are_refused() {
        let mut w = OpenWindows::default();
        let mut closed = Vec::new();
        w.add("day", 0, MAX_STORED, 0, &mut closed).unwrap();
        assert_eq!(w.add("day", 0, 1, 0, &mut closed), Err(TooBig));
    }

    #[test]
    fn rejects_anything_not_produced_by_encode() {
        assert_eq!(OpenWindows::decode(&[]), None);
        assert_eq!(OpenWindows::decode(&[0, 0]), None); // trailing byte
        assert_eq!(OpenWindows::decode(&[1, 9, b'd', 0, 0, 0]), None); // key past the end
        assert_eq!(OpenWindows::decode(&[1, 1, 0xff, 0, 0, 0]), None); // not UTF-8
        let unsorted = [2, 1, b'b', 0, 0, 0, 1, b'a', 0, 0, 0];
        assert_eq!(OpenWindows::decode(&unsorted), None);
        assert_eq!(OpenWindows::decode(&[0]), Some(OpenWindows::default()));
    }

    proptest! {
        #[test]
        fn round_trips(parts in prop::collection::vec(
            (prop::sample::select(vec!["hour", "day", "month@15"]), any::<i64>(), 0..MAX_STORED, 0..MAX_STORED), 0..8)) {
            let mut w = OpenWindows::default();
            let mut closed = Vec::new();
            for (key, start, rx, tx) in parts {
                // A sum past the limit is refused and leaves the set as it was.
                let _ = w.add(key, start, rx, tx, &mut closed);
            }
            prop_assert_eq!(OpenWindows::decode(&w.encode()), Some(w));
        }

        #[test]
        fn nothing_is_lost_or_counted_twice(parts in prop::collection::vec(
            (prop::sample::select(vec!["hour", "day"]), 0..5i64, 0..1u64 << 40), 0..40)) {
            // One part per cycle, windows in any order (late parts after an outage).
            let mut w = OpenWindows::default();
            let mut closed = Vec::new();
            for (key, start, rx) in &parts {
                w.add(key, *start, *rx, 0, &mut closed).unwrap();
            }
            for key in ["hour", "day"] {
                for start in 0..5 {
                    let want: u64 = parts.iter().filter(|p| p.0 == key && p.1 == start).map(|p| p.2).sum();
                    let got = closed.iter().filter(|c| c.0 == key && c.1 == start).map(|c| c.2).sum::<u64>()
                        + w.get(key, start).map_or(0, |s| s.0);
                    prop_assert_eq!(got, want);
                }
            }
        }

        #[test]
        fn lookup_agrees_with_decode(bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..40),
            prop::collection::vec((prop::sample::select(vec!["day", "hour"]), 0..3i64, 0..9u64), 0..4)
                .prop_map(|parts| {
                    let mut w = OpenWindows::default();
                    for (key, start, rx) in parts {
                        let _ = w.add(key, start, rx, 1, &mut Vec::new());
                    }
                    w.encode()
                }),
        ], start in 0..3i64) {
            let want = OpenWindows::decode(&bytes).map(|w| w.get("day", start));
            prop_assert_eq!(lookup(&bytes, "day", start).ok(), want);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = OpenWindows::decode(&bytes);
        }
    }
}
