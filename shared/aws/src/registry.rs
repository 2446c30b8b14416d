//! The registry: a DynamoDB table that records every action Rempart takes.
//!
//! Table layout (Terraform creates it; [`Registry::create_table`] does the same
//! for the local stack): partition key `resource` (S), sort key `sk` (S),
//! on-demand billing. Items: `time`, `action`, `subject`, `outcome`, `policy`,
//! `region`, `function`, `details` (JSON text), `cause`, `attempts` (N).
//! Claims (short leases that keep two concurrent deliveries from creating the
//! same EBS snapshot) live in the same table under `claim#…` keys and expire
//! through the `expires_at` TTL attribute.
//!
//! The DR state of every Rempart snapshot lives under `replica#<DR region>`
//! (sort key: the source snapshot's ARN), so that "which snapshots have no
//! DR copy yet, and since when" is one query per region ([`Registry::copy_lag`]).

use crate::aws_error;
use crate::error::Result;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use rempart_core::announce::{Outcome, RegistryRecord};
use rempart_core::naming;
use rempart_core::time::rfc3339;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The DR state of one source snapshot in one DR region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaState {
    pub region: String,
    pub source_arn: String,
    /// The source snapshot's id.
    pub snapshot: String,
    pub kind: String,
    /// The source resource's registry key.
    pub resource: String,
    pub policy: String,
    /// `waiting`, `started`, `in-flight`, `deferred`, `blocked`, `failed`, `available`.
    pub state: String,
    /// The copy's id (or `s3://…` for Redis) once known.
    pub copy: String,
    pub reason: String,
    /// When the source was taken: the lag runs from there.
    pub since: Option<DateTime<Utc>>,
    /// When this state was written (event time).
    pub updated: Option<DateTime<Utc>>,
}

/// Environment variable naming the registry table.
pub const REGISTRY_TABLE_ENV: &str = "REMPART_REGISTRY_TABLE";

#[derive(Clone, Debug)]
pub struct Registry {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The most bytes a text attribute other than `details` takes: subjects,
/// reasons and causes are cut there (keys have their own limits).
const TEXT_MAX: usize = 4096;

/// A text attribute, cut to [`TEXT_MAX`] bytes.
fn text(v: &str) -> AttributeValue {
    s(naming::fit_bytes(v, TEXT_MAX))
}

/// A key value DynamoDB accepts: 1 to `max` bytes (an empty value, which
/// it refuses, reads `(empty)`).
fn key(v: &str, max: usize) -> AttributeValue {
    s(if v.is_empty() {
        "(empty)".to_string()
    } else {
        naming::fit_key(v, max)
    })
}

/// A partition key value within DynamoDB's 2048 bytes.
fn pk(v: &str) -> AttributeValue {
    key(v, naming::DYNAMODB_PARTITION_KEY_MAX)
}

/// A sort key value within DynamoDB's 1024 bytes.
fn sk(v: &str) -> AttributeValue {
    key(v, naming::DYNAMODB_SORT_KEY_MAX)
}

/// The size DynamoDB counts for an item: attribute names and values, UTF-8
/// (a number: one byte per two digits and one more, counted generously).
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    AttributeValue::S(t) => t.len(),
                    AttributeValue::N(n) => n.len() / 2 + 2,
                    AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
                    other => format!("{other:?}").len(),
                }
        })
        .sum()
}

/// `v` as JSON text of at most `max` bytes: itself, or, when too long,
/// `{"truncated": true, "bytes": <its length>, "excerpt": "<its start>"}`
/// (still JSON, so the record reads back).
fn fit_json(v: &serde_json::Value, max: usize) -> String {
    let full = v.to_string();
    if full.len() <= max {
        return full;
    }
    let mut cut = max.saturating_sub(100);
    loop {
        let out = serde_json::json!({
            "truncated": true,
            "bytes": full.len(),
            "excerpt": naming::fit_bytes(&full, cut),
        })
        .to_string();
        if out.len() <= max || cut == 0 {
            return out;
        }
        // Escaping makes the excerpt longer than its source: shrink in
        // proportion (strictly, so that this ends).
        let scaled = (cut as u128 * (max.saturating_sub(32) as u128) / out.len() as u128) as usize;
        cut = scaled.min(cut - 1);
    }
}

