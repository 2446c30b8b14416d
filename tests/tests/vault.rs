//! Air-gapped copies against moto, across two accounts: the production
//! account (moto's default, 123456789012) and a backup account
//! (210987654321), reached through `sts:AssumeRole` as the replicator does
//! (moto keeps each account's state apart by the credentials' account).
//! What is in the backup account is read back with plain SDK calls under
//! that account's credentials, not through the adapters under test.
//!
//! Where moto falls short of AWS, said plainly:
//! - moto looks up the source of a copy in the caller's own account only;
//!   `scripts/moto-server.py` teaches it AWS's rule (a snapshot of another
//!   account is found, and copied, only when shared with the caller). A
//!   snapshot that is not shared stays not found, which this test relies on
//!   to show that unsharing works;
//! - moto gives an encrypted RDS instance created without a key no real key
//!   (`default_kms_key_id`) where AWS uses the AWS-managed `aws/rds`: the
//!   proxy answers `DescribeKey` of it as KMS describes `aws/rds` (an
//!   AWS-managed key), so that the stage path is taken as it would be;
//! - moto reports no key on an EBS snapshot of an encrypted volume; the same
//!   script gives it the volume's key, as AWS does;
//! - moto enforces no key policy: that the backup account may use the share
//!   key is the replicator's own pre-flight (read through GetKeyPolicy)
//!   and the IAM conformance test's business, not moto's.

use rempart_aws::vault::assume;
use rempart_core::replication::ReplicationReport;
use rempart_integration::Harness;
use rempart_testkit::http::Request;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const VAULT: &str = "210987654321";
/// The role modules/vault_account creates (name `rempart`).
const ROLE: &str = "arn:aws:iam::210987654321:role/rempart-vault-replicator";
const PROD: &str = "123456789012";
const SWEEP: &str = include_str!("../../events/snapshot-replicator/sweep.json");

fn policy(vault_key: &str) -> String {
    format!(
        r##"version = 1
[notifications]
default_channel = "#ops"
[policies.vaulted]
kinds = ["rds-instance", "aurora-cluster", "ebs-volume"]
rpo = "26h"
[policies.vaulted.retention]
keep_daily = 7
[[policies.vaulted.vault]]
account = "{VAULT}"
role = "{ROLE}"
external_id = "rempart-test"
kms_key = "{vault_key}"
share_key = "alias/rempart-vault-share"
"##
    )
}

/// A key policy that lets the production account administer the key and,
/// when `vault` is set, lets that account use it for shared snapshots (the
/// actions of the share key's statements for it in infra/vault.tf; EBS
/// copies need `kms:ReEncryptFrom`).
fn key_policy(vault: Option<&str>) -> String {
    let mut statements = vec![json!({
        "Sid": "Owner", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{PROD}:root")},
        "Action": "kms:*", "Resource": "*"
    })];
    if let Some(a) = vault {
        statements.push(json!({
            "Sid": "BackupAccountCopies", "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{a}:root")},
            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncryptFrom"],
            "Resource": "*"
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

async fn create_key(
    kms: &aws_sdk_kms::Client,
    policy: Option<String>,
    alias: Option<&str>,
) -> String {
    let out = kms
        .create_key()
        .set_policy(policy)
        .send()
        .await
        .expect("create key");
    let meta = out.key_metadata().expect("metadata");
    if let Some(a) = alias {
        kms.create_alias()
            .alias_name(a)
            .target_key_id(meta.key_id())
            .send()
            .await
            .expect("alias");
    }
    meta.arn().unwrap_or_default().to_string()
}

/// `DescribeKey` of moto's stand-in for `aws/rds`, and of `aws_ebs` (the
/// ARN of a key of the test standing in for `aws/ebs`: moto has no
/// AWS-managed keys, and an EBS volume encrypted without a key gets none
/// there), answered as KMS describes an AWS-managed key.
fn aws_managed_answer(r: &Request, aws_ebs: Option<&str>) -> Option<(String, String)> {
    if rempart_testkit::proxy::operation(r) != "kms:DescribeKey" {
        return None;
    }
    let body: Value = serde_json::from_slice(&r.body).ok()?;
    let asked = body["KeyId"].as_str()?;
    let (id, arn, what) = if asked == "default_kms_key_id" {
        (
            asked.to_string(),
            format!("arn:aws:kms:eu-west-1:{PROD}:key/default_kms_key_id"),
            "RDS database volumes",
        )
    } else {
        let arn = aws_ebs?;
        let id = arn.rsplit('/').next()?;
        if asked != arn && asked != id {
            return None;
        }
        (id.to_string(), arn.to_string(), "EBS volumes")
    };
    let meta = json!({"KeyMetadata": {
        "AWSAccountId": PROD,
        "KeyId": id,
        "Arn": arn,
        "Description": format!("Default key that protects my {what} when no other key is defined"),
        "Enabled": true, "KeyState": "Enabled", "KeyManager": "AWS",
        "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS",
        "CreationDate": 1.7e9
    }});
    Some(("200 OK".into(), meta.to_string()))
}

fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().into(),
                t.value().unwrap_or_default().into(),
            )
        })
        .collect()
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().into(),
                t.value().unwrap_or_default().into(),
            )
        })
        .collect()
}

/// A snapshot as its account describes it: (id, key, tags).
type Described = (String, String, BTreeMap<String, String>);

/// Every manual RDS, Aurora and owned EBS snapshot of the account `cfg` acts in.
async fn snapshots(cfg: &aws_config::SdkConfig) -> Vec<Described> {
    let rds = aws_sdk_rds::Client::new(cfg);
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let mut out = Vec::new();
    let i = rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe");
    out.extend(i.db_snapshots().iter().map(|s| {
        (
            s.db_snapshot_identifier().unwrap_or_default().to_string(),
            s.kms_key_id().unwrap_or_default().to_string(),
            rds_tags(s.tag_list()),
        )
    }));
    let c = rds
        .describe_db_cluster_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe");
    out.extend(c.db_cluster_snapshots().iter().map(|s| {
        (
            s.db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .to_string(),
            s.kms_key_id().unwrap_or_default().to_string(),
            rds_tags(s.tag_list()),
        )
    }));
    let e = ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .expect("describe");
    out.extend(e.snapshots().iter().map(|s| {
        (
            s.snapshot_id().unwrap_or_default().to_string(),
            s.kms_key_id().unwrap_or_default().to_string(),
            ec2_tags(s.tags()),
        )
    }));
    out
}

/// The accounts each production snapshot is shared with, by id.
async fn shares(cfg: &aws_config::SdkConfig) -> BTreeMap<String, Vec<String>> {
    let rds = aws_sdk_rds::Client::new(cfg);
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let mut out = BTreeMap::new();
    for (id, _, tags) in snapshots(cfg).await {
        let accounts: Vec<String> = if id.starts_with("snap-") {
            let a = ec2
                .describe_snapshot_attribute()
                .snapshot_id(&id)
                .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
                .send()
                .await
                .expect("attribute");
            a.create_volume_permissions()
                .iter()
                .filter_map(|p| p.user_id().map(str::to_string))
                .collect()
        } else if tags.get("kind").is_some_and(|k| k == "cluster") {
            let a = rds
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(&id)
                .send()
                .await
                .expect("attribute");
            a.db_cluster_snapshot_attributes_result()
                .map(|r| {
                    r.db_cluster_snapshot_attributes()
                        .iter()
                        .flat_map(|x| x.attribute_values().to_vec())
                        .collect()
                })
                .unwrap_or_default()
        } else {
            let a = rds
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(&id)
                .send()
                .await
                .expect("attribute");
            a.db_snapshot_attributes_result()
                .map(|r| {
                    r.db_snapshot_attributes()
                        .iter()
                        .flat_map(|x| x.attribute_values().to_vec())
                        .collect()
                })
                .unwrap_or_default()
        };
        out.insert(id, accounts);
    }
    out
}

/// A harness whose policy document (`policy`, given the vault key) names
/// the backup account's key: the key is made there by that account's
/// administrator, then the document is written. Returns the harness, the
/// administrator's configuration and the key's ARN.
async fn with_backup_account(
    policy: impl Fn(&str) -> String,
) -> (Harness, aws_config::SdkConfig, String) {
    let h = Harness::with(&[], &policy("arn:aws:kms:eu-west-1:210987654321:key/none")).await;
    let admin = assume(&h.cfg, ROLE, Some("rempart-test"), "test-admin").await;
    let key = create_key(
        &aws_sdk_kms::Client::new(&admin),
        None,
        Some("alias/rempart-vault"),
    )
    .await;
    assert!(
        key.contains(VAULT),
        "the key is the backup account's: {key}"
    );
    std::fs::write(&h.policy_file, policy(&key)).expect("policy");
    (h, admin, key)
}

async fn sweep(deps: &rempart_snapshot_replicator::Deps) -> ReplicationReport {
    let mut reports =
        rempart_snapshot_replicator::handle(deps, serde_json::from_str(SWEEP).expect("JSON"))
            .await
            .expect("replicator run");
    reports.remove(0)
}

fn vault_states(r: &ReplicationReport) -> BTreeMap<String, (String, String)> {
    r.items
        .iter()
        .filter(|i| i.region == format!("vault:{VAULT}"))
        .map(|i| {
            (
                i.snapshot.clone(),
                (
                    i.state.clone(),
                    format!(
                        "{} {}",
                        i.reason,
                        i.error
                            .as_ref()
                            .map(|e| e.message.clone())
                            .unwrap_or_default()
                    ),
                ),
            )
        })
        .collect()
}

