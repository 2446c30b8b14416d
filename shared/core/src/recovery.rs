//! Restores from the vault into a recovery account: the backup account's
//! drill tester shares a vault copy with a recovery account, copies it there
//! under that account's key (through a role of that account), and restores
//! the copy there once it is made. This module holds the recovery accounts'
//! configuration and what to do next with each copy.

use crate::kind::ResourceKind;
use crate::model::SnapshotInfo;
use crate::naming::{arn_parts, valid_account_id};
use crate::tags::{
    TAG_APPROVED_BY, TAG_REQUESTED_BY, TAG_RESTORE_CLASS, TAG_RESTORE_COMPLETED, TAG_RESTORE_FROM,
    TAG_RESTORE_POINT, TAG_RESTORE_REQUEST, TAG_RESTORE_SOURCE, TAG_RESTORE_STARTED,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A recovery account as the backup account knows it: one entry of
/// `REMPART_RECOVERY_ACCOUNTS` (modules/vault_account's `recovery_accounts`),
/// keyed by the account id.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RecoveryAccount {
    /// The role the drill tester assumes there (modules/recovery_account).
    pub role: String,
    /// The external id its trust policy asks for, if any.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The key the copies are made under there: a key or alias ARN of that
    /// account.
    pub kms_key: String,
}

/// Parses and checks the recovery accounts (a JSON object keyed by account
/// id). Each role and key must be of its own account: a copy under a key of
/// another account, or through a role of another, would not be that
/// account's.
pub fn parse_recovery_accounts(json: &str) -> Result<BTreeMap<String, RecoveryAccount>, String> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let accounts: BTreeMap<String, RecoveryAccount> = serde_json::from_str(json).map_err(|e| {
        format!(
            "a JSON object {{\"<account id>\": {{\"role\": \"<role ARN>\", \"kms_key\": \"<key or alias ARN>\", \"external_id\": \"…\"}}}} is expected: {e}"
        )
    })?;
    for (account, a) in &accounts {
        if !valid_account_id(account) {
            return Err(format!("`{account}` is not an AWS account id (12 digits)"));
        }
        match arn_parts(&a.role) {
            Some((_, "iam", _, acc, res)) if acc == account && res.starts_with("role/") => {}
            _ => {
                return Err(format!(
                    "account {account}: role `{}` is not the ARN of a role of account {account}",
                    a.role
                ))
            }
        }
        match arn_parts(&a.kms_key) {
            Some((_, "kms", region, acc, res))
                if acc == account
                    && !region.is_empty()
                    && (res.starts_with("key/") || res.starts_with("alias/")) => {}
            _ => {
                return Err(format!(
                    "account {account}: kms_key `{}` is not the ARN of a key or alias of account {account}",
                    a.kms_key
                ))
            }
        }
        if a.external_id
            .as_deref()
            .is_some_and(|e| e.trim().is_empty())
        {
            return Err(format!(
                "account {account}: external_id is empty (leave it out instead)"
            ));
        }
    }
    Ok(accounts)
}

