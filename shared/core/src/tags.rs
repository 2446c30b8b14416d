//! Every `rempart:*` tag key: what Rempart writes on the resources and
//! snapshots it manages, and reads back to recognise them.

// Resources under a policy, and the snapshots Rempart takes of them.
/// The tag that puts a resource under a policy: `rempart:policy=<name>`.
pub const TAG_POLICY: &str = "rempart:policy";
/// `rempart:policy=none`: left out of every policy on purpose, with a
/// `rempart:exclude-reason` (the coverage audit lists it as excluded).
pub const TAG_POLICY_NONE: &str = "none";
/// Why a resource tagged `rempart:policy=none` needs no backup (the report
/// shows it to the auditor).
pub const TAG_EXCLUDE_REASON: &str = "rempart:exclude-reason";
/// Carried by every snapshot Rempart creates. Rempart never deletes or
/// modifies a snapshot without it.
pub const TAG_MANAGED: &str = "rempart:managed";
pub const TAG_TIERS: &str = "rempart:tiers";
pub const TAG_SOURCE: &str = "rempart:source";
pub const TAG_SOURCE_KIND: &str = "rempart:source-kind";
pub const TAG_SCHEDULED_AT: &str = "rempart:scheduled-at";
pub const TAG_SCHEDULE: &str = "rempart:schedule";
/// The deterministic snapshot key. EBS chooses its own snapshot ids, so the
/// key is how a second delivery finds the first one's snapshot.
pub const TAG_KEY: &str = "rempart:key";
pub const TAG_REASON: &str = "rempart:reason";
pub const TAG_REQUESTED_BY: &str = "rempart:requested-by";
pub const TAG_CHANGE_REF: &str = "rempart:change-ref";
// DR copies and exports.
/// On a Redis snapshot: where it was exported (`s3://bucket/prefix`).
pub const TAG_EXPORT: &str = "rempart:export";
/// On a Redis snapshot, one per DR region (`rempart:dr-copy:eu-central-1`):
/// where its exported files were copied (`s3://bucket/prefix`).
pub const TAG_DR_COPY_PREFIX: &str = "rempart:dr-copy:";
/// Set by the restore tester on a snapshot it restored successfully.
pub const TAG_VERIFIED: &str = "rempart:verified";
/// The tag that says a Redis snapshot's files reached `region`.
pub fn dr_copy_tag(region: &str) -> String {
    format!("{TAG_DR_COPY_PREFIX}{region}")
}
// Vault (air-gapped) copies.
/// On a production snapshot once its vault copy is available:
/// `rempart:vault-copy:<account>` = the copy's identifier.
pub const TAG_VAULT_COPY_PREFIX: &str = "rempart:vault-copy:";
/// On a stage (an intermediate copy under the share key): the ARN of the
/// snapshot it stages.
pub const TAG_VAULT_STAGE_OF: &str = "rempart:vault-stage-of";
/// The tag that says a snapshot's vault copy in `account` was made.
pub fn vault_copy_tag(account: &str) -> String {
    format!("{TAG_VAULT_COPY_PREFIX}{account}")
}

// Retention.
/// Set on a snapshot to remove: the time (RFC 3339) from which a later run
/// may delete it.
pub const TAG_DELETE_AFTER: &str = "rempart:delete-after";
/// Set by the replicator on a DR copy: the ARN of the snapshot it copies.
pub const TAG_COPY_OF: &str = "rempart:copy-of";
/// The tag that puts a snapshot under legal hold: kept whatever the policy.
pub const TAG_LEGAL_HOLD: &str = "rempart:legal-hold";
// Restore tests and restores on request.
/// On a restore-test instance: the source DB instance.
pub const TAG_RESTORE_TEST: &str = "rempart:restore-test";
/// On a drill's throw-away copy (with `rempart:restore-test`): the region of
/// the drilled resource (the copy is restored in a DR region).
pub const TAG_DRILL: &str = "rempart:drill";
/// On a restore-test instance: the snapshot it was restored from.
pub const TAG_RESTORE_SNAPSHOT: &str = "rempart:restore-snapshot";
/// On a restore-test Aurora cluster: concluded at this time (RFC 3339); only
/// its deletion is left, which AWS allows once its instance is gone.
pub const TAG_RESTORE_FINISHED: &str = "rempart:restore-finished";
/// On a restore-test instance: when the restore started (RFC 3339).
pub const TAG_RESTORE_STARTED: &str = "rempart:restore-started";
/// On an instance restored on request: the request id (the event's id).
pub const TAG_RESTORE_REQUEST: &str = "rempart:restore-request";
/// On an instance restored on request: the source DB instance.
pub const TAG_RESTORE_SOURCE: &str = "rempart:restore-source";
/// On an instance restored on request: the snapshot id or the point in time.
pub const TAG_RESTORE_POINT: &str = "rempart:restore-point";
/// On an instance restored on request: who approved it.
pub const TAG_APPROVED_BY: &str = "rempart:approved-by";
/// On an instance restored on request, once reported: when it was found
/// available and checked. The restore-tester stops following it.
pub const TAG_RESTORE_COMPLETED: &str = "rempart:restore-completed";
/// On a recovery account's copy of a vault copy, and on the database
/// restored from it: the vault copy's ARN (shared with the recovery account
/// for the copy, unshared once it is made).
pub const TAG_RESTORE_FROM: &str = "rempart:restore-from";
/// On a recovery account's copy of a vault copy: the class the request asked
/// for the restored instance (absent: the snapshot's, or Aurora's default).
pub const TAG_RESTORE_CLASS: &str = "rempart:restore-class";
