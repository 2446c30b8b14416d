//! slack-actions Lambda: wires configuration, clients and the handler.
// The handler's future (secret, table, registry, bus calls) is deeper than
// rustc's default layout query depth.
#![recursion_limit = "256"]

use rempart_aws::runtime;
use rempart_slack_actions::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_tracing();
    let cfg = runtime::aws_config().await;
    let deps = Deps::from_env(&cfg)?;
    runtime::serve(&deps, handle).await
}