/// Proves the whole chain across two accounts: a Rempart snapshot of each
/// kind ends with exactly one copy in the backup account, under that
/// account's key and tagged as Rempart's there; the RDS snapshot under
/// `aws/rds` and the EBS snapshot under `aws/ebs` go through a stage under
/// the share key, which is deleted once its copy is made (the backup
/// account's copy of the EBS stage is what the IAM conformance test judges
/// against the share key's policy: EBS re-encrypts from it); every share
/// is removed at the end and the source
/// says where its vault copy is; replays create nothing twice; a volume
/// under a key whose policy does not let the backup account use it is
/// blocked with a message naming the key, the account and the missing
/// grants, and is never shared; a source deleted later leaves no vault
/// state in the registry; the vault role is assumed once, not per sweep.
#[tokio::test]
async fn each_kind_reaches_the_backup_account_once_and_nothing_stays_shared() {
    let (h, vault_cfg, vault_key) = with_backup_account(policy).await;

    // The production account: the share key and a customer key the backup
    // account may use, and one it may not.
    let kms = aws_sdk_kms::Client::new(&h.cfg);
    let share_key = create_key(
        &kms,
        Some(key_policy(Some(VAULT))),
        Some("alias/rempart-vault-share"),
    )
    .await;
    let shared_cmk = create_key(&kms, Some(key_policy(Some(VAULT))), None).await;
    let private_cmk = create_key(&kms, Some(key_policy(None)), None).await;
    // Stands in for aws/ebs (described as AWS-managed by the proxy below).
    let aws_ebs = create_key(&kms, Some(key_policy(None)), None).await;

    let rds = aws_sdk_rds::Client::new(&h.cfg);
    let ec2 = aws_sdk_ec2::Client::new(&h.cfg);
    let rtag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    let etag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    // RDS under aws/rds (moto's stand-in), Aurora under the shared key.
    rds.create_db_instance()
        .db_instance_identifier("vaulted-db")
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .send()
        .await
        .expect("instance");
    rds.create_db_cluster()
        .db_cluster_identifier("vaulted-aurora")
        .engine("aurora-postgresql")
        .master_username("app")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .kms_key_id(&shared_cmk)
        .send()
        .await
        .expect("cluster");
    let managed = [
        ("rempart:managed", "true"),
        ("rempart:policy", "vaulted"),
        ("rempart:scheduled-at", "2026-12-01T02:00:00Z"),
    ];
    let db_snap = "rempart-vaulted-vaulted-db-20261201-0200";
    let aurora_snap = "rempart-vaulted-vaulted-aurora-20261201-0200";
    let mut req = rds
        .create_db_snapshot()
        .db_instance_identifier("vaulted-db")
        .db_snapshot_identifier(db_snap);
    for (k, v) in managed {
        req = req.tags(rtag(k, v));
    }
    req.send().await.expect("db snapshot");
    let mut req = rds
        .create_db_cluster_snapshot()
        .db_cluster_identifier("vaulted-aurora")
        .db_cluster_snapshot_identifier(aurora_snap)
        .tags(rtag("kind", "cluster"));
    for (k, v) in managed {
        req = req.tags(rtag(k, v));
    }
    req.send().await.expect("cluster snapshot");
    // EBS: one volume under the shared key, one under the private one, one
    // under aws/ebs.
    let mut ebs = BTreeMap::new();
    for (name, key) in [
        ("shared", &shared_cmk),
        ("private", &private_cmk),
        ("aws-managed", &aws_ebs),
    ] {
        let v = ec2
            .create_volume()
            .availability_zone("eu-west-1a")
            .size(10)
            .encrypted(true)
            .kms_key_id(key)
            .send()
            .await
            .expect("volume");
        let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot);
        for (k, v) in managed {
            spec = spec.tags(etag(k, v));
        }
        let s = ec2
            .create_snapshot()
            .volume_id(v.volume_id().unwrap_or_default())
            .tag_specifications(spec.build())
            .send()
            .await
            .expect("snapshot");
        ebs.insert(name, s.snapshot_id().unwrap_or_default().to_string());
    }

    let managed_keys = aws_ebs.clone();
    let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
        &h.aws.endpoint,
        Some(Arc::new(move |r: &Request| {
            aws_managed_answer(r, Some(&managed_keys))
        })),
        None,
    )
    .await
    .expect("proxy");
    let proxied = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
    let deps = rempart_snapshot_replicator::Deps::new(
        &proxied,
        rempart_integration::TABLE,
        h.topic.arn(),
        rempart_core::policy::PolicySource::File(h.policy_file.clone()),
        20,
    )
    .expect("replicator deps");

    // Sweep 1: the stage is made, the others are shared and copied; the
    // private volume is blocked.
    let first = sweep(&deps).await;
    let states = vault_states(&first);
    assert_eq!(states[db_snap].0, "started", "{states:?}");
    assert!(
        states[db_snap].1.contains("staging under the share key"),
        "{states:?}"
    );
    assert_eq!(states[aurora_snap].0, "started", "{states:?}");
    assert_eq!(states[&ebs["shared"]].0, "started", "{states:?}");
    assert!(
        states[&ebs["aws-managed"]]
            .1
            .contains("staging under the share key"),
        "{states:?}"
    );
    let (state, reason) = &states[&ebs["private"]];
    assert_eq!(state, "blocked", "{states:?}");
    for needle in [
        private_cmk.as_str(),
        VAULT,
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:ReEncryptFrom",
        "nothing was shared",
    ] {
        assert!(reason.contains(needle), "{needle} in {reason}");
    }
    let stage = format!("{db_snap}-vault");
    let prod = snapshots(&h.cfg).await;
    let staged = prod
        .iter()
        .find(|(id, _, _)| *id == stage)
        .expect("the stage exists");
    assert_eq!(staged.1, share_key, "the stage is under the share key");
    assert_eq!(
        staged
            .2
            .get("rempart:vault-stage-of")
            .map(String::as_str)
            .unwrap_or_default()
            .rsplit(':')
            .next(),
        Some(db_snap)
    );
    assert!(
        !staged.2.contains_key("rempart:managed"),
        "a stage is not one of Rempart's snapshots: {:?}",
        staged.2
    );
    let ebs_stage_of = format!(
        "arn:aws:ec2:eu-west-1:{PROD}:snapshot/{}",
        ebs["aws-managed"]
    );
    let ebs_staged = prod
        .iter()
        .find(|(_, _, t)| t.get("rempart:vault-stage-of") == Some(&ebs_stage_of))
        .expect("the EBS stage exists");
    assert_eq!(
        ebs_staged.1, share_key,
        "the EBS stage is under the share key"
    );
    let ebs_stage = ebs_staged.0.clone();
    let shared = shares(&h.cfg).await;
    assert!(
        shared[&ebs["private"]].is_empty(),
        "the blocked snapshot is not shared"
    );
    assert_eq!(
        shared[aurora_snap],
        vec![VAULT.to_string()],
        "shared while its copy is made"
    );

    // Sweeps 2 to 4 (moto's copies are available at once): the stage is
    // shared and copied, then everything is finished; replays change nothing.
    let second = sweep(&deps).await;
    assert_eq!(
        vault_states(&second)[db_snap].0,
        "started",
        "{:?}",
        vault_states(&second)
    );
    let third = sweep(&deps).await;
    for s in [
        db_snap,
        aurora_snap,
        ebs["shared"].as_str(),
        ebs["aws-managed"].as_str(),
    ] {
        assert_eq!(
            vault_states(&third)[s].0,
            "available",
            "{:?}",
            vault_states(&third)
        );
    }
    sweep(&deps).await;
    let last = sweep(&deps).await;
    assert_eq!(vault_states(&last)[&ebs["private"]].0, "blocked");

    // The backup account: one copy of each, under its key, Rempart's there.
    let in_vault = snapshots(&vault_cfg).await;
    let source_arn = |id: &str| -> String {
        if id.starts_with("snap-") {
            format!("arn:aws:ec2:eu-west-1:{PROD}:snapshot/{id}")
        } else if id == aurora_snap {
            format!("arn:aws:rds:eu-west-1:{PROD}:cluster-snapshot:{id}")
        } else {
            format!("arn:aws:rds:eu-west-1:{PROD}:snapshot:{id}")
        }
    };
    for s in [
        db_snap,
        aurora_snap,
        ebs["shared"].as_str(),
        ebs["aws-managed"].as_str(),
    ] {
        let copies: Vec<_> = in_vault
            .iter()
            .filter(|(_, _, t)| t.get("rempart:copy-of") == Some(&source_arn(s)))
            .collect();
        assert_eq!(
            copies.len(),
            1,
            "one copy of {s} in the backup account: {in_vault:?}"
        );
        let (id, key, tags) = copies[0];
        assert_eq!(key, &vault_key, "{id} is under the backup account's key");
        assert_eq!(
            tags.get("rempart:managed").map(String::as_str),
            Some("true")
        );
        assert_eq!(
            tags.get("rempart:policy").map(String::as_str),
            Some("vaulted")
        );
    }
    assert_eq!(
        in_vault.len(),
        4,
        "nothing else in the backup account: {in_vault:?}"
    );

    // The vault role was assumed once for the five sweeps: its
    // configuration is kept, and its credentials renewed by their provider.
    let calls = proxy.take();
    assert_eq!(calls.get("sts:AssumeRole"), Some(&1), "{calls:?}");

    // The production account: no stage left, nothing shared, and each
    // source names its vault copy.
    let prod = snapshots(&h.cfg).await;
    assert!(
        prod.iter()
            .all(|(id, _, _)| *id != stage && *id != ebs_stage),
        "the stages are deleted: {prod:?}"
    );
    assert!(
        shares(&h.cfg).await.values().all(Vec::is_empty),
        "nothing stays shared"
    );
    for (id, _, tags) in &prod {
        if *id != ebs["private"] {
            assert!(
                tags.contains_key(&format!("rempart:vault-copy:{VAULT}")),
                "{id}: {tags:?}"
            );
        }
    }

    // A source deleted (by retention) leaves no vault state behind in the
    // registry after the next sweep; the others keep theirs.
    let destination = format!("vault:{VAULT}");
    let aurora_arn = source_arn(aurora_snap);
    let before = h.registry.replicas(&destination).await.expect("states");
    assert!(before.contains_key(&aurora_arn), "{before:?}");
    rds.delete_db_cluster_snapshot()
        .db_cluster_snapshot_identifier(aurora_snap)
        .send()
        .await
        .expect("delete the source");
    sweep(&deps).await;
    let after = h.registry.replicas(&destination).await.expect("states");
    assert!(!after.contains_key(&aurora_arn), "{after:?}");
    assert!(after.contains_key(&source_arn(db_snap)), "{after:?}");
}

