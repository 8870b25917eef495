//! Lifetime totals against `/sim/truth`: exact to the byte wherever the counters make it
//! knowable.

use pve_traffic_exporter::Exporter;

use crate::util::{metrics_text, sample, totals, Env, TWO_GUESTS};

async fn assert_exact(env: &Env, exporter: &Exporter) {
    for (vmid, id) in [(100, "qemu/100"), (101, "lxc/101")] {
        assert_eq!(totals(exporter, id), env.truth(vmid).await, "{id}");
    }
}

#[tokio::test]
async fn steady_traffic_is_exact() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 30, 60).await;
    assert_exact(&env, &exp).await;
    assert!(env.truth(100).await.0 > 0);
}

#[tokio::test]
async fn reboot_stop_start_and_migration_lose_nothing() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 5, 60).await;
    for action in ["reboot", "stop", "start", "migrate?node=pve2"] {
        env.control("POST", &format!("/guests/100/{action}"), None)
            .await;
        env.run(&mut exp, 3, 60).await;
        assert_exact(&env, &exp).await;
    }
    let text = metrics_text(&exp);
    // reboot, start after stop, migration: three resets
    assert_eq!(
        sample(&text, "pve_traffic_guest_resets_total", "id=\"qemu/100\""),
        Some(3.0)
    );
    assert_eq!(sample(&text, "pve_traffic_guest_info", "id=\"qemu/100\",name=\"web1\",node=\"pve2\",guest_type=\"qemu\",tags=\"prod;web\",template=\"0\""), Some(1.0));
}

/// PVE reports only the sum over a guest's NICs, and `/cluster/resources` only every 10 s:
/// when one NIC's device is re-created (new MAC), which part of the sum started over is
/// unknowable. The exporter must never count more than the truth, and may miss at most what
/// the re-created NIC's counter held plus the traffic of the poll interval that saw it.
#[tokio::test]
async fn a_recreated_nic_is_never_overcounted() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 5, 60).await;
    let mut allowed = (0, 0);
    for (wait, mac) in [(0, "99"), (30, "98"), (59, "97")] {
        let before = env.truth(100).await;
        env.advance(wait).await;
        let t = env.control("GET", "/truth?vmid=100", None).await;
        let nic = &t["guests"]["100"]["nics"]["net1"];
        put_net1(&env, &format!("virtio=BC:24:11:00:00:{mac},bridge=vmbr1")).await;
        env.advance(60 - wait).await;
        env.poll(&mut exp).await.unwrap();
        let after = env.truth(100).await;
        allowed.0 += nic["counter_rx"].as_u64().unwrap() + (after.0 - before.0);
        allowed.1 += nic["counter_tx"].as_u64().unwrap() + (after.1 - before.1);
        env.run(&mut exp, 2, 60).await;
        let (rx, tx) = totals(&exp, "qemu/100");
        let (trx, ttx) = env.truth(100).await;
        assert!(
            rx <= trx && tx <= ttx,
            "overcount: ({rx}, {tx}) vs truth ({trx}, {ttx})"
        );
        assert!(
            trx - rx <= allowed.0 && ttx - tx <= allowed.1,
            "missing more than allowed"
        );
    }
    // The other guest is untouched by it all.
    assert_eq!(totals(&exp, "lxc/101"), env.truth(101).await);
}