impl Registry {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Registry {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The item of a record, within DynamoDB's limits whatever the record:
    /// keys cut with a hash ([`naming::fit_key`]), text attributes cut to
    /// [`TEXT_MAX`], and `details` to what is left of the 400 KB (with room
    /// for the `attempts` counter), as a JSON excerpt when it is cut.
    fn item(r: &RegistryRecord) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            ("resource".to_string(), pk(&r.resource)),
            ("sk".to_string(), sk(&r.sort_key())),
            ("time".to_string(), text(&rfc3339(r.time))),
            ("action".to_string(), text(&r.action)),
            ("subject".to_string(), text(&r.subject)),
            ("outcome".to_string(), text(r.outcome.as_str())),
            ("region".to_string(), text(&r.region)),
            ("function".to_string(), text(&r.function)),
        ]);
        if let Some(p) = &r.policy {
            item.insert("policy".into(), text(p));
        }
        if let Some(c) = &r.cause {
            item.insert("cause".into(), text(c));
        }
        let room = naming::DYNAMODB_ITEM_MAX
            - item_size(&item)
            - "details".len()
            - ("attempts".len() + 22)
            - 64;
        item.insert("details".into(), s(fit_json(&r.details, room)));
        item
    }

    /// Writes the record unless one with the same key exists. Returns whether
    /// it was new: only a new record is announced, so a redelivered event
    /// announces nothing twice.
    pub async fn record_once(&self, r: &RegistryRecord) -> Result<bool> {
        let mut item = Self::item(r);
        item.insert("attempts".into(), AttributeValue::N("1".into()));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", "resource")
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if crate::is_code(&e, &["ConditionalCheckFailedException"]) => Ok(false),
            Err(e) => Err(aws_error("PutItem", e)),
        }
    }

    /// Writes many records, 25 per `BatchWriteItem` call, retrying what
    /// DynamoDB leaves unprocessed. For records whose key is deterministic
    /// and that are not announced one by one (a rewrite changes nothing).
    pub async fn record_many(&self, records: &[RegistryRecord]) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in records.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|r| {
                    let mut item = Self::item(r);
                    item.insert("attempts".into(), AttributeValue::N("1".into()));
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .expect("item is set");
                    WriteRequest::builder().put_request(put).build()
                })
                .collect();
            for attempt in 0..5 {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| aws_error("BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(crate::error::Error::Aws {
                    operation: "BatchWriteItem",
                    code: "UnprocessedItems".into(),
                    message: format!(
                        "{} records left unprocessed after 5 attempts",
                        requests.len()
                    ),
                    retryable: true,
                });
            }
        }
        Ok(())
    }

    /// Records one more attempt of a failing action (same key: the count goes
    /// up, the latest details win). Returns whether it is the first attempt.
    pub async fn record_attempt(&self, r: &RegistryRecord) -> Result<bool> {
        debug_assert_eq!(r.outcome, Outcome::Failure);
        let item = Self::item(r);
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (k, v)) in item
            .into_iter()
            .filter(|(k, _)| k != "resource" && k != "sk")
            .enumerate()
        {
            names.insert(format!("#a{i}"), k);
            values.insert(format!(":v{i}"), v);
            sets.push(format!("#a{i} = :v{i}"));
        }
        values.insert(":one".into(), AttributeValue::N("1".into()));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("resource", pk(&r.resource))
            .key("sk", sk(&r.sort_key()))
            .update_expression(format!("SET {} ADD attempts :one", sets.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(|e| aws_error("UpdateItem", e))?;
        Ok(out.attributes().is_none_or(|a| !a.contains_key("attempts")))
    }

    /// Takes a lease on `key` until `until` (wall-clock). Fails (returns
    /// false) if another holder's lease has not expired.
    pub async fn claim(
        &self,
        key: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::claim_item(key, holder, until)))
            .condition_expression("attribute_not_exists(#pk) OR expires_at < :now")
            .expression_attribute_names("#pk", "resource")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if crate::is_code(&e, &["ConditionalCheckFailedException"]) => Ok(false),
            Err(e) => Err(aws_error("PutItem", e)),
        }
    }

    /// The item of a claim: `claim#<key>` (cut to the key limit), its holder.
    fn claim_item(
        key: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("resource".to_string(), pk(&format!("claim#{key}"))),
            ("sk".to_string(), s("claim")),
            ("holder".to_string(), text(holder)),
            (
                "expires_at".to_string(),
                AttributeValue::N(until.timestamp().to_string()),
            ),
        ])
    }

    /// Releases a lease taken by [`Registry::claim`] (after a failure, so that
    /// a retry of the event does not wait for the lease to expire).
    pub async fn release(&self, key: &str, holder: &str) -> Result<()> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("resource", pk(&format!("claim#{key}")))
            .key("sk", s("claim"))
            .condition_expression("holder = :h")
            .expression_attribute_values(":h", text(holder))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if crate::is_code(&e, &["ConditionalCheckFailedException"]) => Ok(()),
            Err(e) => Err(aws_error("DeleteItem", e)),
        }
    }

    /// Every record of one resource, oldest first.
    pub async fn history(&self, resource: &str) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "resource")
            .expression_attribute_values(":pk", pk(resource))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("Query", e))?;
            out.extend(page.items().iter().cloned());
        }
        Ok(out)
    }

    /// The newest record of one key (one `Query`, newest first, limit 1).
    pub async fn latest(&self, resource: &str) -> Result<Option<RegistryRecord>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", "resource")
            .expression_attribute_values(":pk", pk(resource))
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(|e| aws_error("Query", e))?;
        Ok(out.items().first().and_then(Self::record))
    }

    /// The records of one key (its history read back as records).
    pub async fn records(&self, resource: &str) -> Result<Vec<RegistryRecord>> {
        Ok(self
            .history(resource)
            .await?
            .iter()
            .filter_map(Self::record)
            .collect())
    }

    /// Every record whose time lies in `[from, to]`, across resources (a
    /// filtered scan: for reports, read once in a while, not on a hot path).
    /// Replica states and claims, which are not records, are left out.
    pub async fn between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<RegistryRecord>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#t BETWEEN :from AND :to AND attribute_exists(#a)")
            .expression_attribute_names("#t", "time")
            .expression_attribute_names("#a", "action")
            .expression_attribute_values(":from", s(rfc3339(from)))
            .expression_attribute_values(":to", s(rfc3339(to)))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("Scan", e))?;
            out.extend(page.items().iter().filter_map(Self::record));
        }
        out.sort_by(|a, b| (a.time, &a.resource, &a.action).cmp(&(b.time, &b.resource, &b.action)));
        Ok(out)
    }

    /// A registry item read back as a record (`None` for other items).
    fn record(i: &HashMap<String, AttributeValue>) -> Option<RegistryRecord> {
        let get = |k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned();
        let resource = get("resource")?;
        if resource.starts_with("replica#") || resource.starts_with("claim#") {
            return None;
        }
        Some(RegistryRecord {
            resource,
            time: DateTime::parse_from_rfc3339(&get("time")?)
                .ok()?
                .with_timezone(&Utc),
            action: get("action")?,
            subject: get("subject").unwrap_or_default(),
            outcome: if get("outcome").as_deref() == Some("failure") {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            policy: get("policy"),
            region: get("region").unwrap_or_default(),
            function: get("function").unwrap_or_default(),
            details: get("details")
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or(serde_json::Value::Null),
            cause: get("cause"),
        })
    }

    /// The DR state of every source snapshot known for `region`, by source ARN.
    pub async fn replicas(&self, region: &str) -> Result<BTreeMap<String, ReplicaState>> {
        let items = self.history(&format!("replica#{region}")).await?;
        let get = |i: &HashMap<String, AttributeValue>, k: &str| {
            i.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        Ok(items
            .iter()
            .map(|i| {
                let st = ReplicaState {
                    region: region.to_string(),
                    source_arn: get(i, "sk"),
                    snapshot: get(i, "snapshot"),
                    kind: get(i, "kind"),
                    resource: get(i, "subject"),
                    policy: get(i, "policy"),
                    state: get(i, "state"),
                    copy: get(i, "copy"),
                    reason: get(i, "reason"),
                    since: DateTime::parse_from_rfc3339(&get(i, "since"))
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                    updated: DateTime::parse_from_rfc3339(&get(i, "time"))
                        .ok()
                        .map(|t| t.with_timezone(&Utc)),
                };
                (st.source_arn.clone(), st)
            })
            .collect())
    }

    /// The item of a DR state, within DynamoDB's limits (keys cut with a
    /// hash, text attributes to [`TEXT_MAX`]).
    fn replica_item(st: &ReplicaState) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([
            (
                "resource".to_string(),
                pk(&format!("replica#{}", st.region)),
            ),
            ("sk".to_string(), sk(&st.source_arn)),
            ("snapshot".to_string(), text(&st.snapshot)),
            ("kind".to_string(), text(&st.kind)),
            ("subject".to_string(), text(&st.resource)),
            ("policy".to_string(), text(&st.policy)),
            ("state".to_string(), text(&st.state)),
            ("copy".to_string(), text(&st.copy)),
            ("reason".to_string(), text(&st.reason)),
        ]);
        if let Some(t) = st.since {
            item.insert("since".into(), s(rfc3339(t)));
        }
        if let Some(t) = st.updated {
            item.insert("time".into(), s(rfc3339(t)));
        }
        item
    }

    /// Writes the DR state of one source snapshot in one region.
    pub async fn put_replica(&self, st: &ReplicaState) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::replica_item(st)))
            .send()
            .await
            .map_err(|e| aws_error("PutItem", e))?;
        Ok(())
    }

    /// Forgets the DR state of a source snapshot that no longer exists.
    pub async fn delete_replica(&self, region: &str, source_arn: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("resource", pk(&format!("replica#{region}")))
            .key("sk", sk(source_arn))
            .send()
            .await
            .map_err(|e| aws_error("DeleteItem", e))?;
        Ok(())
    }

    /// Source snapshots without an available copy in `region`, oldest first:
    /// the copy lag.
    pub async fn copy_lag(&self, region: &str) -> Result<Vec<ReplicaState>> {
        let mut out: Vec<ReplicaState> = self
            .replicas(region)
            .await?
            .into_values()
            .filter(|r| r.state != "available")
            .collect();
        out.sort_by(|a, b| (a.since, &a.snapshot).cmp(&(b.since, &b.snapshot)));
        Ok(out)
    }

    /// Creates the table as Terraform does (for the local stack and tests).
    pub async fn create_table(&self) -> Result<()> {
        crate::create_table(&self.client, &self.table, "resource", "sk").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// A string of `n` copies of `c`: long texts without generating each
    /// character.
    fn long(c: char, n: usize) -> String {
        c.to_string().repeat(n)
    }

    fn big_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            (any::<char>(), 0usize..150_000).prop_map(|(c, n)| long(c, n)),
        ]
    }

    /// Details as the functions write them, up to very large: long
    /// messages, snapshot windows, many tags, text that escaping doubles.
    fn big_details() -> impl Strategy<Value = Value> {
        (big_text(), 0usize..200, any::<char>(), 0usize..60, 0usize..250_000).prop_map(|(msg, n, c, tags, quotes)| {
            json!({
                "reason": msg,
                "windows": {"snapshots": (0..n).map(|i| json!([format!("rempart-p-db-{i}"), "2025-11-24T02:00:00Z"])).collect::<Vec<_>>()},
                "tags": (0..tags).map(|i| (format!("k{i}"), long(c, 256))).collect::<BTreeMap<_, _>>(),
                "quotes": long('"', quotes),
            })
        })
    }

    fn assert_fits(
        item: &HashMap<String, AttributeValue>,
    ) -> std::result::Result<(), TestCaseError> {
        let key = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .map_or(0, String::len)
        };
        prop_assert!(
            item_size(item) <= naming::DYNAMODB_ITEM_MAX,
            "{} bytes",
            item_size(item)
        );
        prop_assert!(
            (1..=naming::DYNAMODB_PARTITION_KEY_MAX).contains(&key("resource")),
            "pk {}",
            key("resource")
        );
        prop_assert!(
            (1..=naming::DYNAMODB_SORT_KEY_MAX).contains(&key("sk")),
            "sk {}",
            key("sk")
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Proves: the largest registry record the functions can write (long
        /// resource ids, subjects, causes and messages in any script, details
        /// of hundreds of KB) is an item under DynamoDB's 400 KB with its
        /// `attempts` counter, its keys within 2048 and 1024 bytes, its
        /// details still JSON; the keys are deterministic, and a record that
        /// fits is written unchanged.
        #[test]
        fn registry_records_fit_dynamodb(resource in big_text(), subject in big_text(), cause in big_text(), details in big_details(), secs in 0i64..4_000_000_000) {
            let r = RegistryRecord {
                resource: format!("rds-instance#eu-west-1#{resource}"),
                time: DateTime::<Utc>::from_timestamp(secs, 0).unwrap(),
                action: "restore.refused".into(),
                subject,
                outcome: Outcome::Failure,
                policy: Some("rewapp-postgres".into()),
                region: "eu-west-1".into(),
                function: "restore-tester".into(),
                details,
                cause: Some(cause),
            };
            let mut item = Registry::item(&r);
            item.insert("attempts".into(), AttributeValue::N("1".into()));
            assert_fits(&item)?;
            let d = item["details"].as_s().unwrap();
            let back: Value = serde_json::from_str(d).expect("details stay JSON");
            if back != r.details {
                prop_assert_eq!(&back["truncated"], &json!(true));
                prop_assert!(back["bytes"].as_u64().unwrap() > 390_000);
            }
            prop_assert_eq!(&pk(&r.resource), &item["resource"]);
            prop_assert_eq!(&sk(&r.sort_key()), &item["sk"]);
            if r.resource.len() <= naming::DYNAMODB_PARTITION_KEY_MAX {
                prop_assert_eq!(item["resource"].as_s().unwrap(), &r.resource);
            }
        }

        /// Proves: a DR state and a claim stay within DynamoDB's limits
        /// whatever their ids, ARNs and reasons.
        #[test]
        fn replica_states_and_claims_fit_dynamodb(arn in big_text(), reason in big_text(), id in big_text(), region in "[a-z]{2}-[a-z]{4,9}-[0-9]") {
            let st = ReplicaState {
                region: region.clone(),
                source_arn: arn,
                snapshot: id.clone(),
                kind: "rds-instance".into(),
                resource: format!("rds-instance#{region}#{id}"),
                policy: "rewapp-postgres".into(),
                state: "failed".into(),
                copy: id.clone(),
                reason,
                since: Some(Utc::now()),
                updated: Some(Utc::now()),
            };
            assert_fits(&Registry::replica_item(&st))?;
            assert_fits(&Registry::claim_item(&format!("copy#{region}#{id}"), &id, Utc::now()))?;
        }
    }

    /// Proves: an oversized details value becomes a JSON excerpt within the
    /// budget even when escaping doubles its length (all quotes).
    #[test]
    fn oversized_details_become_an_excerpt() {
        for v in [
            json!(long('"', 500_000)),
            json!(long('\u{1}', 300_000)),
            json!(long('é', 300_000)),
        ] {
            let out = fit_json(&v, 100_000);
            assert!(out.len() <= 100_000, "{}", out.len());
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back["truncated"], json!(true));
            assert!(back["excerpt"].as_str().unwrap().len() > 10_000);
        }
        assert_eq!(fit_json(&json!({"a": 1}), 100), r#"{"a":1}"#);
    }
}
