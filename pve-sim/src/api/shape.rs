//! How PVE's Perl shapes the JSON it answers with, for the handlers to copy: keys whose value
//! is undefined are left out, some old releases sent numbers as strings, and lists built from
//! Perl hashes come in no particular order.

use serde_json::{Map, Value};

use crate::traffic::mix;

/// Deterministic shuffle (Fisher–Yates over [`mix`]): a different order at every call time.
pub(super) fn shuffle(rows: &mut [Value], salt: u64) {
    for i in (1..rows.len()).rev() {
        let j = (mix(salt ^ i as u64) % (i as u64 + 1)) as usize;
        rows.swap(i, j);
    }
}

/// Legacy quirk: some old releases emitted these numbers as JSON strings.
pub(super) fn stringify(value: &mut Value, keys: &[&str]) {
    if let Some(obj) = value.as_object_mut() {
        for k in keys {
            if let Some(v) = obj.get_mut(*k) {
                if v.is_number() {
                    *v = Value::from(v.to_string());
                }
            }
        }
    }
}

/// Builds an object from pairs, skipping `None`s.
pub(super) fn object(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}
