//! Lambda functions (`aws_lambda_function`), mapped into the attribute shape
//! the hashicorp/aws 5.100.0 provider writes into state.
//!
//! Calls: `ListFunctions` with `FunctionVersion=ALL` (paged, 50 a page, the
//! most it serves) names every function and every published version, so the
//! latest version (`version`, `qualified_arn`) needs no per-function
//! `ListVersionsByFunction`. Then per function, a few at a time, the two calls
//! the API forces: `GetFunction` (configuration, tags and reserved concurrency
//! in one answer; neither tags nor concurrency are in the listing; the tags
//! only for callers granted `lambda:ListTags`, so the policy grants it) and, for
//! zip packages, `GetFunctionCodeSigningConfig` (the provider stores
//! `code_signing_config_arn`, which nothing else returns per function; moto
//! 5.1.22 does not serve `ListCodeSigningConfigs`, which would be cheaper).
//!
//! Environment variables are where people put secrets: `environment` is
//! declared sensitive, so the live value is kept only as a keyed hash.
//!
//! Terraform-only arguments (never read back by the provider, ignored here):
//! the code source (`filename`, `s3_bucket`, `s3_key`, `s3_object_version`),
//! `source_code_hash` (the provider keeps the configuration's value; the API's
//! hash is `code_sha256`), `publish`, `skip_destroy`,
//! `replace_security_groups_on_destroy`, `replacement_security_group_ids` and
//! `timeouts`.

use super::s;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{TypeRules, never_default};
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, FunctionVersion, PackageType};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

/// The largest page `ListFunctions` serves.
const PAGE_SIZE: i32 = 50;

/// Functions whose per-function calls run at once.
const FUNCTION_CONCURRENCY: usize = 4;

static RULES_FUNCTION: TypeRules = TypeRules {
    resource_type: "aws_lambda_function",
    global: false,
    ignore: &[
        "filename",
        "publish",
        "replace_security_groups_on_destroy",
        "replacement_security_group_ids",
        "s3_bucket",
        "s3_key",
        "s3_object_version",
        "skip_destroy",
        "source_code_hash",
        "timeouts",
    ],
    sensitive: &["environment"],
    sets: &["vpc_config.security_group_ids", "vpc_config.subnet_ids"],
    normalize: normalize_function,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static LAMBDA_FUNCTION: TypeDef = TypeDef {
    rules: &RULES_FUNCTION,
    // lambda:ListTags is never called: GetFunction returns the tags only to
    // callers that hold it.
    actions: &[
        "lambda:GetFunction",
        "lambda:GetFunctionCodeSigningConfig",
        "lambda:ListFunctions",
        "lambda:ListTags",
    ],
    list: list_functions,
};

/// A function without environment variables has a null live `environment`
/// (see [`function_object`]); the state writes `[]` or a block with an empty
/// map for it. When the live function has no variables but the state has some,
/// the state's values are replaced by a placeholder, so the drift shows that
/// they are gone without ever showing what they were.
fn normalize_function(desired: &mut Value, live: &mut Value) {
    super::net::normalize_tags(desired, live);
    if live.get("environment").is_some_and(Value::is_null) {
        if environment_is_empty(desired.get("environment")) {
            desired["environment"] = Value::Null;
        } else {
            desired["environment"] =
                json!([{ "variables": "(hidden: environment variables are secret)" }]);
        }
    }
}

/// No block, a block without a map, or an empty map: no variables at all.
fn environment_is_empty(environment: Option<&Value>) -> bool {
    match environment {
        None | Some(Value::Null) => true,
        Some(Value::Array(blocks)) => blocks.iter().all(|b| match b.get("variables") {
            None | Some(Value::Null) => true,
            Some(Value::Object(m)) => m.is_empty(),
            _ => false,
        }),
        _ => false,
    }
}

fn list_functions(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let lambda = ctx.lambda();
        let entries = lambda
            .list_functions()
            .function_version(FunctionVersion::All)
            .max_items(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("lambda:ListFunctions", e))?;
        let latest = latest_versions(&entries);

        let mut details: HashMap<String, (GetFunctionOutput, String)> = HashMap::new();
        let names: Vec<String> = latest.keys().cloned().collect();
        for chunk in names.chunks(FUNCTION_CONCURRENCY) {
            let mut calls = tokio::task::JoinSet::new();
            for name in chunk {
                let lambda = lambda.clone();
                let name = name.clone();
                calls.spawn(async move {
                    let function = lambda
                        .get_function()
                        .function_name(&name)
                        .send()
                        .await
                        .map_err(|e| CollectError::from_sdk("lambda:GetFunction", e))?;
                    // GetFunction answers tags only to callers also allowed
                    // lambda:ListTags, and otherwise says why instead of failing:
                    // an empty tag map here would be false drift.
                    if let Some(e) = function.tags_error() {
                        return Err(tags_error(&name, e));
                    }
                    let zip = function
                        .configuration()
                        .and_then(|c| c.package_type())
                        .is_none_or(|p| *p == PackageType::Zip);
                    // Code signing applies to zip packages only; the provider
                    // stores "" for images.
                    let signing = if zip {
                        lambda
                            .get_function_code_signing_config()
                            .function_name(&name)
                            .send()
                            .await
                            .map_err(|e| {
                                CollectError::from_sdk("lambda:GetFunctionCodeSigningConfig", e)
                            })?
                            .code_signing_config_arn()
                            .to_string()
                    } else {
                        String::new()
                    };
                    Ok::<_, CollectError>((name, function, signing))
                });
            }
            while let Some(joined) = calls.join_next().await {
                let (name, function, signing) =
                    joined.expect("a Lambda function call does not panic")?;
                details.insert(name, (function, signing));
            }
        }

        let mut out = Vec::with_capacity(details.len());
        for (name, (version, qualified_arn)) in &latest {
            // A function deleted between the listing and its GetFunction is
            // answered with an error above, which fails the listing: it is
            // never silently left out.
            let Some((function, signing)) = details.get(name) else {
                continue;
            };
            out.push(function_object(
                &ctx.region,
                function,
                signing,
                version,
                qualified_arn,
            ));
        }
        Ok(out)
    })
}