/// The enforcer of the backup account, as modules/vault_account deploys it
/// (`rempart-vault-retention-enforcer`, with `REMPART_VAULT_OF`).
const ENFORCER_ROLE: &str = "arn:aws:iam::210987654321:role/rempart-vault-retention-enforcer";

fn retention_run(time: chrono::DateTime<chrono::Utc>) -> Value {
    let mut v: Value = serde_json::from_str(include_str!(
        "../../events/retention-enforcer/scheduled.json"
    ))
    .expect("JSON");
    v["time"] = rempart_core::time::rfc3339(time).into();
    v
}

/// Proves that retention in the backup account is the policy's, carried
/// out by that account's own enforcer, and that production's word counts
/// for nothing there: three copies of one volume reach the backup account
/// one after the other; with `keep_last = 1`, the newest (by when the
/// backup account made it) is kept, the oldest is kept by the legal hold
/// its administrator put there, and the middle one, whose source was tagged
/// as taken in 2099 (as a compromised production account could tag it),
/// is marked, then deleted after the grace period; a snapshot of the
/// backup account that is not a vault copy stays untouched; the production
/// sources are not touched. The enforcer also measures the isolated RPO
/// from what the backup account holds: fresh while copies arrive, stale
/// (announced as a warning on that account's topic, with the resource)
/// once the newest copy there is older than the policy's RPO.
#[tokio::test]
async fn the_backup_accounts_enforcer_keeps_and_deletes_by_the_policy_there() {
    let ebs_policy = |vault_key: &str| {
        policy(vault_key)
            .replace(
                r#"kinds = ["rds-instance", "aurora-cluster", "ebs-volume"]"#,
                r#"kinds = ["ebs-volume"]"#,
            )
            .replace("keep_daily = 7", "keep_last = 1\ngrace_period = \"1h\"")
    };
    let (h, admin, _) = with_backup_account(ebs_policy).await;
    let kms = aws_sdk_kms::Client::new(&h.cfg);
    create_key(
        &kms,
        Some(key_policy(Some(VAULT))),
        Some("alias/rempart-vault-share"),
    )
    .await;
    let volume_key = create_key(&kms, Some(key_policy(Some(VAULT))), None).await;

    // Three scheduled snapshots of one volume, each copied to the backup
    // account before the next is taken (a second apart: the copies'
    // creation times differ there). The second one's source claims 2099.
    let ec2 = aws_sdk_ec2::Client::new(&h.cfg);
    let volume = ec2
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(10)
        .encrypted(true)
        .kms_key_id(&volume_key)
        .send()
        .await
        .expect("volume");
    let mut sources = Vec::new();
    for at in [
        "2026-12-01T04:00:00Z",
        "2099-01-01T04:00:00Z",
        "2026-12-03T04:00:00Z",
    ] {
        let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot);
        for (k, v) in [
            ("rempart:managed", "true"),
            ("rempart:policy", "vaulted"),
            ("rempart:scheduled-at", at),
        ] {
            spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
        }
        let s = ec2
            .create_snapshot()
            .volume_id(volume.volume_id().unwrap_or_default())
            .tag_specifications(spec.build())
            .send()
            .await
            .expect("snapshot");
        let id = s.snapshot_id().unwrap_or_default().to_string();
        sweep(&h.replicator).await;
        let done = sweep(&h.replicator).await;
        assert_eq!(
            vault_states(&done)[&id].0,
            "available",
            "{:?}",
            vault_states(&done)
        );
        sources.push(id);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let in_vault = snapshots(&admin).await;
    let copy_of = |source: &str| -> String {
        let arn = format!("arn:aws:ec2:eu-west-1:{PROD}:snapshot/{source}");
        in_vault
            .iter()
            .find(|(_, _, t)| t.get("rempart:copy-of") == Some(&arn))
            .map(|(id, _, _)| id.clone())
            .unwrap_or_default()
    };
    let (oldest, forged, newest) = (
        copy_of(&sources[0]),
        copy_of(&sources[1]),
        copy_of(&sources[2]),
    );
    assert!(
        [&oldest, &forged, &newest].iter().all(|c| !c.is_empty()),
        "three copies: {in_vault:?}"
    );

    // The backup account's administrator: a legal hold on the oldest copy,
    // and a snapshot of its own that no Rempart function may delete.
    let vault_ec2 = aws_sdk_ec2::Client::new(&admin);
    vault_ec2
        .create_tags()
        .resources(&oldest)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("rempart:legal-hold")
                .value("case-1")
                .build(),
        )
        .send()
        .await
        .expect("legal hold");
    let own_volume = vault_ec2
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(10)
        .send()
        .await
        .expect("volume");
    let own = vault_ec2
        .create_snapshot()
        .volume_id(own_volume.volume_id().unwrap_or_default())
        .send()
        .await
        .expect("snapshot")
        .snapshot_id()
        .unwrap_or_default()
        .to_string();

    // The enforcer there: its own registry and topic, its own credentials.
    let (_, topic) = rempart_testkit::local::create_plumbing(
        &admin,
        rempart_integration::TABLE,
        "rempart-events",
    )
    .await
    .expect("the backup account's registry and topic");
    // That account's alerting, subscribed to its topic.
    let vault_watch = rempart_testkit::recorder::Recorder::start()
        .await
        .expect("recorder");
    aws_sdk_sns::Client::new(&admin)
        .subscribe()
        .topic_arn(topic.arn())
        .protocol("http")
        .endpoint(vault_watch.url("/vault"))
        .send()
        .await
        .expect("subscribe to the backup account's topic");
    let own_cfg = assume(
        &h.cfg,
        ENFORCER_ROLE,
        None,
        "rempart-vault-retention-enforcer",
    )
    .await;
    let mut enforcer = rempart_retention_enforcer::Deps::for_backup_account(
        &own_cfg,
        rempart_integration::TABLE,
        topic.arn(),
        rempart_core::policy::PolicySource::File(h.policy_file.clone()),
        PROD,
    )
    .expect("enforcer deps");
    enforcer.pace = 0;
    assert!(
        rempart_retention_enforcer::Deps::for_backup_account(
            &own_cfg,
            rempart_integration::TABLE,
            topic.arn(),
            rempart_core::policy::PolicySource::File(h.policy_file.clone()),
            "prod",
        )
        .is_err(),
        "a production account that is no account id is refused"
    );

    let t1 = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let first = rempart_retention_enforcer::handle(&enforcer, retention_run(t1))
        .await
        .expect("first run");
    assert_eq!(
        first.regions,
        vec!["eu-west-1".to_string()],
        "its region only"
    );
    assert_eq!(first.groups.len(), 1, "{first:?}");
    assert_eq!(first.decisions[0].place, "vault-copy");
    let steps: BTreeMap<String, String> = first.decisions[0]
        .decisions
        .iter()
        .map(|d| (d.id.clone(), format!("{:?} {:?}", d.step, d.reasons)))
        .collect();
    assert!(steps[&newest].starts_with("Keep"), "{steps:?}");
    assert!(steps[&oldest].contains("floor: legal hold"), "{steps:?}");
    assert!(steps[&forged].starts_with("Mark"), "{steps:?}");
    assert_eq!(first.totals().marked, 1, "{}", first.summary());
    assert_eq!(first.held.len(), 1, "{:?}", first.held);
    assert_eq!(first.held[0].newest_copy, newest);
    assert!(!first.held[0].stale, "{:?}", first.held);

    let second = rempart_retention_enforcer::handle(
        &enforcer,
        retention_run(t1 + chrono::TimeDelta::hours(2)),
    )
    .await
    .expect("second run");
    assert_eq!(second.totals().deleted, 1, "{}", second.summary());
    let left: Vec<String> = snapshots(&admin).await.into_iter().map(|s| s.0).collect();
    for kept in [&oldest, &newest, &own] {
        assert!(left.contains(kept), "{kept} is kept: {left:?}");
    }
    assert!(!left.contains(&forged), "{forged} is deleted: {left:?}");
    let recorded = aws_sdk_dynamodb::Client::new(&admin)
        .scan()
        .table_name(rempart_integration::TABLE)
        .send()
        .await
        .expect("the backup account's registry");
    assert!(
        recorded
            .items()
            .iter()
            .any(|i| format!("{i:?}").contains(&forged) && format!("{i:?}").contains("delet")),
        "the deletion is recorded in the backup account's registry: {:?}",
        recorded.items()
    );
    let prod: Vec<String> = snapshots(&h.cfg).await.into_iter().map(|s| s.0).collect();
    for s in &sources {
        assert!(
            prod.contains(s),
            "production's {s} is not touched: {prod:?}"
        );
    }

    // No copy for longer than the RPO (26 h): the backup account says so
    // itself, whatever production's marks claim.
    let stale = rempart_retention_enforcer::handle(
        &enforcer,
        retention_run(t1 + chrono::TimeDelta::hours(27)),
    )
    .await
    .expect("a run past the RPO");
    assert_eq!(stale.held.len(), 1, "{:?}", stale.held);
    assert!(stale.held[0].stale, "{:?}", stale.held);
    assert_eq!(stale.held[0].newest_copy, newest);
    assert!(
        stale.summary().contains("older than the RPO"),
        "{}",
        stale.summary()
    );
    let digests: Vec<Value> = vault_watch
        .received("/vault")
        .iter()
        .filter_map(|r| {
            let envelope: Value = serde_json::from_slice(&r.body).ok()?;
            serde_json::from_str(envelope["Message"].as_str()?).ok()
        })
        .filter(|a: &Value| a["kind"] == "retention.digest")
        .collect();
    assert_eq!(digests.len(), 3, "one digest a run: {digests:?}");
    assert_eq!(digests[2]["severity"], "warning", "{:?}", digests[2]);
    assert_eq!(
        digests[2]["details"]["stale"][0]["source"],
        json!(stale.held[0].source),
        "{:?}",
        digests[2]
    );
    assert_eq!(
        digests[0]["details"]["stale"],
        json!([]),
        "fresh: nothing stale in the first digest"
    );
}

