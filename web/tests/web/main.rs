//! The web crate over real HTTP on TCP, against an in-memory source (`fake`): every API route
//! and its errors, access per role, TLS, the embedded assets and their sums, and the UI in
//! headless Chromium.

mod access;
mod api;
mod assets;
mod browser;
mod cdp;
mod fake;
mod support;
