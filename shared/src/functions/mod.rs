//! Handlers: one per Lambda function. Each turns the event into a domain
//! input, runs the use case, and reports. A function's `main.rs` only builds
//! the dependencies and hands events to its handler; the CLI calls the same
//! handlers to run a function locally.

pub mod backup_auditor;
pub mod incident_escalator;
pub mod restore_tester;
pub mod retention_enforcer;
pub mod slack_notifier;
pub mod snapshot_replicator;
pub mod snapshot_scheduler;