fn tags_error(function: &str, e: &aws_sdk_lambda::types::TagsError) -> CollectError {
    let kind = if e.error_code().contains("AccessDenied") {
        crate::aws::ErrorKind::AccessDenied
    } else {
        crate::aws::ErrorKind::Other
    };
    CollectError::new(
        kind,
        format!(
            "lambda:ListTags: {}: {} (function {function}); GetFunction returns tags only with \
             lambda:ListTags granted (packaging/aws-iam-policy.json lists every action driftd needs)",
            e.error_code(),
            e.message()
        ),
    )
}

/// Each function's latest version and its qualified ARN, as the provider reads
/// them from the last entry of `ListVersionsByFunction`: the highest published
/// version, or `$LATEST` when none was published.
fn latest_versions(entries: &[FunctionConfiguration]) -> BTreeMap<String, (String, String)> {
    let mut latest: BTreeMap<String, (Option<u64>, String, String)> = BTreeMap::new();
    for entry in entries {
        let (Some(name), Some(version), Some(arn)) =
            (entry.function_name(), entry.version(), entry.function_arn())
        else {
            continue;
        };
        let number = version.parse::<u64>().ok();
        let qualified = if arn.ends_with(&format!(":{version}")) {
            arn.to_string()
        } else {
            format!("{arn}:{version}")
        };
        let slot = latest.entry(name.to_string()).or_insert((
            number,
            version.to_string(),
            qualified.clone(),
        ));
        if number > slot.0 {
            *slot = (number, version.to_string(), qualified);
        }
    }
    latest
        .into_iter()
        .map(|(name, (_, version, arn))| (name, (version, arn)))
        .collect()
}