/// The Object Lock bucket of the backup account, as modules/vault_account
/// creates it for the REWAPP example (`redis_bucket`).
const REDIS_BUCKET: &str = "rewapp-rempart-vault-redis-210987654321";

/// Proves the Redis path to the backup account and what Object Lock
/// guarantees there: a scheduled Redis snapshot is exported (the harness's
/// proxy answers the export as ElastiCache does, and the test writes its two
/// `.rdb` files as ElastiCache would, one of them larger than an upload
/// part); the next sweep copies both files into the backup account's bucket
/// through the vault role, under the vault key, tagged as Rempart's, each
/// locked in compliance mode by the bucket's default retention, and marks
/// the snapshot; a replay uploads nothing again; the backup account's own
/// administrator cannot delete a file's version before its lock date; and
/// that account's drill tester seeds a Redis group there from those files
/// (a vault drill of Redis), checks, times and deletes it, and records it.
#[tokio::test]
async fn a_redis_export_reaches_the_vault_bucket_and_cannot_be_deleted_early() {
    let vault_entry = |key: &str| {
        format!(
            "{}\n[[policies.rewapp-redis.vault]]\naccount = \"{VAULT}\"\nrole = \"{ROLE}\"\nexternal_id = \"rempart-test\"\nkms_key = \"{key}\"\nbucket = \"{REDIS_BUCKET}\"\n",
            rempart_integration::EXAMPLE_POLICY
        )
    };
    let (h, admin, vault_key) = with_backup_account(vault_entry).await;
    // The bucket, as Terraform makes it: Object Lock, compliance, 30 days.
    let vault_s3 = aws_sdk_s3::Client::new(&admin);
    vault_s3
        .create_bucket()
        .bucket(REDIS_BUCKET)
        .object_lock_enabled_for_bucket(true)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    vault_s3
        .put_object_lock_configuration()
        .bucket(REDIS_BUCKET)
        .object_lock_configuration(
            aws_sdk_s3::types::ObjectLockConfiguration::builder()
                .object_lock_enabled(aws_sdk_s3::types::ObjectLockEnabled::Enabled)
                .rule(
                    aws_sdk_s3::types::ObjectLockRule::builder()
                        .default_retention(
                            aws_sdk_s3::types::DefaultRetention::builder()
                                .mode(aws_sdk_s3::types::ObjectLockRetentionMode::Compliance)
                                .days(30)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("lock configuration");

    rempart_snapshot_scheduler::handle(
        &h.deps,
        rempart_integration::scheduled_at("2026-12-01T04:00:00Z"),
    )
    .await
    .expect("scheduler");
    let name = format!("rempart-rewapp-redis-{}-20261201-0400", h.estate.redis);
    let first = sweep(&h.replicator).await;
    let states = vault_states(&first);
    assert_eq!(states[&name].0, "waiting", "exported first: {states:?}");
    // ElastiCache writes the export: two files, the second larger than an
    // upload part (a multipart upload).
    let big = vec![7u8; rempart_aws::exports::UPLOAD_PART + 1024];
    let s3 = aws_sdk_s3::Client::new(&h.cfg);
    let files = [
        (format!("{name}-0001.rdb"), b"REDIS0011 shard one".to_vec()),
        (format!("{name}-0002.rdb"), big.clone()),
    ];
    for (key, body) in &files {
        s3.put_object()
            .bucket("rewapp-prod-backups")
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.clone()))
            .send()
            .await
            .expect("put export");
    }

    let second = sweep(&h.replicator).await;
    let states = vault_states(&second);
    assert_eq!(states[&name].0, "available", "{states:?}");
    let lock_floor = chrono::Utc::now() + chrono::TimeDelta::days(29);
    for (key, body) in &files {
        let head = vault_s3
            .head_object()
            .bucket(REDIS_BUCKET)
            .key(key)
            .send()
            .await
            .expect("the file is in the backup account's bucket");
        assert_eq!(head.content_length(), Some(body.len() as i64), "{key}");
        assert_eq!(
            head.server_side_encryption().map(|e| e.as_str()),
            Some("aws:kms")
        );
        assert!(
            head.ssekms_key_id()
                .is_some_and(|k| vault_key.ends_with(k.rsplit('/').next().unwrap_or(k))),
            "{:?} vs {vault_key}",
            head.ssekms_key_id()
        );
        assert_eq!(
            head.object_lock_mode().map(|m| m.as_str()),
            Some("COMPLIANCE"),
            "{key}"
        );
        let until = head
            .object_lock_retain_until_date()
            .map(|d| d.secs())
            .unwrap_or_default();
        assert!(
            until > lock_floor.timestamp(),
            "{key} locked for 30 days: {until}"
        );
        let tags = vault_s3
            .get_object_tagging()
            .bucket(REDIS_BUCKET)
            .key(key)
            .send()
            .await
            .expect("tags");
        assert!(tags
            .tag_set()
            .iter()
            .any(|t| t.key() == "rempart:copy-of" && t.value().contains(&name)));
    }
    // moto answers a multipart object's GetObject with a whole-object CRC32
    // that is not the body's (AWS gives a composite `…-2` checksum, which
    // the SDK does not check): read without the SDK's check, and compare
    // the bytes here.
    let reader = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&admin)
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .build(),
    );
    let copied = reader
        .get_object()
        .bucket(REDIS_BUCKET)
        .key(&files[1].0)
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert!(copied == big[..], "the multipart copy is byte for byte");
    let ec = aws_sdk_elasticache::Client::new(&h.cfg);
    let marks = ec
        .list_tags_for_resource()
        .resource_name(format!(
            "arn:aws:elasticache:eu-west-1:{PROD}:snapshot:{name}"
        ))
        .send()
        .await
        .expect("tags");
    assert!(
        marks
            .tag_list()
            .iter()
            .any(|t| t.key() == Some(&format!("rempart:vault-copy:{VAULT}")[..])),
        "{marks:?}"
    );

    // The audit reads the mark: the cache's isolated RPO is two hours, a
    // metric of its own.
    let mut audit_event: Value =
        serde_json::from_str(include_str!("../../events/backup-auditor/scheduled.json"))
            .expect("JSON");
    audit_event["time"] = "2026-12-01T06:00:00Z".into();
    let audited = rempart_backup_auditor::handle(&h.auditor(&h.cfg), audit_event)
        .await
        .expect("audit");
    let cache = audited
        .audit
        .resources
        .iter()
        .find(|r| r.id == h.estate.redis)
        .expect("the cache is audited");
    assert_eq!(
        cache.vault_age_s.get(VAULT),
        Some(&Some(2 * 3600)),
        "{cache:?}"
    );
    assert!(
        !audited
            .audit
            .findings
            .iter()
            .any(|f| f.check.starts_with("vault-")),
        "{:?}",
        audited.audit.findings
    );

    // A replay uploads nothing again: one version per file.
    sweep(&h.replicator).await;
    let versions = vault_s3
        .list_object_versions()
        .bucket(REDIS_BUCKET)
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), files.len(), "{versions:?}");

    // Nobody deletes a locked version early, the account's administrator
    // included (compliance mode).
    for v in versions.versions() {
        let denied = vault_s3
            .delete_object()
            .bucket(REDIS_BUCKET)
            .key(v.key().unwrap_or_default())
            .version_id(v.version_id().unwrap_or_default())
            .send()
            .await;
        assert!(
            denied
                .as_ref()
                .is_err_and(|e| format!("{e:?}").contains("AccessDenied")),
            "{denied:?}"
        );
    }
    let after = vault_s3
        .list_object_versions()
        .bucket(REDIS_BUCKET)
        .send()
        .await
        .expect("versions");
    assert_eq!(after.versions().len(), files.len(), "nothing was deleted");

    // The backup account's drill tester seeds a Redis group there with the
    // locked files (the cache named by the files' `rempart:source`), checks
    // it, times it, deletes it, and records the drill in that account.
    let (vault_registry, mut tester) = vault_drill_tester(&h, &admin, PROD).await;
    tester.vault_redis_bucket = Some(REDIS_BUCKET.to_string());
    let t0 = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let first = rempart_restore_tester::handle(&tester, tester_tick(t0))
        .await
        .expect("started");
    let group = format!("rempart-rt-{}-{}", h.estate.redis, t0.format("%Y%m%d%H%M"));
    assert_eq!(first.started, vec![group.clone()], "{first:?}");
    let seeded = aws_sdk_elasticache::Client::new(&admin)
        .describe_replication_groups()
        .replication_group_id(&group)
        .send()
        .await
        .expect("the drill's group in the backup account");
    assert_eq!(
        seeded.replication_groups()[0].at_rest_encryption_enabled(),
        Some(true)
    );
    let second =
        rempart_restore_tester::handle(&tester, tester_tick(t0 + chrono::TimeDelta::minutes(5)))
            .await
            .expect("followed");
    let d = second
        .finished
        .iter()
        .find(|d| d["instance"] == group.as_str())
        .unwrap_or_else(|| panic!("the Redis drill concluded: {second:?}"));
    assert_eq!(d["rto_s"], 300, "{d}");
    assert!(
        d["checks"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["ok"] == true)),
        "{d}"
    );
    let records = vault_registry
        .records(&format!("elasticache-redis#eu-west-1#{}", h.estate.redis))
        .await
        .expect("records");
    let done = records
        .iter()
        .find(|r| r.action == "drill.succeeded")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(done.details["snapshot"], name.as_str(), "{done:?}");
}

