//! The local AWS stack (moto server, through `scripts/local-aws`) and a small
//! estate shaped like seed 003's.

use crate::error::KitError;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::config::Credentials;
use rempart_aws::registry::Registry;
use rempart_aws::topic::Topic;
use std::path::PathBuf;
use std::process::Command;

/// The primary region of the local estate.
pub const REGION: &str = "eu-west-1";

/// Where `scripts/local-aws` is: `REMPART_LOCAL_AWS_SCRIPT`, else the
/// repository this binary was built from.
pub fn script_path() -> PathBuf {
    std::env::var_os("REMPART_LOCAL_AWS_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/local-aws"))
        })
}

/// A moto server on 127.0.0.1, stopped when dropped. Each one starts with
/// empty state.
#[derive(Debug)]
pub struct LocalAws {
    pub endpoint: String,
    pub pid: u32,
    pub log: PathBuf,
}

impl LocalAws {
    /// Starts a server (installing moto first if needed). `env` adds MOTO_*
    /// settings such as `MOTO_RDS_SNAPSHOT_LIMIT`.
    pub fn start(env: &[(&str, &str)]) -> Result<LocalAws, KitError> {
        let script = script_path();
        let out = Command::new(&script)
            .arg("start")
            .envs(env.iter().copied())
            .output()
            .map_err(KitError::io(format!("running {}", script.display())))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(KitError::LocalStack(format!(
                "{} start failed: {}{}",
                script.display(),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let field = |name: &str| {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")).map(str::to_string))
                .ok_or_else(|| {
                    KitError::LocalStack(format!(
                        "unexpected output from local-aws start: {stdout}"
                    ))
                })
        };
        Ok(LocalAws {
            endpoint: field("endpoint")?,
            pid: field("pid")?
                .parse()
                .map_err(|_| KitError::LocalStack(format!("bad pid in: {stdout}")))?,
            log: field("log")?.into(),
        })
    }

    /// An SDK configuration pointed at this server, as `AWS_ENDPOINT_URL`
    /// would, in `region`, with dummy credentials.
    pub async fn sdk_config(&self, region: &str) -> SdkConfig {
        sdk_config_for(&self.endpoint, region).await
    }

    /// POSTs a JSON body to moto's own API (`/moto-api/...`), e.g. the
    /// results its RDS Data API answers (`static/rds-data/statement-results`).
    pub async fn moto_api_post(&self, path: &str, body: &str) -> Result<(), KitError> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.endpoint.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(host)
            .await
            .map_err(KitError::io(format!("connecting to {host}")))?;
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(req.as_bytes())
            .await
            .map_err(KitError::io(format!("POST {path}")))?;
        let mut answer = String::new();
        conn.read_to_string(&mut answer)
            .await
            .map_err(KitError::io(format!("POST {path}")))?;
        match answer.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(()),
            _ => Err(KitError::LocalStack(format!(
                "moto answered POST {path} with: {}",
                answer.lines().next().unwrap_or("nothing")
            ))),
        }
    }

    /// Environment for a child process (the Lambda binary, the CLI) to reach
    /// this server through the standard variables only.
    pub fn child_env(&self, region: &str) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_REGION".into(), region.into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }
}

/// An SDK configuration for a local endpoint (the emulator, or a proxy in
/// front of it), in `region`, with dummy credentials.
///
/// With `REMPART_IAM_RECORD` set, the functions' requests made with it are
/// recorded for the IAM conformance test ([`crate::iam_record`]).
pub async fn sdk_config_for(endpoint: &str, region: &str) -> SdkConfig {
    let cfg = plain_sdk_config(endpoint, region).await;
    match crate::iam_record::record_dir() {
        // The emulator speaks plain HTTP on 127.0.0.1.
        Some(_) => cfg
            .to_builder()
            .http_client(crate::iam_record::recording_client(
                aws_smithy_http_client::Builder::new().build_http(),
            ))
            .build(),
        None => cfg,
    }
}

/// The same, never recorded (the recorder's own look-ups).
pub(crate) async fn plain_sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    plain_sdk_config_as(endpoint, region, "testing").await
}