/// The ARN API Gateway invokes a function (or one version of it) through.
fn invoke_arn(region: &str, function_arn: &str) -> String {
    format!(
        "arn:{}:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        function_arn.split(':').nth(1).unwrap_or("aws")
    )
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

/// One function in the provider's shape, from its `GetFunction` answer, its
/// code signing configuration and its latest version.
pub fn function_object(
    region: &str,
    function: &GetFunctionOutput,
    code_signing_config_arn: &str,
    version: &str,
    qualified_arn: &str,
) -> LiveObject {
    let empty = FunctionConfiguration::builder().build();
    let c = function.configuration().unwrap_or(&empty);
    let name = c.function_name().unwrap_or_default().to_string();
    let arn = c.function_arn().unwrap_or_default().to_string();
    let tags = Value::Object(
        function
            .tags()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    );
    // Only variables are secret: a function without any has a null
    // `environment`, which `live_resource` leaves unhashed, so "no variables"
    // compares equal to the state's `[]` (see `normalize_function`) instead of
    // a hash of `[]` that no state value could match.
    let environment = match c.environment().and_then(|e| e.variables()) {
        Some(v) if !v.is_empty() => json!([{ "variables": Value::Object(
            v.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
        ) }]),
        _ => Value::Null,
    };
    let vpc_config = match c.vpc_config() {
        Some(v)
            if !(v.subnet_ids().is_empty()
                && v.security_group_ids().is_empty()
                && v.vpc_id().unwrap_or_default().is_empty()) =>
        {
            json!([{
                "ipv6_allowed_for_dual_stack": v.ipv6_allowed_for_dual_stack().unwrap_or(false),
                "security_group_ids": strings(v.security_group_ids()),
                "subnet_ids": strings(v.subnet_ids()),
                "vpc_id": s(v.vpc_id()),
            }])
        }
        _ => json!([]),
    };
    let snap_start = match c.snap_start() {
        Some(snap) if snap.apply_on().is_some_and(|a| a.as_str() != "None") => json!([{
            "apply_on": snap.apply_on().map(|a| a.as_str()).unwrap_or_default(),
            "optimization_status": snap.optimization_status().map(|o| o.as_str()).unwrap_or_default(),
        }]),
        _ => json!([]),
    };
    let image_config = match c.image_config_response().and_then(|r| r.image_config()) {
        Some(i) => json!([{
            "command": strings(i.command()),
            "entry_point": strings(i.entry_point()),
            "working_directory": s(i.working_directory()),
        }]),
        None => json!([]),
    };
    let logging_config = match c.logging_config() {
        Some(l) => json!([{
            "application_log_level": l.application_log_level().map(|v| v.as_str()).unwrap_or_default(),
            "log_format": l.log_format().map(|v| v.as_str()).unwrap_or_default(),
            "log_group": s(l.log_group()),
            "system_log_level": l.system_log_level().map(|v| v.as_str()).unwrap_or_default(),
        }]),
        None => json!([]),
    };
    let attributes = json!({
        "architectures": c.architectures().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "arn": arn,
        "code_sha256": s(c.code_sha256()),
        "code_signing_config_arn": code_signing_config_arn,
        "dead_letter_config": match c.dead_letter_config().and_then(|d| d.target_arn()) {
            Some(target) => json!([{"target_arn": target}]),
            None => json!([]),
        },
        "description": s(c.description()),
        "environment": environment,
        "ephemeral_storage": match c.ephemeral_storage() {
            Some(e) => json!([{"size": e.size()}]),
            None => json!([]),
        },
        "file_system_config": c.file_system_configs().iter().map(|f| json!({
            "arn": f.arn(),
            "local_mount_path": f.local_mount_path(),
        })).collect::<Vec<_>>(),
        "function_name": name,
        "handler": s(c.handler()),
        "id": name,
        "image_config": image_config,
        "image_uri": s(function.code().and_then(|code| code.image_uri())),
        "invoke_arn": invoke_arn(region, &arn),
        "kms_key_arn": s(c.kms_key_arn()),
        "last_modified": s(c.last_modified()),
        "layers": c.layers().iter().filter_map(|l| l.arn()).collect::<Vec<_>>(),
        "logging_config": logging_config,
        "memory_size": c.memory_size().unwrap_or(128),
        "package_type": c.package_type().map(|p| p.as_str()).unwrap_or_default(),
        "qualified_arn": qualified_arn,
        "qualified_invoke_arn": invoke_arn(region, qualified_arn),
        "reserved_concurrent_executions": function
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions())
            .unwrap_or(-1),
        "role": s(c.role()),
        "runtime": c.runtime().map(|r| r.as_str()).unwrap_or_default(),
        "signing_job_arn": s(c.signing_job_arn()),
        "signing_profile_version_arn": s(c.signing_profile_version_arn()),
        "snap_start": snap_start,
        "source_code_size": c.code_size(),
        "tags": tags.clone(),
        "tags_all": tags,
        "timeout": c.timeout().unwrap_or(3),
        "tracing_config": [{
            "mode": c.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str()).unwrap_or("PassThrough"),
        }],
        "version": version,
        "vpc_config": vpc_config,
    });
    LiveObject {
        id: name,
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, version: &str) -> FunctionConfiguration {
        FunctionConfiguration::builder()
            .function_name(name)
            .version(version)
            .function_arn(format!(
                "arn:aws:lambda:eu-west-1:111122223333:function:{name}:{version}"
            ))
            .build()
    }

    #[test]
    fn the_latest_version_is_the_highest_published_one() {
        let latest = latest_versions(&[
            entry("a", "$LATEST"),
            entry("a", "2"),
            entry("a", "10"),
            entry("b", "$LATEST"),
        ]);
        assert_eq!(
            latest["a"],
            (
                "10".to_string(),
                "arn:aws:lambda:eu-west-1:111122223333:function:a:10".to_string()
            )
        );
        assert_eq!(latest["b"].0, "$LATEST");
    }

    #[test]
    fn no_variables_compares_equal_to_an_empty_environment() {
        for recorded in [
            json!([]),
            json!([{"variables": {}}]),
            json!([{"variables": null}]),
        ] {
            let mut desired = json!({"environment": recorded});
            let mut live = json!({"environment": null});
            normalize_function(&mut desired, &mut live);
            assert_eq!(desired, live);
        }
        let mut desired = json!({"environment": [{"variables": {"TOKEN": "hunter2"}}]});
        let mut live = json!({"environment": null});
        normalize_function(&mut desired, &mut live);
        assert_ne!(desired, live, "variables removed out of band are drift");
        assert!(!desired.to_string().contains("hunter2"), "and never shown");
    }

    /// The blocks moto cannot produce (container images, VPC, dead-letter
    /// queue, SnapStart, logging, file systems, layers), from an answer built
    /// by hand as AWS sends it.
    #[test]
    fn an_image_function_in_a_vpc_maps_every_block() {
        use aws_sdk_lambda::types::{
            Concurrency, DeadLetterConfig, FileSystemConfig, FunctionCodeLocation, ImageConfig,
            ImageConfigResponse, Layer, LogFormat, LoggingConfig, SnapStartApplyOn,
            SnapStartOptimizationStatus, SnapStartResponse, SystemLogLevel, VpcConfigResponse,
        };
        let arn = "arn:aws:lambda:eu-west-1:111122223333:function:img";
        let configuration = FunctionConfiguration::builder()
            .function_name("img")
            .function_arn(arn)
            .package_type(PackageType::Image)
            .role("arn:aws:iam::111122223333:role/r")
            .code_sha256("abc=")
            .code_size(0)
            .memory_size(1024)
            .timeout(10)
            .last_modified("2025-01-01T00:00:00.000+0000")
            .vpc_config(
                VpcConfigResponse::builder()
                    .subnet_ids("subnet-1")
                    .security_group_ids("sg-1")
                    .vpc_id("vpc-1")
                    .ipv6_allowed_for_dual_stack(false)
                    .build(),
            )
            .dead_letter_config(
                DeadLetterConfig::builder()
                    .target_arn("arn:aws:sqs:eu-west-1:111122223333:dlq")
                    .build(),
            )
            .image_config_response(
                ImageConfigResponse::builder()
                    .image_config(ImageConfig::builder().command("app.handler").build())
                    .build(),
            )
            .snap_start(
                SnapStartResponse::builder()
                    .apply_on(SnapStartApplyOn::PublishedVersions)
                    .optimization_status(SnapStartOptimizationStatus::On)
                    .build(),
            )
            .logging_config(
                LoggingConfig::builder()
                    .log_format(LogFormat::Json)
                    .log_group("/aws/lambda/img")
                    .system_log_level(SystemLogLevel::Warn)
                    .build(),
            )
            .file_system_configs(
                FileSystemConfig::builder()
                    .arn("arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-1")
                    .local_mount_path("/mnt/data")
                    .build()
                    .unwrap(),
            )
            .layers(
                Layer::builder()
                    .arn("arn:aws:lambda:eu-west-1:111122223333:layer:l:3")
                    .build(),
            )
            .build();
        let output = GetFunctionOutput::builder()
            .configuration(configuration)
            .code(
                FunctionCodeLocation::builder()
                    .image_uri("111122223333.dkr.ecr.eu-west-1.amazonaws.com/img:1")
                    .build(),
            )
            .concurrency(
                Concurrency::builder()
                    .reserved_concurrent_executions(0)
                    .build(),
            )
            .build();
        let object = function_object(
            "eu-west-1",
            &output,
            "",
            "$LATEST",
            &format!("{arn}:$LATEST"),
        );
        let a = &object.attributes;
        assert_eq!(a["package_type"], "Image");
        assert_eq!(
            a["image_uri"],
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/img:1"
        );
        assert_eq!(
            a["image_config"],
            json!([{"command": ["app.handler"], "entry_point": [], "working_directory": ""}])
        );
        assert_eq!(
            a["vpc_config"],
            json!([{"ipv6_allowed_for_dual_stack": false, "security_group_ids": ["sg-1"], "subnet_ids": ["subnet-1"], "vpc_id": "vpc-1"}])
        );
        assert_eq!(
            a["dead_letter_config"],
            json!([{"target_arn": "arn:aws:sqs:eu-west-1:111122223333:dlq"}])
        );
        assert_eq!(
            a["snap_start"],
            json!([{"apply_on": "PublishedVersions", "optimization_status": "On"}])
        );
        assert_eq!(
            a["logging_config"],
            json!([{"application_log_level": "", "log_format": "JSON", "log_group": "/aws/lambda/img", "system_log_level": "WARN"}])
        );
        assert_eq!(
            a["file_system_config"],
            json!([{"arn": "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-1", "local_mount_path": "/mnt/data"}])
        );
        assert_eq!(
            a["layers"],
            json!(["arn:aws:lambda:eu-west-1:111122223333:layer:l:3"])
        );
        assert_eq!(
            a["reserved_concurrent_executions"], 0,
            "0 is throttled, not unreserved"
        );
        assert_eq!(a["environment"], Value::Null);
        assert_eq!(a["tracing_config"], json!([{"mode": "PassThrough"}]));
    }

    #[test]
    fn tags_withheld_for_want_of_list_tags_are_a_denied_call() {
        let e = aws_sdk_lambda::types::TagsError::builder()
            .error_code("AccessDeniedException")
            .message("not authorized to perform: lambda:ListTags")
            .build()
            .unwrap();
        let error = tags_error("api", &e);
        assert_eq!(error.kind, crate::aws::ErrorKind::AccessDenied);
        assert!(
            error.message.starts_with("lambda:ListTags: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn invoke_arns_go_through_api_gateway() {
        assert_eq!(
            invoke_arn(
                "eu-west-1",
                "arn:aws:lambda:eu-west-1:111122223333:function:a"
            ),
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:a/invocations"
        );
    }
}
