use thiserror::Error;

/// The one error enum of the `rempart-cli` crate.
#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Rempart(#[from] rempart_shared::Error),
    #[error("local AWS stack: {0}")]
    LocalStack(String),
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("AWS call while setting up the local estate: {0}")]
    Setup(String),
}

impl CliError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}