/// The recovery account a request names (`to_account`), checked: only a
/// backup account (`from_vault`) restores into one, and only into one of
/// its recovery accounts. `Ok(None)`: the request restores where it is sent.
pub fn recovery_of<'a>(
    to_account: Option<&str>,
    from_vault: bool,
    accounts: &'a BTreeMap<String, RecoveryAccount>,
) -> Result<Option<(&'a str, &'a RecoveryAccount)>, String> {
    let Some(to) = to_account.map(str::trim) else {
        return Ok(None);
    };
    if !from_vault {
        return Err(format!(
            "`to_account` ({to}) is for restores from the vault: send the request to the backup account (`rempart restore --from-vault <production account> --to-account {to}`)"
        ));
    }
    if !valid_account_id(to) {
        return Err(format!(
            "`to_account` `{to}` is not an AWS account id (12 digits)"
        ));
    }
    match accounts.get_key_value(to) {
        Some((id, a)) => Ok(Some((id.as_str(), a))),
        None => Err(format!(
            "account {to} is not a recovery account of this backup account (it has {}): add it to modules/vault_account's recovery_accounts and deploy modules/recovery_account there",
            if accounts.is_empty() {
                "none".to_string()
            } else {
                accounts.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        )),
    }
}

/// The tags a restore on request carries (on the recovery account's copy,
/// then on the database restored from it): what the follow-up reads.
const CARRIED: &[&str] = &[
    TAG_RESTORE_REQUEST,
    TAG_RESTORE_SOURCE,
    TAG_RESTORE_POINT,
    TAG_RESTORE_STARTED,
    TAG_REQUESTED_BY,
    TAG_APPROVED_BY,
    TAG_RESTORE_FROM,
];

/// The tags of the recovery account's copy: the request's (`request_tags`),
/// the vault copy it is made from, and the class asked for.
pub fn copy_tags(
    request_tags: &[(String, String)],
    vault_copy_arn: &str,
    class: Option<&str>,
) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = request_tags
        .iter()
        .filter(|(k, _)| k != TAG_RESTORE_FROM && k != TAG_RESTORE_CLASS)
        .cloned()
        .collect();
    tags.push((TAG_RESTORE_FROM.into(), vault_copy_arn.into()));
    if let Some(c) = class.map(str::trim).filter(|c| !c.is_empty()) {
        tags.push((TAG_RESTORE_CLASS.into(), c.into()));
    }
    tags.retain(|(_, v)| v.len() <= 256);
    tags
}

/// What to do next with a copy in a recovery account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoveryStep {
    /// Not a copy of a request, or reported already: nothing.
    Done,
    /// Still being made.
    Copying,
    /// Made, and nothing restored from it yet: restore it into `target` (the
    /// copy's own name) with `tags`, then unshare the vault copy.
    Restore {
        kind: ResourceKind,
        target: String,
        class: Option<String>,
        tags: Vec<(String, String)>,
    },
    /// Restored already: the database is followed as any restore on request.
    Restored,
    /// The copy failed: reported once (then marked), and the vault copy
    /// unshared.
    Failed { why: String },
}

/// The next step for `copy`, a snapshot of the recovery account;
/// `target_exists`: an instance or cluster has the copy's name there.
pub fn recovery_step(copy: &SnapshotInfo, target_exists: bool) -> RecoveryStep {
    if !copy.tags.contains_key(TAG_RESTORE_REQUEST)
        || !copy.tags.contains_key(TAG_RESTORE_FROM)
        || copy.tags.contains_key(TAG_RESTORE_COMPLETED)
        || !matches!(
            copy.kind,
            ResourceKind::RdsInstance | ResourceKind::AuroraCluster
        )
    {
        return RecoveryStep::Done;
    }
    if target_exists {
        return RecoveryStep::Restored;
    }
    if crate::model::is_available(copy) {
        return RecoveryStep::Restore {
            kind: copy.kind,
            target: copy.id.clone(),
            class: copy.tags.get(TAG_RESTORE_CLASS).cloned(),
            tags: CARRIED
                .iter()
                .filter_map(|k| Some((k.to_string(), copy.tags.get(*k)?.clone())))
                .collect(),
        };
    }
    if matches!(copy.status.as_str(), "failed" | "error") {
        return RecoveryStep::Failed {
            why: format!(
                "the copy {} in the recovery account is {}",
                copy.id, copy.status
            ),
        };
    }
    RecoveryStep::Copying
}

