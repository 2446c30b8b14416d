//! snapshot-scheduler Lambda: wires configuration, clients and the handler.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use rempart_shared::functions::snapshot_scheduler::{handle, Deps};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rempart_shared::runtime::init_tracing();
    let cfg = rempart_shared::runtime::aws_config().await;
    let deps = Deps::from_env(&cfg)?;
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let report = handle(deps, event.payload)
            .await
            .map_err(Diagnostic::from)?;
        Ok::<_, Diagnostic>(serde_json::to_value(report).unwrap_or_default())
    }))
    .await
}
