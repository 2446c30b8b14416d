//! Writes the functions' EMF metric lines (`rempart_core::metrics`) to
//! stdout, one JSON object per line, on Lambda (`AWS_LAMBDA_RUNTIME_API`
//! set): CloudWatch Logs extracts the metrics from the function's log with
//! no API call. Local tools (the demo, `rempart`) print none.
//!
//! `REMPART_METRICS_RECORD`, when it names a directory, also appends every
//! line there (`<pid>.jsonl`): the test suite collects what the functions
//! emitted and checks that every metric the dashboard graphs is emitted by
//! some function (`scripts/metrics-check`).

use serde_json::Value;
use std::io::Write;

/// The variable naming the CloudWatch namespace of the metrics (set by
/// Terraform from `metrics_namespace`; unset: `Rempart`).
pub const NAMESPACE_ENV: &str = "REMPART_METRICS_NAMESPACE";

/// Emits the lines, in the namespace of [`NAMESPACE_ENV`].
pub fn emit(lines: &[Value]) {
    if lines.is_empty() {
        return;
    }
    let namespace = std::env::var(NAMESPACE_ENV).ok();
    let lines = rempart_core::metrics::with_namespace(lines, namespace.as_deref());
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
    if let Some(dir) = std::env::var_os("REMPART_METRICS_RECORD").filter(|d| !d.is_empty()) {
        let path = std::path::Path::new(&dir).join(format!("{}.jsonl", std::process::id()));
        let written = std::fs::create_dir_all(&dir).and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?
                .write_all(text.as_bytes())
        });
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %path.display(), "could not record the metric lines");
        }
    }
}