/// The vault copy a recovery copy was made from (its `rempart:restore-from`
/// ARN), as far as sharing needs it: kind, id, ARN, region. `None` for an
/// ARN that is no RDS or Aurora snapshot's.
pub fn shared_vault_copy(arn: &str) -> Option<SnapshotInfo> {
    let (_, service, region, _, res) = arn_parts(arn)?;
    let (kind, id) = match (service, res.split_once(':')?) {
        ("rds", ("snapshot", id)) => (ResourceKind::RdsInstance, id),
        ("rds", ("cluster-snapshot", id)) => (ResourceKind::AuroraCluster, id),
        _ => return None,
    };
    if id.is_empty() {
        return None;
    }
    Some(SnapshotInfo {
        kind,
        id: id.to_string(),
        arn: arn.to_string(),
        region: region.to_string(),
        source: String::new(),
        status: String::new(),
        created: None,
        tags: BTreeMap::new(),
        encrypted: false,
        kms_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::444455556666:role/rempart-recovery";
    const KEY: &str = "arn:aws:kms:eu-west-1:444455556666:alias/rempart-recovery";

    fn entry(account: &str, role: &str, key: &str, external: Option<&str>) -> String {
        let mut v = serde_json::json!({account: {"role": role, "kms_key": key}});
        if let Some(e) = external {
            v[account]["external_id"] = e.into();
        }
        v.to_string()
    }

    /// Proves: a well-formed entry parses (with or without an external
    /// id, nothing at all is no account), and each broken rule is refused
    /// with a message naming it: not an account id, a role or key of
    /// another account, a key that is no key or alias ARN, an empty
    /// external id, an unknown field.
    #[test]
    fn recovery_accounts_are_checked_entry_by_entry() {
        let ok =
            parse_recovery_accounts(&entry("444455556666", ROLE, KEY, Some("x"))).expect("valid");
        assert_eq!(ok["444455556666"].external_id.as_deref(), Some("x"));
        assert!(parse_recovery_accounts("").expect("none").is_empty());
        assert!(parse_recovery_accounts(&entry("444455556666", ROLE, KEY, None)).is_ok());
        for (json, needle) in [
            (entry("4444", ROLE, KEY, None), "12 digits"),
            (
                entry(
                    "444455556666",
                    "arn:aws:iam::210987654321:role/rempart-recovery",
                    KEY,
                    None,
                ),
                "role of account 444455556666",
            ),
            (
                entry(
                    "444455556666",
                    ROLE,
                    "arn:aws:kms:eu-west-1:210987654321:alias/rempart-recovery",
                    None,
                ),
                "key or alias of account 444455556666",
            ),
            (
                entry("444455556666", ROLE, "alias/rempart-recovery", None),
                "kms_key",
            ),
            (
                entry("444455556666", ROLE, KEY, Some(" ")),
                "external_id is empty",
            ),
            (
                r#"{"444455556666": {"role": "r", "kms_key": "k", "region": "x"}}"#.to_string(),
                "unknown field",
            ),
        ] {
            let e = parse_recovery_accounts(&json).expect_err(&json);
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    /// Proves: a request without `to_account` restores where it is sent; one
    /// with it is taken by a backup account only, for one of its recovery
    /// accounts only, and the refusal names the accounts there are.
    #[test]
    fn only_a_backup_account_restores_into_its_recovery_accounts() {
        let accounts =
            parse_recovery_accounts(&entry("444455556666", ROLE, KEY, None)).expect("valid");
        assert_eq!(recovery_of(None, true, &accounts), Ok(None));
        let (id, a) = recovery_of(Some(" 444455556666 "), true, &accounts)
            .expect("known")
            .expect("some");
        assert_eq!((id, a.role.as_str()), ("444455556666", ROLE));
        let e = recovery_of(Some("444455556666"), false, &accounts).expect_err("production");
        assert!(e.contains("--from-vault"), "{e}");
        let e = recovery_of(Some("777788889999"), true, &accounts).expect_err("unknown");
        assert!(e.contains("it has 444455556666"), "{e}");
        let e = recovery_of(Some("777788889999"), true, &BTreeMap::new()).expect_err("none");
        assert!(e.contains("it has none"), "{e}");
        assert!(recovery_of(Some("12"), true, &accounts).is_err());
    }

    fn copy(status: &str, tags: &[(&str, &str)]) -> SnapshotInfo {
        let mut s =
            shared_vault_copy("arn:aws:rds:eu-west-1:444455556666:snapshot:vaulted-db-recovered")
                .expect("arn");
        s.status = status.into();
        s.tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        s
    }

    const FROM: &str = "arn:aws:rds:eu-west-1:210987654321:snapshot:rempart-vault-copy";

    /// Proves: a copy being made waits; a made copy with no database of its
    /// name is restored into that name with the request's tags (the class
    /// and unrelated tags not carried onto the database); once the
    /// database exists it is followed, not restored again; a failed copy is
    /// reported; a reported copy, or a snapshot that is no request's copy,
    /// is left alone.
    #[test]
    fn each_recovery_copy_goes_copy_restore_follow() {
        let request = [
            (TAG_RESTORE_REQUEST, "req-1"),
            (TAG_RESTORE_SOURCE, "vaulted-db"),
            (TAG_RESTORE_FROM, FROM),
            (TAG_RESTORE_CLASS, "db.t4g.small"),
            ("team", "data"),
        ];
        assert_eq!(
            recovery_step(&copy("copying", &request), false),
            RecoveryStep::Copying
        );
        match recovery_step(&copy("available", &request), false) {
            RecoveryStep::Restore {
                kind,
                target,
                class,
                tags,
            } => {
                assert_eq!(kind, ResourceKind::RdsInstance);
                assert_eq!(target, "vaulted-db-recovered");
                assert_eq!(class.as_deref(), Some("db.t4g.small"));
                let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(
                    keys,
                    [TAG_RESTORE_REQUEST, TAG_RESTORE_SOURCE, TAG_RESTORE_FROM]
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            recovery_step(&copy("available", &request), true),
            RecoveryStep::Restored
        );
        assert!(matches!(
            recovery_step(&copy("failed", &request), false),
            RecoveryStep::Failed { why } if why.contains("vaulted-db-recovered in the recovery account is failed")
        ));
        let mut reported = request.to_vec();
        reported.push((TAG_RESTORE_COMPLETED, "2026-12-03T00:00:00Z"));
        assert_eq!(
            recovery_step(&copy("failed", &reported), false),
            RecoveryStep::Done
        );
        assert_eq!(
            recovery_step(&copy("available", &[(TAG_RESTORE_REQUEST, "req-1")]), false),
            RecoveryStep::Done,
            "no vault copy named: not a recovery copy"
        );
    }

    /// Proves: the copy's tags are the request's plus the vault copy and
    /// the class (a class or origin the request tags held already is
    /// replaced, not doubled; a blank class is left out).
    #[test]
    fn the_copy_carries_the_request_and_its_origin() {
        let req = vec![
            (TAG_RESTORE_REQUEST.to_string(), "req-1".to_string()),
            (TAG_RESTORE_FROM.to_string(), "stale".to_string()),
        ];
        let tags = copy_tags(&req, FROM, Some("db.r6g.large"));
        assert_eq!(
            tags,
            vec![
                (TAG_RESTORE_REQUEST.to_string(), "req-1".to_string()),
                (TAG_RESTORE_FROM.to_string(), FROM.to_string()),
                (TAG_RESTORE_CLASS.to_string(), "db.r6g.large".to_string()),
            ]
        );
        assert_eq!(copy_tags(&req, FROM, Some(" ")).len(), 2);
    }

    /// Proves: an RDS or Aurora snapshot ARN names the kind and id of the
    /// copy to unshare; any other ARN is none.
    #[test]
    fn the_shared_copy_is_read_from_its_arn() {
        let s = shared_vault_copy(FROM).expect("rds");
        assert_eq!(
            (s.kind, s.id.as_str()),
            (ResourceKind::RdsInstance, "rempart-vault-copy")
        );
        let c = shared_vault_copy("arn:aws:rds:eu-west-1:210987654321:cluster-snapshot:c1")
            .expect("aurora");
        assert_eq!(
            (c.kind, c.region.as_str()),
            (ResourceKind::AuroraCluster, "eu-west-1")
        );
        for bad in [
            "arn:aws:ec2:eu-west-1:210987654321:snapshot/snap-1",
            "arn:aws:rds:eu-west-1:210987654321:db:x",
            "arn:aws:rds:eu-west-1:210987654321:snapshot:",
            "not-an-arn",
        ] {
            assert!(shared_vault_copy(bad).is_none(), "{bad}");
        }
    }
}
