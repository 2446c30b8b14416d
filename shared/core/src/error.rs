//! The one error enum of `rempart-core`.

use serde::Serialize;
use thiserror::Error;

/// What a decision can refuse: the operator must act (a bad policy, a bad
/// event, a missing setting). Nothing was changed. The adapters' error
/// (`rempart_aws::Error`) carries the same variants and adds AWS, Slack and
/// I/O failures.
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
}

impl Error {
    pub fn policy(origin: Option<&str>, message: impl Into<String>) -> Self {
        Error::Policy {
            origin: origin.map(str::to_owned),
            message: message.into(),
        }
    }
}

/// An error as a run's report shows it (an item's `error`): the AWS error
/// code, or `Rempart`, and whether a retry could help.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
