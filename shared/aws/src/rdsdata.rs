//! The RDS Data API: the restore tests' optional SQL check on a restored
//! Aurora cluster (the Data API serves Aurora clusters only).

use crate::aws_error;
use crate::error::Result;
use aws_sdk_rdsdata::types::Field;
use aws_sdk_rdsdata::Client;

#[derive(Clone, Debug)]
pub struct DataApi {
    client: Client,
}

impl DataApi {
    pub fn new(client: Client) -> Self {
        DataApi { client }
    }

    /// Runs `sql` on the cluster with the credentials in `secret_arn`, and
    /// returns the first column of the first row as text (`None`: no row).
    pub async fn first_value(
        &self,
        cluster_arn: &str,
        secret_arn: &str,
        database: Option<&str>,
        sql: &str,
    ) -> Result<Option<String>> {
        let out = self
            .client
            .execute_statement()
            .resource_arn(cluster_arn)
            .secret_arn(secret_arn)
            .set_database(database.map(str::to_string))
            .sql(sql)
            .send()
            .await
            .map_err(|e| aws_error("ExecuteStatement", e))?;
        Ok(out
            .records()
            .first()
            .and_then(|row| row.first())
            .map(|f| match f {
                Field::LongValue(n) => n.to_string(),
                Field::DoubleValue(n) => n.to_string(),
                Field::StringValue(s) => s.clone(),
                Field::BooleanValue(b) => b.to_string(),
                Field::IsNull(_) => "NULL".to_string(),
                other => format!("{other:?}"),
            }))
    }
}