/// [`plain_sdk_config`] acting with `access_key` (moto reads the account
/// from the access key, not the signature: the recorder looks up a backup
/// account's keys with the access key of the call it records).
pub(crate) async fn plain_sdk_config_as(
    endpoint: &str,
    region: &str,
    access_key: &str,
) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            access_key.to_string(),
            "testing",
            None,
            None,
            "rempart-local",
        ))
        .load()
        .await
}

impl Drop for LocalAws {
    fn drop(&mut self) {
        let _ = Command::new(script_path())
            .arg("stop")
            .arg(self.pid.to_string())
            .status();
    }
}

/// The registry table and events topic, as Terraform creates them.
pub async fn create_plumbing(
    cfg: &SdkConfig,
    table: &str,
    topic: &str,
) -> Result<(Registry, Topic), KitError> {
    let registry = Registry::new(aws_sdk_dynamodb::Client::new(cfg), table);
    registry.create_table().await?;
    let topic = Topic::create(aws_sdk_sns::Client::new(cfg), topic).await?;
    Ok((registry, topic))
}

/// Names of the demo estate's resources.
#[derive(Clone, Debug)]
pub struct Estate {
    pub db: String,
    pub aurora: String,
    pub volume: String,
    pub redis: String,
    /// Resources without a `rempart:policy` tag: Rempart must not touch them.
    pub untagged_db: String,
    pub untagged_volume: String,
}

fn setup_err(what: &str) -> impl FnOnce(String) -> KitError + '_ {
    move |e| KitError::Setup(format!("{what}: {e}"))
}

/// Creates seed 003's estate in the emulator: a PostgreSQL instance, an
/// Aurora PostgreSQL cluster, an EBS data volume and a Redis replication
/// group, tagged with the example policy, plus an untagged instance and volume.
pub async fn create_estate(cfg: &SdkConfig) -> Result<Estate, KitError> {
    let rds = aws_sdk_rds::Client::new(cfg);
    let ec2 = aws_sdk_ec2::Client::new(cfg);
    let ec = aws_sdk_elasticache::Client::new(cfg);
    let rtag = |p: &str| {
        aws_sdk_rds::types::Tag::builder()
            .key("rempart:policy")
            .value(p)
            .build()
    };
    let estate = Estate {
        db: "rewapp-prod-db".into(),
        aurora: "rewapp-aurora".into(),
        volume: String::new(),
        redis: "rewapp-sessions".into(),
        untagged_db: "scratch-db".into(),
        untagged_volume: String::new(),
    };
    for (id, tag) in [
        (&estate.db, Some("rewapp-postgres")),
        (&estate.untagged_db, None),
    ] {
        rds.create_db_instance()
            .db_instance_identifier(id)
            .engine("postgres")
            .engine_version("16.4")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .master_username("rewapp")
            .master_user_password("not-a-real-password")
            .storage_encrypted(true)
            // Seed 003: 35 days of point-in-time recovery; the production
            // database is Multi-AZ (its quarterly failover test, §10.3).
            .backup_retention_period(35)
            .multi_az(tag.is_some())
            .set_tags(tag.map(|t| vec![rtag(t)]))
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .map_err(setup_err("CreateDBInstance"))?;
    }
    rds.create_db_cluster()
        .db_cluster_identifier(&estate.aurora)
        .engine("aurora-postgresql")
        .master_username("rewapp")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .backup_retention_period(35)
        .tags(rtag("rewapp-postgres"))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))
        .map_err(setup_err("CreateDBCluster"))?;
    let mut volumes = Vec::new();
    for tag in [Some("rewapp-ebs"), None] {
        let mut req = ec2
            .create_volume()
            .availability_zone(format!("{REGION}a"))
            .size(50)
            .encrypted(true);
        if let Some(t) = tag {
            req = req.tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::Volume)
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("rempart:policy")
                            .value(t)
                            .build(),
                    )
                    .tags(
                        aws_sdk_ec2::types::Tag::builder()
                            .key("Name")
                            .value("rewapp-data")
                            .build(),
                    )
                    .build(),
            );
        }
        let out = req
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .map_err(setup_err("CreateVolume"))?;
        volumes.push(out.volume_id().unwrap_or_default().to_string());
    }
    ec.create_replication_group()
        .replication_group_id(&estate.redis)
        .replication_group_description("REWAPP sessions, cache, active QR codes")
        .engine("redis")
        .cache_node_type("cache.t4g.micro")
        .num_cache_clusters(2)
        .tags(
            aws_sdk_elasticache::types::Tag::builder()
                .key("rempart:policy")
                .value("rewapp-redis")
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("{e:?}"))
        .map_err(setup_err("CreateReplicationGroup"))?;
    Ok(Estate {
        volume: volumes[0].clone(),
        untagged_volume: volumes[1].clone(),
        ..estate
    })
}

