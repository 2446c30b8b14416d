//! Rempart's shared library: the domain model, the policy document, the
//! decisions (pure functions), the AWS adapters, and the handlers that the
//! Lambda functions and the CLI run.

pub mod announce;
pub mod audit;
pub mod aws;
pub mod buckets;
pub mod cron;
pub mod duration;
pub mod enforcer;
pub mod error;
pub mod event;
pub mod functions;
pub mod incident;
pub mod model;
pub mod naming;
pub mod notify;
pub mod policy;
pub mod replicator;
pub mod report;
pub mod restore;
pub mod retention;
pub mod runtime;
pub mod scheduler;
pub mod slack;

pub use error::{Error, Result};
