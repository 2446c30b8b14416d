//! HTTP-level tests for what the emulator does not do: moto ignores
//! `MaxRecords`/`MaxResults` (never paginates), never throttles, and makes
//! snapshots `available`/`completed` at once. A local server answers with
//! AWS's documented wire responses; the real SDK clients and our adapters
//! talk to it, and the recorded requests show what they sent.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::config::Credentials;
use rempart_aws::ec2::Ec2;
use rempart_aws::rds::Rds;
use rempart_aws::Error;
use rempart_testkit::http::Request;
use rempart_testkit::recorder::Recorder;
use std::sync::Arc;

fn body(r: &Request) -> String {
    String::from_utf8_lossy(&r.body).to_string()
}

async fn config(server: &Recorder, attempts: u32) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(server.url(""))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "replay"))
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .load()
        .await
}

fn db_page(ids: &[&str], marker: Option<&str>) -> String {
    let dbs: String = ids
        .iter()
        .map(|id| {
            format!(
                "<DBInstance><DBInstanceIdentifier>{id}</DBInstanceIdentifier>\
                 <DBInstanceArn>arn:aws:rds:eu-west-1:123456789012:db:{id}</DBInstanceArn>\
                 <TagList><Tag><Key>rempart:policy</Key><Value>rewapp-postgres</Value></Tag></TagList></DBInstance>"
            )
        })
        .collect();
    let marker = marker
        .map(|m| format!("<Marker>{m}</Marker>"))
        .unwrap_or_default();
    format!(
        "<DescribeDBInstancesResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">\
         <DescribeDBInstancesResult>{marker}<DBInstances>{dbs}</DBInstances></DescribeDBInstancesResult>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeDBInstancesResponse>"
    )
}

/// Proves: DB instance discovery asks for 100 records a page and follows
/// `Marker` to the last page, so an estate larger than one page is covered.
#[tokio::test]
async fn rds_discovery_follows_every_page() {
    let server = Recorder::with_responder(Arc::new(|r: &Request| {
        let b = body(r);
        let page = if b.contains("Marker=page-3") {
            db_page(&["db-e"], None)
        } else if b.contains("Marker=page-2") {
            db_page(&["db-c", "db-d"], Some("page-3"))
        } else {
            db_page(&["db-a", "db-b"], Some("page-2"))
        };
        ("200 OK".into(), page)
    }))
    .await
    .unwrap();
    let rds = Rds::new(
        aws_sdk_rds::Client::new(&config(&server, 1).await),
        "eu-west-1",
    );
    let found = rds.tagged_instances().await.expect("discovery");
    let ids: Vec<_> = found.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["db-a", "db-b", "db-c", "db-d", "db-e"]);
    let sent = server.all();
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter().all(|r| body(r).contains("MaxRecords=100")),
        "page size is 100"
    );
}

/// Proves: volume discovery filters on the policy tag server-side and
/// follows `NextToken`.
#[tokio::test]
async fn ebs_discovery_filters_by_tag_and_follows_next_token() {
    let server = Recorder::with_responder(Arc::new(|r: &Request| {
        let (vol, next) = if body(r).contains("NextToken=t2") { ("vol-2", "") } else { ("vol-1", "<nextToken>t2</nextToken>") };
        let xml = format!(
            "<DescribeVolumesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>\
             <volumeSet><item><volumeId>{vol}</volumeId><tagSet><item><key>rempart:policy</key><value>rewapp-ebs</value></item></tagSet></item></volumeSet>\
             {next}</DescribeVolumesResponse>"
        );
        ("200 OK".into(), xml)
    }))
    .await
    .unwrap();
    let ec2 = Ec2::new(
        aws_sdk_ec2::Client::new(&config(&server, 1).await),
        "eu-west-1",
    );
    let found = ec2.tagged_volumes().await.expect("discovery");
    assert_eq!(
        found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["vol-1", "vol-2"]
    );
    let first = body(&server.all()[0]);
    assert!(
        first.contains("Filter.1.Name=tag-key") && first.contains("rempart%3Apolicy"),
        "{first}"
    );
}

