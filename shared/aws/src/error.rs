//! The one error enum of `rempart-aws`, which the functions share.

use rempart_core::error::ErrorInfo;
use thiserror::Error;

/// Everything that can go wrong in an adapter or a function: the core's
/// refusals ([`rempart_core::Error`], same variants) and the failures of AWS,
/// Slack and local I/O.
///
/// Variants are split by *who must act*: the operator (a bad policy, a bad
/// event, missing configuration) or nobody but time (an AWS call that a retry
/// may fix). [`Error::is_retryable`] tells a handler whether failing the
/// invocation (so that Lambda retries it) could help.
#[derive(Debug, Error)]
pub enum Error {
    /// The policy document does not parse, names an unknown field, or holds a
    /// value that makes no sense. The message names the line when it can.
    #[error("invalid policy document{}: {message}", origin.as_deref().map(|o| format!(" ({o})")).unwrap_or_default())]
    Policy {
        origin: Option<String>,
        message: String,
    },

    /// The incoming event is malformed, of an unknown type, or asks for
    /// something impossible. Nothing was changed.
    #[error("rejected event: {0}")]
    Event(String),

    /// A required setting (environment variable, file) is missing or wrong.
    #[error("configuration error: {0}")]
    Config(String),

    /// An AWS API call failed.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        retryable: bool,
    },

    /// The run finished, but some of it failed in a way that a retry of the
    /// same event may fix (throttling, a 5xx, a registry write). Safe to
    /// retry: every action is idempotent.
    #[error("{0}")]
    Retry(String),

    /// Slack refused or failed a message. Retryable: the notifier fails the
    /// invocation so that SNS delivers again and, after its retries, the
    /// message lands in the dead-letter queue; it is never dropped.
    #[error("Slack did not take the message for {channel}: HTTP {status}: {message}")]
    Slack {
        channel: String,
        status: u16,
        message: String,
    },

    /// A data check's SQL session failed (connection, authentication, TLS,
    /// a statement): the check fails with this reason.
    #[error("{0}")]
    Sql(String),

    /// Local I/O (reading a policy file, an event file).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn policy(origin: Option<&str>, message: impl Into<String>) -> Self {
        Error::Policy {
            origin: origin.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Whether a later attempt of the same call could succeed (throttling,
    /// a 5xx, a timeout), as opposed to a request that is wrong in itself.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Aws {
                retryable: true,
                ..
            } | Error::Retry(_)
                | Error::Slack { .. }
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<rempart_core::Error> for Error {
    fn from(e: rempart_core::Error) -> Self {
        match e {
            rempart_core::Error::Policy { origin, message } => Error::Policy { origin, message },
            rempart_core::Error::Event(m) => Error::Event(m),
            rempart_core::Error::Config(m) => Error::Config(m),
        }
    }
}

/// The report form of an error (an item's `error` in a run's report).
impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        match e {
            Error::Aws {
                operation,
                code,
                message,
                retryable,
            } => ErrorInfo {
                code: code.clone(),
                message: format!("{operation}: {message}"),
                retryable: *retryable,
            },
            other => ErrorInfo {
                code: "Rempart".into(),
                message: other.to_string(),
                retryable: false,
            },
        }
    }
}
