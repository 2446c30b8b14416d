//! The restore-tester's data checks on a restored RDS PostgreSQL instance,
//! against moto for the control plane and a real PostgreSQL server
//! (Debian's `postgresql`, started by the test kit on 127.0.0.1) for the
//! data: the server stands where moto says the restored instance is (the
//! kit's resolver sends moto's endpoint name there), requires TLS, and
//! holds the fixture database. moto runs no database: it answers
//! `ModifyDBInstance ManageMasterUserPassword` with a managed secret whose
//! credentials are always `admin` / `P@55w0rd!`, so the fixture gives the
//! server that role, as RDS would set the copy's master password to its
//! new secret.

use rempart_integration::{scheduled_at, Harness, EXAMPLE_POLICY};
use rempart_restore_tester as restore_tester;
use rempart_snapshot_scheduler as snapshot_scheduler;
use rempart_testkit::postgres::LocalPostgres;
use serde_json::Value;

const RESTORED: &str = "rempart-rt-rewapp-prod-db-202511230600";

/// moto's managed-secret credentials (rds/models.py), and the database.
const ROLES: &str = "CREATE ROLE admin LOGIN PASSWORD 'P@55w0rd!';
CREATE ROLE rempart_check LOGIN PASSWORD 'the-right-one';";

const TABLES: &str = "CREATE TABLE users (id int PRIMARY KEY, email text);
INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 1200) g;
CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users);
ALTER TABLE users OWNER TO admin;
ALTER TABLE orders OWNER TO admin;
GRANT SELECT ON users TO rempart_check;";

fn tick(time: &str) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/restore-tester/scheduled.json"))
            .expect("JSON");
    v["time"] = time.into();
    v
}

async fn server() -> LocalPostgres {
    let pg = LocalPostgres::start().expect("PostgreSQL starts");
    pg.execute("postgres", ROLES).await.expect("roles");
    pg.execute("postgres", "CREATE DATABASE rewapp OWNER admin")
        .await
        .expect("database");
    pg.execute("rewapp", TABLES).await.expect("tables");
    pg
}

/// The estate with the night's snapshots, a tester whose data checks reach
/// `pg` and trust its CA, and the policy with `checks` appended.
async fn setup(pg: &LocalPostgres, checks: &str) -> (Harness, restore_tester::Deps) {
    let h = Harness::with(&[], &format!("{EXAMPLE_POLICY}\n{checks}")).await;
    snapshot_scheduler::handle(&h.deps, scheduled_at("2025-11-23T02:00:00Z"))
        .await
        .expect("snapshots");
    let mut deps = restore_tester::Deps::new(
        &h.cfg,
        rempart_integration::TABLE,
        h.topic.arn(),
        rempart_core::policy::PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    deps.postgres = rempart_aws::postgres::Postgres::new(Some(pg.ca_pem.as_bytes()))
        .expect("CA")
        .with_resolver(pg.resolver());
    (h, deps)
}

/// Ticks every 5 minutes from 06:00 until the instance's test concludes;
/// returns its record's details.
async fn run_until_concluded(deps: &restore_tester::Deps) -> Value {
    let mut t: chrono::DateTime<chrono::Utc> = "2025-11-23T06:00:00Z".parse().expect("time");
    for _ in 0..8 {
        let r = restore_tester::handle(deps, tick(&t.to_rfc3339()))
            .await
            .expect("tick");
        if let Some(d) = r.finished.iter().find(|d| d["instance"] == RESTORED) {
            return d.clone();
        }
        t += chrono::TimeDelta::minutes(5);
    }
    panic!("the restore test of the instance never concluded");
}

fn check<'a>(d: &'a Value, name: &str, detail_has: &str) -> &'a Value {
    d["checks"]
        .as_array()
        .and_then(|c| {
            c.iter().find(|c| {
                c["name"] == name && c["detail"].as_str().is_some_and(|s| s.contains(detail_has))
            })
        })
        .unwrap_or_else(|| panic!("no {name} check saying {detail_has:?}: {d:#}"))
}