/// Clients for setting up benchmark and test estates.
pub fn rds_client(cfg: &SdkConfig) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(cfg)
}

pub fn ec2_client(cfg: &SdkConfig) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(cfg)
}

/// Puts a snapshot of `db` tagged as Rempart's (for benchmarks).
pub async fn put_rds_snapshot(
    rds: &aws_sdk_rds::Client,
    db: &str,
    id: &str,
    policy: &str,
    at: &str,
) -> Result<(), KitError> {
    let tag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    rds.create_db_snapshot()
        .db_instance_identifier(db)
        .db_snapshot_identifier(id)
        .tags(tag("rempart:managed", "true"))
        .tags(tag("rempart:policy", policy))
        .tags(tag("rempart:scheduled-at", at))
        .send()
        .await
        .map_err(|e| KitError::Setup(format!("CreateDBSnapshot: {e:?}")))?;
    Ok(())
}

/// Puts a snapshot of `volume` tagged as Rempart's (for benchmarks).
pub async fn put_ebs_snapshot(
    ec2: &aws_sdk_ec2::Client,
    volume: &str,
    policy: &str,
    at: &str,
) -> Result<(), KitError> {
    let tag = |k: &str, v: &str| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build();
    ec2.create_snapshot()
        .volume_id(volume)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Snapshot)
                .tags(tag("rempart:managed", "true"))
                .tags(tag("rempart:policy", policy))
                .tags(tag("rempart:scheduled-at", at))
                .build(),
        )
        .send()
        .await
        .map_err(|e| KitError::Setup(format!("CreateSnapshot: {e:?}")))?;
    Ok(())
}

/// The DR region of the example policy.
pub const DR_REGION: &str = "eu-central-1";

/// What the example policy's DR needs: a customer-managed KMS key with the
/// alias `alias/rempart-dr` in the DR region (unless `with_dr_key` is
/// false), the Redis export bucket in the primary region and the DR bucket.
/// Returns the DR key's ARN.
pub async fn create_dr(cfg: &SdkConfig, with_dr_key: bool) -> Result<Option<String>, KitError> {
    let dr = cfg
        .to_builder()
        .region(aws_config::Region::new(DR_REGION))
        .build();
    let mut arn = None;
    if with_dr_key {
        let kms = aws_sdk_kms::Client::new(&dr);
        let key = kms
            .create_key()
            .description("Rempart DR copies")
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .map_err(setup_err("CreateKey"))?;
        let meta = key
            .key_metadata()
            .ok_or_else(|| KitError::Setup("CreateKey: no metadata".into()))?;
        kms.create_alias()
            .alias_name("alias/rempart-dr")
            .target_key_id(meta.key_id())
            .send()
            .await
            .map_err(|e| format!("{e:?}"))
            .map_err(setup_err("CreateAlias"))?;
        arn = meta.arn().map(str::to_string);
    }
    for (c, bucket, region) in [
        (cfg, "rewapp-prod-backups", REGION),
        (&dr, "rewapp-dr-backups", DR_REGION),
    ] {
        let s3 = aws_sdk_s3::Client::new(c);
        let res = s3
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            )
            .send()
            .await;
        if let Err(e) = res {
            let already = e
                .as_service_error()
                .is_some_and(|se| se.is_bucket_already_owned_by_you());
            if !already {
                return Err(KitError::Setup(format!("CreateBucket {bucket}: {e:?}")));
            }
        }
    }
    Ok(arn)
}
