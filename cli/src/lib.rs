//! The `rempart` command's library: the operator's commands (restores on
//! request, reports, status, retention plans) that the binary and the integration
//! tests share. The local AWS stack lives in the test kit
//! (`rempart-testkit`), which no shipped binary depends on.

pub mod error;
pub mod report;
pub mod restore;
pub mod retention;
pub mod status;

pub use error::CliError;
