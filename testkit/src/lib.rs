//! The test kit: the local AWS stack (a moto server per test, the estate
//! and plumbing Terraform would make), a local Lambda runtime API, a
//! counting and hooking proxy for the emulator's gaps, the copy-latency
//! model, a recording HTTP server (Slack, SNS subscribers), the IAM
//! recorder of the conformance test, and the year-long simulation. Used by
//! the integration tests, the benchmark and `rempart-local`; never by a
//! shipped binary (`rempart` or a Lambda function).

pub mod error;
pub mod http;
pub mod iam_record;
pub mod lambda_rt;
pub mod latency;
pub mod local;
pub mod postgres;
pub mod proxy;
pub mod recorder;
pub mod simulate;

pub use error::KitError;
