//! The workspace's crates depend on each other only along the data flow (README, "Layout"):
//! PVE client and accountant (`core`) → `store` → `exporter` / `enforcer`, which meet only in
//! the store. Cargo refuses an import of a crate that is not a dependency, so holding the
//! dependency graph to this picture holds every import to it.
//!
//! Read from `cargo metadata`, as Cargo itself sees the manifests.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate and the workspace crates it may use in its own code (normal and
/// build dependencies). Tests and benchmarks may use more (dev-dependencies), see below.
const ALLOWED: &[(&str, &[&str])] = &[
    ("pve-traffic-units", &[]),
    ("pve-traffic-render", &["pve-traffic-units"]),
    ("pve-traffic-core", &["pve-traffic-units"]),
    ("pve-traffic-store", &["pve-traffic-core"]),
    (
        "pve-traffic-exporter",
        &[
            "pve-traffic-core",
            "pve-traffic-store",
            "pve-traffic-render",
        ],
    ),
    (
        "pve-traffic-enforcer",
        &["pve-traffic-core", "pve-traffic-store"],
    ),
    ("pve-sim", &[]),
    ("bench-record", &[]),
    ("pve-traffic-e2e", &[]),
    ("pve-traffic-web", &[]),
];

/// Dev-dependencies between product crates that are not along the flow, with the reason.
const DEV_EXCEPTIONS: &[(&str, &str, &str)] = &[(
    "pve-traffic-enforcer",
    "pve-traffic-exporter",
    "the binary's tests run it on a database the real exporter wrote",
)];

/// `(package, dependency, kind)` for every dependency between workspace crates.
fn workspace_edges() -> Vec<(String, String, String)> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    let packages = meta["packages"].as_array().unwrap();
    let members: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let mut edges = Vec::new();
    for p in packages {
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            if members.contains(dep) {
                let kind = d["kind"].as_str().unwrap_or("normal").to_string();
                edges.push((
                    p["name"].as_str().unwrap().to_string(),
                    dep.to_string(),
                    kind,
                ));
            }
        }
    }
    assert!(
        members.len() >= ALLOWED.len(),
        "cargo metadata lists {members:?}"
    );
    for member in &members {
        assert!(
            ALLOWED.iter().any(|(name, _)| name == member),
            "workspace crate {member} is not in this test's picture: add it to ALLOWED (and to \
             the README's Layout table) with the crates it may use"
        );
    }
    edges
}

#[test]
fn the_code_of_each_crate_uses_only_the_crates_before_it_in_the_flow() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (package, dep, kind) in workspace_edges() {
        if kind != "dev" && !allowed[package.as_str()].contains(&dep.as_str()) {
            wrong.push(format!("{package} → {dep} ({kind})"));
        }
    }
    assert!(wrong.is_empty(), "dependencies against the flow: {wrong:?}");
}

#[test]
fn tests_use_the_simulator_and_no_product_crate_leans_on_the_end_to_end_tests() {
    let product = [
        "pve-traffic-core",
        "pve-traffic-store",
        "pve-traffic-exporter",
        "pve-traffic-enforcer",
        "pve-traffic-render",
        "pve-traffic-units",
        "pve-traffic-web",
    ];
    for (package, dep, kind) in workspace_edges() {
        assert_ne!(
            dep, "pve-traffic-e2e",
            "{package} depends on the end-to-end tests"
        );
        if dep == "pve-sim" {
            assert_eq!(kind, "dev", "{package} uses pve-sim outside its tests");
        }
        let against_flow = product.contains(&package.as_str())
            && product.contains(&dep.as_str())
            && !ALLOWED
                .iter()
                .any(|(p, deps)| *p == package && deps.contains(&dep.as_str()));
        if kind == "dev" && against_flow {
            assert!(
                DEV_EXCEPTIONS
                    .iter()
                    .any(|(p, d, _)| *p == package && *d == dep),
                "{package}'s tests use {dep}: move the test to e2e/ or list it in DEV_EXCEPTIONS"
            );
        }
    }
}
