//! restore-tester Lambda: wires configuration, clients and the handler.

use rempart_aws::runtime;
use rempart_restore_tester::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_tracing();
    let cfg = runtime::aws_config().await;
    let deps = Deps::from_env(&cfg)?;
    runtime::serve(&deps, handle).await
}
