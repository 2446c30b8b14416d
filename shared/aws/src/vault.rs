//! The vault (air-gapped copies): credentials in the backup account, and
//! sharing, staging and cleaning up snapshots in the production account.

use crate::aws_error;
use crate::error::{Error, Result};
use crate::snapshots::Snapshots;
use aws_config::SdkConfig;
use rempart_core::kind::ResourceKind;
use rempart_core::model::SnapshotInfo;
use rempart_core::tags::TAG_VAULT_STAGE_OF;

/// The configuration of a backup account: `cfg` whose credentials are the
/// role `role` assumed (with `external_id` when its trust policy asks for
/// one), refreshed by the SDK before they expire.
pub async fn assume(
    cfg: &SdkConfig,
    role: &str,
    external_id: Option<&str>,
    session: &str,
) -> SdkConfig {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name(session)
        .configure(cfg);
    if let Some(id) = external_id {
        provider = provider.external_id(id);
    }
    let provider = provider.build().await;
    cfg.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// Adds (or removes) `account` to the accounts a snapshot is shared with:
/// the `restore` attribute of an RDS or Aurora snapshot, the
/// `createVolumePermission` of an EBS one. Removing an account it is not
/// shared with changes nothing.
pub async fn share(s: &Snapshots, snap: &SnapshotInfo, account: &str, add: bool) -> Result<()> {
    let (adds, removes) = if add {
        (Some(vec![account.to_string()]), None)
    } else {
        (None, Some(vec![account.to_string()]))
    };
    match snap.kind {
        ResourceKind::RdsInstance => s
            .rds
            .client()
            .modify_db_snapshot_attribute()
            .db_snapshot_identifier(&snap.id)
            .attribute_name("restore")
            .set_values_to_add(adds)
            .set_values_to_remove(removes)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("ModifyDBSnapshotAttribute", e)),
        ResourceKind::AuroraCluster => s
            .rds
            .client()
            .modify_db_cluster_snapshot_attribute()
            .db_cluster_snapshot_identifier(&snap.id)
            .attribute_name("restore")
            .set_values_to_add(adds)
            .set_values_to_remove(removes)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("ModifyDBClusterSnapshotAttribute", e)),
        // The OperationType + UserIds form (the CLI's `--operation-type
        // add --user-ids`), equivalent to CreateVolumePermission.Add/Remove.
        ResourceKind::EbsVolume => s
            .ec2
            .client()
            .modify_snapshot_attribute()
            .snapshot_id(&snap.id)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .operation_type(if add {
                aws_sdk_ec2::types::OperationType::Add
            } else {
                aws_sdk_ec2::types::OperationType::Remove
            })
            .user_ids(account)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("ModifySnapshotAttribute", e)),
        ResourceKind::ElasticacheRedis => Err(Error::Config(
            "ElastiCache snapshots cannot be shared with another account".into(),
        )),
    }
}

/// The production account's stages (snapshots tagged `rempart:vault-stage-of`).
pub async fn stages(s: &Snapshots) -> Result<Vec<SnapshotInfo>> {
    let (rds, ec2) = tokio::join!(
        s.rds.snapshots_tagged(TAG_VAULT_STAGE_OF),
        s.ec2.snapshots_tagged(TAG_VAULT_STAGE_OF)
    );
    let mut out = rds?;
    out.extend(ec2?);
    Ok(out)
}

/// Deletes a stage; refuses any snapshot that is not one. One already gone
/// is not an error.
pub async fn delete_stage(s: &Snapshots, st: &SnapshotInfo) -> Result<()> {
    if !rempart_core::vault::is_stage(st) || st.kind == ResourceKind::ElasticacheRedis {
        return Err(Error::Config(format!(
            "refusing to delete {} {}: it is not a vault stage (no {TAG_VAULT_STAGE_OF}, or Rempart-managed)",
            st.kind, st.id
        )));
    }
    s.remove(st).await
}