/// Production's side of the vault tests: the share key
/// (`alias/rempart-vault-share`), a customer key both usable by the backup
/// account, and under that key a PostgreSQL instance `vaulted-db` and an
/// Aurora cluster `vaulted-aurora`. Production's RDS client and the key.
async fn vaulted_sources(h: &Harness) -> (aws_sdk_rds::Client, String) {
    let kms = aws_sdk_kms::Client::new(&h.cfg);
    create_key(
        &kms,
        Some(key_policy(Some(VAULT))),
        Some("alias/rempart-vault-share"),
    )
    .await;
    let cmk = create_key(&kms, Some(key_policy(Some(VAULT))), None).await;
    let rds = aws_sdk_rds::Client::new(&h.cfg);
    rds.create_db_instance()
        .db_instance_identifier("vaulted-db")
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .kms_key_id(&cmk)
        .send()
        .await
        .expect("instance");
    rds.create_db_cluster()
        .db_cluster_identifier("vaulted-aurora")
        .engine("aurora-postgresql")
        .master_username("app")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .kms_key_id(&cmk)
        .send()
        .await
        .expect("cluster");
    (rds, cmk)
}

/// The drill tester of the backup account, as modules/vault_account
/// deploys it (`rempart-vault-drill-tester`, with `REMPART_VAULT_OF`).
const DRILL_ROLE: &str = "arn:aws:iam::210987654321:role/rempart-vault-drill-tester";

/// The backup account's registry and topic (made by its administrator,
/// `admin`) and its drill tester under its own role, serving `production`.
async fn vault_drill_tester(
    h: &Harness,
    admin: &aws_config::SdkConfig,
    production: &str,
) -> (
    rempart_aws::registry::Registry,
    rempart_restore_tester::Deps,
) {
    let (registry, topic) = rempart_testkit::local::create_plumbing(
        admin,
        rempart_integration::TABLE,
        "rempart-events",
    )
    .await
    .expect("the backup account's registry and topic");
    let tester = rempart_restore_tester::Deps::for_backup_account(
        &assume(&h.cfg, DRILL_ROLE, None, "rempart-vault-drill-tester").await,
        rempart_integration::TABLE,
        topic.arn(),
        rempart_core::policy::PolicySource::File(h.policy_file.clone()),
        production,
    )
    .expect("tester deps");
    (registry, tester)
}

fn tester_tick(time: chrono::DateTime<chrono::Utc>) -> Value {
    let mut v: Value =
        serde_json::from_str(include_str!("../../events/restore-tester/scheduled.json"))
            .expect("JSON");
    v["time"] = rempart_core::time::rfc3339(time).into();
    v
}

