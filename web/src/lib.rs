//! `pve_traffic_web`: the web UI and JSON API of the exporter, as a library the exporter mounts.
//!
//! The exporter already holds the current snapshot and reads the store; this crate knows
//! neither. It asks a [`WebSource`] (implemented by the exporter) for everything it shows, so
//! answering a request never calls PVE and the crate is tested over an in-memory source.
//! What it owns is everything between that source and a browser:
//! - [`settings`]: the `web:` section (listen address, TLS, API tokens) and its validation;
//! - `auth` and `ratelimit`: API tokens compared in constant time, failed logins throttled per
//!   address, loopback-only answers when no token is configured;
//! - `routes`: one table of routes, from which both the router and the OpenAPI document
//!   (`/api/openapi.json`, built in `openapi`) are made, so neither can miss a route;
//! - `range`: the time ranges queries may ask for, validated before any read;
//! - `handlers`, `envelope`: the JSON answers (`{"success": …}`) and their status codes;
//! - `assets`, `security`: the embedded front-end (`web/assets/`) and the headers every answer
//!   carries (a Content-Security-Policy without inline script or remote origins);
//! - `server`: the listener, plain or TLS.
//!
//! The integrator's seam: implement [`WebSource`], validate [`Settings`], then
//! [`WebServer::bind`] and [`WebServer::run`].

#![warn(missing_docs)]

mod assets;
mod auth;
mod envelope;
mod handlers;
pub mod model;
mod openapi;
mod query;
pub mod range;
mod ratelimit;
mod routes;
mod security;
mod server;
pub mod settings;
pub mod source;

pub use range::{CalendarPeriod, TimeRange};
pub use server::{app, WebServer, WebServerError};
pub use settings::{hash_token, Role, Settings, SettingsError, TlsSettings, TokenSettings};
pub use source::{SourceError, WebSource};
