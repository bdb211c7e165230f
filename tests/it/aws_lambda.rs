//! Lambda functions against a real AWS emulator (moto): functions made with the
//! SDK the way a person would, listed by driftd and compared whole with the
//! attributes the hashicorp/aws 5.100.0 provider writes; then a real
//! `terraform apply` whose state must show no drift, equal the live mapping
//! after a refresh, and drift exactly where Terraform's refresh-only plan does.

use crate::aws_logs::{
    assert_refreshed_state_equals_live, assert_schema, driftd_says, key, list, object, objects,
    options, scope, terraform_says,
};
use crate::support::moto::{ACCOUNT_ID, MotoServer, REGION};
use crate::support::terraform::{Workspace, fixture_dir};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, EphemeralStorage, FunctionCode, Runtime, TracingConfig, TracingMode,
};
use driftd::aws::types::lambda;
use driftd::aws::{TypeDef, collect};
use serde_json::json;

fn zip() -> Vec<u8> {
    std::fs::read(fixture_dir("lambda").join("function.zip")).unwrap()
}

async fn role(moto: &MotoServer) -> String {
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config().await);
    iam.create_role()
        .role_name("fn")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"lambda.amazonaws.com"}}]}"#,
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string()
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}")
}

fn invoke_arn(arn: &str) -> String {
    format!("arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_functions_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let role = role(&moto).await;
    let c = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
    let code = || FunctionCode::builder().zip_file(Blob::new(zip())).build();
    let minimal = c
        .create_function()
        .function_name("minimal")
        .role(&role)
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .code(code())
        .send()
        .await
        .unwrap();
    let configured = c
        .create_function()
        .function_name("configured")
        .role(&role)
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .code(code())
        .description("fully configured")
        .memory_size(512)
        .timeout(60)
        .architectures(Architecture::Arm64)
        .environment(
            Environment::builder()
                .variables("API_TOKEN", "s3cr3t")
                .variables("MODE", "prod")
                .build(),
        )
        .tracing_config(TracingConfig::builder().mode(TracingMode::Active).build())
        .ephemeral_storage(EphemeralStorage::builder().size(2048).build().unwrap())
        .tags("team", "api")
        .publish(true)
        .send()
        .await
        .unwrap();
    c.put_function_concurrency()
        .function_name("configured")
        .reserved_concurrent_executions(7)
        .send()
        .await
        .unwrap();

    let inventory = list(&moto, &[&lambda::LAMBDA_FUNCTION]).await;
    assert_eq!(objects(&inventory, "aws_lambda_function").len(), 2);
    // One page of ListFunctions (with every version), then GetFunction and
    // GetFunctionCodeSigningConfig per function: no ListVersionsByFunction,
    // no ListTags, no GetFunctionConcurrency.
    let (_, stats) = collect(
        &scope(&moto),
        &[&lambda::LAMBDA_FUNCTION],
        &options(),
        &key(),
    )
    .await;
    assert_eq!(stats.snapshot()["lambda"].requests, 1 + 2 * 2);

    let arn = function_arn("minimal");
    assert_eq!(
        object(&inventory, "aws_lambda_function", "minimal"),
        json!({
            "architectures": ["x86_64"],
            "arn": arn,
            "code_sha256": minimal.code_sha256().unwrap(),
            "code_signing_config_arn": "",
            "dead_letter_config": [],
            "description": "",
            // No variables: nothing secret, nothing hashed.
            "environment": null,
            "ephemeral_storage": [{"size": 512}],
            "file_system_config": [],
            "function_name": "minimal",
            "handler": "index.handler",
            "id": "minimal",
            "image_config": [],
            "image_uri": "",
            "invoke_arn": invoke_arn(&arn),
            "kms_key_arn": "",
            "last_modified": minimal.last_modified().unwrap(),
            "layers": [],
            // moto 5.1.22 returns no LoggingConfig (AWS always does).
            "logging_config": [],
            "memory_size": 128,
            "package_type": "Zip",
            "qualified_arn": format!("{arn}:$LATEST"),
            "qualified_invoke_arn": invoke_arn(&format!("{arn}:$LATEST")),
            "reserved_concurrent_executions": -1,
            "role": role,
            "runtime": "python3.12",
            "signing_job_arn": "",
            "signing_profile_version_arn": "",
            "snap_start": [],
            "source_code_size": minimal.code_size(),
            "tags": {},
            "tags_all": {},
            "timeout": 3,
            "tracing_config": [{"mode": "PassThrough"}],
            "version": "$LATEST",
            "vpc_config": [],
        })
    );

    let arn = function_arn("configured");
    let live = object(&inventory, "aws_lambda_function", "configured");
    // Hashed leaf by leaf: the variable names stay, their values do not.
    let hashed = |v: &str| key().hash_value(&serde_json::to_string(v).unwrap());
    let environment =
        json!([{"variables": {"API_TOKEN": hashed("s3cr3t"), "MODE": hashed("prod")}}]);
    assert_eq!(
        live,
        json!({
            "architectures": ["arm64"],
            "arn": arn,
            "code_sha256": configured.code_sha256().unwrap(),
            "code_signing_config_arn": "",
            "dead_letter_config": [],
            "description": "fully configured",
            "environment": environment,
            "ephemeral_storage": [{"size": 2048}],
            "file_system_config": [],
            "function_name": "configured",
            "handler": "index.handler",
            "id": "configured",
            "image_config": [],
            "image_uri": "",
            "invoke_arn": invoke_arn(&arn),
            "kms_key_arn": "",
            "last_modified": configured.last_modified().unwrap(),
            "layers": [],
            "logging_config": [],
            "memory_size": 512,
            "package_type": "Zip",
            "qualified_arn": format!("{arn}:1"),
            "qualified_invoke_arn": invoke_arn(&format!("{arn}:1")),
            "reserved_concurrent_executions": 7,
            "role": role,
            "runtime": "python3.12",
            "signing_job_arn": "",
            "signing_profile_version_arn": "",
            "snap_start": [],
            "source_code_size": configured.code_size(),
            "tags": {"team": "api"},
            "tags_all": {"team": "api"},
            "timeout": 60,
            "tracing_config": [{"mode": "Active"}],
            "version": "1",
            "vpc_config": [],
        })
    );
    // The secret never appears in the live resource.
    let text = serde_json::to_string(&live).unwrap();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert_schema(&inventory, &lambda::LAMBDA_FUNCTION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_functions_after_terraform_drift_where_terraform_says() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("lambda", &moto.endpoint_url());
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
    });
    let types: &[&'static TypeDef] = &[&lambda::LAMBDA_FUNCTION];

    // The raw state right after apply matches the cloud.
    assert_eq!(driftd_says(&moto, &ws, types).await, Vec::<String>::new());
    tokio::task::block_in_place(|| ws.refresh_only_apply());
    assert_eq!(
        assert_refreshed_state_equals_live(&moto, &ws, &lambda::LAMBDA_FUNCTION).await,
        2
    );

    // A person doubles a function's memory, deletes the other, and makes one
    // by hand.
    let c = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
    c.update_function_configuration()
        .function_name("full")
        .memory_size(512)
        .send()
        .await
        .unwrap();
    c.delete_function()
        .function_name("minimal")
        .send()
        .await
        .unwrap();
    let role = ws.state_json()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "aws_iam_role")
        .map(|r| r["instances"][0]["attributes"]["arn"].clone())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap();
    c.create_function()
        .function_name("stray")
        .role(role)
        .runtime(Runtime::Python312)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip())).build())
        .send()
        .await
        .unwrap();

    let referee = tokio::task::block_in_place(|| terraform_says(&mut ws));
    assert_eq!(
        referee,
        vec![
            // moto 5.1.22 leaves `last_modified` as it was; AWS would move it
            // too, and driftd would report it the same way.
            "aws_lambda_function.full: memory_size".to_string(),
            "aws_lambda_function.minimal: deleted".to_string(),
        ]
    );
    let mut expected = referee.clone();
    expected.push("unmanaged aws_lambda_function.stray".to_string());
    expected.sort();
    assert_eq!(driftd_says(&moto, &ws, types).await, expected);
}
