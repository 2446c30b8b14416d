use thiserror::Error;

/// The one error enum of the test kit.
#[derive(Debug, Error)]
pub enum KitError {
    #[error(transparent)]
    Rempart(#[from] rempart_aws::Error),
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

impl KitError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> KitError {
        let context = context.into();
        move |source| KitError::Io { context, source }
    }
}

/// The core's refusals (a bad policy or event) reach the operator as the
/// adapters' error does.
impl From<rempart_core::Error> for KitError {
    fn from(e: rempart_core::Error) -> Self {
        KitError::Rempart(e.into())
    }
}
