//! The incident store: a DynamoDB table (partition key `pk`, sort key `sk`,
//! both strings). Open incidents live under `pk = "open"`, `sk = <dedup
//! key>`, as a JSON document with a `version`; every change is a conditional
//! write on that version (creation: on the item's absence), so concurrent
//! deliveries never create two incidents nor lose an update. A resolved
//! incident moves, in one transaction, to `pk = "closed#<key>"`, `sk =
//! <resolved at>`, with its report.

use crate::error::{Error, Result};
use crate::{aws_error, is_code};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use rempart_core::incident::{Incident, Report};
use std::collections::HashMap;

/// Environment variable naming the incidents table.
pub const INCIDENTS_TABLE_ENV: &str = "REMPART_INCIDENTS_TABLE";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// An open incident and the version it was read at.
#[derive(Clone, Debug)]
pub struct Stored {
    pub incident: Incident,
    pub version: u64,
}

#[derive(Clone, Debug)]
pub struct Incidents {
    client: Client,
    table: String,
}

/// Whether a write lost a race (re-read and decide again).
#[derive(Debug, PartialEq, Eq)]
pub enum Write {
    Done,
    Conflict,
}

impl Incidents {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Incidents {
            client,
            table: table.into(),
        }
    }

    fn decode(item: &HashMap<String, AttributeValue>) -> Result<Stored> {
        let doc = item
            .get("doc")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| Error::Config("incident item without doc".into()))?;
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let incident = serde_json::from_str(doc)
            .map_err(|e| Error::Config(format!("unreadable incident item: {e}")))?;
        Ok(Stored { incident, version })
    }

    /// The open incident of `key`, if any.
    pub async fn open(&self, key: &str) -> Result<Option<Stored>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s("open"))
            .key("sk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("GetItem", e))?;
        out.item().map(Self::decode).transpose()
    }

    /// Every open incident.
    pub async fn all_open(&self) -> Result<Vec<Stored>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("open"))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("Query", e))?;
            for item in page.items() {
                out.push(Self::decode(item)?);
            }
        }
        Ok(out)
    }

    /// Every incident, open or closed (a scan: for reports, not for the
    /// escalator's hot path).
    pub async fn all(&self) -> Result<Vec<Incident>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("Scan", e))?;
            for item in page.items().iter().filter(|i| i.contains_key("doc")) {
                out.push(Self::decode(item)?.incident);
            }
        }
        Ok(out)
    }

    /// Writes `incident` if the stored version is still `read_version`
    /// (`None`: if there is none).
    pub async fn save(&self, incident: &Incident, read_version: Option<u64>) -> Result<Write> {
        let doc = serde_json::to_string(incident)
            .map_err(|e| Error::Config(format!("incident does not serialise: {e}")))?;
        let next = read_version.map_or(1, |v| v + 1);
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s("open"))
            .item("sk", s(&incident.key))
            .item("doc", s(doc))
            .item("id", s(&incident.id))
            .item("version", AttributeValue::N(next.to_string()));
        let req = match read_version {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(v) => req
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match req.send().await {
            Ok(_) => Ok(Write::Done),
            Err(e) if is_code(&e, &["ConditionalCheckFailedException"]) => Ok(Write::Conflict),
            Err(e) => Err(aws_error("PutItem", e)),
        }
    }

    /// Moves a resolved incident out of the open ones, with its report.
    pub async fn close(
        &self,
        incident: &Incident,
        read_version: u64,
        report: &Report,
    ) -> Result<Write> {
        let resolved = incident.resolved_at.unwrap_or(incident.last_alarm_at);
        let doc = serde_json::to_string(incident)
            .map_err(|e| Error::Config(format!("incident does not serialise: {e}")))?;
        let rep = serde_json::to_string(report)
            .map_err(|e| Error::Config(format!("report does not serialise: {e}")))?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", s("open"))
            .key("sk", s(&incident.key))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N(read_version.to_string()))
            .build()
            .map_err(|e| Error::Config(format!("delete request: {e}")))?;
        let put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(format!("closed#{}", incident.key)))
            .item("sk", s(rempart_core::time::rfc3339(resolved)))
            .item("doc", s(doc))
            .item("report", s(rep))
            .item("id", s(&incident.id))
            .build()
            .map_err(|e| Error::Config(format!("put request: {e}")))?;
        let res = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match res {
            Ok(_) => Ok(Write::Done),
            Err(e)
                if is_code(
                    &e,
                    &[
                        "TransactionCanceledException",
                        "ConditionalCheckFailedException",
                    ],
                ) =>
            {
                Ok(Write::Conflict)
            }
            Err(e) => Err(aws_error("TransactWriteItems", e)),
        }
    }

    /// How many incidents `key` opened (and closed) since `since`.
    pub async fn closed_since(&self, key: &str, since: DateTime<Utc>) -> Result<usize> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk >= :s")
            .expression_attribute_values(":p", s(format!("closed#{key}")))
            .expression_attribute_values(":s", s(rempart_core::time::rfc3339(since)))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .map_err(|e| aws_error("Query", e))?;
        Ok(usize::try_from(out.count()).unwrap_or(0))
    }

    /// Creates the table as Terraform does (local stack and tests).
    pub async fn create_table(&self) -> Result<()> {
        crate::create_table(&self.client, &self.table, "pk", "sk").await
    }
}
