//! Query strings, checked against the parameters a route declares in the route table, so a
//! misspelt parameter is a clear 400 instead of being silently ignored, and a token in the
//! URL (`?token=`, which ends up in proxy and browser logs) is refused outright.

use std::collections::BTreeMap;

use crate::envelope::ApiError;

/// A route's query parameters, each given at most once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    values: BTreeMap<String, String>,
}

impl Query {
    /// Parses `raw`, allowing only the parameters in `allowed`.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Query, ApiError> {
        let mut values = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if key == "token" || key == "api_token" {
                return Err(ApiError::bad_request(
                    "tokens are not accepted in the URL (it ends up in logs); send \
                     `Authorization: Bearer <token>` or `X-API-Token: <token>`",
                ));
            }
            if !allowed.contains(&key.as_ref()) {
                let known = if allowed.is_empty() {
                    "this route takes no query parameters".to_string()
                } else {
                    format!("known: {}", allowed.join(", "))
                };
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {key:?} ({known})"
                )));
            }
            if values.insert(key.to_string(), value.to_string()).is_some() {
                return Err(ApiError::bad_request(format!(
                    "query parameter {key:?} is given twice"
                )));
            }
        }
        Ok(Query { values })
    }

    /// The value of `key`, if given.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The value of `key` parsed as `T`, if given; a 400 naming `what` it should be otherwise.
    pub(crate) fn parsed<T: std::str::FromStr>(
        &self,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, ApiError> {
        self.get(key)
            .map(|text| {
                text.parse()
                    .map_err(|_| ApiError::bad_request(format!("{key}={text:?} is not {what}")))
            })
            .transpose()
    }
}
