//! The IAM recorder of the test kit: every AWS request a Rempart function
//! makes against the local emulator, written down as AWS authorizes it, for
//! the IAM conformance test (`scripts/iam-check`) to evaluate against the
//! roles that the Terraform renders.
//!
//! It sits in the SDK's HTTP client (so it sees the requests that a hooking
//! proxy answers in the emulator's stead, too), is on only when
//! `REMPART_IAM_RECORD` names a directory, and records only the requests
//! whose User-Agent carries a function's app name (`app/<function>`, set by
//! each function's `Deps::new`): the test kit's own set-up and assertions
//! are not a function's calls.
//!
//! For each request it writes one JSON line per IAM action the request is
//! authorized as (an API call may need several: `CreateDBSnapshot` with
//! tags is also `rds:AddTagsToResource`; ElastiCache's export also
//! `s3:ListAllMyBuckets`), with the resource ARNs AWS checks it on (the
//! Service Authorization Reference's resource types for the action), the
//! tags of each resource at call time (read from the emulator before the
//! request goes out, for the actions that change or delete something), the
//! request's tags, the service-specific condition keys the request sets
//! (`rds:PubliclyAccessible`, `ec2:CreateAction`, ...) and the KMS calls
//! the service makes with the caller's permissions (an encrypted copy's
//! key). A request the recorder cannot map is written with `"unmapped"`,
//! which the conformance test counts as a failure: no call goes unjudged.

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The emulator's account (moto's default), as in the ARNs Terraform renders
/// when applied against it.
pub const ACCOUNT: &str = "123456789012";

/// The directory of the records, when recording is on.
pub fn record_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("REMPART_IAM_RECORD")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
}

/// The client that records, wrapping `inner` (the SDK's default client).
pub fn recording_client(inner: SharedHttpClient) -> SharedHttpClient {
    SharedHttpClient::new(RecordingClient {
        inner,
        lookups: Arc::new(Lookups::default()),
    })
}

#[derive(Debug, Clone)]
struct RecordingClient {
    inner: SharedHttpClient,
    lookups: Arc<Lookups>,
}

impl HttpClient for RecordingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            lookups: self.lookups.clone(),
        })
    }
}

#[derive(Debug)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    lookups: Arc<Lookups>,
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let lookups = self.lookups.clone();
        // The test that made the call: cargo names each test's thread.
        let test = std::thread::current().name().unwrap_or("?").to_string();
        HttpConnectorFuture::new(async move {
            if let Some(mut call) = Call::parse(&request) {
                call.account = lookups.account(&call.endpoint, &call.access_key).await;
                let lines = call.records(&lookups).await;
                write_records(&call, &test, lines);
            }
            inner.call(request).await
        })
    }
}

/// Emulator clients for the tag and key look-ups, one configuration per
/// (endpoint, region), without the recorder.
/// ListTagsForResource of a client whose answer has a `tag_list()` of
/// key/value tags (RDS, ElastiCache: the same shape, other types).
macro_rules! list_tags {
    ($client:expr, $arn:expr) => {
        match $client
            .list_tags_for_resource()
            .resource_name($arn)
            .send()
            .await
        {
            Ok(out) => tags_value(
                out.tag_list()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))),
            ),
            Err(_) => json!({}),
        }
    };
}

#[derive(Debug, Default)]
struct Lookups {
    configs: tokio::sync::Mutex<HashMap<(String, String), SdkConfig>>,
    accounts: tokio::sync::Mutex<HashMap<String, String>>,
    /// An access key per account, for look-ups in a third account.
    account_keys: tokio::sync::Mutex<HashMap<String, String>>,
}

/// An STS query at the emulator signed with `access_key`, and the text of
/// the answer's first `<tag>` element (a plain HTTP/1.1 request: the
/// recorder must not record itself).
async fn sts_query(endpoint: &str, access_key: &str, body: &str, tag: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential={access_key}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = answer.find(&open)? + open.len();
    let end = answer[start..].find(&close)? + start;
    Some(answer[start..end].to_string())
}

/// `sts:GetCallerIdentity` at the emulator for `access_key`.
async fn caller_account(endpoint: &str, access_key: &str) -> Option<String> {
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    sts_query(endpoint, access_key, body, "Account").await
}

/// An access key that acts in `account` at the emulator: the test kit's
/// own for [`ACCOUNT`], else the credentials of a role of that account
/// assumed with it (moto checks no trust policy).
async fn key_in_account(endpoint: &str, account: &str) -> Option<String> {
    if account == ACCOUNT {
        return Some("testing".into());
    }
    let body = format!(
        "Action=AssumeRole&Version=2011-06-15&RoleSessionName=rempart-iam-recorder&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2Frempart-iam-recorder"
    );
    sts_query(endpoint, "testing", &body, "AccessKeyId").await
}

impl Lookups {
    /// The look-up configuration acting in `account` (the account of a
    /// resource the call names, which may be neither the kit's nor the
    /// call's: a snapshot shared from a third account).
    async fn cfg_in(&self, endpoint: &str, region: &str, account: &str) -> SdkConfig {
        // A key the calls acted with there, else one assumed there.
        let seen = self
            .accounts
            .lock()
            .await
            .iter()
            .find(|(_, a)| *a == account)
            .map(|(k, _)| k.clone());
        let key = {
            let mut keys = self.account_keys.lock().await;
            match keys.get(account).cloned().or(seen) {
                Some(k) => k,
                None => {
                    let k = key_in_account(endpoint, account)
                        .await
                        .unwrap_or_else(|| "testing".into());
                    keys.insert(account.to_string(), k.clone());
                    k
                }
            }
        };
        self.cfg_as(endpoint, region, &key).await
    }

    /// The key an RDS or Aurora snapshot (by ARN) is encrypted with, read
    /// in the snapshot's own account; `None`: not encrypted, or not found.
    async fn rds_snapshot_key(&self, endpoint: &str, arn: &str) -> Option<String> {
        let mut parts = arn.splitn(7, ':');
        let (_, _, _, region, account, kind, id) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let rds = aws_sdk_rds::Client::new(&self.cfg_in(endpoint, region, account).await);
        let key = if kind == "cluster-snapshot" {
            rds.describe_db_cluster_snapshots()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
                .ok()?
                .db_cluster_snapshots()
                .first()?
                .kms_key_id()
                .map(str::to_string)
        } else {
            rds.describe_db_snapshots()
                .db_snapshot_identifier(id)
                .send()
                .await
                .ok()?
                .db_snapshots()
                .first()?
                .kms_key_id()
                .map(str::to_string)
        };
        key.filter(|k| !k.is_empty())
    }

    /// The key an EBS snapshot shared from another account is encrypted
    /// with, as an ARN read in that account; `None`: the snapshot is the
    /// caller's own (`caller`), not encrypted, or found in no account the
    /// recorder knows (the test kit's and those the calls acted in).
    async fn ebs_shared_snapshot_key(
        &self,
        endpoint: &str,
        caller: &str,
        region: &str,
        id: &str,
    ) -> Option<String> {
        let mut owners: Vec<String> = self.accounts.lock().await.values().cloned().collect();
        owners.push(ACCOUNT.to_string());
        owners.sort();
        owners.dedup();
        owners.retain(|a| a != caller);
        for owner in owners {
            let cfg = self.cfg_in(endpoint, region, &owner).await;
            let Ok(out) = aws_sdk_ec2::Client::new(&cfg)
                .describe_snapshots()
                .snapshot_ids(id)
                .owner_ids("self")
                .send()
                .await
            else {
                continue;
            };
            let Some(snap) = out.snapshots().first() else {
                continue;
            };
            let key = snap.kms_key_id().filter(|k| !k.is_empty())?;
            let described = aws_sdk_kms::Client::new(&cfg)
                .describe_key()
                .key_id(key)
                .send()
                .await
                .ok();
            return Some(
                described
                    .and_then(|o| o.key_metadata().and_then(|m| m.arn()).map(str::to_string))
                    .unwrap_or_else(|| key.to_string()),
            );
        }
        None
    }

    /// The account an access key acts in, as the emulator says
    /// (`GetCallerIdentity`; moto reads the access key, not the signature):
    /// [`ACCOUNT`] for the test kit's keys, another account for the
    /// credentials of a role assumed there. Asked once per key.
    async fn account(&self, endpoint: &str, access_key: &str) -> String {
        let mut known = self.accounts.lock().await;
        if let Some(a) = known.get(access_key) {
            return a.clone();
        }
        let asked = caller_account(endpoint, access_key).await;
        let account = asked.unwrap_or_else(|| ACCOUNT.to_string());
        known.insert(access_key.to_string(), account.clone());
        account
    }

    /// The look-up configuration acting with `access_key` (its account).
    async fn cfg_as(&self, endpoint: &str, region: &str, access_key: &str) -> SdkConfig {
        let mut map = self.configs.lock().await;
        let k = (endpoint.to_string(), format!("{region}/{access_key}"));
        if let Some(c) = map.get(&k) {
            return c.clone();
        }
        let c = crate::local::plain_sdk_config_as(endpoint, region, access_key).await;
        map.insert(k, c.clone());
        c
    }

