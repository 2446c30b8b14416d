use thiserror::Error;

/// The one error enum of the `rempart-cli` crate.
#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Rempart(#[from] rempart_shared::Error),
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
