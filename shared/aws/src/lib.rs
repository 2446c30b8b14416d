//! Rempart's adapters: narrow clients over the AWS SDK that expose only the
//! calls Rempart makes, in the core's terms (`rempart-core`), and turn SDK
//! errors into [`Error::Aws`] with the AWS error code and whether a retry
//! could help; the Slack HTTP client; and what every function's `main`
//! needs ([`runtime`]: tracing, configuration, the policy, the Lambda
//! runtime; [`envelope`]: the EventBridge envelope and the event's time).

pub mod alarms;
pub mod bus;
pub mod ec2;
pub mod elasticache;
pub mod envelope;
pub mod error;
pub mod exports;
pub mod incidents;
pub mod kms;
pub mod metrics;
pub mod pace;
pub mod postgres;
pub mod rds;
pub mod rdsdata;
pub mod registry;
pub mod runtime;
pub mod s3;
pub mod secrets;
pub mod slack;
pub mod snapshots;
pub mod topic;
pub mod vault;

pub use error::{Error, Result};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that mean "not now" rather than "not this".
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "PriorRequestNotComplete",
];

/// Converts an SDK error into [`Error::Aws`].
pub(crate) fn aws_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, retryable) = match &err {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown").to_string();
            let retryable =
                RETRYABLE_CODES.contains(&code.as_str()) || se.raw().status().is_server_error();
            (code, retryable)
        }
        SdkError::TimeoutError(_) => ("Timeout".to_string(), true),
        SdkError::DispatchFailure(_) => ("DispatchFailure".to_string(), true),
        SdkError::ResponseError(_) => ("ResponseError".to_string(), true),
        _ => ("ConstructionFailure".to_string(), false),
    };
    let message = match err.message() {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => DisplayErrorContext(&err).to_string(),
    };
    Error::Aws {
        operation,
        code,
        message,
        retryable,
    }
}

/// Whether an SDK error is the given service error code.
pub(crate) fn is_code<E: ProvideErrorMetadata>(
    err: &SdkError<E, HttpResponse>,
    codes: &[&str],
) -> bool {
    matches!(err, SdkError::ServiceError(se) if se.err().code().is_some_and(|c| codes.contains(&c)))
}

/// The outcome of asking AWS to create something that has a deterministic name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// Created now; the AWS identifier (an EBS `snap-…`, or the name).
    New(String),
    /// It was already there (a redelivered event); its AWS identifier.
    AlreadyThere(String),
}

/// An SDK timestamp as a chrono one.
pub(crate) fn to_chrono(
    t: Option<&aws_smithy_types::DateTime>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// Creates a DynamoDB table with a string hash key and a string range key,
/// on-demand billing: what Terraform creates (for the local stack and tests).
pub(crate) async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    hash: &str,
    range: &str,
) -> crate::error::Result<()> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| Error::Config(format!("table definition: {e}")))
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| Error::Config(format!("table definition: {e}")))
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(attr(hash)?)
        .attribute_definitions(attr(range)?)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .map_err(|e| aws_error("CreateTable", e))?;
    Ok(())
}

/// The error for a resource AWS says does not exist: not retryable.
pub(crate) fn not_found(operation: &'static str, code: &str, id: &str) -> Error {
    Error::Aws {
        operation,
        code: code.to_string(),
        message: format!("{id} not found"),
        retryable: false,
    }
}
