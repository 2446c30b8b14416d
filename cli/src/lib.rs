//! The `rempart` command's library: running handlers locally, the local
//! AWS stack (moto), a demo estate, and a local Lambda runtime API. The
//! integration tests and the benchmark use the same pieces.

pub mod error;
pub mod http;
pub mod iam_record;
pub mod lambda_rt;
pub mod latency;
pub mod local;
pub mod proxy;
pub mod recorder;
pub mod report;
pub mod restore;
pub mod retention;
pub mod simulate;

pub use error::CliError;