/// Proves that an air-gapped copy restores where it is, with production out
/// of the picture (and out of production's DR network, which `[drills]`
/// names): a scheduled snapshot of a database, an Aurora cluster and
/// a volume reaches the backup account, twice for the database (the second
/// copy's source claiming an earlier date); the backup account's drill
/// tester, under its own role, restores there the copy that account made
/// last of each (not the one production's tags call newest), from the
/// backup account's key, checks each copy, times it (the RTO from the
/// vault, 300 s at the 5-minute polling), deletes it, tags the vault copy
/// `rempart:verified`, and records `drill.succeeded` on the production
/// resource's key in the backup account's registry; the vault copies stay,
/// and nothing is restored, recorded or touched in production.
///
/// Then a restore on request from the vault (`rempart restore --from-vault`):
/// the command's check refuses production's credentials and, with the
/// backup account's, plans the newest vault copy; the request (the sample
/// event, naming no snapshot) restores that copy into a new instance of
/// the backup account, tagged with the request, which the next run checks,
/// records `restore.completed` with its RTO, and keeps; a point in time, or
/// a snapshot that is no vault copy of the database, is refused and
/// restores nothing.
#[tokio::test]
async fn a_vault_drill_restores_the_air_gapped_copies_in_the_backup_account() {
    let drill_policy = |vault_key: &str| {
        // The DR region's drill network, which is production's: not
        // the backup account's.
        format!(
            "{}\n[drills]\npolicies = [\"vaulted\"]\nsubnet_group = \"production-dr-drills\"\nsecurity_groups = [\"sg-0123456789abcdef0\"]\n",
            policy(vault_key)
        )
    };
    let (h, admin, vault_key) = with_backup_account(drill_policy).await;
    let (rds, cmk) = vaulted_sources(&h).await;
    let ec2 = aws_sdk_ec2::Client::new(&h.cfg);
    let rtag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    let volume = ec2
        .create_volume()
        .availability_zone("eu-west-1a")
        .size(10)
        .encrypted(true)
        .kms_key_id(&cmk)
        .send()
        .await
        .expect("volume")
        .volume_id()
        .unwrap_or_default()
        .to_string();
    let managed = |source: &str, at: &str| {
        vec![
            ("rempart:managed".to_string(), "true".to_string()),
            ("rempart:policy".to_string(), "vaulted".to_string()),
            ("rempart:scheduled-at".to_string(), at.to_string()),
            ("rempart:source".to_string(), source.to_string()),
        ]
    };
    let db_arn = format!("arn:aws:rds:eu-west-1:{PROD}:db:vaulted-db");
    let aurora_arn = format!("arn:aws:rds:eu-west-1:{PROD}:cluster:vaulted-aurora");
    let volume_arn = format!("arn:aws:ec2:eu-west-1:{PROD}:volume/{volume}");
    // The database twice: the later copy's source claims an earlier date.
    let mut db_snaps = Vec::new();
    for (name, at) in [
        (
            "rempart-vaulted-vaulted-db-20261202-0200",
            "2026-12-02T02:00:00Z",
        ),
        (
            "rempart-vaulted-vaulted-db-20261201-0200",
            "2026-12-01T02:00:00Z",
        ),
    ] {
        let mut req = rds
            .create_db_snapshot()
            .db_instance_identifier("vaulted-db")
            .db_snapshot_identifier(name);
        for (k, v) in managed(&db_arn, at) {
            req = req.tags(rtag(&k, &v));
        }
        req.send().await.expect("db snapshot");
        if db_snaps.is_empty() {
            let mut cluster = rds
                .create_db_cluster_snapshot()
                .db_cluster_identifier("vaulted-aurora")
                .db_cluster_snapshot_identifier("rempart-vaulted-vaulted-aurora-20261202-0200");
            for (k, v) in managed(&aurora_arn, at) {
                cluster = cluster.tags(rtag(&k, &v));
            }
            cluster.send().await.expect("cluster snapshot");
            let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot);
            for (k, v) in managed(&volume_arn, at) {
                spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
            }
            ec2.create_snapshot()
                .volume_id(&volume)
                .tag_specifications(spec.build())
                .send()
                .await
                .expect("volume snapshot");
        }
        for _ in 0..3 {
            sweep(&h.replicator).await;
        }
        db_snaps.push(name);
        // The copies' creation times differ in the backup account.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let in_vault = snapshots(&admin).await;
    let copy_of = |needle: &str| -> String {
        in_vault
            .iter()
            .find(|(_, _, t)| {
                t.get("rempart:copy-of")
                    .is_some_and(|a| a.ends_with(needle) && a.contains(PROD))
            })
            .map(|(id, _, _)| id.clone())
            .unwrap_or_else(|| panic!("a vault copy of {needle}: {in_vault:?}"))
    };
    let last_made = copy_of(db_snaps[1]);
    let aurora_copy = copy_of("rempart-vaulted-vaulted-aurora-20261202-0200");
    let volume_copy = in_vault
        .iter()
        .find(|(_, _, t)| t.get("rempart:source") == Some(&volume_arn))
        .map(|(id, _, _)| id.clone())
        .unwrap_or_else(|| panic!("a vault copy of {volume}: {in_vault:?}"));
    assert_eq!(in_vault.len(), 4, "four vault copies: {in_vault:?}");

    // The drill tester there: its own role, registry, topic.
    let (vault_registry, tester) = vault_drill_tester(&h, &admin, PROD).await;
    assert!(
        rempart_restore_tester::Deps::for_backup_account(
            &admin,
            rempart_integration::TABLE,
            "arn:aws:sns:eu-west-1:210987654321:rempart-events",
            rempart_core::policy::PolicySource::File(h.policy_file.clone()),
            "production",
        )
        .is_err(),
        "a production account that is no account id is refused"
    );

    let t0 = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let first = rempart_restore_tester::handle(&tester, tester_tick(t0))
        .await
        .expect("started");
    assert_eq!(
        first.started.len(),
        3,
        "the database, the cluster, the volume: {first:?}"
    );
    let vault_rds = aws_sdk_rds::Client::new(&admin);
    let restored = vault_rds
        .describe_db_instances()
        .send()
        .await
        .expect("describe");
    let db_copy = restored
        .db_instances()
        .iter()
        .find(|i| {
            i.tag_list()
                .iter()
                .any(|t| t.key() == Some("rempart:restore-test") && t.value() == Some("vaulted-db"))
        })
        .unwrap_or_else(|| panic!("the database's drill copy in the backup account: {restored:?}"));
    let tag = |k: &str| {
        db_copy
            .tag_list()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(
        tag("rempart:restore-snapshot"),
        Some(last_made.clone()),
        "the copy the backup account made last, not the one dated latest"
    );
    assert_eq!(tag("rempart:drill").as_deref(), Some("eu-west-1"));
    assert_eq!(
        db_copy.kms_key_id(),
        Some(vault_key.as_str()),
        "restored under the backup account's key"
    );
    assert!(
        db_copy
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name())
            .is_none_or(|g| g != "production-dr-drills"),
        "placed in the backup account's own network, not the DR region's: {:?}",
        db_copy.db_subnet_group()
    );
    assert!(
        db_copy
            .vpc_security_groups()
            .iter()
            .all(|g| g.vpc_security_group_id() != Some("sg-0123456789abcdef0")),
        "{:?}",
        db_copy.vpc_security_groups()
    );

    let second =
        rempart_restore_tester::handle(&tester, tester_tick(t0 + chrono::TimeDelta::minutes(5)))
            .await
            .expect("followed");
    assert_eq!(second.finished.len(), 3, "{second:?}");
    for d in &second.finished {
        assert_eq!(d["rto_s"], 300, "{d}");
        assert_eq!(d["source_region"], "eu-west-1", "{d}");
        assert!(
            d["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .all(|c| c["ok"] == true),
            "{d}"
        );
    }
    let left = vault_rds
        .describe_db_instances()
        .send()
        .await
        .expect("describe");
    assert!(
        left.db_instances().is_empty(),
        "the drill copies are deleted: {left:?}"
    );
    let volumes = aws_sdk_ec2::Client::new(&admin)
        .describe_volumes()
        .send()
        .await
        .expect("volumes");
    assert!(
        volumes
            .volumes()
            .iter()
            .all(|v| matches!(v.state().map(|s| s.as_str()), Some("deleting" | "deleted"))),
        "the volume's drill copy is deleted: {volumes:?}"
    );
    for (key, copy) in [
        ("rds-instance#eu-west-1#vaulted-db", &last_made),
        ("aurora-cluster#eu-west-1#vaulted-aurora", &aurora_copy),
        (&*format!("ebs-volume#eu-west-1#{volume}"), &volume_copy),
    ] {
        let records = vault_registry.records(key).await.expect("records");
        let done = records
            .iter()
            .find(|r| r.action == "drill.succeeded")
            .unwrap_or_else(|| panic!("{key}: {records:?}"));
        assert_eq!(done.details["snapshot"], copy.as_str(), "{key}");
    }
    // The vault copies stay, the drilled ones verified.
    let after = snapshots(&admin).await;
    assert_eq!(after.len(), 4, "{after:?}");
    let verified = |id: &str| {
        after
            .iter()
            .find(|(i, _, _)| i == id)
            .is_some_and(|(_, _, t)| t.contains_key("rempart:verified"))
    };
    assert!(verified(&last_made) && verified(&aurora_copy), "{after:?}");
    // Production: nothing restored, nothing recorded.
    let prod_instances = rds.describe_db_instances().send().await.expect("describe");
    assert!(
        prod_instances.db_instances().iter().all(|i| !i
            .db_instance_identifier()
            .unwrap_or("")
            .starts_with("rempart-rt-")),
        "nothing restored in production: {prod_instances:?}"
    );
    let prod_records = h
        .registry
        .records("rds-instance#eu-west-1#vaulted-db")
        .await
        .expect("records");
    assert!(
        !prod_records.iter().any(|r| r.action.starts_with("drill.")),
        "{prod_records:?}"
    );

    // A restore on request from the vault. The command's own check first.
    let mut sample: Value = serde_json::from_str(include_str!(
        "../../events/restore-tester/request-from-vault.json"
    ))
    .expect("JSON");
    sample["detail"]["database"] = "vaulted-db".into();
    sample["detail"]["target"] = "vaulted-db-recovered".into();
    let asked: rempart_core::restore::RestoreRequest =
        serde_json::from_value(sample["detail"].clone()).expect("request");
    let rds_of = |cfg: &aws_config::SdkConfig| {
        rempart_aws::rds::Rds::new(aws_sdk_rds::Client::new(cfg), "eu-west-1")
    };
    let at = t0 + chrono::TimeDelta::minutes(10);
    let wrong = rempart_cli::restore::assess_from_vault(&rds_of(&h.cfg), &asked, VAULT, at)
        .await
        .expect_err("production's credentials are refused");
    assert!(
        wrong
            .to_string()
            .contains(&format!("act in account {PROD}")),
        "{wrong}"
    );
    let (planned, plan) =
        rempart_cli::restore::assess_from_vault(&rds_of(&admin), &asked, VAULT, at)
            .await
            .expect("the backup account's");
    assert_eq!(planned.snapshot.as_deref(), Some(last_made.as_str()));
    assert!(plan.decision.is_ok(), "{:?}", plan.decision);

    // The request as the tester takes it: no snapshot named, the newest.
    sample["time"] = rempart_core::time::rfc3339(at).into();
    let started = rempart_restore_tester::handle(&tester, sample.clone())
        .await
        .expect("request");
    assert_eq!(started.requests[0]["state"], "started", "{started:?}");
    let recovered = vault_rds
        .describe_db_instances()
        .db_instance_identifier("vaulted-db-recovered")
        .send()
        .await
        .expect("the restored instance in the backup account");
    let i = &recovered.db_instances()[0];
    let itag = |k: &str| {
        i.tag_list()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(itag("rempart:restore-point"), Some(last_made.clone()));
    assert_eq!(
        itag("rempart:requested-by").as_deref(),
        Some("alice@rewapp.io")
    );
    assert_eq!(i.kms_key_id(), Some(vault_key.as_str()));
    let followed =
        rempart_restore_tester::handle(&tester, tester_tick(at + chrono::TimeDelta::minutes(5)))
            .await
            .expect("followed");
    let done = followed
        .requests
        .iter()
        .find(|r| r["target"] == "vaulted-db-recovered" || r["instance"] == "vaulted-db-recovered")
        .unwrap_or_else(|| panic!("the request concluded: {followed:?}"));
    assert_eq!(done["rto_s"], 300, "{done}");
    assert!(
        done["checks"]
            .as_array()
            .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["ok"] == true)),
        "{done}"
    );
    let records = vault_registry
        .records("rds-instance#eu-west-1#vaulted-db")
        .await
        .expect("records");
    let completed = records
        .iter()
        .find(|r| r.action == "restore.completed")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(
        completed.outcome,
        rempart_core::announce::Outcome::Success,
        "{completed:?}"
    );
    assert_eq!(completed.details["rto_s"], 300, "{completed:?}");
    let kept = vault_rds
        .describe_db_instances()
        .db_instance_identifier("vaulted-db-recovered")
        .send()
        .await
        .expect("kept: a restore on request is never deleted");
    assert_eq!(kept.db_instances().len(), 1);

    // Refused, restoring nothing: a point in time, another's snapshot.
    let mut pitr = sample.clone();
    pitr["id"] = "vault-pitr".into();
    pitr["detail"]["target"] = "vaulted-db-pitr".into();
    pitr["detail"]["point_in_time"] = rempart_core::time::rfc3339(at).into();
    let mut foreign = sample.clone();
    foreign["id"] = "vault-foreign".into();
    foreign["detail"]["target"] = "vaulted-db-foreign".into();
    foreign["detail"]["snapshot"] = aurora_copy.as_str().into();
    for (ev, needle) in [
        (pitr, "outside the window"),
        (foreign, "is not an available snapshot"),
    ] {
        let r = rempart_restore_tester::handle(&tester, ev)
            .await
            .expect("refusal");
        assert_eq!(r.requests[0]["state"], "refused", "{r:?}");
        assert!(
            r.requests[0]["reason"]
                .as_str()
                .unwrap_or("")
                .contains(needle),
            "{r:?}"
        );
    }
    let all = vault_rds
        .describe_db_instances()
        .send()
        .await
        .expect("describe");
    assert_eq!(
        all.db_instances().len(),
        1,
        "only the restore on request: {all:?}"
    );
}

/// The recovery account of the backup account (modules/recovery_account).
const RECOVERY: &str = "444455556666";
const RECOVERY_ROLE: &str = "arn:aws:iam::444455556666:role/rempart-recovery";
const RECOVERY_KEY: &str = "arn:aws:kms:eu-west-1:444455556666:alias/rempart-recovery";

