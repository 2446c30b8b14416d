use thiserror::Error;

/// The one error enum of the `rempart-cli` crate.
#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Rempart(#[from] rempart_aws::Error),
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}

/// The core's refusals (a bad policy or event) reach the operator as the
/// adapters' error does.
impl From<rempart_core::Error> for CliError {
    fn from(e: rempart_core::Error) -> Self {
        CliError::Rempart(e.into())
    }
}
