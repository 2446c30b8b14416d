//! The HTML report as a browser draws it: a 6-day report (with a failure and
//! an incident) rendered by Debian's headless Chromium into a 1200x800 PNG.
//! The screenshot is kept for people to look at (it is not compared pixel
//! by pixel); the test checks that Chromium drew a page of the right size
//! with something on it.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`); `REMPART_CHROMIUM`
//! names another binary. The HTML and the PNG go to `REMPART_ARTEFACTS`, or
//! else to `artefacts/` in the Cargo target directory.

use chrono::{DateTime, TimeDelta, Utc};
use rempart_core::announce::{Outcome, RegistryRecord};
use rempart_core::incident::{Classification, Impact, Incident};
use rempart_core::report::{build, render_html, Targets};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const DB: &str = "rds-instance#eu-west-1#rewapp-prod-db";
const VOL: &str = "ebs-volume#eu-west-1#vol-0abc";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn rec(resource: &str, time: DateTime<Utc>, action: &str, details: Value) -> RegistryRecord {
    let failed = action.ends_with("failed");
    RegistryRecord {
        resource: resource.into(),
        time,
        action: action.into(),
        subject: format!("snap-{}", time.format("%m%d%H")),
        outcome: if failed {
            Outcome::Failure
        } else {
            Outcome::Success
        },
        policy: Some("rewapp-postgres".into()),
        region: "eu-west-1".into(),
        function: "timeline-render-test".into(),
        details,
        cause: None,
    }
}

/// 18 to 24 November 2025, from 04:48 to 04:48 (not on day boundaries):
/// daily 02:00 backups of the database (the one of the 21st failed), its
/// copies, daily volume backups, a restore test and a resolved incident.
fn report() -> rempart_core::report::Report {
    let (from, to) = (at("2025-11-18T04:48:00Z"), at("2025-11-24T04:48:00Z"));
    let mut recs = Vec::new();
    for d in 18..=24 {
        let day = at(&format!("2025-11-{d:02}T00:00:00Z"));
        let action = if d == 21 {
            "snapshot.failed"
        } else {
            "snapshot.created"
        };
        let error = json!({"error": {"code": "SnapshotQuotaExceeded"}});
        let details = if d == 21 { error } else { json!({}) };
        recs.push(rec(DB, day + TimeDelta::hours(2), action, details));
        if d != 21 {
            let copy = json!({"region": "eu-central-1", "lag_s": 2400});
            let t = day + TimeDelta::minutes(160);
            recs.push(rec(DB, t, "copy.completed", copy));
        }
        recs.push(rec(
            VOL,
            day + TimeDelta::hours(3),
            "snapshot.created",
            json!({}),
        ));
    }
    let checks = json!({"rto_s": 1260});
    recs.push(rec(
        DB,
        at("2025-11-22T05:00:00Z"),
        "restore.succeeded",
        checks,
    ));
    let opened = at("2025-11-21T02:05:00Z");
    let incident = Incident {
        id: format!("rewapp-prod-db-backup@{opened}"),
        key: "rewapp-prod-db-backup".into(),
        title: "backup failed: rewapp-prod-db".into(),
        class: Classification {
            impact: Impact::Major,
            level: 2,
            class: String::new(),
            rule: "default".into(),
        },
        opened_at: opened,
        last_alarm_at: opened,
        acked_at: Some(opened + TimeDelta::minutes(10)),
        client_notified_at: None,
        escalation: 0,
        first_tier: 0,
        last_paged_at: opened,
        last_reminder_at: None,
        last_update_at: opened,
        ok_since: None,
        resolved_at: Some(at("2025-11-22T02:00:00Z")),
        recurring: false,
        audiences: vec![],
        timeline: vec![],
    };
    let targets = BTreeMap::from([(
        "rewapp-postgres".to_string(),
        Targets {
            rpo: TimeDelta::hours(24),
            rto: Some(TimeDelta::minutes(60)),
            pitr: None,
        },
    )]);
    build(&recs, &[incident], &targets, None, from, to, None)
}

/// Where the test's files go: `REMPART_ARTEFACTS`, or else `artefacts/` in
/// the target directory (the parent of Cargo's `CARGO_TARGET_TMPDIR`).
fn artefacts() -> PathBuf {
    std::env::var_os("REMPART_ARTEFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
            tmp.parent().unwrap_or(tmp).join("artefacts")
        })
}

/// `REMPART_CHROMIUM`, else `/usr/bin/chromium`, else `chromium` on PATH;
/// none of them: the test fails saying what to install.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("REMPART_CHROMIUM") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    std::iter::once(PathBuf::from("/usr/bin"))
        .chain(on_path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no chromium found (/usr/bin/chromium, chromium on PATH): this test \
                 needs Debian's chromium, install it with `apt-get install chromium`, \
                 or set REMPART_CHROMIUM to a Chromium binary"
            )
        })
}

/// Proves: the report's HTML renders in a real browser (headless Chromium
/// exits 0) to a 1200x800 PNG that is not blank; the screenshot is kept as
/// an artefact for review.
#[test]
fn timeline_renders_in_chromium() {
    let dir = artefacts();
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    let (html, png) = (dir.join("timeline.html"), dir.join("timeline.png"));
    std::fs::write(&html, render_html(&report())).unwrap();
    // A PNG left by an earlier run must not pass for this run's.
    let _ = std::fs::remove_file(&png);
    let profile = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("timeline-render-chromium-{}", std::process::id()));
    let bin = chromium();
    let started = Instant::now();
    let out = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,800")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; install Debian's chromium (`apt-get install chromium`) \
                 or set REMPART_CHROMIUM",
                bin.display()
            )
        });
    let _ = std::fs::remove_dir_all(&profile);
    println!(
        "chromium took {:.1}s; HTML: {}; screenshot: {}",
        started.elapsed().as_secs_f64(),
        html.display(),
        png.display()
    );
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot at {} ({e}); chromium said: {}",
            png.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // A PNG: its signature, then the IHDR chunk (length 13, type, width,
    // height as big-endian u32s at bytes 16..24).
    assert!(bytes.len() > 24, "{} bytes", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    assert_eq!((be(16), be(20)), (1200, 800), "width x height");
    // Not blank: a 1200x800 page of one colour compresses to a few KB (an
    // empty page from Debian 12's Chromium: 4.5 KB), while text, rows and
    // marks do not (this report: about 95 KB); so more than 10 KB means
    // Chromium drew the page's content. It does not prove the content is
    // right: look at the PNG.
    assert!(
        bytes.len() > 10 * 1024,
        "{} is only {} bytes: a blank page?",
        png.display(),
        bytes.len()
    );
}