/// The accounts a DB snapshot and a cluster snapshot of the account `cfg`
/// acts in are shared with (their `restore` attribute).
async fn vault_shares(
    cfg: &aws_config::SdkConfig,
    db_snapshot: &str,
    cluster_snapshot: &str,
) -> (Vec<String>, Vec<String>) {
    let rds = aws_sdk_rds::Client::new(cfg);
    let db = rds
        .describe_db_snapshot_attributes()
        .db_snapshot_identifier(db_snapshot)
        .send()
        .await
        .expect("attributes");
    let cluster = rds
        .describe_db_cluster_snapshot_attributes()
        .db_cluster_snapshot_identifier(cluster_snapshot)
        .send()
        .await
        .expect("attributes");
    (
        db.db_snapshot_attributes_result()
            .map(|r| {
                r.db_snapshot_attributes()
                    .iter()
                    .flat_map(|x| x.attribute_values().to_vec())
                    .collect()
            })
            .unwrap_or_default(),
        cluster
            .db_cluster_snapshot_attributes_result()
            .map(|r| {
                r.db_cluster_snapshot_attributes()
                    .iter()
                    .flat_map(|x| x.attribute_values().to_vec())
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// One run of a restore-tester, its future on the heap: the many runs of
/// one test would otherwise each take their room on the test's stack
/// (debug builds do not share it between them).
async fn run_tester(
    deps: &rempart_restore_tester::Deps,
    event: Value,
) -> rempart_aws::error::Result<rempart_restore_tester::TesterReport> {
    Box::pin(rempart_restore_tester::handle(deps, event)).await
}

/// `CopyDBSnapshot` into `denied-*` answered as RDS does when the vault
/// key's policy does not let the recovery account use it: moto enforces no
/// key policy (a gap answered at the HTTP level).
fn vault_key_denied(r: &Request) -> Option<(String, String)> {
    if rempart_testkit::proxy::operation(r) != "rds:CopyDBSnapshot"
        || !String::from_utf8_lossy(&r.body).contains("TargetDBSnapshotIdentifier=denied-")
    {
        return None;
    }
    Some((
        "400 Bad Request".into(),
        r#"<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type><Code>KMSKeyNotAccessibleFault</Code><Message>The source snapshot KMS key [arn:aws:kms:eu-west-1:210987654321:key/vault] does not exist, is not enabled or you do not have permissions to access it.</Message></Error><RequestId>recovery-test</RequestId></ErrorResponse>"#.into(),
    ))
}

/// Proves a restore from the vault lands in a separate recovery account,
/// with production out of the picture: a database and an Aurora cluster
/// reach the backup account; a request naming the recovery account
/// (`to_account`) makes the backup account's drill tester share the newest
/// vault copy with it and copy it there, through the recovery role, under
/// the recovery account's key, tagged with the request; the next run finds
/// the copy made, restores it there into the requested name and removes
/// the share; the run after checks the database and records
/// `restore.completed` with the RTO from the request (600 s: copy, then
/// restore) and the account in the backup account's registry. The copy and
/// the database stay there; nothing is restored in the backup account or
/// production. Refused, with nothing shared: an account that is not one of
/// the backup account's recovery accounts, and `to_account` sent to
/// production's restore-tester. A copy the vault key does not allow
/// fails to start, is reported naming the key and the role, and leaves
/// nothing shared.
#[tokio::test]
async fn a_restore_from_the_vault_lands_in_the_recovery_account() {
    let (h, admin, _) = with_backup_account(policy).await;
    let (rds, _) = vaulted_sources(&h).await;
    let rtag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    let at = "2026-12-02T02:00:00Z";
    let managed = |source: String| {
        [
            ("rempart:managed", "true".to_string()),
            ("rempart:policy", "vaulted".to_string()),
            ("rempart:scheduled-at", at.to_string()),
            ("rempart:source", source),
        ]
    };
    let mut snap = rds
        .create_db_snapshot()
        .db_instance_identifier("vaulted-db")
        .db_snapshot_identifier("rempart-vaulted-vaulted-db-20261202-0200");
    for (k, v) in managed(format!("arn:aws:rds:eu-west-1:{PROD}:db:vaulted-db")) {
        snap = snap.tags(rtag(k, &v));
    }
    snap.send().await.expect("db snapshot");
    let mut csnap = rds
        .create_db_cluster_snapshot()
        .db_cluster_identifier("vaulted-aurora")
        .db_cluster_snapshot_identifier("rempart-vaulted-vaulted-aurora-20261202-0200");
    for (k, v) in managed(format!(
        "arn:aws:rds:eu-west-1:{PROD}:cluster:vaulted-aurora"
    )) {
        csnap = csnap.tags(rtag(k, &v));
    }
    csnap.send().await.expect("cluster snapshot");
    for _ in 0..3 {
        sweep(&h.replicator).await;
    }
    let in_vault = snapshots(&admin).await;
    assert_eq!(in_vault.len(), 2, "both reach the vault: {in_vault:?}");
    let copy_of = |needle: &str| -> String {
        in_vault
            .iter()
            .find(|(_, _, t)| {
                t.get("rempart:copy-of")
                    .is_some_and(|a| a.ends_with(needle))
            })
            .map(|(id, _, _)| id.clone())
            .unwrap_or_else(|| panic!("a vault copy of {needle}: {in_vault:?}"))
    };
    let db_copy = copy_of("rempart-vaulted-vaulted-db-20261202-0200");
    let aurora_copy = copy_of("rempart-vaulted-vaulted-aurora-20261202-0200");

    // The recovery account: its key, made by its administrator.
    let recovery_admin = assume(
        &h.cfg,
        "arn:aws:iam::444455556666:role/OrganizationAccountAccessRole",
        None,
        "test-admin",
    )
    .await;
    let recovery_key = create_key(
        &aws_sdk_kms::Client::new(&recovery_admin),
        None,
        Some("alias/rempart-recovery"),
    )
    .await;
    assert!(recovery_key.contains(RECOVERY), "{recovery_key}");
    let accounts = rempart_core::recovery::parse_recovery_accounts(
        &json!({RECOVERY: {"role": RECOVERY_ROLE, "kms_key": RECOVERY_KEY, "external_id": "rempart-recovery"}})
            .to_string(),
    )
    .expect("recovery accounts");
    let (vault_registry, mut tester) = vault_drill_tester(&h, &admin, PROD).await;
    tester.recovery = accounts.clone();

    let request = |id: &str, db: &str, target: &str, to: &str, time| {
        let mut ev: Value = serde_json::from_str(include_str!(
            "../../events/restore-tester/request-from-vault-to-recovery.json"
        ))
        .expect("JSON");
        ev["id"] = id.into();
        ev["time"] = rempart_core::time::rfc3339(time).into();
        ev["detail"]["database"] = db.into();
        ev["detail"]["target"] = target.into();
        ev["detail"]["to_account"] = to.into();
        ev
    };
    let t0 = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let vault_rds = aws_sdk_rds::Client::new(&admin);
    let recovery_rds = aws_sdk_rds::Client::new(&recovery_admin);

    // Refused first, nothing shared: an account that is not a recovery
    // account, and production's own restore-tester.
    let stranger = run_tester(
        &tester,
        request(
            "to-stranger",
            "vaulted-db",
            "stranger-db",
            "777788889999",
            t0,
        ),
    )
    .await
    .expect("refusal");
    assert_eq!(stranger.requests[0]["state"], "refused", "{stranger:?}");
    assert!(
        stranger.requests[0]["reason"].as_str().is_some_and(|r| r
            .contains("777788889999 is not a recovery account")
            && r.contains(RECOVERY)),
        "{stranger:?}"
    );
    let production_tester = h.restore_tester_through(&h.aws.endpoint).await;
    let in_production = run_tester(
        &production_tester,
        request("to-from-prod", "vaulted-db", "prod-db", RECOVERY, t0),
    )
    .await
    .expect("refusal");
    assert_eq!(
        in_production.requests[0]["state"], "refused",
        "{in_production:?}"
    );
    assert_eq!(
        vault_shares(&admin, &db_copy, &aurora_copy).await,
        (vec![], vec![]),
        "nothing shared by a refusal"
    );

    // The request: shared, and copied into the recovery account.
    let started = run_tester(
        &tester,
        request(
            "to-recovery",
            "vaulted-db",
            "vaulted-db-recovered",
            RECOVERY,
            t0,
        ),
    )
    .await
    .expect("request");
    assert_eq!(started.requests[0]["state"], "copying", "{started:?}");
    assert_eq!(started.requests[0]["account"], RECOVERY, "{started:?}");
    let aurora_started = run_tester(
        &tester,
        request(
            "to-recovery-aurora",
            "vaulted-aurora",
            "vaulted-aurora-recovered",
            RECOVERY,
            t0,
        ),
    )
    .await
    .expect("request");
    assert_eq!(
        aurora_started.requests[0]["state"], "copying",
        "{aurora_started:?}"
    );
    assert_eq!(
        vault_shares(&admin, &db_copy, &aurora_copy).await,
        (vec![RECOVERY.to_string()], vec![RECOVERY.to_string()]),
        "both vault copies shared with the recovery account only"
    );
    let copies = snapshots(&recovery_admin).await;
    let (_, key, tags) = copies
        .iter()
        .find(|(id, _, _)| id == "vaulted-db-recovered")
        .unwrap_or_else(|| panic!("the copy in the recovery account: {copies:?}"));
    assert!(
        key.contains(RECOVERY),
        "under the recovery account's key: {key}"
    );
    assert_eq!(
        tags.get("rempart:restore-request").map(String::as_str),
        Some("to-recovery")
    );
    assert!(
        tags.get("rempart:restore-from")
            .is_some_and(|a| a.contains(VAULT) && a.ends_with(&db_copy)),
        "{tags:?}"
    );
    let redelivered = run_tester(
        &tester,
        request(
            "to-recovery",
            "vaulted-db",
            "vaulted-db-recovered",
            RECOVERY,
            t0,
        ),
    )
    .await
    .expect("redelivery");
    assert_eq!(
        redelivered.requests[0]["state"], "already-started",
        "{redelivered:?}"
    );

    // The next run: the copies are made, restored there, shares removed.
    let second = run_tester(&tester, tester_tick(t0 + chrono::TimeDelta::minutes(5)))
        .await
        .expect("restoring");
    let restoring: Vec<&Value> = second
        .requests
        .iter()
        .filter(|r| r["state"] == "restoring")
        .collect();
    assert_eq!(restoring.len(), 2, "{second:?}");
    assert_eq!(
        vault_shares(&admin, &db_copy, &aurora_copy).await,
        (vec![], vec![]),
        "the shares are removed once the copies are made"
    );
    let restored = recovery_rds
        .describe_db_instances()
        .db_instance_identifier("vaulted-db-recovered")
        .send()
        .await
        .expect("the database restored in the recovery account");
    let i = &restored.db_instances()[0];
    let itags = rds_tags(i.tag_list());
    assert_eq!(
        itags.get("rempart:restore-request").map(String::as_str),
        Some("to-recovery")
    );
    assert_eq!(
        itags.get("rempart:restore-point"),
        Some(&db_copy),
        "{itags:?}"
    );
    assert!(
        recovery_rds
            .describe_db_clusters()
            .db_cluster_identifier("vaulted-aurora-recovered")
            .send()
            .await
            .is_ok(),
        "the cluster restored in the recovery account"
    );

    // The run after: checked, recorded with the RTO and the account.
    let third = run_tester(&tester, tester_tick(t0 + chrono::TimeDelta::minutes(10)))
        .await
        .expect("followed");
    for target in ["vaulted-db-recovered", "vaulted-aurora-recovered"] {
        let done = third
            .requests
            .iter()
            .find(|r| r["target"] == target && r.get("rto_s").is_some())
            .unwrap_or_else(|| panic!("{target} concluded: {third:?}"));
        assert_eq!(done["rto_s"], 600, "{done}");
        assert_eq!(done["account"], RECOVERY, "{done}");
        assert!(
            done["checks"]
                .as_array()
                .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["ok"] == true)),
            "{done}"
        );
    }
    let records = vault_registry
        .records("rds-instance#eu-west-1#vaulted-db")
        .await
        .expect("records");
    let completed = records
        .iter()
        .find(|r| r.action == "restore.completed")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(
        completed.outcome,
        rempart_core::announce::Outcome::Success,
        "{completed:?}"
    );
    assert_eq!(completed.details["account"], RECOVERY, "{completed:?}");
    // Kept there; nothing restored in the backup account.
    assert_eq!(
        snapshots(&recovery_admin).await.len(),
        2,
        "the copies are kept"
    );
    let in_backup = vault_rds
        .describe_db_instances()
        .send()
        .await
        .expect("describe");
    assert!(
        in_backup.db_instances().is_empty(),
        "nothing restored in the backup account: {in_backup:?}"
    );
    let fourth = run_tester(&tester, tester_tick(t0 + chrono::TimeDelta::minutes(15)))
        .await
        .expect("quiet");
    assert!(
        fourth.requests.is_empty(),
        "reported once, then left alone: {fourth:?}"
    );

    // A copy the vault key does not allow: reported, nothing shared.
    let proxy = rempart_testkit::proxy::CountingProxy::with_hooks(
        &h.aws.endpoint,
        Some(Arc::new(vault_key_denied)),
        None,
    )
    .await
    .expect("proxy");
    let proxied = rempart_testkit::local::sdk_config_for(&proxy.url(), "eu-west-1").await;
    let mut denied_tester = rempart_restore_tester::Deps::for_backup_account(
        &assume(&proxied, DRILL_ROLE, None, "rempart-vault-drill-tester").await,
        rempart_integration::TABLE,
        tester.topic.arn(),
        rempart_core::policy::PolicySource::File(h.policy_file.clone()),
        PROD,
    )
    .expect("tester deps");
    denied_tester.recovery = accounts;
    let denied = run_tester(
        &denied_tester,
        request(
            "to-recovery-denied",
            "vaulted-db",
            "denied-db",
            RECOVERY,
            t0 + chrono::TimeDelta::minutes(20),
        ),
    )
    .await
    .expect("reported");
    assert_eq!(denied.requests[0]["state"], "failed", "{denied:?}");
    let reason = denied.requests[0]["reason"].as_str().unwrap_or("");
    for needle in [
        RECOVERY_KEY,
        RECOVERY_ROLE,
        "KMSKeyNotAccessibleFault",
        "share was removed",
    ] {
        assert!(reason.contains(needle), "{needle}: {reason}");
    }
    assert_eq!(
        vault_shares(&admin, &db_copy, &aurora_copy).await,
        (vec![], vec![]),
        "no share left by a copy that failed"
    );
}

/// Proves an air-gapped copy is proven down to its data in the backup
/// account: the database reaches the vault; the backup account's drill
/// tester restores the vault copy there, has RDS give the copy its own
/// master secret (moto answers `ModifyDBInstance ManageMasterUserPassword`
/// with fixed credentials, `admin` / `P@55w0rd!`), connects to it over TLS
/// (a real PostgreSQL server, Debian's, stands where moto says the copy is;
/// the server's certificate verified against its CA) and finds the
/// fixture's table with its 1,200 rows against a minimum of 1,000; the
/// drill is `drill.succeeded` with those checks in the backup account's
/// registry, and the copy is deleted. A minimum of 5,000 fails the drill,
/// with the database's answer in the record.
#[tokio::test]
async fn a_vault_drill_checks_the_air_gapped_copy_down_to_its_data() {
    let pg = rempart_testkit::postgres::LocalPostgres::start().expect("PostgreSQL starts");
    pg.execute("postgres", "CREATE ROLE admin LOGIN PASSWORD 'P@55w0rd!'")
        .await
        .expect("role");
    pg.execute("postgres", "CREATE DATABASE app OWNER admin")
        .await
        .expect("database");
    pg.execute(
        "app",
        "CREATE TABLE users (id int PRIMARY KEY, email text);
INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 1200) g;
ALTER TABLE users OWNER TO admin;",
    )
    .await
    .expect("table");
    let checked = |min: u32| {
        move |vault_key: &str| {
            format!(
                r#"{}
[restore_tests]
policies = ["vaulted"]

[[restore_tests.sql_checks]]
instance = "vaulted-db"
database = "app"
tables = ["public.users"]
sql = "SELECT count(*) FROM users"
min_value = {min}

[drills]
policies = ["vaulted"]
"#,
                policy(vault_key)
            )
        }
    };
    let (h, admin, vault_key) = with_backup_account(checked(1000)).await;
    let (rds, _) = vaulted_sources(&h).await;
    let mut snap = rds
        .create_db_snapshot()
        .db_instance_identifier("vaulted-db")
        .db_snapshot_identifier("rempart-vaulted-vaulted-db-20261202-0200");
    for (k, v) in [
        ("rempart:managed", "true".to_string()),
        ("rempart:policy", "vaulted".to_string()),
        ("rempart:scheduled-at", "2026-12-02T02:00:00Z".to_string()),
        (
            "rempart:source",
            format!("arn:aws:rds:eu-west-1:{PROD}:db:vaulted-db"),
        ),
    ] {
        snap = snap.tags(aws_sdk_rds::types::Tag::builder().key(k).value(v).build());
    }
    snap.send().await.expect("db snapshot");
    for _ in 0..3 {
        sweep(&h.replicator).await;
    }
    let (vault_registry, mut tester) = vault_drill_tester(&h, &admin, PROD).await;
    tester.postgres = rempart_aws::postgres::Postgres::new(Some(pg.ca_pem.as_bytes()))
        .expect("CA")
        .with_resolver(pg.resolver());

    let t0 = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let mut done = None;
    for step in 0..6 {
        let r = run_tester(
            &tester,
            tester_tick(t0 + chrono::TimeDelta::minutes(5 * step)),
        )
        .await
        .expect("tick");
        if let Some(d) = r.finished.first() {
            done = Some(d.clone());
            break;
        }
    }
    let d = done.expect("the vault drill concluded");
    let checks = d["checks"].as_array().expect("checks");
    for needle in [
        "`public.users` exists and is readable",
        "returned 1200 (at least 1000)",
    ] {
        let c = checks
            .iter()
            .find(|c| c["detail"].as_str().is_some_and(|s| s.contains(needle)))
            .unwrap_or_else(|| panic!("a check saying {needle:?}: {d:#}"));
        assert_eq!(c["ok"], true, "{c}");
        assert!(
            c["detail"]
                .as_str()
                .is_some_and(|s| s.contains("`app` as `admin`, TLS, server verified")),
            "{c}"
        );
    }
    let records = vault_registry
        .records("rds-instance#eu-west-1#vaulted-db")
        .await
        .expect("records");
    assert!(
        records.iter().any(|r| r.action == "drill.succeeded"),
        "{records:?}"
    );
    let vault_rds = aws_sdk_rds::Client::new(&admin);
    let left = vault_rds
        .describe_db_instances()
        .send()
        .await
        .expect("describe");
    assert!(
        left.db_instances().is_empty(),
        "the drill copy is deleted: {left:?}"
    );

    // The same copy against a minimum its data does not reach: failed.
    std::fs::write(&h.policy_file, checked(5000)(&vault_key)).expect("policy");
    let mut failed = None;
    for step in 0..6 {
        // Past the next drill period: due again.
        let at = t0 + chrono::TimeDelta::days(200) + chrono::TimeDelta::minutes(5 * step);
        let r = run_tester(&tester, tester_tick(at)).await.expect("tick");
        if let Some(d) = r.finished.first() {
            failed = Some(d.clone());
            break;
        }
    }
    let f = failed.expect("the second drill concluded");
    assert!(
        f["checks"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["ok"] == false
                && c["detail"]
                    .as_str()
                    .is_some_and(|s| s.contains("returned 1200")))),
        "{f:#}"
    );
    let records = vault_registry
        .records("rds-instance#eu-west-1#vaulted-db")
        .await
        .expect("records");
    assert!(
        records.iter().any(|r| r.action == "drill.failed"),
        "{records:?}"
    );
}