    /// Tags of an RDS or ElastiCache resource by ARN (`{}` when it does not
    /// exist yet): both answer ListTagsForResource with a `TagList`. Read
    /// in the account the ARN names: with `access_key` (the call's) when
    /// that is another account than the test kit's.
    async fn rds_tags(&self, endpoint: &str, arn: &str, access_key: &str) -> Value {
        let cfg = self.cfg_of_arn(endpoint, arn, access_key).await;
        list_tags!(aws_sdk_rds::Client::new(&cfg), arn)
    }

    async fn elasticache_tags(&self, endpoint: &str, arn: &str, access_key: &str) -> Value {
        let cfg = self.cfg_of_arn(endpoint, arn, access_key).await;
        list_tags!(aws_sdk_elasticache::Client::new(&cfg), arn)
    }

    /// The look-up configuration of the account `arn` names: the call's
    /// (`access_key`) when that is another account than the test kit's.
    async fn cfg_of_arn(&self, endpoint: &str, arn: &str, access_key: &str) -> SdkConfig {
        let key = match arn.split(':').nth(4) {
            Some(a) if a != ACCOUNT => access_key,
            _ => "testing",
        };
        self.cfg_as(endpoint, region_of_arn(arn), key).await
    }

    /// Tags of an EC2 resource by id (`{}` when it has none or does not
    /// exist), as the account of `access_key` sees it (the resource's: an
    /// EC2 ARN names no account).
    async fn ec2_tags(&self, endpoint: &str, region: &str, id: &str, access_key: &str) -> Value {
        let cfg = self.cfg_as(endpoint, region, access_key).await;
        match aws_sdk_ec2::Client::new(&cfg)
            .describe_tags()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("resource-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
        {
            Ok(out) => tags_value(
                out.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))),
            ),
            Err(_) => json!({}),
        }
    }

    /// The ARN of a KMS key named by id, ARN, alias name or alias ARN.
    async fn key_arn(&self, endpoint: &str, region: &str, key: &str, access_key: &str) -> String {
        let region = if key.starts_with("arn:") {
            region_of_arn(key).to_string()
        } else {
            region.to_string()
        };
        let cfg = self.cfg_as(endpoint, &region, access_key).await;
        match aws_sdk_kms::Client::new(&cfg)
            .describe_key()
            .key_id(key)
            .send()
            .await
        {
            Ok(out) => out
                .key_metadata()
                .and_then(|m| m.arn())
                .map(str::to_string)
                .unwrap_or_else(|| key.to_string()),
            Err(_) => key.to_string(),
        }
    }

    /// The alias names of a KMS key: the emulator's key ids are its own, so
    /// the conformance test finds the key Terraform makes by its alias.
    async fn key_aliases(&self, endpoint: &str, key_arn: &str, access_key: &str) -> Vec<String> {
        let cfg = match key_arn.split(':').nth(4) {
            // A key ARN names its account: listed there (a third account's
            // key, the source of a shared snapshot's copy).
            Some(a) if !a.is_empty() => self.cfg_in(endpoint, region_of_arn(key_arn), a).await,
            _ => {
                self.cfg_as(endpoint, region_of_arn(key_arn), access_key)
                    .await
            }
        };
        aws_sdk_kms::Client::new(&cfg)
            .list_aliases()
            .key_id(key_arn)
            .send()
            .await
            .map(|o| {
                o.aliases()
                    .iter()
                    .filter_map(|a| a.alias_name().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tags of a secret (`{}` when it has none or does not exist), read in
    /// the account its ARN names (a backup account's drill copies' secrets).
    async fn secret_tags(&self, endpoint: &str, arn: &str, access_key: &str) -> Value {
        let cfg = self.cfg_of_arn(endpoint, arn, access_key).await;
        let out = aws_sdk_secretsmanager::Client::new(&cfg)
            .describe_secret()
            .secret_id(arn)
            .send()
            .await;
        tags_value(out.ok().into_iter().flat_map(|o| {
            o.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect::<Vec<_>>()
        }))
    }

    /// The ARN of a secret named by name or ARN, as the account of
    /// `access_key` (the call's) sees it.
    async fn secret_arn(&self, endpoint: &str, region: &str, id: &str, access_key: &str) -> String {
        if id.starts_with("arn:") {
            return id.to_string();
        }
        let cfg = self.cfg_as(endpoint, region, access_key).await;
        aws_sdk_secretsmanager::Client::new(&cfg)
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .ok()
            .and_then(|o| o.arn().map(str::to_string))
            .unwrap_or_else(|| format!("arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{id}"))
    }
}

fn tags_value(tags: impl Iterator<Item = (String, String)>) -> Value {
    Value::Object(tags.map(|(k, v)| (k, Value::String(v))).collect())
}

fn region_of_arn(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("")
}

/// One request, as the recorder reads it.
#[derive(Debug)]
struct Call {
    function: String,
    service: String,
    region: String,
    /// `scheme://host:port` of the request: where look-ups go.
    endpoint: String,
    method: String,
    /// Path and query of the URI.
    path: String,
    /// The operation: `Action=` (query), `X-Amz-Target`'s (JSON), or a
    /// name derived from the REST request.
    operation: String,
    form: BTreeMap<String, String>,
    json: Value,
    headers: BTreeMap<String, String>,
    /// The raw body (the XML of S3's REST calls).
    body: String,
    /// The access key the request is signed with.
    access_key: String,
    /// The account the request acts in (the emulator's for the access key:
    /// another one for credentials of a role assumed there).
    account: String,
}

/// One IAM authorization of a request.
#[derive(Debug, Default)]
struct Authz {
    action: String,
    resources: Vec<Res>,
    request_tags: Option<BTreeMap<String, String>>,
    tag_keys: Option<Vec<String>>,
    context: Map<String, Value>,
    kms: Vec<Value>,
}

/// A resource of an authorization and how to read its tags.
#[derive(Debug)]
struct Res {
    arn: String,
    tags: TagSource,
}

#[derive(Debug)]
enum TagSource {
    /// Not needed: no Rempart condition reads it (listings, reads).
    None,
    Rds,
    ElastiCache,
    Ec2(String),
    /// A secret's tags (RDS tags its managed secrets with
    /// `aws:rds:primaryDBInstanceArn`).
    Secret,
}

impl Res {
    fn plain(arn: impl Into<String>) -> Res {
        Res {
            arn: arn.into(),
            tags: TagSource::None,
        }
    }
}

impl Authz {
    fn new(action: &str, resources: Vec<Res>) -> Authz {
        Authz {
            action: action.to_string(),
            resources,
            ..Authz::default()
        }
    }
}

impl Call {
    fn parse(r: &HttpRequest) -> Option<Call> {
        let header = |k: &str| r.headers().get(k).map(str::to_string);
        let agent = header("x-amz-user-agent")
            .into_iter()
            .chain(header("user-agent"))
            .collect::<Vec<_>>()
            .join(" ");
        let function = agent
            .split_whitespace()
            .find_map(|w| w.strip_prefix("app/"))?
            .to_string();
        let scope = header("authorization")?
            .split("Credential=")
            .nth(1)?
            .split(',')
            .next()?
            .to_string();
        let mut parts = scope.split('/');
        let access_key = parts.next()?.to_string();
        let region = parts.nth(1)?.to_string();
        let service = parts.next()?.to_string();
        let uri = r.uri().to_string();
        let (endpoint, path) = match uri.find("://").map(|i| i + 3) {
            Some(start) => match uri[start..].find('/') {
                Some(slash) => (
                    uri[..start + slash].to_string(),
                    uri[start + slash..].to_string(),
                ),
                None => (uri.clone(), "/".to_string()),
            },
            None => (String::new(), uri.clone()),
        };
        let body = r.body().bytes().unwrap_or_default();
        let form: BTreeMap<String, String> =
            if header("content-type").is_some_and(|c| c.contains("x-www-form-urlencoded")) {
                form_urlencoded::parse(body).into_owned().collect()
            } else {
                BTreeMap::new()
            };
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let headers: BTreeMap<String, String> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let operation = if let Some(a) = form.get("Action") {
            a.clone()
        } else if let Some(t) = header("x-amz-target") {
            t.rsplit('.').next().unwrap_or(&t).to_string()
        } else {
            format!("{} {}", r.method(), path.split('?').next().unwrap_or(""))
        };
        Some(Call {
            function,
            service,
            region,
            endpoint,
            method: r.method().to_string(),
            path,
            operation,
            form,
            json,
            headers,
            body: String::from_utf8_lossy(body).to_string(),
            access_key,
            account: ACCOUNT.to_string(),
        })
    }

    /// The access key look-ups of keys use: the call's own in another
    /// account (its keys are there), the test kit's otherwise.
    fn lookup_key(&self) -> String {
        if self.account == ACCOUNT {
            "testing".to_string()
        } else {
            self.access_key.clone()
        }
    }

    fn f(&self, k: &str) -> Option<&str> {
        self.form.get(k).map(String::as_str)
    }

    fn j(&self, k: &str) -> Option<&str> {
        self.json.get(k).and_then(Value::as_str)
    }

    /// `Prefix.member.N` (RDS, ElastiCache) or `Prefix.N` (EC2) values.
    fn list(&self, prefix: &str) -> Vec<String> {
        let mut items: Vec<(usize, String)> = self
            .form
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                let n = rest.strip_prefix("member.").unwrap_or(rest);
                Some((n.parse().ok()?, v.clone()))
            })
            .collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// Tags of a query-protocol request: `Tags.member.N.Key/Value` (RDS),
    /// `Tags.Tag.N.Key/Value` (ElastiCache), or
    /// `TagSpecification.1.Tag.N.Key/Value` / `Tag.N.Key/Value` (EC2).
    fn form_tags(&self, prefixes: &[&str]) -> BTreeMap<String, String> {
        let mut keys: BTreeMap<String, String> = BTreeMap::new();
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &self.form {
            for p in prefixes {
                if let Some(rest) = k.strip_prefix(p) {
                    if let Some(n) = rest.strip_suffix(".Key") {
                        keys.insert(n.to_string(), v.clone());
                    } else if let Some(n) = rest.strip_suffix(".Value") {
                        values.insert(n.to_string(), v.clone());
                    }
                }
            }
        }
        keys.into_iter()
            .map(|(n, k)| (k, values.get(&n).cloned().unwrap_or_default()))
            .collect()
    }

    fn arn(&self, service: &str, region: &str, resource: &str) -> String {
        match service {
            "ec2" => format!("arn:aws:ec2:{region}::{resource}"),
            "s3" => format!("arn:aws:s3:::{resource}"),
            _ => format!("arn:aws:{service}:{region}:{}:{resource}", self.account),
        }
    }

    fn rds(&self, resource: &str) -> String {
        self.arn("rds", &self.region, resource)
    }

    /// An RDS identifier or ARN as an ARN of `kind`.
    fn rds_named(&self, kind: &str, id: &str) -> String {
        if id.starts_with("arn:") {
            id.to_string()
        } else {
            self.rds(&format!("{kind}:{id}"))
        }
    }

    fn ecache(&self, resource: &str) -> String {
        self.arn("elasticache", &self.region, resource)
    }

    /// The authorizations of this request.
    fn authorize(&self) -> Result<Vec<Authz>, String> {
        let op = self.operation.as_str();
        let mut out = Vec::new();
        match self.service.as_str() {
            "rds" => self.authorize_rds(op, &mut out)?,
            "ec2" => self.authorize_ec2(op, &mut out)?,
            "elasticache" => self.authorize_elasticache(op, &mut out)?,
            "dynamodb" if op == "TransactWriteItems" || op == "TransactGetItems" => {
                // A transaction is authorized item by item, as the action of
                // each part (DynamoDB's IAM documentation).
                for item in self
                    .json
                    .get("TransactItems")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for (part, action) in [
                        ("Put", "dynamodb:PutItem"),
                        ("Delete", "dynamodb:DeleteItem"),
                        ("Update", "dynamodb:UpdateItem"),
                        ("ConditionCheck", "dynamodb:ConditionCheckItem"),
                        ("Get", "dynamodb:GetItem"),
                    ] {
                        if let Some(t) = item
                            .get(part)
                            .and_then(|p| p.get("TableName"))
                            .and_then(Value::as_str)
                        {
                            out.push(Authz::new(
                                action,
                                vec![Res::plain(self.arn(
                                    "dynamodb",
                                    &self.region,
                                    &format!("table/{t}"),
                                ))],
                            ));
                        }
                    }
                }
                if out.is_empty() {
                    return Err(format!("dynamodb:{op} with no item"));
                }
            }
            "dynamodb" => {
                let tables: Vec<String> = match op {
                    "BatchWriteItem" | "BatchGetItem" => self
                        .json
                        .get("RequestItems")
                        .and_then(Value::as_object)
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default(),
                    _ => self
                        .j("TableName")
                        .map(str::to_string)
                        .into_iter()
                        .collect(),
                };
                if tables.is_empty() {
                    return Err("no TableName".into());
                }
                let resources = tables
                    .iter()
                    .map(|t| {
                        let mut r = format!("table/{t}");
                        if let Some(i) = self.j("IndexName") {
                            r = format!("{r}/index/{i}");
                        }
                        Res::plain(self.arn("dynamodb", &self.region, &r))
                    })
                    .collect();
                out.push(Authz::new(&format!("dynamodb:{op}"), resources));
            }
            "sns" => match op {
                "Publish" | "PublishBatch" => {
                    let topic = self
                        .f("TopicArn")
                        .or(self.f("TargetArn"))
                        .ok_or("no TopicArn")?;
                    out.push(Authz::new("sns:Publish", vec![Res::plain(topic)]));
                }
                _ => return Err(format!("sns:{op}")),
            },
            // CloudWatch (AWS Query protocol, SigV4 service `monitoring`):
            // DescribeAlarms authorizes on every alarm (it lists by name
            // prefix); PutMetricAlarm on the alarm, and with tags
            // cloudwatch:TagResource too; DeleteAlarms on each alarm.
            "monitoring" => {
                let alarm = |n: &str| {
                    Res::plain(self.arn("cloudwatch", &self.region, &format!("alarm:{n}")))
                };
                match op {
                    "DescribeAlarms" => {
                        out.push(Authz::new("cloudwatch:DescribeAlarms", vec![alarm("*")]))
                    }
                    // Metric reads have no resource-level permission.
                    "GetMetricStatistics" => out.push(Authz::new(
                        "cloudwatch:GetMetricStatistics",
                        vec![Res::plain("*")],
                    )),
                    "PutMetricAlarm" => {
                        let name = self.f("AlarmName").ok_or("no AlarmName")?;
                        let tags = self.form_tags(&["Tags.member."]);
                        let mut a = Authz::new("cloudwatch:PutMetricAlarm", vec![alarm(name)]);
                        if !tags.is_empty() {
                            a.request_tags = Some(tags.clone());
                            let mut t = Authz::new("cloudwatch:TagResource", vec![alarm(name)]);
                            t.request_tags = Some(tags);
                            out.push(t);
                        }
                        out.push(a);
                    }
                    "DeleteAlarms" => {
                        let names = self.list("AlarmNames");
                        if names.is_empty() {
                            return Err("DeleteAlarms with no AlarmNames".into());
                        }
                        out.push(Authz::new(
                            "cloudwatch:DeleteAlarms",
                            names.iter().map(|n| alarm(n)).collect(),
                        ));
                    }
                    _ => return Err(format!("cloudwatch:{op}")),
                }
            }
            "ssm" => match op {
                "GetParameter" | "GetParameters" => {
                    let name = self.j("Name").ok_or("no Name")?;
                    out.push(Authz::new(
                        &format!("ssm:{op}"),
                        vec![Res::plain(self.arn(
                            "ssm",
                            &self.region,
                            &format!("parameter/{}", name.trim_start_matches('/')),
                        ))],
                    ));
                }
                _ => return Err(format!("ssm:{op}")),
            },
            "secretsmanager" => match op {
                "GetSecretValue" | "DescribeSecret" => {
                    // The ARN is resolved in `records` (a name has a suffix).
                    let id = self.j("SecretId").ok_or("no SecretId")?;
                    out.push(Authz::new(
                        &format!("secretsmanager:{op}"),
                        vec![Res {
                            arn: format!("secret-id:{id}"),
                            tags: TagSource::Secret,
                        }],
                    ));
                }
                _ => return Err(format!("secretsmanager:{op}")),
            },
            "sts" => match op {
                "AssumeRole" => {
                    let role = self.f("RoleArn").ok_or("no RoleArn")?;
                    out.push(Authz::new("sts:AssumeRole", vec![Res::plain(role)]));
                }
                _ => return Err(format!("sts:{op}")),
            },
            "kms" => {
                let key = self.j("KeyId").ok_or("no KeyId")?;
                out.push(Authz::new(
                    &format!("kms:{op}"),
                    vec![Res::plain(format!("key-id:{key}"))],
                ));
            }
            "events" => match op {
                "PutEvents" => {
                    for e in self
                        .json
                        .get("Entries")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                    {
                        let bus = e
                            .get("EventBusName")
                            .and_then(Value::as_str)
                            .unwrap_or("default");
                        let bus = if bus.starts_with("arn:") {
                            bus.to_string()
                        } else {
                            self.arn("events", &self.region, &format!("event-bus/{bus}"))
                        };
                        let mut a = Authz::new("events:PutEvents", vec![Res::plain(bus)]);
                        for (k, field) in [
                            ("events:detail-type", "DetailType"),
                            ("events:source", "Source"),
                        ] {
                            if let Some(v) = e.get(field).and_then(Value::as_str) {
                                a.context.insert(k.into(), Value::String(v.into()));
                            }
                        }
                        out.push(a);
                    }
                }
                _ => return Err(format!("events:{op}")),
            },
            "rds-data" => {
                let path = self.path.split('?').next().unwrap_or("");
                let action = match path {
                    "/Execute" => "ExecuteStatement",
                    "/BatchExecute" => "BatchExecuteStatement",
                    _ => return Err(format!("rds-data {path}")),
                };
                let cluster = self.j("resourceArn").ok_or("no resourceArn")?;
                let mut a = Authz::new(
                    &format!("rds-data:{action}"),
                    vec![Res {
                        arn: cluster.to_string(),
                        tags: TagSource::Rds,
                    }],
                );
                a.action = format!("rds-data:{action}");
                out.push(a);
                // The Data API reads the secret with the caller's rights.
                if let Some(secret) = self.j("secretArn") {
                    out.push(Authz::new(
                        "secretsmanager:GetSecretValue",
                        vec![Res::plain(format!("secret-id:{secret}"))],
                    ));
                }
            }
            "s3" => self.authorize_s3(&mut out)?,
            other => return Err(format!("service {other}")),
        }
        Ok(out)
    }

    fn authorize_rds(&self, op: &str, out: &mut Vec<Authz>) -> Result<(), String> {
        let tagged = |kind: &str, id: &str| Res {
            arn: self.rds_named(kind, id),
            tags: TagSource::Rds,
        };
        let req_tags = self.form_tags(&["Tags.member.", "Tags.Tag."]);
        // Tags given with a create are also authorized as AddTagsToResource
        // on the new resource.
        let with_tags = |out: &mut Vec<Authz>, new_arn: String, extra: &Map<String, Value>| {
            if !req_tags.is_empty() {
                let mut a = Authz::new(
                    "rds:AddTagsToResource",
                    vec![Res {
                        arn: new_arn,
                        tags: TagSource::Rds,
                    }],
                );
                a.request_tags = Some(req_tags.clone());
                a.context = extra.clone();
                out.push(a);
            }
        };
        let public = |c: &mut Map<String, Value>| {
            if let Some(p) = self.f("PubliclyAccessible") {
                c.insert("rds:PubliclyAccessible".into(), Value::String(p.into()));
            }
        };
        let opt = |k: &str, kind: &str, default: &str| {
            Res::plain(self.rds(&format!("{kind}:{}", self.f(k).unwrap_or(default))))
        };
        match op {
            "DescribeDBInstances" => {
                let id = self.f("DBInstanceIdentifier").unwrap_or("*");
                out.push(Authz::new(
                    op_action("rds", op).as_str(),
                    vec![Res::plain(self.rds_named("db", id))],
                ));
            }
            "DescribeDBClusters" => {
                let id = self.f("DBClusterIdentifier").unwrap_or("*");
                out.push(Authz::new(
                    &op_action("rds", op),
                    vec![Res::plain(self.rds_named("cluster", id))],
                ));
            }
            "DescribeDBSnapshots" => {
                let mut res = vec![Res::plain(
                    self.rds_named("snapshot", self.f("DBSnapshotIdentifier").unwrap_or("*")),
                )];
                if let Some(db) = self.f("DBInstanceIdentifier") {
                    res.push(Res::plain(self.rds_named("db", db)));
                }
                out.push(Authz::new(&op_action("rds", op), res));
            }
            "DescribeDBClusterSnapshots" => {
                let mut res = vec![Res::plain(self.rds_named(
                    "cluster-snapshot",
                    self.f("DBClusterSnapshotIdentifier").unwrap_or("*"),
                ))];
                if let Some(c) = self.f("DBClusterIdentifier") {
                    res.push(Res::plain(self.rds_named("cluster", c)));
                }
                out.push(Authz::new(&op_action("rds", op), res));
            }
            "DescribeDBInstanceAutomatedBackups" => {
                let mut res = vec![Res::plain(self.rds("auto-backup:*"))];
                if let Some(db) = self.f("DBInstanceIdentifier") {
                    res.push(Res::plain(self.rds_named("db", db)));
                }
                out.push(Authz::new(&op_action("rds", op), res));
            }
            "ListTagsForResource" => {
                let arn = self.f("ResourceName").ok_or("no ResourceName")?;
                out.push(Authz::new(&op_action("rds", op), vec![Res::plain(arn)]));
            }
            "CreateDBSnapshot" | "CreateDBClusterSnapshot" => {
                let (source_kind, source_field, kind, field) = if op == "CreateDBSnapshot" {
                    (
                        "db",
                        "DBInstanceIdentifier",
                        "snapshot",
                        "DBSnapshotIdentifier",
                    )
                } else {
                    (
                        "cluster",
                        "DBClusterIdentifier",
                        "cluster-snapshot",
                        "DBClusterSnapshotIdentifier",
                    )
                };
                let snap = self.rds_named(kind, self.f(field).ok_or("no snapshot identifier")?);
                let source = self.f(source_field).ok_or("no source identifier")?;
                let mut a = Authz::new(
                    &op_action("rds", op),
                    vec![tagged(source_kind, source), Res::plain(snap.clone())],
                );
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                out.push(a);
                with_tags(out, snap, &Map::new());
            }
            "CopyDBSnapshot" | "CopyDBClusterSnapshot" => {
                let (kind, src_field, dst_field) = if op == "CopyDBSnapshot" {
                    (
                        "snapshot",
                        "SourceDBSnapshotIdentifier",
                        "TargetDBSnapshotIdentifier",
                    )
                } else {
                    (
                        "cluster-snapshot",
                        "SourceDBClusterSnapshotIdentifier",
                        "TargetDBClusterSnapshotIdentifier",
                    )
                };
                let src = self.rds_named(kind, self.f(src_field).ok_or("no source")?);
                let dst = self.rds_named(kind, self.f(dst_field).ok_or("no target")?);
                let cross_region = region_of_arn(&src) != self.region;
                let mut a = Authz::new(
                    &op_action("rds", op),
                    vec![
                        Res {
                            arn: src.clone(),
                            tags: TagSource::Rds,
                        },
                        Res::plain(dst.clone()),
                    ],
                );
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                if let Some(key) = self.f("KmsKeyId") {
                    let via = format!("rds.{}.amazonaws.com", self.region);
                    a.kms.push(json!({"key": format!("key-id:{key}"), "actions": ["kms:DescribeKey"], "via": via}));
                    a.kms.push(json!({"key": format!("key-id:{key}"), "actions": ["kms:CreateGrant"], "via": via,
                        "context": {"kms:GrantIsForAWSResource": "true"}}));
                }
                if src.split(':').nth(4).is_some_and(|acc| acc != self.account) {
                    // A snapshot shared from another account: RDS uses its
                    // key with the caller's permissions too (that account's
                    // key policy and the caller's IAM must both allow it).
                    let via = format!("rds.{}.amazonaws.com", self.region);
                    a.kms.push(json!({"key": format!("snapshot-key:{src}"), "actions": ["kms:DescribeKey"], "via": via}));
                    a.kms.push(json!({"key": format!("snapshot-key:{src}"), "actions": ["kms:CreateGrant"], "via": via,
                        "context": {"kms:GrantIsForAWSResource": "true"}}));
                }
                out.push(a);
                with_tags(out, dst, &Map::new());
                if cross_region {
                    // A cross-region copy is also authorized as
                    // rds:CrossRegionCommunication (Service Authorization
                    // Reference: a permission-only action).
                    out.push(Authz::new(
                        "rds:CrossRegionCommunication",
                        vec![Res::plain("*")],
                    ));
                }
            }
            "AddTagsToResource" | "RemoveTagsFromResource" => {
                let arn = self.f("ResourceName").ok_or("no ResourceName")?;
                let mut a = Authz::new(
                    &op_action("rds", op),
                    vec![Res {
                        arn: arn.to_string(),
                        tags: TagSource::Rds,
                    }],
                );
                if op == "AddTagsToResource" {
                    a.request_tags = Some(req_tags.clone());
                } else {
                    a.tag_keys = Some(self.list("TagKeys"));
                }
                out.push(a);
            }
            "DeleteDBSnapshot" => out.push(Authz::new(
                &op_action("rds", op),
                vec![tagged(
                    "snapshot",
                    self.f("DBSnapshotIdentifier").ok_or("no id")?,
                )],
            )),
            // Sharing: authorized on the snapshot.
            "ModifyDBSnapshotAttribute" => out.push(Authz::new(
                &op_action("rds", op),
                vec![tagged(
                    "snapshot",
                    self.f("DBSnapshotIdentifier").ok_or("no id")?,
                )],
            )),
            "ModifyDBClusterSnapshotAttribute" => out.push(Authz::new(
                &op_action("rds", op),
                vec![tagged(
                    "cluster-snapshot",
                    self.f("DBClusterSnapshotIdentifier").ok_or("no id")?,
                )],
            )),
            "DeleteDBClusterSnapshot" => out.push(Authz::new(
                &op_action("rds", op),
                vec![tagged(
                    "cluster-snapshot",
                    self.f("DBClusterSnapshotIdentifier").ok_or("no id")?,
                )],
            )),
            // A failover drill's reboot: authorized on the instance.
            "RebootDBInstance" => {
                let id = self.f("DBInstanceIdentifier").ok_or("no id")?;
                out.push(Authz::new(&op_action("rds", op), vec![tagged("db", id)]));
            }
            // RDS's events have no resource-level permissions.
            "DescribeEvents" => {
                out.push(Authz::new(&op_action("rds", op), vec![Res::plain("*")]));
            }
            "DeleteDBInstance" => {
                let mut res = vec![tagged("db", self.f("DBInstanceIdentifier").ok_or("no id")?)];
                if let Some(s) = self.f("FinalDBSnapshotIdentifier") {
                    res.push(Res::plain(self.rds_named("snapshot", s)));
                }
                out.push(Authz::new(&op_action("rds", op), res));
            }
            "DeleteDBCluster" => {
                let mut res = vec![tagged(
                    "cluster",
                    self.f("DBClusterIdentifier").ok_or("no id")?,
                )];
                if let Some(s) = self.f("FinalDBSnapshotIdentifier") {
                    res.push(Res::plain(self.rds_named("cluster-snapshot", s)));
                }
                out.push(Authz::new(&op_action("rds", op), res));
            }
            "EnableHttpEndpoint" => {
                let arn = self.f("ResourceArn").ok_or("no ResourceArn")?;
                out.push(Authz::new(
                    &op_action("rds", op),
                    vec![Res {
                        arn: arn.to_string(),
                        tags: TagSource::Rds,
                    }],
                ));
            }
            "ModifyDBInstance" => {
                let id = self.f("DBInstanceIdentifier").ok_or("no id")?;
                let mut res = vec![tagged("db", id)];
                if let Some(pg) = self.f("DBParameterGroupName") {
                    res.push(Res::plain(self.rds(&format!("pg:{pg}"))));
                }
                out.push(Authz::new(&op_action("rds", op), res));
                if self.f("ManageMasterUserPassword") == Some("true") {
                    // RDS creates the instance's secret (`rds!db-<uuid>`),
                    // tags it and rotates it with the caller's permissions
                    // (RDS User Guide, permissions for the Secrets Manager
                    // integration); its name is not known before.
                    let secret = self.arn(
                        "secretsmanager",
                        &self.region,
                        "secret:rds!db-00000000-0000-0000-0000-000000000000-AbCdEf",
                    );
                    for action in [
                        "secretsmanager:CreateSecret",
                        "secretsmanager:TagResource",
                        "secretsmanager:RotateSecret",
                    ] {
                        out.push(Authz::new(action, vec![Res::plain(secret.clone())]));
                    }
                }
            }
            "RestoreDBInstanceFromDBSnapshot" => {
                let db = self.rds_named("db", self.f("DBInstanceIdentifier").ok_or("no id")?);
                let mut a = Authz::new(
                    &op_action("rds", op),
                    vec![
                        Res::plain(db.clone()),
                        tagged(
                            "snapshot",
                            self.f("DBSnapshotIdentifier").ok_or("no snapshot")?,
                        ),
                        opt("DBSubnetGroupName", "subgrp", "default"),
                        opt("OptionGroupName", "og", "default:postgres-16"),
                        opt("DBParameterGroupName", "pg", "default.postgres16"),
                    ],
                );
                public(&mut a.context);
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                let ctx = a.context.clone();
                out.push(a);
                with_tags(out, db, &ctx);
            }
            "RestoreDBInstanceToPointInTime" => {
                let db = self.rds_named(
                    "db",
                    self.f("TargetDBInstanceIdentifier").ok_or("no target")?,
                );
                let mut res = vec![Res::plain(db.clone())];
                if let Some(src) = self.f("SourceDBInstanceIdentifier") {
                    res.push(tagged("db", src));
                }
                if let Some(b) = self.f("SourceDBInstanceAutomatedBackupsArn") {
                    res.push(Res::plain(b));
                }
                res.push(opt("DBSubnetGroupName", "subgrp", "default"));
                res.push(opt("OptionGroupName", "og", "default:postgres-16"));
                res.push(opt("DBParameterGroupName", "pg", "default.postgres16"));
                let mut a = Authz::new(&op_action("rds", op), res);
                public(&mut a.context);
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                let ctx = a.context.clone();
                out.push(a);
                with_tags(out, db, &ctx);
            }
            "RestoreDBClusterFromSnapshot" | "RestoreDBClusterToPointInTime" => {
                let cluster =
                    self.rds_named("cluster", self.f("DBClusterIdentifier").ok_or("no id")?);
                let mut res = vec![Res::plain(cluster.clone())];
                if op == "RestoreDBClusterFromSnapshot" {
                    let s = self.f("SnapshotIdentifier").ok_or("no snapshot")?;
                    let kind = if s.contains(":snapshot:") {
                        "snapshot"
                    } else {
                        "cluster-snapshot"
                    };
                    res.push(tagged(kind, s));
                } else {
                    res.push(tagged(
                        "cluster",
                        self.f("SourceDBClusterIdentifier").ok_or("no source")?,
                    ));
                }
                res.push(opt("DBSubnetGroupName", "subgrp", "default"));
                res.push(opt(
                    "DBClusterParameterGroupName",
                    "cluster-pg",
                    "default.aurora-postgresql16",
                ));
                res.push(opt("OptionGroupName", "og", "default:aurora-postgresql-16"));
                let mut a = Authz::new(&op_action("rds", op), res);
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                out.push(a);
                with_tags(out, cluster, &Map::new());
            }
            "CreateDBInstance" => {
                let db = self.rds_named("db", self.f("DBInstanceIdentifier").ok_or("no id")?);
                let mut res = vec![Res::plain(db.clone())];
                if let Some(c) = self.f("DBClusterIdentifier") {
                    res.push(tagged("cluster", c));
                }
                if let Some(g) = self.f("DBSubnetGroupName") {
                    res.push(Res::plain(self.rds(&format!("subgrp:{g}"))));
                }
                res.push(opt("OptionGroupName", "og", "default:aurora-postgresql-16"));
                res.push(opt(
                    "DBParameterGroupName",
                    "pg",
                    "default.aurora-postgresql16",
                ));
                let mut a = Authz::new(&op_action("rds", op), res);
                public(&mut a.context);
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                let ctx = a.context.clone();
                out.push(a);
                with_tags(out, db, &ctx);
            }
            _ => return Err(format!("rds:{op}")),
        }
        Ok(())
    }

    fn authorize_ec2(&self, op: &str, out: &mut Vec<Authz>) -> Result<(), String> {
        let snapshot = |region: &str, id: &str| self.arn("ec2", region, &format!("snapshot/{id}"));
        let spec_tags = self.form_tags(&["TagSpecification.1.Tag."]);
        let volume = |id: &str| format!("arn:aws:ec2:{}:{}:volume/{id}", self.region, self.account);
        let create_tags = |out: &mut Vec<Authz>, action: &str| {
            if !spec_tags.is_empty() {
                let created = if action == "CreateVolume" {
                    volume("*")
                } else {
                    snapshot(&self.region, "*")
                };
                let mut a = Authz::new("ec2:CreateTags", vec![Res::plain(created)]);
                a.request_tags = Some(spec_tags.clone());
                a.context
                    .insert("ec2:CreateAction".into(), Value::String(action.into()));
                out.push(a);
            }
        };
        match op {
            // EC2's describes have no resource-level permissions.
            "DescribeVolumes"
            | "DescribeSnapshots"
            | "DescribeTags"
            | "DescribeRegions"
            | "DescribeAvailabilityZones" => {
                out.push(Authz::new(&op_action("ec2", op), vec![Res::plain("*")]));
            }
            "CreateSnapshot" => {
                let vol = self.f("VolumeId").ok_or("no VolumeId")?;
                let mut a = Authz::new(
                    &op_action("ec2", op),
                    vec![
                        Res {
                            arn: format!(
                                "arn:aws:ec2:{}:{}:volume/{vol}",
                                self.region, self.account
                            ),
                            tags: TagSource::Ec2(vol.to_string()),
                        },
                        Res::plain(snapshot(&self.region, "*")),
                    ],
                );
                if !spec_tags.is_empty() {
                    a.request_tags = Some(spec_tags.clone());
                }
                out.push(a);
                create_tags(out, "CreateSnapshot");
            }
            "CopySnapshot" => {
                let src = self.f("SourceSnapshotId").ok_or("no SourceSnapshotId")?;
                let src_region = self.f("SourceRegion").unwrap_or(&self.region).to_string();
                let mut a = Authz::new(
                    &op_action("ec2", op),
                    vec![
                        Res {
                            arn: snapshot(&src_region, src),
                            tags: TagSource::Ec2(src.to_string()),
                        },
                        Res::plain(snapshot(&self.region, "*")),
                    ],
                );
                if !spec_tags.is_empty() {
                    a.request_tags = Some(spec_tags.clone());
                }
                let via = format!("ec2.{}.amazonaws.com", self.region);
                if let Some(key) = self.f("KmsKeyId") {
                    a.kms.push(json!({"key": format!("key-id:{key}"), "via": via,
                        "actions": ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]}));
                    a.kms.push(json!({"key": format!("key-id:{key}"), "actions": ["kms:CreateGrant"], "via": via,
                        "context": {"kms:GrantIsForAWSResource": "true"}}));
                }
                // A snapshot shared from another account (the request does
                // not say whose: the look-up finds it, and drops the lines
                // for the caller's own snapshot): EC2 reads it with its key,
                // under the caller's permissions and that key's policy.
                let shared = format!("ebs-snapshot-key:{src_region}:{src}");
                a.kms.push(json!({"key": shared, "via": via,
                    "actions": ["kms:DescribeKey", "kms:Decrypt", "kms:ReEncryptFrom"]}));
                a.kms.push(
                    json!({"key": shared, "actions": ["kms:CreateGrant"], "via": via,
                    "context": {"kms:GrantIsForAWSResource": "true"}}),
                );
                out.push(a);
                create_tags(out, "CopySnapshot");
            }
            "CreateTags" | "DeleteTags" => {
                let tags = self.form_tags(&["Tag."]);
                for id in self.list("ResourceId") {
                    let arn = if id.starts_with("snap-") {
                        snapshot(&self.region, &id)
                    } else if id.starts_with("vol-") {
                        format!("arn:aws:ec2:{}:{}:volume/{id}", self.region, self.account)
                    } else {
                        return Err(format!("ec2:{op} on {id}"));
                    };
                    let mut a = Authz::new(
                        &op_action("ec2", op),
                        vec![Res {
                            arn,
                            tags: TagSource::Ec2(id.clone()),
                        }],
                    );
                    if op == "CreateTags" {
                        a.request_tags = Some(tags.clone());
                    } else {
                        a.tag_keys = Some(tags.keys().cloned().collect());
                    }
                    out.push(a);
                }
            }
            // A volume from a snapshot: authorized on the snapshot and on
            // the new volume (with the request's tags), plus the tags'
            // CreateTags as for CreateSnapshot. The snapshot's key, used
            // through EC2, is not in the request: not recorded here
            // (infra/README.md, what the simulation cannot prove).
            "CreateVolume" => {
                let snap = self.f("SnapshotId").ok_or("no SnapshotId")?;
                let mut a = Authz::new(
                    &op_action("ec2", op),
                    vec![
                        Res {
                            arn: snapshot(&self.region, snap),
                            tags: TagSource::Ec2(snap.to_string()),
                        },
                        Res::plain(volume("*")),
                    ],
                );
                if !spec_tags.is_empty() {
                    a.request_tags = Some(spec_tags.clone());
                }
                out.push(a);
                create_tags(out, "CreateVolume");
            }
            "DeleteVolume" => {
                let id = self.f("VolumeId").ok_or("no VolumeId")?;
                out.push(Authz::new(
                    &op_action("ec2", op),
                    vec![Res {
                        arn: volume(id),
                        tags: TagSource::Ec2(id.to_string()),
                    }],
                ));
            }
            // createVolumePermission: the accounts added or removed are
            // the ec2:Add/userId and ec2:Remove/userId condition keys.
            "ModifySnapshotAttribute" => {
                let id = self.f("SnapshotId").ok_or("no SnapshotId")?;
                let users = self.list("UserId");
                let key = match self.f("OperationType") {
                    Some("add") => "ec2:Add/userId",
                    Some("remove") => "ec2:Remove/userId",
                    other => {
                        return Err(format!(
                            "ec2:ModifySnapshotAttribute with OperationType {other:?}"
                        ))
                    }
                };
                let mut a = Authz::new(
                    &op_action("ec2", op),
                    vec![Res {
                        arn: snapshot(&self.region, id),
                        tags: TagSource::Ec2(id.to_string()),
                    }],
                );
                a.context.insert(key.to_string(), json!(users));
                out.push(a);
            }
            "DeleteSnapshot" => {
                let id = self.f("SnapshotId").ok_or("no SnapshotId")?;
                out.push(Authz::new(
                    &op_action("ec2", op),
                    vec![Res {
                        arn: snapshot(&self.region, id),
                        tags: TagSource::Ec2(id.to_string()),
                    }],
                ));
            }
            _ => return Err(format!("ec2:{op}")),
        }
        Ok(())
    }

    fn authorize_elasticache(&self, op: &str, out: &mut Vec<Authz>) -> Result<(), String> {
        let tagged = |arn: String| Res {
            arn,
            tags: TagSource::ElastiCache,
        };
        let req_tags = self.form_tags(&["Tags.Tag.", "Tags.member."]);
        match op {
            "DescribeReplicationGroups" => out.push(Authz::new(
                &op_action("elasticache", op),
                vec![Res::plain(self.ecache(&format!(
                    "replicationgroup:{}",
                    self.f("ReplicationGroupId").unwrap_or("*")
                )))],
            )),
            "DescribeCacheClusters" => out.push(Authz::new(
                &op_action("elasticache", op),
                vec![Res::plain(self.ecache(&format!(
                    "cluster:{}",
                    self.f("CacheClusterId").unwrap_or("*")
                )))],
            )),
            "DescribeSnapshots" => {
                let mut res = vec![Res::plain(self.ecache(&format!(
                    "snapshot:{}",
                    self.f("SnapshotName").unwrap_or("*")
                )))];
                if let Some(g) = self.f("ReplicationGroupId") {
                    res.push(Res::plain(self.ecache(&format!("replicationgroup:{g}"))));
                }
                if let Some(c) = self.f("CacheClusterId") {
                    res.push(Res::plain(self.ecache(&format!("cluster:{c}"))));
                }
                out.push(Authz::new(&op_action("elasticache", op), res));
            }
            "ListTagsForResource" => {
                let arn = self.f("ResourceName").ok_or("no ResourceName")?;
                out.push(Authz::new(
                    &op_action("elasticache", op),
                    vec![Res::plain(arn)],
                ));
            }
            "CreateSnapshot" => {
                let snap = self.ecache(&format!(
                    "snapshot:{}",
                    self.f("SnapshotName").ok_or("no SnapshotName")?
                ));
                let source = if let Some(g) = self.f("ReplicationGroupId") {
                    self.ecache(&format!("replicationgroup:{g}"))
                } else {
                    self.ecache(&format!(
                        "cluster:{}",
                        self.f("CacheClusterId").ok_or("no source")?
                    ))
                };
                let mut a = Authz::new(
                    &op_action("elasticache", op),
                    vec![tagged(source), Res::plain(snap.clone())],
                );
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                    let mut t = Authz::new("elasticache:AddTagsToResource", vec![tagged(snap)]);
                    t.request_tags = Some(req_tags.clone());
                    out.push(a);
                    out.push(t);
                } else {
                    out.push(a);
                }
            }
            "CopySnapshot" => {
                let src = self.ecache(&format!(
                    "snapshot:{}",
                    self.f("SourceSnapshotName").ok_or("no source")?
                ));
                let dst = self.ecache(&format!(
                    "snapshot:{}",
                    self.f("TargetSnapshotName").ok_or("no target")?
                ));
                let mut a = Authz::new(
                    &op_action("elasticache", op),
                    vec![tagged(src), Res::plain(dst.clone())],
                );
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                }
                out.push(a);
                if !req_tags.is_empty() {
                    let mut t = Authz::new("elasticache:AddTagsToResource", vec![tagged(dst)]);
                    t.request_tags = Some(req_tags.clone());
                    out.push(t);
                }
                if self.f("TargetBucket").is_some() {
                    // An export to S3 also checks s3:ListAllMyBuckets for the
                    // caller (ElastiCache's API permissions reference).
                    out.push(Authz::new("s3:ListAllMyBuckets", vec![Res::plain("*")]));
                }
            }
            "AddTagsToResource" | "RemoveTagsFromResource" => {
                let arn = self.f("ResourceName").ok_or("no ResourceName")?;
                let mut a =
                    Authz::new(&op_action("elasticache", op), vec![tagged(arn.to_string())]);
                if op == "AddTagsToResource" {
                    a.request_tags = Some(req_tags.clone());
                } else {
                    a.tag_keys = Some(self.list("TagKeys"));
                }
                out.push(a);
            }
            "DeleteSnapshot" => {
                let snap = self.ecache(&format!(
                    "snapshot:{}",
                    self.f("SnapshotName").ok_or("no SnapshotName")?
                ));
                out.push(Authz::new(
                    &op_action("elasticache", op),
                    vec![tagged(snap)],
                ));
            }
            // A replication group from a snapshot: authorized on the new
            // group (with the request's tags and encryption), its nodes, the
            // snapshot, the cache subnet group (ElastiCache's `default` when
            // none is named) and the parameter group (the request's, else
            // the engine's default);
            // the tags given with it as AddTagsToResource on the group.
            "CreateReplicationGroup" => {
                let id = self
                    .f("ReplicationGroupId")
                    .ok_or("no ReplicationGroupId")?;
                let group = self.ecache(&format!("replicationgroup:{id}"));
                let mut res = vec![
                    Res::plain(group.clone()),
                    Res::plain(self.ecache(&format!("cluster:{id}-001"))),
                    Res::plain(self.ecache(&format!(
                        "subnetgroup:{}",
                        self.f("CacheSubnetGroupName").unwrap_or("default")
                    ))),
                    // Without one in the request, the engine's default
                    // (`default.redis7` for Redis 7; its exact name is not
                    // in the request).
                    Res::plain(self.ecache(&format!(
                        "parametergroup:{}",
                        self.f("CacheParameterGroupName").unwrap_or("default.redis7")
                    ))),
                ];
                if let Some(snap) = self.f("SnapshotName") {
                    res.push(tagged(self.ecache(&format!("snapshot:{snap}"))));
                }
                let mut a = Authz::new(&op_action("elasticache", op), res);
                for (param, key) in [
                    (
                        "AtRestEncryptionEnabled",
                        "elasticache:AtRestEncryptionEnabled",
                    ),
                    (
                        "TransitEncryptionEnabled",
                        "elasticache:TransitEncryptionEnabled",
                    ),
                    ("CacheNodeType", "elasticache:CacheNodeType"),
                ] {
                    if let Some(v) = self.f(param) {
                        a.context.insert(key.into(), Value::String(v.into()));
                    }
                }
                if !req_tags.is_empty() {
                    a.request_tags = Some(req_tags.clone());
                    let mut t =
                        Authz::new("elasticache:AddTagsToResource", vec![Res::plain(group)]);
                    t.request_tags = Some(req_tags.clone());
                    out.push(a);
                    out.push(t);
                } else {
                    out.push(a);
                }
            }
            "DeleteReplicationGroup" => {
                let id = self
                    .f("ReplicationGroupId")
                    .ok_or("no ReplicationGroupId")?;
                out.push(Authz::new(
                    &op_action("elasticache", op),
                    vec![tagged(self.ecache(&format!("replicationgroup:{id}")))],
                ));
            }
            _ => return Err(format!("elasticache:{op}")),
        }
        Ok(())
    }

    fn authorize_s3(&self, out: &mut Vec<Authz>) -> Result<(), String> {
        let (path, query) = self
            .path
            .split_once('?')
            .unwrap_or((self.path.as_str(), ""));
        let params: BTreeMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let path = percent_decode(path);
        let mut segs = path.trim_start_matches('/').splitn(2, '/');
        let bucket = segs.next().unwrap_or("").to_string();
        let key = segs.next().unwrap_or("").to_string();
        let bucket_arn = self.arn("s3", "", &bucket);
        let object_arn = format!("{bucket_arn}/{key}");
        let m = self.method.as_str();
        let has = |p: &str| params.contains_key(p);
        let action: &str = if bucket.is_empty() {
            if m == "GET" {
                out.push(Authz::new("s3:ListAllMyBuckets", vec![Res::plain("*")]));
                return Ok(());
            }
            return Err(format!("s3 {m} /"));
        } else if key.is_empty() {
            match m {
                "GET" | "HEAD" if has("versioning") => "s3:GetBucketVersioning",
                "PUT" if has("versioning") => "s3:PutBucketVersioning",
                "GET" if has("lifecycle") => "s3:GetLifecycleConfiguration",
                "PUT" if has("lifecycle") => "s3:PutLifecycleConfiguration",
                "GET" if has("location") => "s3:GetBucketLocation",
                "GET" if has("object-lock") => "s3:GetBucketObjectLockConfiguration",
                "GET" if has("replication") => "s3:GetReplicationConfiguration",
                "PUT" if has("replication") => {
                    // S3 checks that the caller may pass the role it names
                    // to S3 (iam:PassRole, iam:PassedToService).
                    let role = self
                        .body
                        .split("<Role>")
                        .nth(1)
                        .and_then(|r| r.split("</Role>").next())
                        .ok_or("PutBucketReplication with no Role")?;
                    let mut pass = Authz::new("iam:PassRole", vec![Res::plain(role)]);
                    pass.context.insert(
                        "iam:PassedToService".into(),
                        Value::String("s3.amazonaws.com".into()),
                    );
                    out.push(pass);
                    "s3:PutReplicationConfiguration"
                }
                "GET" if has("versions") => "s3:ListBucketVersions",
                "GET" | "HEAD" => "s3:ListBucket",
                _ => return Err(format!("s3 {m} bucket {}", query)),
            }
        } else {
            match m {
                "GET" if has("tagging") => "s3:GetObjectTagging",
                "PUT" if has("tagging") => "s3:PutObjectTagging",
                "GET" | "HEAD" => "s3:GetObject",
                // Multipart uploads (Service Authorization Reference):
                // creating, uploading parts and completing are
                // s3:PutObject; tags given at creation, s3:PutObjectTagging.
                "POST" if has("uploads") || has("uploadId") => {
                    for (header, action) in [
                        ("x-amz-tagging", "s3:PutObjectTagging"),
                        ("x-amz-object-lock-mode", "s3:PutObjectRetention"),
                    ] {
                        if self.headers.contains_key(header) {
                            out.push(Authz::new(action, vec![Res::plain(object_arn.clone())]));
                        }
                    }
                    "s3:PutObject"
                }
                "DELETE" if has("uploadId") => "s3:AbortMultipartUpload",
                "DELETE" => "s3:DeleteObject",
                "PUT" => {
                    if let Some(source) = self.headers.get("x-amz-copy-source") {
                        let source = percent_decode(source.split('?').next().unwrap_or(source));
                        let src_arn = format!("arn:aws:s3:::{}", source.trim_start_matches('/'));
                        out.push(Authz::new(
                            "s3:GetObject",
                            vec![Res::plain(src_arn.clone())],
                        ));
                        // Tags are copied with the object (the default
                        // directive), which reads them at the source.
                        if self
                            .headers
                            .get("x-amz-tagging-directive")
                            .map(String::as_str)
                            != Some("REPLACE")
                        {
                            out.push(Authz::new("s3:GetObjectTagging", vec![Res::plain(src_arn)]));
                        }
                    }
                    if self.headers.contains_key("x-amz-tagging") {
                        out.push(Authz::new(
                            "s3:PutObjectTagging",
                            vec![Res::plain(object_arn.clone())],
                        ));
                    }
                    if self.headers.contains_key("x-amz-object-lock-mode") {
                        out.push(Authz::new(
                            "s3:PutObjectRetention",
                            vec![Res::plain(object_arn.clone())],
                        ));
                    }
                    "s3:PutObject"
                }
                _ => return Err(format!("s3 {m} object")),
            }
        };
        let arn = if key.is_empty() {
            bucket_arn
        } else {
            object_arn
        };
        out.push(Authz::new(action, vec![Res::plain(arn)]));
        Ok(())
    }

    /// The JSON lines of this request, with tags and keys read from the
    /// emulator.
    async fn records(&self, lookups: &Lookups) -> Vec<Value> {
        let authz = match self.authorize() {
            Ok(a) => a,
            Err(why) => {
                return vec![json!({
                    "unmapped": why,
                    "operation": format!("{}:{}", self.service, self.operation),
                    "region": self.region,
                })]
            }
        };
        let mut lines = Vec::new();
        for a in authz {
            let mut resources = Vec::new();
            for r in &a.resources {
                let arn = if let Some(id) = r.arn.strip_prefix("secret-id:") {
                    lookups
                        .secret_arn(&self.endpoint, &self.region, id, &self.lookup_key())
                        .await
                } else if let Some(id) = r.arn.strip_prefix("key-id:") {
                    lookups
                        .key_arn(&self.endpoint, &self.region, id, &self.lookup_key())
                        .await
                } else {
                    r.arn.clone()
                };
                let tags = match &r.tags {
                    TagSource::None => Value::Null,
                    TagSource::Rds => {
                        lookups
                            .rds_tags(&self.endpoint, &arn, &self.lookup_key())
                            .await
                    }
                    TagSource::ElastiCache => {
                        lookups
                            .elasticache_tags(&self.endpoint, &arn, &self.lookup_key())
                            .await
                    }
                    TagSource::Secret => {
                        lookups
                            .secret_tags(&self.endpoint, &arn, &self.lookup_key())
                            .await
                    }
                    TagSource::Ec2(id) => {
                        let region = region_of_arn(&arn);
                        let region = if region.is_empty() {
                            &self.region
                        } else {
                            region
                        };
                        lookups
                            .ec2_tags(&self.endpoint, region, id, &self.lookup_key())
                            .await
                    }
                };
                let mut res = json!({"arn": arn, "tags": tags});
                if r.arn.starts_with("key-id:") {
                    res["aliases"] = json!(
                        lookups
                            .key_aliases(&self.endpoint, &arn, &self.lookup_key())
                            .await
                    );
                }
                resources.push(res);
            }
            let mut kms = Vec::new();
            for mut k in a.kms {
                let marker = k.get("key").and_then(Value::as_str).map(str::to_string);
                // The key a marker names, as an ARN (`None`: not a marker).
                let arn = match marker.as_deref() {
                    Some(m) => {
                        if let Some(snap) = m.strip_prefix("snapshot-key:") {
                            match lookups.rds_snapshot_key(&self.endpoint, snap).await {
                                Some(arn) => Some(arn),
                                // Unencrypted (or gone): no key used.
                                None => continue,
                            }
                        } else if let Some(at) = m.strip_prefix("ebs-snapshot-key:") {
                            let (region, id) = at.split_once(':').unwrap_or((&self.region, at));
                            match lookups
                                .ebs_shared_snapshot_key(&self.endpoint, &self.account, region, id)
                                .await
                            {
                                Some(arn) => Some(arn),
                                // The caller's own snapshot, or unencrypted:
                                // no other account's key used.
                                None => continue,
                            }
                        } else if let Some(id) = m.strip_prefix("key-id:") {
                            Some(
                                lookups
                                    .key_arn(&self.endpoint, &self.region, id, &self.lookup_key())
                                    .await,
                            )
                        } else {
                            None
                        }
                    }
                    None => None,
                };
                if let Some(arn) = arn {
                    k["aliases"] = json!(
                        lookups
                            .key_aliases(&self.endpoint, &arn, &self.lookup_key())
                            .await
                    );
                    k["key"] = Value::String(arn);
                }
                kms.push(k);
            }
            let mut line = json!({
                "account": self.account,
                "action": a.action,
                "operation": format!("{}:{}", self.service, self.operation),
                "region": self.region,
                "resources": resources,
            });
            if let Some(t) = a.request_tags {
                line["requestTags"] = json!(t);
            }
            if let Some(k) = a.tag_keys {
                line["tagKeys"] = json!(k);
            }
            if !a.context.is_empty() {
                line["context"] = Value::Object(a.context);
            }
            if !kms.is_empty() {
                line["kms"] = Value::Array(kms);
            }
            lines.push(line);
        }
        lines
    }
}