/// Proves: a restore test of the PostgreSQL instance checks the restored
/// copy down to its data: RDS is asked to give the copy its own master
/// secret (the snapshot's password may have been rotated away since), the
/// tester reads it, connects over TLS (the server's certificate verified
/// against the CA; PostgreSQL itself reports the session as TLS), finds
/// both tables readable and 1,200 users against a minimum of 1,000; the test
/// passes (`restore.succeeded`, the snapshot tagged `rempart:verified`),
/// with every check's result in the record.
#[tokio::test]
async fn a_restored_postgres_instance_is_checked_down_to_its_data() {
    let pg = server().await;
    let (h, deps) = setup(
        &pg,
        r#"
[[restore_tests.sql_checks]]
instance = "rewapp-prod-db"
database = "rewapp"
tables = ["public.users", "orders"]
sql = "SELECT count(*) FROM users"
min_value = 1000

[[restore_tests.sql_checks]]
instance = "rewapp-prod-db"
database = "rewapp"
sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
equals = "t"
"#,
    )
    .await;
    let d = run_until_concluded(&deps).await;
    for (name, has) in [
        ("tables", "`public.users` exists and is readable"),
        ("tables", "`orders` exists and is readable (empty)"),
        ("sql", "returned 1200 (at least 1000)"),
        ("sql", "returned t (as expected)"),
    ] {
        let c = check(&d, name, has);
        assert_eq!(c["ok"], true, "{c}");
        assert!(
            c["detail"]
                .as_str()
                .is_some_and(|s| s.contains("`rewapp` as `admin`, TLS, server verified")),
            "{c}"
        );
    }
    let items = h.registry_items().await;
    assert!(
        items.iter().any(
            |(res, action, ..)| res == "rds-instance#eu-west-1#rewapp-prod-db"
                && action == "restore.succeeded"
        ),
        "{items:?}"
    );
    // The copy got its own secret before the checks, and is gone after.
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let gone = rds
        .describe_db_instances()
        .db_instance_identifier(RESTORED)
        .send()
        .await;
    assert!(gone.is_err(), "the restored copy is deleted: {gone:?}");
    let snap = d["snapshot"].as_str().expect("snapshot");
    assert!(h
        .rds_snapshot_tags(snap)
        .await
        .contains_key("rempart:verified"));
}