/// Proves: a throttled snapshot call is retried by the SDK and, when it
/// stays throttled, reported as a retryable AWS error (so the scheduler
/// fails the invocation and Lambda retries the idempotent event).
#[tokio::test]
async fn throttling_is_retried_then_reported_as_retryable() {
    let server = Recorder::with_responder(Arc::new(|_: &Request| {
        (
            "400 Bad Request".into(),
            "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender</Type>\
             <Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>"
                .into(),
        )
    }))
    .await
    .unwrap();
    let rds = Rds::new(
        aws_sdk_rds::Client::new(&config(&server, 2).await),
        "eu-west-1",
    );
    let err = rds
        .snapshot_instance("db-a", "rempart-p-db-a-20251124-0200", &[])
        .await
        .unwrap_err();
    match &err {
        Error::Aws {
            code, retryable, ..
        } => {
            assert_eq!(code, "Throttling");
            assert!(*retryable);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.all().len(),
        2,
        "the SDK retried once before giving up"
    );
}

/// Proves: an EBS snapshot still `pending` from a first delivery counts as
/// already there, so a second delivery does not start another one (moto
/// completes snapshots at once and cannot show this).
#[tokio::test]
async fn a_pending_ebs_snapshot_counts_as_already_there() {
    let server = Recorder::with_responder(Arc::new(|_: &Request| {
        (
            "200 OK".into(),
            "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>\
             <snapshotSet><item><snapshotId>snap-0pending</snapshotId><volumeId>vol-1</volumeId><status>pending</status></item></snapshotSet>\
             </DescribeSnapshotsResponse>"
                .into(),
        )
    }))
    .await
    .unwrap();
    let ec2 = Ec2::new(
        aws_sdk_ec2::Client::new(&config(&server, 1).await),
        "eu-west-1",
    );
    let found = ec2
        .snapshot_by_key("rempart-rewapp-ebs-vol-1-20251124-0400")
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("snap-0pending"));
    let sent = body(&server.all()[0]);
    assert!(
        sent.contains("Owner.1=self") || sent.contains("OwnerId.1=self"),
        "{sent}"
    );
    assert!(sent.contains("tag%3Arempart%3Akey"), "{sent}");
}

/// Proves: a bucket whose versioning was never set (AWS answers an empty
/// `VersioningConfiguration`) and that has no lifecycle configuration
/// (`NoSuchLifecycleConfiguration`) reads as "versioning off, no rule", so
/// the enforcer sees the drift. moto answers the first with a malformed
/// document, hence this replay.
#[tokio::test]
async fn a_bucket_never_versioned_reads_as_versioning_off() {
    let server = Recorder::with_responder(Arc::new(|r: &Request| {
        if r.path.contains("versioning") {
            ("200 OK".into(), "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>".into())
        } else {
            (
                "404 Not Found".into(),
                "<Error><Code>NoSuchLifecycleConfiguration</Code><Message>The lifecycle configuration does not exist</Message>\
                 <BucketName>b</BucketName></Error>"
                    .into(),
            )
        }
    }))
    .await
    .unwrap();
    let cfg = config(&server, 1).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&cfg)
            .force_path_style(true)
            .build(),
    );
    let state = rempart_aws::s3::Buckets::new(s3)
        .state("b")
        .await
        .expect("state");
    assert_eq!(state.versioning, None);
    assert!(state.rules.is_empty());
    let rule = rempart_core::buckets::BucketRule {
        name: "b".into(),
        region: None,
        versioning: true,
        lifecycle: rempart_core::buckets::Lifecycle {
            transition_days: Some(30),
            ..Default::default()
        },
        replication: None,
    };
    let d = rempart_core::buckets::drift(&rule, &state, None);
    assert!(d.enable_versioning && d.lifecycle.is_some());
}