/// The IAM action of an API operation that shares its name.
fn op_action(service: &str, op: &str) -> String {
    format!("{service}:{op}")
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .to_string()
}

fn write_records(call: &Call, test: &str, lines: Vec<Value>) {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let dir = record_dir()?;
        std::fs::create_dir_all(&dir).ok()?;
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()))
            .unwrap_or_else(|| "process".into());
        let path = dir.join(format!("{exe}-{}.jsonl", std::process::id()));
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    let Some(file) = file else { return };
    let Ok(mut f) = file.lock() else { return };
    for mut line in lines {
        line["function"] = Value::String(call.function.clone());
        line["test"] = Value::String(test.to_string());
        let _ = writeln!(f, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::body::SdkBody;

    fn request(service: &str, agent: &str, body: &str, extra: &[(&str, &str)]) -> HttpRequest {
        let mut r = HttpRequest::new(SdkBody::from(body.to_string()));
        r.set_uri("http://127.0.0.1:5000/").expect("uri");
        r.headers_mut().insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20261201/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        );
        r.headers_mut()
            .insert("x-amz-user-agent", agent.to_string());
        r.headers_mut()
            .insert("content-type", "application/x-www-form-urlencoded");
        for (k, v) in extra {
            r.headers_mut().insert(k.to_string(), v.to_string());
        }
        r
    }

    fn actions(call: &Call) -> Vec<(String, Vec<String>)> {
        call.authorize()
            .expect("mapped")
            .into_iter()
            .map(|a| (a.action, a.resources.into_iter().map(|r| r.arn).collect()))
            .collect()
    }

    /// Proves: CloudWatch's alarm calls map to the alarm ARNs IAM judges:
    /// a tagged PutMetricAlarm needs cloudwatch:TagResource too, and
    /// DeleteAlarms names each alarm.
    #[test]
    fn alarm_calls_name_their_alarms() {
        let agent = "aws-sdk-rust/1.3 app/backup-auditor";
        let put = request(
            "monitoring",
            agent,
            "Action=PutMetricAlarm&AlarmName=rempart-monitor-rds-db-cpu&Tags.member.1.Key=rempart%3Amanaged&Tags.member.1.Value=true",
            &[],
        );
        let alarm = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rempart-monitor-rds-db-cpu";
        assert_eq!(
            actions(&Call::parse(&put).expect("call")),
            [
                (
                    "cloudwatch:TagResource".to_string(),
                    vec![alarm.to_string()]
                ),
                (
                    "cloudwatch:PutMetricAlarm".to_string(),
                    vec![alarm.to_string()]
                ),
            ]
        );
        let del = request(
            "monitoring",
            agent,
            "Action=DeleteAlarms&AlarmNames.member.1=rempart-monitor-a&AlarmNames.member.2=rempart-monitor-b",
            &[],
        );
        let (action, arns) = &actions(&Call::parse(&del).expect("call"))[0];
        assert_eq!(action, "cloudwatch:DeleteAlarms");
        assert_eq!(arns.len(), 2);
        assert!(arns[1].ends_with(":alarm:rempart-monitor-b"));
    }

    /// Proves: the test kit's own requests (no `app/<function>` in the
    /// User-Agent) are not a function's calls and are not recorded.
    #[test]
    fn requests_without_a_function_name_are_not_recorded() {
        let r = request(
            "rds",
            "aws-sdk-rust/1.3 os/linux",
            "Action=DescribeDBInstances",
            &[],
        );
        assert!(Call::parse(&r).is_none());
        let r = request(
            "rds",
            "aws-sdk-rust/1.3 os/linux app/snapshot-scheduler",
            "Action=DescribeDBInstances",
            &[],
        );
        assert_eq!(
            Call::parse(&r).expect("a function's").function,
            "snapshot-scheduler"
        );
    }

    /// Proves: a snapshot created with tags is authorized on the instance
    /// and the new snapshot, and its tags also as rds:AddTagsToResource on
    /// the snapshot (the Service Authorization Reference's rule for tags on
    /// creation), with the request's tags.
    #[test]
    fn a_tagged_create_is_also_an_add_tags() {
        let body = "Action=CreateDBSnapshot&DBInstanceIdentifier=db1&DBSnapshotIdentifier=rempart-p-db1-20251124-0200&Tags.member.1.Key=rempart%3Amanaged&Tags.member.1.Value=true";
        let call = Call::parse(&request("rds", "app/snapshot-scheduler", body, &[])).expect("call");
        let snap = "arn:aws:rds:eu-west-1:123456789012:snapshot:rempart-p-db1-20251124-0200";
        assert_eq!(
            actions(&call),
            [
                (
                    "rds:CreateDBSnapshot".to_string(),
                    vec![
                        "arn:aws:rds:eu-west-1:123456789012:db:db1".to_string(),
                        snap.to_string()
                    ]
                ),
                ("rds:AddTagsToResource".to_string(), vec![snap.to_string()]),
            ]
        );
        let authz = call.authorize().expect("mapped");
        assert_eq!(
            authz[1]
                .request_tags
                .as_ref()
                .and_then(|t| t.get("rempart:managed"))
                .map(String::as_str),
            Some("true")
        );
    }

    /// Proves: a cross-region EBS copy is authorized on the source snapshot
    /// in its region and on the new one, its tags as ec2:CreateTags with
    /// ec2:CreateAction=CopySnapshot, and the use by EC2 of the DR key and
    /// of the source's key (when another account's) is recorded.
    #[test]
    fn an_ebs_copy_names_both_regions_tags_and_key() {
        let body = "Action=CopySnapshot&SourceSnapshotId=snap-1&SourceRegion=eu-central-1&KmsKeyId=alias%2Frempart-dr&Encrypted=true&TagSpecification.1.ResourceType=snapshot&TagSpecification.1.Tag.1.Key=rempart%3Amanaged&TagSpecification.1.Tag.1.Value=true";
        let call =
            Call::parse(&request("ec2", "app/snapshot-replicator", body, &[])).expect("call");
        let authz = call.authorize().expect("mapped");
        assert_eq!(authz[0].action, "ec2:CopySnapshot");
        assert_eq!(
            authz[0].resources[0].arn,
            "arn:aws:ec2:eu-central-1::snapshot/snap-1"
        );
        // The destination key's use, then the source's (a marker the
        // look-up resolves, or drops for the caller's own snapshot).
        assert_eq!(authz[0].kms.len(), 4);
        assert_eq!(
            authz[0].kms[2]["key"],
            json!("ebs-snapshot-key:eu-central-1:snap-1")
        );
        assert_eq!(authz[1].action, "ec2:CreateTags");
        assert_eq!(
            authz[1].context.get("ec2:CreateAction"),
            Some(&json!("CopySnapshot"))
        );
    }

    /// Proves: an operation the recorder does not know is reported as
    /// unmapped (which the conformance test fails), never skipped.
    #[test]
    fn an_unknown_operation_is_unmapped() {
        let call = Call::parse(&request(
            "rds",
            "app/restore-tester",
            "Action=FailoverDBCluster&DBClusterIdentifier=x",
            &[],
        ))
        .expect("call");
        assert_eq!(
            call.authorize().err().as_deref(),
            Some("rds:FailoverDBCluster")
        );
    }

    /// Proves: an S3 copy reads the source object and its tags and writes
    /// the target object (path-style requests, as against the emulator).
    #[test]
    fn an_s3_copy_reads_the_source_and_writes_the_target() {
        let mut r = request(
            "s3",
            "app/snapshot-replicator",
            "",
            &[("x-amz-copy-source", "/src-bucket/a%20b.rdb")],
        );
        r.set_uri("http://127.0.0.1:5000/dst-bucket/a%20b.rdb?x-id=CopyObject")
            .expect("uri");
        r.headers_mut().remove("content-type");
        r.set_method("PUT").expect("method");
        let call = Call::parse(&r).expect("call");
        assert_eq!(
            actions(&call),
            [
                (
                    "s3:GetObject".to_string(),
                    vec!["arn:aws:s3:::src-bucket/a b.rdb".to_string()]
                ),
                (
                    "s3:GetObjectTagging".to_string(),
                    vec!["arn:aws:s3:::src-bucket/a b.rdb".to_string()]
                ),
                (
                    "s3:PutObject".to_string(),
                    vec!["arn:aws:s3:::dst-bucket/a b.rdb".to_string()]
                ),
            ]
        );
    }

    /// Proves: writing a bucket's replication configuration needs
    /// s3:PutReplicationConfiguration on the bucket and iam:PassRole on the
    /// role its body names, passed to S3.
    #[test]
    fn a_replication_configuration_passes_its_role_to_s3() {
        let mut r = request(
            "s3",
            "app/retention-enforcer",
            "<ReplicationConfiguration><Role>arn:aws:iam::123456789012:role/rempart-s3-replication</Role><Rule/></ReplicationConfiguration>",
            &[],
        );
        r.set_uri("http://127.0.0.1:5000/prod-assets?replication")
            .expect("uri");
        r.headers_mut().remove("content-type");
        r.set_method("PUT").expect("method");
        let call = Call::parse(&r).expect("call");
        let authz = call.authorize().expect("mapped");
        assert_eq!(authz[0].action, "iam:PassRole");
        assert_eq!(
            authz[0].resources[0].arn,
            "arn:aws:iam::123456789012:role/rempart-s3-replication"
        );
        assert_eq!(authz[0].context["iam:PassedToService"], "s3.amazonaws.com");
        assert_eq!(
            (authz[1].action.as_str(), authz[1].resources[0].arn.as_str()),
            ("s3:PutReplicationConfiguration", "arn:aws:s3:::prod-assets")
        );
    }
}
