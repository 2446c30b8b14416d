//! What every function's `main` needs: tracing, AWS configuration, settings
//! from the environment, the policy document.

use crate::error::{Error, Result};
use aws_config::{BehaviorVersion, SdkConfig};
use rempart_core::policy::{PolicyDocument, PolicySource};

/// Logs as JSON on Lambda (CloudWatch Logs Insights reads the fields), as
/// compact text elsewhere. `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    init_tracing_with("info");
}

/// Local tools (`rempart`, `rempart-local`): quiet by default (warnings and
/// errors only, on stderr), so that their own output is what a person reads;
/// `RUST_LOG=info` shows the functions' logs.
pub fn init_tracing_quiet() {
    init_tracing_with("warn");
}

fn init_tracing_with(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let res = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .without_time()
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // A second initialisation (tests, the CLI calling several handlers) is harmless.
    drop(res);
}

/// AWS configuration from the standard chain: region, credentials, and
/// `AWS_ENDPOINT_URL` for a local emulator.
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// The region of a configuration, or a clear error.
pub fn region_of(cfg: &SdkConfig) -> Result<String> {
    cfg.region()
        .map(|r| r.to_string())
        .ok_or_else(|| Error::Config("no AWS region: set AWS_REGION (Lambda sets it)".into()))
}

/// A required environment variable.
pub fn env_var(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Error::Config(format!(
            "environment variable {name} is not set"
        ))),
    }
}

/// Reads and validates the policy document named by `REMPART_POLICY`.
pub async fn load_policy(
    source: &PolicySource,
    ssm: &aws_sdk_ssm::Client,
) -> Result<PolicyDocument> {
    let text = match source {
        PolicySource::File(path) => std::fs::read_to_string(path).map_err(|e| Error::Io {
            context: format!("reading policy file {}", path.display()),
            source: e,
        })?,
        PolicySource::Ssm(name) => {
            let out = ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| crate::aws_error("GetParameter", e))?;
            out.parameter()
                .and_then(|p| p.value())
                .ok_or_else(|| Error::Config(format!("SSM parameter {name} has no value")))?
                .to_string()
        }
    };
    Ok(PolicyDocument::from_toml(&text, &source.describe())?)
}

/// Serves Lambda events with `handler` until the runtime stops: what every
/// function's `main` does once its dependencies are built.
pub async fn serve<'a, D, R, F, Fut>(
    deps: &'a D,
    handler: F,
) -> std::result::Result<(), lambda_runtime::Error>
where
    F: Fn(&'a D, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<R>>,
    R: serde::Serialize,
{
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let out = handler(deps, event.payload)
                .await
                .map_err(lambda_runtime::Diagnostic::from)?;
            Ok::<_, lambda_runtime::Diagnostic>(serde_json::to_value(out).unwrap_or_default())
        },
    ))
    .await
}

impl From<Error> for lambda_runtime::Diagnostic {
    /// The Lambda error type names the category, so that a retry policy or a
    /// CloudWatch metric filter can tell a rejected event from a retryable run.
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Policy { .. } => "Rempart.InvalidPolicy",
            Error::Event(_) => "Rempart.RejectedEvent",
            Error::Config(_) => "Rempart.Configuration",
            Error::Aws { .. } => "Rempart.Aws",
            Error::Retry(_) => "Rempart.Retry",
            Error::Slack { .. } => "Rempart.Slack",
            Error::Sql(_) => "Rempart.Sql",
            Error::Io { .. } => "Rempart.Io",
        };
        lambda_runtime::Diagnostic {
            error_type: kind.to_string(),
            error_message: e.to_string(),
        }
    }
}

/// The configuration a function's clients use: `cfg` with the function's
/// name as the SDK's app name, so that every request it makes says which
/// Rempart function made it (`app/<function>` in the User-Agent, which
/// CloudTrail records as `userAgent`).
pub fn function_config(cfg: &SdkConfig, function: &str) -> SdkConfig {
    match aws_config::AppName::new(function.to_string()) {
        Ok(name) => cfg.to_builder().app_name(name).build(),
        Err(_) => cfg.clone(),
    }
}