/// Proves: data checks fail, each with the database's own reason in the
/// record and in the announcement, on a missing table, a count under
/// `min_value`, and credentials the server refuses (a policy-named secret
/// with a wrong password); a table that is there still passes; the test
/// is `restore.failed`, the snapshot is not verified, and the
/// incident-escalator, given the announcement as its SNS subscription
/// delivers it, opens an incident for the database.
#[tokio::test]
async fn data_checks_fail_with_the_reason_in_the_record_and_the_announcement() {
    let pg = server().await;
    let (h, deps) = setup(&pg, "").await;
    let secret = aws_sdk_secretsmanager::Client::new(&h.cfg)
        .create_secret()
        .name("rewapp-check")
        .secret_string(r#"{"username": "rempart_check", "password": "a-wrong-one"}"#)
        .send()
        .await
        .expect("secret");
    let arn = secret.arn().expect("arn");
    std::fs::write(
        &h.policy_file,
        format!(
            r#"{EXAMPLE_POLICY}
[[restore_tests.sql_checks]]
instance = "rewapp-prod-db"
database = "rewapp"
tables = ["public.users", "public.invoices"]
sql = "SELECT count(*) FROM users"
min_value = 5000

[[restore_tests.sql_checks]]
instance = "rewapp-prod-db"
database = "rewapp"
secret_arn = "{arn}"
sql = "SELECT count(*) FROM users"
"#
        ),
    )
    .expect("policy");
    let d = run_until_concluded(&deps).await;
    assert_eq!(check(&d, "tables", "public.users")["ok"], true);
    let failures = [
        ("tables", "relation \"public.invoices\" does not exist"),
        ("sql", "returned 1200, below 5000"),
        (
            "sql",
            "password authentication failed for user \"rempart_check\"",
        ),
    ];
    for (name, reason) in failures {
        assert_eq!(check(&d, name, reason)["ok"], false);
    }
    let items = h.registry_items().await;
    assert!(items.iter().any(
        |(res, action, ..)| res == "rds-instance#eu-west-1#rewapp-prod-db"
            && action == "restore.failed"
    ));
    let warned: Vec<String> = h
        .announcements("/warnings")
        .iter()
        .map(Value::to_string)
        .filter(|a| a.contains("restore.failed") && a.contains("rewapp-prod-db"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    for (_, reason) in failures {
        assert!(
            warned[0].contains(&reason.replace('"', "\\\"")),
            "{reason}: {}",
            warned[0]
        );
    }
    let snap = d["snapshot"].as_str().expect("snapshot");
    assert!(!h
        .rds_snapshot_tags(snap)
        .await
        .contains_key("rempart:verified"));

    let (incidents, escalator) = h.escalator().await;
    let failed = h
        .announcements("/all")
        .into_iter()
        .find(|a| a["kind"] == "restore.failed" && a.to_string().contains("rewapp-prod-db"))
        .expect("the restore.failed announcement");
    rempart_incident_escalator::handle(&escalator, rempart_integration::as_sns(&failed))
        .await
        .expect("escalator");
    let open: Vec<String> = incidents
        .all_open()
        .await
        .expect("open")
        .into_iter()
        .map(|s| s.incident.key)
        .collect();
    assert!(
        open.iter()
            .any(|k| k.starts_with("restore#") && k.contains("rewapp-prod-db")),
        "{open:?}"
    );
}

/// Proves: the data checks' sessions are TLS and read-only, as PostgreSQL
/// itself reports: with the CA, a server whose certificate names the
/// endpoint is accepted and one reached under a name its certificate does
/// not carry is refused; without a CA the channel is still TLS (the
/// server unauthenticated, `verified` false); a write is refused by the
/// server in the read-only session; refused credentials give the server's
/// own reason.
#[tokio::test]
async fn sessions_are_tls_and_read_only() {
    use rempart_aws::postgres::Postgres;
    let pg = server().await;
    let verified = Postgres::new(Some(pg.ca_pem.as_bytes()))
        .expect("CA")
        .with_resolver(pg.resolver());
    assert!(verified.verified);
    let named = "rempart-rt-x.aaaaaaaaaa.eu-west-1.rds.amazonaws.com";
    let s = verified
        .connect(named, 5432, "rewapp", "admin", "P@55w0rd!")
        .await
        .expect("verified TLS session");
    let tls = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    assert_eq!(s.first_value(tls).await.expect("ssl").as_deref(), Some("t"));
    let write = s
        .first_value("CREATE TABLE intruder (a int)")
        .await
        .expect_err("read-only");
    assert!(
        write.to_string().contains("read-only transaction"),
        "{write}"
    );
    let other = "rempart-rt-x.aaaaaaaaaa.eu-central-1.rds.amazonaws.com";
    let wrong_name = verified
        .connect(other, 5432, "rewapp", "admin", "P@55w0rd!")
        .await
        .err()
        .expect("the certificate does not name it");
    assert!(
        wrong_name
            .to_string()
            .to_lowercase()
            .contains("certificate"),
        "{wrong_name}"
    );
    let unverified = Postgres::new(None)
        .expect("no CA")
        .with_resolver(pg.resolver());
    assert!(!unverified.verified);
    let s = unverified
        .connect(other, 5432, "rewapp", "admin", "P@55w0rd!")
        .await
        .expect("encrypted, unauthenticated");
    assert_eq!(s.first_value(tls).await.expect("ssl").as_deref(), Some("t"));
    let refused = unverified
        .connect(other, 5432, "rewapp", "admin", "not-it")
        .await
        .err()
        .expect("bad password");
    assert!(
        refused
            .to_string()
            .contains("password authentication failed for user \"admin\""),
        "{refused}"
    );
}

/// Proves: when RDS refuses to give the restored copy its own master
/// secret (here a denied `CreateSecret`, answered at the HTTP level in
/// moto's stead: moto enforces no IAM), the test does not stall or fail
/// the function on every tick: it concludes on the tick the copy is
/// available as `restore.failed`, each data check carrying RDS's answer,
/// the copy deleted; `ModifyDBInstance` is asked once, and later ticks ask
/// nothing more of it.
#[tokio::test]
async fn a_refused_master_secret_fails_the_test_once_and_deletes_the_copy() {
    use rempart_testkit::proxy::{operation, CountingProxy};
    let pg = server().await;
    let (h, _) = setup(
        &pg,
        r#"[[restore_tests.sql_checks]]
instance = "rewapp-prod-db"
database = "rewapp"
tables = ["public.users"]
"#,
    )
    .await;
    let denied = std::sync::Arc::new(|r: &rempart_testkit::http::Request| {
        (operation(r) == "rds:ModifyDBInstance").then(|| {
            (
                "403 Forbidden".to_string(),
                r#"<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/rempart-restore-tester/rempart-restore-tester is not authorized to perform: secretsmanager:CreateSecret</Message></Error><RequestId>5b0f4c3e-8a2d-4d8e-9b1a-2f6c7d8e9a0b</RequestId></ErrorResponse>"#.to_string(),
            )
        })
    });
    let proxy = CountingProxy::with_hooks(&h.aws.endpoint, Some(denied), None)
        .await
        .expect("proxy");
    let deps = restore_tester::Deps::new(
        &rempart_testkit::local::sdk_config_for(&proxy.url(), rempart_testkit::local::REGION).await,
        rempart_integration::TABLE,
        h.topic.arn(),
        rempart_core::policy::PolicySource::File(h.policy_file.clone()),
    )
    .expect("deps");
    let d = run_until_concluded(&deps).await;
    assert_eq!(
        check(
            &d,
            "tables",
            "did not give the restored copy its own master secret"
        )["ok"],
        false
    );
    check(&d, "tables", "secretsmanager:CreateSecret");
    assert!(h.registry_items().await.iter().any(|(res, action, ..)| res
        == "rds-instance#eu-west-1#rewapp-prod-db"
        && action == "restore.failed"));
    let gone = aws_sdk_rds::Client::new(&h.cfg)
        .describe_db_instances()
        .db_instance_identifier(RESTORED)
        .send()
        .await;
    assert!(gone.is_err(), "the copy was deleted: {gone:?}");
    let asked = |p: &CountingProxy| p.take().get("rds:ModifyDBInstance").copied();
    assert_eq!(asked(&proxy), Some(1));
    restore_tester::handle(&deps, tick("2025-11-23T07:00:00Z"))
        .await
        .expect("a later tick");
    assert_eq!(asked(&proxy), None, "asked again after the test concluded");
}