async fn put_net1(env: &Env, value: &str) {
    let url = format!("{}/nodes/pve1/qemu/100/config", env.sim.api_url());
    let r = env
        .sim
        .http()
        .put(url)
        .header("Authorization", env.sim.authorization())
        .form(&[("net1", value)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_restarted_exporter_covers_the_gap() {
    let env = Env::start(TWO_GUESTS).await;
    let config = env.config("", "");
    let mut exp = Exporter::open(&config).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 5, 60).await;
    drop(exp);
    env.advance(1800).await;
    let mut exp = Exporter::open(&config).unwrap();
    env.poll(&mut exp).await.unwrap();
    assert_exact(&env, &exp).await;
}

#[tokio::test]
async fn an_outage_loses_only_what_the_counters_lost() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 3, 60).await;
    // PVE unreachable for 10 simulated minutes, with a reboot of 100 inside.
    env.fault("http595", 0, None).await;
    let mut lost = (0, 0);
    for minute in 0..10 {
        env.advance(60).await;
        assert!(env.poll(&mut exp).await.is_err());
        if minute == 4 {
            let before = env.truth(100).await;
            let at_last_poll = totals(&exp, "qemu/100");
            lost = (before.0 - at_last_poll.0, before.1 - at_last_poll.1);
            env.control("POST", "/guests/100/reboot", None).await;
        }
    }
    let text = metrics_text(&exp);
    assert_eq!(sample(&text, "pve_traffic_up", ""), Some(0.0));
    assert_eq!(
        sample(&text, "pve_traffic_poll_errors_total", "reason=\"http\""),
        Some(10.0)
    );
    env.control("DELETE", "/faults", None).await;
    env.poll(&mut exp).await.unwrap();
    assert_eq!(sample(&metrics_text(&exp), "pve_traffic_up", ""), Some(1.0));
    // Guest 101 had no reset: exact across the outage.
    assert_eq!(totals(&exp, "lxc/101"), env.truth(101).await);
    // Guest 100 lost exactly what its counters held when it rebooted.
    let (trx, ttx) = env.truth(100).await;
    assert!(lost.0 > 0);
    assert_eq!(totals(&exp, "qemu/100"), (trx - lost.0, ttx - lost.1));
}

#[tokio::test]
async fn unauthorized_malformed_and_slow_answers_fail_the_cycle_cleanly() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.run(&mut exp, 2, 60).await;

    let before = env.request_count().await;
    env.fault("unauthorized", 1, None).await;
    env.advance(60).await;
    let err = env.poll(&mut exp).await.unwrap_err();
    assert_eq!(err.reason(), "unauthorized");
    assert_eq!(
        env.request_count().await,
        before + 1,
        "no retry after a 401"
    );
    assert!(!err.to_string().contains(env.sim.token_secret()));

    env.fault("malformed", 1, None).await;
    env.advance(60).await;
    assert_eq!(env.poll(&mut exp).await.unwrap_err().reason(), "malformed");

    // Slower than the 2 s timeout, three times (first try and two retries).
    env.fault("slow", 3, Some(2_500)).await;
    env.advance(60).await;
    assert_eq!(env.poll(&mut exp).await.unwrap_err().reason(), "timeout");

    env.advance(60).await;
    env.poll(&mut exp).await.unwrap();
    assert_exact(&env, &exp).await;
    let text = metrics_text(&exp);
    for reason in ["unauthorized", "malformed", "timeout"] {
        assert_eq!(
            sample(
                &text,
                "pve_traffic_poll_errors_total",
                &format!("reason=\"{reason}\"")
            ),
            Some(1.0),
            "{reason}"
        );
    }
}

/// `guest_stats_age_seconds` tells how old a guest's stats are: about nothing while its node
/// pushes changing stats, growing while they stay the same (here: a stopped guest).
#[tokio::test]
async fn stats_age_grows_while_the_stats_stay_the_same() {
    let env = Env::start(TWO_GUESTS).await;
    let mut exp = Exporter::open(&env.config("", "")).unwrap();
    env.poll(&mut exp).await.unwrap();
    env.control("POST", "/guests/100/stop", None).await;
    env.run(&mut exp, 1, 60).await;
    let age = |exp: &Exporter, id: &str| {
        let labels = format!("id=\"{id}\"");
        sample(
            &metrics_text(exp),
            "pve_traffic_guest_stats_age_seconds",
            &labels,
        )
        .unwrap()
    };
    let stopped_at = age(&exp, "qemu/100");
    env.run(&mut exp, 3, 60).await;
    assert_eq!(age(&exp, "qemu/100"), stopped_at + 180.0);
    assert_eq!(age(&exp, "lxc/101"), 0.0);
}
