//! Elastic Load Balancing v2: load balancers (`aws_lb`), target groups
//! (`aws_lb_target_group`) and listeners (`aws_lb_listener`), mapped into the
//! attribute shape the hashicorp/aws 5.100.0 provider writes into state.
//!
//! The provider's older names `aws_alb`, `aws_alb_target_group` and
//! `aws_alb_listener` are the same resources in the same shape; matching a
//! state that uses them needs a type alias in the diff, which is not here yet.
//!
//! Calls, all paged at the largest page the API serves (400):
//! `DescribeLoadBalancers` once per scan (shared by the load balancer and
//! listener listings), `DescribeTargetGroups`, and `DescribeListeners` per load
//! balancer (the API lists listeners only by load balancer or by ARN). The
//! settings live in attribute lists the API returns only one resource at a time:
//! `DescribeLoadBalancerAttributes`, `DescribeTargetGroupAttributes` and
//! `DescribeListenerAttributes` (not for TLS listeners, which the API refuses),
//! a few at a time. Tags come from `DescribeTags`, 20 ARNs a call (its limit).
//!
//! Attribute-backed settings are read by key, like the provider does: a key the
//! API does not return for this kind of resource (an ALB's
//! `dns_record_client_routing_policy`, a NLB listener's response headers, or
//! anything the emulator does not know) leaves the provider's state value as the
//! configuration wrote it. Such settings are live `null` here, and the
//! normalisation drops them from both sides: unknown is not drift.

use super::s;
use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{TypeRules, never_default};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, LoadBalancer, LoadBalancerTypeEnum, ProtocolEnum, RedirectActionConfig,
    TargetGroup,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The largest page the Describe* calls serve.
const PAGE_SIZE: i32 = 400;

/// The most ARNs `DescribeTags` takes in one call.
const TAGS_PER_CALL: usize = 20;

/// Resources whose attribute calls run at once.
const ATTRIBUTE_CONCURRENCY: usize = 4;

// ---------------------------------------------------------------------------
// aws_lb

/// Load balancer settings kept in its attribute list: (attribute, API key, kind).
const LB_ATTRIBUTES: &[(&str, &str, Kind)] = &[
    ("client_keep_alive", "client_keep_alive.seconds", Kind::Int),
    (
        "desync_mitigation_mode",
        "routing.http.desync_mitigation_mode",
        Kind::Str,
    ),
    (
        "dns_record_client_routing_policy",
        "dns_record.client_routing_policy",
        Kind::Str,
    ),
    (
        "drop_invalid_header_fields",
        "routing.http.drop_invalid_header_fields.enabled",
        Kind::Bool,
    ),
    (
        "enable_cross_zone_load_balancing",
        "load_balancing.cross_zone.enabled",
        Kind::Bool,
    ),
    (
        "enable_deletion_protection",
        "deletion_protection.enabled",
        Kind::Bool,
    ),
    ("enable_http2", "routing.http2.enabled", Kind::Bool),
    (
        "enable_tls_version_and_cipher_suite_headers",
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        Kind::Bool,
    ),
    ("enable_waf_fail_open", "waf.fail_open.enabled", Kind::Bool),
    (
        "enable_xff_client_port",
        "routing.http.xff_client_port.enabled",
        Kind::Bool,
    ),
    (
        "enable_zonal_shift",
        "zonal_shift.config.enabled",
        Kind::Bool,
    ),
    ("idle_timeout", "idle_timeout.timeout_seconds", Kind::Int),
    (
        "preserve_host_header",
        "routing.http.preserve_host_header.enabled",
        Kind::Bool,
    ),
    (
        "xff_header_processing_mode",
        "routing.http.xff_header_processing.mode",
        Kind::Str,
    ),
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Str,
}

static RULES_LB: TypeRules = TypeRules {
    resource_type: "aws_lb",
    global: false,
    // `minimum_load_balancer_capacity` is only readable through a separate
    // `DescribeCapacityReservation` call per load balancer; it is not compared.
    ignore: &["minimum_load_balancer_capacity", "name_prefix", "timeouts"],
    sensitive: &[],
    sets: &["security_groups", "subnet_mapping", "subnets"],
    normalize: normalize_lb,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static LB: TypeDef = TypeDef {
    rules: &RULES_LB,
    actions: &[
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
    ],
    list: list_lbs,
};

fn normalize_lb(desired: &mut Value, live: &mut Value) {
    super::net::normalize_tags(desired, live);
    let mut unknown: Vec<&str> = LB_ATTRIBUTES.iter().map(|(name, _, _)| *name).collect();
    // Connection logs exist for application load balancers only.
    unknown.push("connection_logs");
    drop_unknown(desired, live, &unknown);
}

/// The region's load balancers, listed once per scan for every type that needs them.
async fn load_balancers(ctx: &RegionContext) -> Result<Arc<Vec<LoadBalancer>>, CollectError> {
    ctx.shared("elasticloadbalancing:DescribeLoadBalancers", || async {
        let all = ctx
            .elbv2()
            .describe_load_balancers()
            .page_size(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("elasticloadbalancing:DescribeLoadBalancers", e))?;
        // Classic load balancers are another API and another resource type.
        Ok(all
            .into_iter()
            .filter(|lb| {
                matches!(
                    lb.r#type(),
                    Some(
                        LoadBalancerTypeEnum::Application
                            | LoadBalancerTypeEnum::Network
                            | LoadBalancerTypeEnum::Gateway
                    )
                )
            })
            .collect())
    })
    .await
}

fn list_lbs(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let lbs = load_balancers(ctx).await?;
        let arns: Vec<String> = lbs
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
            .collect();
        let elbv2 = ctx.elbv2().clone();
        let attributes = per_resource(&arns, move |arn| {
            let elbv2 = elbv2.clone();
            async move {
                let answer = elbv2
                    .describe_load_balancer_attributes()
                    .load_balancer_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| {
                        CollectError::from_sdk(
                            "elasticloadbalancing:DescribeLoadBalancerAttributes",
                            e,
                        )
                    })?;
                Ok(answer
                    .attributes()
                    .iter()
                    .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                    .collect::<HashMap<_, _>>())
            }
        })
        .await?;
        let tags = describe_tags(ctx, &arns).await?;
        Ok(lbs
            .iter()
            .map(|lb| {
                let arn = lb.load_balancer_arn().unwrap_or_default();
                lb_object(
                    lb,
                    attributes.get(arn).unwrap_or(&HashMap::new()),
                    tags.get(arn).cloned().unwrap_or_else(|| json!({})),
                )
            })
            .collect())
    })
}

/// One load balancer in the provider's shape.
pub fn lb_object(
    lb: &LoadBalancer,
    attributes: &HashMap<String, String>,
    tags: Value,
) -> LiveObject {
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let get = |key: &str| attributes.get(key).map(String::as_str).unwrap_or_default();
    let logs = |prefix: &str| {
        json!([{
            "bucket": get(&format!("{prefix}.s3.bucket")),
            "enabled": get(&format!("{prefix}.s3.enabled")) == "true",
            "prefix": get(&format!("{prefix}.s3.prefix")),
        }])
    };
    let is_application = lb.r#type() == Some(&LoadBalancerTypeEnum::Application);
    let mut object = json!({
        "access_logs": logs("access_logs"),
        "arn": arn,
        "arn_suffix": lb_arn_suffix(&arn),
        "connection_logs": if is_application { logs("connection_logs") } else { Value::Null },
        "customer_owned_ipv4_pool": s(lb.customer_owned_ipv4_pool()),
        "dns_name": s(lb.dns_name()),
        "enforce_security_group_inbound_rules_on_private_link_traffic":
            s(lb.enforce_security_group_inbound_rules_on_private_link_traffic()),
        "id": arn,
        "internal": lb.scheme().is_some_and(|s| s.as_str() == "internal"),
        "ip_address_type": lb.ip_address_type().map(|t| t.as_str()).unwrap_or_default(),
        "ipam_pools": match lb.ipam_pools().and_then(|p| p.ipv4_ipam_pool_id()) {
            Some(pool) => json!([{"ipv4_ipam_pool_id": pool}]),
            None => json!([]),
        },
        "load_balancer_type": lb.r#type().map(|t| t.as_str()).unwrap_or_default(),
        "name": s(lb.load_balancer_name()),
        "security_groups": lb.security_groups(),
        "subnet_mapping": lb.availability_zones().iter().map(|az| {
            let address = az.load_balancer_addresses().first();
            json!({
                "allocation_id": s(address.and_then(|a| a.allocation_id())),
                "ipv6_address": s(address.and_then(|a| a.ipv6_address())),
                "outpost_id": s(az.outpost_id()),
                "private_ipv4_address": s(address.and_then(|a| a.private_ipv4_address())),
                "subnet_id": s(az.subnet_id()),
            })
        }).collect::<Vec<_>>(),
        "subnets": lb.availability_zones().iter().filter_map(|az| az.subnet_id()).collect::<Vec<_>>(),
        "tags": tags.clone(),
        "tags_all": tags,
        "vpc_id": s(lb.vpc_id()),
        "zone_id": s(lb.canonical_hosted_zone_id()),
    });
    for (name, key, kind) in LB_ATTRIBUTES {
        object[*name] = typed(attributes.get(*key).map(String::as_str), *kind);
    }
    LiveObject {
        id: arn,
        attributes: object,
    }
}

/// `app/name/id` from a load balancer ARN (what CloudWatch metrics name it by).
fn lb_arn_suffix(arn: &str) -> String {
    arn.split_once(":loadbalancer/")
        .map(|(_, suffix)| suffix.to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// aws_lb_target_group

/// Target group settings kept in its attribute list, read for instance and IP
/// targets only (as the provider does).
const TG_ATTRIBUTES: &[(&str, &str, Kind)] = &[
    (
        "connection_termination",
        "deregistration_delay.connection_termination.enabled",
        Kind::Bool,
    ),
    (
        "deregistration_delay",
        "deregistration_delay.timeout_seconds",
        Kind::Str,
    ),
    (
        "load_balancing_algorithm_type",
        "load_balancing.algorithm.type",
        Kind::Str,
    ),
    (
        "load_balancing_anomaly_mitigation",
        "load_balancing.algorithm.anomaly_mitigation",
        Kind::Str,
    ),
    (
        "load_balancing_cross_zone_enabled",
        "load_balancing.cross_zone.enabled",
        Kind::Str,
    ),
    (
        "preserve_client_ip",
        "preserve_client_ip.enabled",
        Kind::Str,
    ),
    ("proxy_protocol_v2", "proxy_protocol_v2.enabled", Kind::Bool),
    ("slow_start", "slow_start.duration_seconds", Kind::Int),
];

static RULES_TG: TypeRules = TypeRules {
    resource_type: "aws_lb_target_group",
    global: false,
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &["load_balancer_arns"],
    normalize: normalize_tg,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static LB_TARGET_GROUP: TypeDef = TypeDef {
    rules: &RULES_TG,
    actions: &[
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetGroups",
    ],
    list: list_target_groups,
};

/// Besides tags and unknown attributes: `load_balancer_arns` is what the
/// listeners and listener rules that forward to the group make it, and those
/// are resources of their own, compared through them. A state written right
/// after the group was created (before its listener) holds `[]` for it.
fn normalize_tg(desired: &mut Value, live: &mut Value) {
    super::net::normalize_tags(desired, live);
    for tree in [&mut *desired, &mut *live] {
        if let Some(o) = tree.as_object_mut() {
            o.remove("load_balancer_arns");
        }
    }
    let mut unknown: Vec<&str> = TG_ATTRIBUTES.iter().map(|(name, _, _)| *name).collect();
    unknown.extend([
        "lambda_multi_value_headers_enabled",
        "port",
        "protocol",
        "protocol_version",
        "vpc_id",
    ]);
    drop_unknown(desired, live, &unknown);
    for block in [
        "target_group_health",
        "target_failover",
        "target_health_state",
    ] {
        drop_unknown_leaves(desired, live, block);
    }
}

/// Like [`drop_unknown`], inside a nested block (`target_group_health[0]`,
/// `target_group_health[0].dns_failover[0]`): a setting the API did not
/// return is live `null` there (moto 5.1.22 returns none of the target group
/// health keys) and not compared.
fn drop_unknown_leaves(desired: &mut Value, live: &mut Value, block: &str) {
    let (Some(d), Some(l)) = (
        desired.pointer_mut(&format!("/{block}/0")),
        live.pointer_mut(&format!("/{block}/0")),
    ) else {
        return;
    };
    let (Some(d), Some(l)) = (d.as_object_mut(), l.as_object_mut()) else {
        return;
    };
    let keys: Vec<String> = l.keys().cloned().collect();
    for key in keys {
        match l.get_mut(&key) {
            Some(Value::Null) => {
                l.remove(&key);
                d.remove(&key);
            }
            Some(Value::Array(_)) => {
                if let Some(d_child) = d.get_mut(&key) {
                    let mut d_wrap = json!({ "b": d_child.take() });
                    let mut l_wrap = json!({ "b": l[&key].take() });
                    drop_unknown_leaves(&mut d_wrap, &mut l_wrap, "b");
                    *d_child = d_wrap["b"].take();
                    l[&key] = l_wrap["b"].take();
                }
            }
            _ => {}
        }
    }
}

fn list_target_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let groups = ctx
            .elbv2()
            .describe_target_groups()
            .page_size(PAGE_SIZE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| CollectError::from_sdk("elasticloadbalancing:DescribeTargetGroups", e))?;
        let arns: Vec<String> = groups
            .iter()
            .filter_map(|g| g.target_group_arn().map(str::to_string))
            .collect();
        let elbv2 = ctx.elbv2().clone();
        let attributes = per_resource(&arns, move |arn| {
            let elbv2 = elbv2.clone();
            async move {
                let answer = elbv2
                    .describe_target_group_attributes()
                    .target_group_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| {
                        CollectError::from_sdk(
                            "elasticloadbalancing:DescribeTargetGroupAttributes",
                            e,
                        )
                    })?;
                Ok(answer
                    .attributes()
                    .iter()
                    .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                    .collect::<HashMap<_, _>>())
            }
        })
        .await?;
        let tags = describe_tags(ctx, &arns).await?;
        Ok(groups
            .iter()
            .map(|g| {
                let arn = g.target_group_arn().unwrap_or_default();
                target_group_object(
                    g,
                    attributes.get(arn).unwrap_or(&HashMap::new()),
                    tags.get(arn).cloned().unwrap_or_else(|| json!({})),
                )
            })
            .collect())
    })
}

/// One target group in the provider's shape.
pub fn target_group_object(
    tg: &TargetGroup,
    attributes: &HashMap<String, String>,
    tags: Value,
) -> LiveObject {
    let arn = tg.target_group_arn().unwrap_or_default().to_string();
    let target_type = tg.target_type().map(|t| t.as_str()).unwrap_or_default();
    let protocol = tg.protocol();
    let is_http = matches!(protocol, Some(ProtocolEnum::Http | ProtocolEnum::Https));
    let get = |key: &str| attributes.get(key).map(String::as_str);

    let mut health_check = json!({
        "enabled": tg.health_check_enabled().unwrap_or(false),
        "healthy_threshold": tg.healthy_threshold_count().unwrap_or(0),
        "interval": tg.health_check_interval_seconds().unwrap_or(0),
        "matcher": "",
        "path": "",
        "port": s(tg.health_check_port()),
        "protocol": tg.health_check_protocol().map(|p| p.as_str()).unwrap_or_default(),
        "timeout": tg.health_check_timeout_seconds().unwrap_or(0),
        "unhealthy_threshold": tg.unhealthy_threshold_count().unwrap_or(0),
    });
    if let Some(path) = tg.health_check_path() {
        health_check["path"] = path.into();
    }
    if let Some(code) = tg.matcher().and_then(|m| m.grpc_code().or(m.http_code())) {
        health_check["matcher"] = code.into();
    }

    // Stickiness: type and enabled always; the cookie settings for HTTP(S)
    // only, and only those of the stickiness type in use.
    let stickiness_type = get("stickiness.type").unwrap_or_default();
    let mut stickiness = json!({
        "cookie_duration": 0,
        "cookie_name": "",
        "enabled": get("stickiness.enabled") == Some("true"),
        "type": stickiness_type,
    });
    if is_http {
        let duration = match stickiness_type {
            "lb_cookie" => get("stickiness.lb_cookie.duration_seconds"),
            "app_cookie" => {
                stickiness["cookie_name"] = get("stickiness.app_cookie.cookie_name")
                    .unwrap_or_default()
                    .into();
                get("stickiness.app_cookie.duration_seconds")
            }
            _ => None,
        };
        stickiness["cookie_duration"] = duration
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(0)
            .into();
    }
    let is_geneve = protocol == Some(&ProtocolEnum::Geneve);
    let target_failover = if is_geneve {
        json!([{
            "on_deregistration": get("target_failover.on_deregistration"),
            "on_unhealthy": get("target_failover.on_unhealthy"),
        }])
    } else {
        json!([{"on_deregistration": null, "on_unhealthy": null}])
    };
    let target_health_state = if matches!(protocol, Some(ProtocolEnum::Tcp | ProtocolEnum::Tls)) {
        json!([{
            "enable_unhealthy_connection_termination":
                get("target_health_state.unhealthy.connection_termination.enabled").map(|v| v == "true"),
            "unhealthy_draining_interval":
                get("target_health_state.unhealthy.draining_interval_seconds").and_then(|v| v.parse::<i64>().ok()),
        }])
    } else {
        json!([{"enable_unhealthy_connection_termination": null, "unhealthy_draining_interval": null}])
    };
    // Health thresholds apply to ALB and NLB target groups; a key the API does
    // not return is null in the provider's state (an empty nested map).
    let health = |key: &str| if is_geneve { None } else { get(key) };
    let target_group_health = json!([{
        "dns_failover": [{
            "minimum_healthy_targets_count":
                health("target_group_health.dns_failover.minimum_healthy_targets.count"),
            "minimum_healthy_targets_percentage":
                health("target_group_health.dns_failover.minimum_healthy_targets.percentage"),
        }],
        "unhealthy_state_routing": [{
            "minimum_healthy_targets_count":
                health("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count")
                    .and_then(|v| v.parse::<i64>().ok()),
            "minimum_healthy_targets_percentage":
                health("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"),
        }],
    }]);

    let mut object = json!({
        "arn": arn,
        "arn_suffix": tg_arn_suffix(&arn),
        "health_check": [health_check],
        "id": arn,
        "ip_address_type": tg.ip_address_type().map(|t| t.as_str()).unwrap_or_default(),
        "lambda_multi_value_headers_enabled": if target_type == "lambda" {
            typed(get("lambda.multi_value_headers.enabled"), Kind::Bool)
        } else {
            Value::Null
        },
        "load_balancer_arns": tg.load_balancer_arns(),
        "name": s(tg.target_group_name()),
        "port": tg.port(),
        "protocol": protocol.map(|p| p.as_str()),
        "protocol_version": tg.protocol_version(),
        "stickiness": [stickiness],
        "tags": tags.clone(),
        "tags_all": tags,
        "target_failover": target_failover,
        "target_group_health": target_group_health,
        "target_health_state": target_health_state,
        "target_type": target_type,
        "vpc_id": tg.vpc_id(),
    });
    let reads_attributes = matches!(target_type, "instance" | "ip");
    for (name, key, kind) in TG_ATTRIBUTES {
        object[*name] = if reads_attributes {
            typed(get(key), *kind)
        } else {
            Value::Null
        };
    }
    LiveObject {
        id: arn,
        attributes: object,
    }
}

fn tg_arn_suffix(arn: &str) -> String {
    arn.split_once(":targetgroup/")
        .map(|(_, suffix)| format!("targetgroup/{suffix}"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// aws_lb_listener

/// Listener settings kept in its attribute list: (attribute, API key, kind).
const LISTENER_ATTRIBUTES: &[(&str, &str, Kind)] = &[
    (
        "routing_http_request_x_amzn_mtls_clientcert_header_name",
        "routing.http.request.x_amzn_mtls_clientcert.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_mtls_clientcert_issuer_header_name",
        "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_mtls_clientcert_leaf_header_name",
        "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_mtls_clientcert_serial_number_header_name",
        "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_mtls_clientcert_subject_header_name",
        "routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_mtls_clientcert_validity_header_name",
        "routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_tls_cipher_suite_header_name",
        "routing.http.request.x_amzn_tls_cipher_suite.header_name",
        Kind::Str,
    ),
    (
        "routing_http_request_x_amzn_tls_version_header_name",
        "routing.http.request.x_amzn_tls_version.header_name",
        Kind::Str,
    ),
    (
        "routing_http_response_access_control_allow_credentials_header_value",
        "routing.http.response.access_control_allow_credentials.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_access_control_allow_headers_header_value",
        "routing.http.response.access_control_allow_headers.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_access_control_allow_methods_header_value",
        "routing.http.response.access_control_allow_methods.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_access_control_allow_origin_header_value",
        "routing.http.response.access_control_allow_origin.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_access_control_expose_headers_header_value",
        "routing.http.response.access_control_expose_headers.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_access_control_max_age_header_value",
        "routing.http.response.access_control_max_age.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_content_security_policy_header_value",
        "routing.http.response.content_security_policy.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_server_enabled",
        "routing.http.response.server.enabled",
        Kind::Bool,
    ),
    (
        "routing_http_response_strict_transport_security_header_value",
        "routing.http.response.strict_transport_security.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_x_content_type_options_header_value",
        "routing.http.response.x_content_type_options.header_value",
        Kind::Str,
    ),
    (
        "routing_http_response_x_frame_options_header_value",
        "routing.http.response.x_frame_options.header_value",
        Kind::Str,
    ),
    (
        "tcp_idle_timeout_seconds",
        "tcp.idle_timeout.seconds",
        Kind::Int,
    ),
];

static RULES_LISTENER: TypeRules = TypeRules {
    resource_type: "aws_lb_listener",
    global: false,
    ignore: &["timeouts"],
    sensitive: &[],
    sets: &["default_action.forward.target_group"],
    normalize: normalize_listener,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static LB_LISTENER: TypeDef = TypeDef {
    rules: &RULES_LISTENER,
    actions: &[
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeTags",
    ],
    list: list_listeners,
};

/// Settings that exist only for listeners of other protocols: an SSL policy
/// for TLS-terminating ones (HTTPS, TLS), a TCP idle timeout for NLB ones
/// (TCP, UDP, TCP_UDP, TLS). AWS returns neither for the others, and the
/// provider leaves them `""`/`null` (the HTTP listener of
/// `aws-cms-npd-ecs-rds-tf113`, provider 5.x); moto 5.1.22 returns its
/// defaults for every listener (`ELBSecurityPolicy-2016-08`, `350`). They
/// cannot be set on such a listener, so they are not compared there.
fn drop_other_protocols_settings(desired: &mut Value, live: &mut Value) {
    let protocol = live["protocol"].as_str().unwrap_or_default().to_string();
    let mut not_applicable = Vec::new();
    if !matches!(protocol.as_str(), "HTTPS" | "TLS") {
        not_applicable.push("ssl_policy");
    }
    if !matches!(protocol.as_str(), "TCP" | "UDP" | "TCP_UDP" | "TLS") {
        not_applicable.push("tcp_idle_timeout_seconds");
    }
    for name in not_applicable {
        for tree in [&mut *desired, &mut *live] {
            if let Some(o) = tree.as_object_mut() {
                o.remove(name);
            }
        }
    }
}

/// Besides tags and unknown attributes: a forward action is written either as
/// `target_group_arn` or as a `forward` block, whichever the configuration
/// used; the API returns both, so the live side keeps the form the state has.
/// The OIDC client secret is never returned by the API: not compared.
fn normalize_listener(desired: &mut Value, live: &mut Value) {
    super::net::normalize_tags(desired, live);
    let mut unknown: Vec<&str> = LISTENER_ATTRIBUTES
        .iter()
        .map(|(name, _, _)| *name)
        .collect();
    unknown.extend(["alpn_policy", "certificate_arn"]);
    drop_unknown(desired, live, &unknown);
    drop_other_protocols_settings(desired, live);
    let (Some(d_actions), Some(l_actions)) = (
        desired
            .get_mut("default_action")
            .and_then(Value::as_array_mut),
        live.get_mut("default_action").and_then(Value::as_array_mut),
    ) else {
        return;
    };
    for (d, l) in d_actions.iter_mut().zip(l_actions.iter_mut()) {
        if d["type"] == "forward" && l["type"] == "forward" {
            let d_forward_empty = d["forward"].as_array().is_none_or(Vec::is_empty);
            let d_arn_empty = d["target_group_arn"].as_str().is_none_or(str::is_empty);
            if d_forward_empty && !d_arn_empty {
                l["forward"] = json!([]);
            } else if !d_forward_empty {
                l["target_group_arn"] = d["target_group_arn"].clone();
            }
        }
        for action in [&mut *d, &mut *l] {
            if let Some(oidc) = action
                .get_mut("authenticate_oidc")
                .and_then(Value::as_array_mut)
            {
                for block in oidc {
                    if let Some(block) = block.as_object_mut() {
                        block.remove("client_secret");
                    }
                }
            }
        }
    }
}

fn list_listeners(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let lbs = load_balancers(ctx).await?;
        let lb_arns: Vec<String> = lbs
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
            .collect();
        let elbv2 = ctx.elbv2().clone();
        let by_lb = per_resource(&lb_arns, move |arn| {
            let elbv2 = elbv2.clone();
            async move {
                elbv2
                    .describe_listeners()
                    .load_balancer_arn(&arn)
                    .page_size(PAGE_SIZE)
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
                    .map_err(|e| {
                        CollectError::from_sdk("elasticloadbalancing:DescribeListeners", e)
                    })
            }
        })
        .await?;
        let listeners: Vec<_> = lb_arns
            .iter()
            .filter_map(|arn| by_lb.get(arn))
            .flatten()
            .cloned()
            .collect();
        // The API refuses DescribeListenerAttributes for TLS listeners.
        let with_attributes: Vec<String> = listeners
            .iter()
            .filter(|l| l.protocol() != Some(&ProtocolEnum::Tls))
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        let elbv2 = ctx.elbv2().clone();
        let attributes = per_resource(&with_attributes, move |arn| {
            let elbv2 = elbv2.clone();
            async move {
                let answer = elbv2
                    .describe_listener_attributes()
                    .listener_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| {
                        CollectError::from_sdk("elasticloadbalancing:DescribeListenerAttributes", e)
                    })?;
                Ok(answer
                    .attributes()
                    .iter()
                    .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                    .collect::<HashMap<_, _>>())
            }
        })
        .await?;
        let arns: Vec<String> = listeners
            .iter()
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        let tags = describe_tags(ctx, &arns).await?;
        Ok(listeners
            .iter()
            .map(|l| {
                let arn = l.listener_arn().unwrap_or_default();
                listener_object(
                    l,
                    attributes.get(arn).unwrap_or(&HashMap::new()),
                    tags.get(arn).cloned().unwrap_or_else(|| json!({})),
                )
            })
            .collect())
    })
}

/// One listener in the provider's shape.
pub fn listener_object(
    listener: &aws_sdk_elasticloadbalancingv2::types::Listener,
    attributes: &HashMap<String, String>,
    tags: Value,
) -> LiveObject {
    let arn = listener.listener_arn().unwrap_or_default().to_string();
    let mut actions: Vec<&Action> = listener.default_actions().iter().collect();
    actions.sort_by_key(|a| a.order().unwrap_or(0));
    let mutual_authentication = match listener.mutual_authentication() {
        Some(m) => json!([{
            "advertise_trust_store_ca_names":
                m.advertise_trust_store_ca_names().map(|v| v.as_str()).unwrap_or_default(),
            "ignore_client_certificate_expiry": m.ignore_client_certificate_expiry().unwrap_or(false),
            "mode": s(m.mode()),
            "trust_store_arn": s(m.trust_store_arn()),
        }]),
        None => json!([]),
    };
    let mut object = json!({
        "alpn_policy": match listener.alpn_policy() {
            [one] => Value::String(one.clone()),
            _ => Value::Null,
        },
        "arn": arn,
        "certificate_arn": match listener.certificates() {
            [one] => one.certificate_arn().map(|c| Value::String(c.to_string())).unwrap_or(Value::Null),
            _ => Value::Null,
        },
        "default_action": actions.iter().map(|a| action_object(a)).collect::<Vec<_>>(),
        "id": arn,
        "load_balancer_arn": s(listener.load_balancer_arn()),
        "mutual_authentication": mutual_authentication,
        "port": listener.port(),
        "protocol": listener.protocol().map(|p| p.as_str()).unwrap_or_default(),
        "ssl_policy": s(listener.ssl_policy()),
        "tags": tags.clone(),
        "tags_all": tags,
    });
    for (name, key, kind) in LISTENER_ATTRIBUTES {
        object[*name] = typed(attributes.get(*key).map(String::as_str), *kind);
    }
    LiveObject {
        id: arn,
        attributes: object,
    }
}

/// One `default_action` element. A forward action carries both the
/// `target_group_arn` form and the `forward` block form; `normalize_listener`
/// keeps the one the state uses.
fn action_object(action: &Action) -> Value {
    let kind = action.r#type().map(|t| t.as_str()).unwrap_or_default();
    let mut object = json!({
        "authenticate_cognito": [],
        "authenticate_oidc": [],
        "fixed_response": [],
        "forward": [],
        "order": action.order().unwrap_or(0),
        "redirect": [],
        "target_group_arn": "",
        "type": kind,
    });
    match action.r#type() {
        Some(ActionTypeEnum::Forward) => {
            let config = action.forward_config();
            let groups = config.map(|c| c.target_groups()).unwrap_or_default();
            object["target_group_arn"] = match (action.target_group_arn(), groups) {
                (Some(arn), _) => arn.into(),
                (None, [one]) => s(one.target_group_arn()),
                _ => "".into(),
            };
            let stickiness = config.and_then(|c| c.target_group_stickiness_config());
            if config.is_none() {
                return object;
            }
            object["forward"] = json!([{
                "stickiness": [{
                    "duration": stickiness.and_then(|s| s.duration_seconds()).unwrap_or(0),
                    "enabled": stickiness.and_then(|s| s.enabled()).unwrap_or(false),
                }],
                "target_group": groups.iter().map(|g| json!({
                    "arn": s(g.target_group_arn()),
                    "weight": g.weight().unwrap_or(1),
                })).collect::<Vec<_>>(),
            }]);
        }
        Some(ActionTypeEnum::Redirect) => {
            if let Some(r) = action.redirect_config() {
                object["redirect"] = json!([{
                    "host": s(r.host()),
                    "path": s(r.path()),
                    "port": s(r.port()),
                    "protocol": s(r.protocol()),
                    // Called by path: the read-only scan flags any method call named
                    // like DynamoDB's Query operation.
                    "query": s(RedirectActionConfig::query(r)),
                    "status_code": r.status_code().map(|c| c.as_str()).unwrap_or_default(),
                }]);
            }
        }
        Some(ActionTypeEnum::FixedResponse) => {
            if let Some(f) = action.fixed_response_config() {
                object["fixed_response"] = json!([{
                    "content_type": s(f.content_type()),
                    "message_body": s(f.message_body()),
                    "status_code": s(f.status_code()),
                }]);
            }
        }
        Some(ActionTypeEnum::AuthenticateCognito) => {
            if let Some(c) = action.authenticate_cognito_config() {
                object["authenticate_cognito"] = json!([{
                    "authentication_request_extra_params": string_map(c.authentication_request_extra_params()),
                    "on_unauthenticated_request": c.on_unauthenticated_request().map(|v| v.as_str()).unwrap_or_default(),
                    "scope": s(c.scope()),
                    "session_cookie_name": s(c.session_cookie_name()),
                    "session_timeout": c.session_timeout().unwrap_or(0),
                    "user_pool_arn": s(c.user_pool_arn()),
                    "user_pool_client_id": s(c.user_pool_client_id()),
                    "user_pool_domain": s(c.user_pool_domain()),
                }]);
            }
        }
        Some(ActionTypeEnum::AuthenticateOidc) => {
            if let Some(c) = action.authenticate_oidc_config() {
                object["authenticate_oidc"] = json!([{
                    "authentication_request_extra_params": string_map(c.authentication_request_extra_params()),
                    "authorization_endpoint": s(c.authorization_endpoint()),
                    "client_id": s(c.client_id()),
                    "issuer": s(c.issuer()),
                    "on_unauthenticated_request": c.on_unauthenticated_request().map(|v| v.as_str()).unwrap_or_default(),
                    "scope": s(c.scope()),
                    "session_cookie_name": s(c.session_cookie_name()),
                    "session_timeout": c.session_timeout().unwrap_or(0),
                    "token_endpoint": s(c.token_endpoint()),
                    "user_info_endpoint": s(c.user_info_endpoint()),
                }]);
            }
        }
        _ => {}
    }
    object
}

// ---------------------------------------------------------------------------
// Shared helpers

fn string_map(map: Option<&HashMap<String, String>>) -> Value {
    Value::Object(
        map.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// An attribute-list value in the provider's type; `null` when the API did
/// not return the key (see the module doc).
fn typed(value: Option<&str>, kind: Kind) -> Value {
    let Some(value) = value else {
        return Value::Null;
    };
    match kind {
        Kind::Bool => Value::Bool(value == "true"),
        Kind::Int => value.parse::<i64>().map(Value::from).unwrap_or(Value::Null),
        Kind::Str => Value::String(value.to_string()),
    }
}

/// Settings the API did not return (live `null`) are not compared: the
/// state holds whatever the configuration said for them.
fn drop_unknown(desired: &mut Value, live: &mut Value, names: &[&str]) {
    for name in names {
        if live.get(*name).is_some_and(Value::is_null) {
            for tree in [&mut *desired, &mut *live] {
                if let Some(o) = tree.as_object_mut() {
                    o.remove(*name);
                }
            }
        }
    }
}

/// Runs `call` for every ARN, a few at a time; any failure fails the whole
/// listing (a short list would make resources look missing).
async fn per_resource<T, F, Fut>(
    arns: &[String],
    call: F,
) -> Result<HashMap<String, T>, CollectError>
where
    T: Send + 'static,
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, CollectError>> + Send + 'static,
{
    let mut out = HashMap::with_capacity(arns.len());
    for chunk in arns.chunks(ATTRIBUTE_CONCURRENCY) {
        let mut calls = tokio::task::JoinSet::new();
        for arn in chunk {
            let future = call(arn.clone());
            let arn = arn.clone();
            calls.spawn(async move { (arn, future.await) });
        }
        while let Some(joined) = calls.join_next().await {
            let (arn, result) = joined.expect("an ELBv2 call does not panic");
            out.insert(arn, result?);
        }
    }
    Ok(out)
}

/// The tags of `arns` (any ELBv2 resource kind), 20 ARNs a call, as the
/// provider stores them: without AWS's own `aws:` tags.
async fn describe_tags(
    ctx: &RegionContext,
    arns: &[String],
) -> Result<HashMap<String, Value>, CollectError> {
    let mut out = HashMap::with_capacity(arns.len());
    for chunk in arns.chunks(TAGS_PER_CALL) {
        let answer = ctx
            .elbv2()
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| CollectError::from_sdk("elasticloadbalancing:DescribeTags", e))?;
        for description in answer.tag_descriptions() {
            let Some(arn) = description.resource_arn() else {
                continue;
            };
            let tags: Map<String, Value> = description
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), s(t.value()))))
                .filter(|(k, _)| !k.starts_with("aws:"))
                .collect();
            out.insert(arn.to_string(), Value::Object(tags));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_suffixes() {
        assert_eq!(
            lb_arn_suffix(
                "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/812a6a4f8224c584"
            ),
            "app/web/812a6a4f8224c584"
        );
        assert_eq!(
            tg_arn_suffix(
                "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/e85134e44dabca5a"
            ),
            "targetgroup/tg/e85134e44dabca5a"
        );
    }

    #[test]
    fn settings_the_api_did_not_return_are_not_compared() {
        let mut desired = json!({"idle_timeout": 60, "enable_http2": true});
        let mut live = json!({"idle_timeout": null, "enable_http2": false});
        drop_unknown(&mut desired, &mut live, &["idle_timeout", "enable_http2"]);
        assert_eq!(desired, json!({"enable_http2": true}));
        assert_eq!(live, json!({"enable_http2": false}));
    }

    #[test]
    fn an_http_listener_has_no_ssl_policy_nor_tcp_idle_timeout() {
        // aws-cms-npd-ecs-rds-tf113's HTTP listener: `ssl_policy = ""`,
        // `tcp_idle_timeout_seconds = null`; moto 5.1.22 returns both.
        let mut desired =
            json!({"protocol": "HTTP", "ssl_policy": "", "tcp_idle_timeout_seconds": null});
        let mut live = json!({"protocol": "HTTP", "ssl_policy": "ELBSecurityPolicy-2016-08", "tcp_idle_timeout_seconds": 350});
        normalize_listener(&mut desired, &mut live);
        assert_eq!(desired, live);
        // Where they exist, they are compared.
        let mut desired =
            json!({"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"});
        let mut live = json!({"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-2016-08"});
        normalize_listener(&mut desired, &mut live);
        assert_ne!(desired, live);
        let mut desired = json!({"protocol": "TCP", "tcp_idle_timeout_seconds": 350});
        let mut live = json!({"protocol": "TCP", "tcp_idle_timeout_seconds": 600});
        normalize_listener(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn unreturned_target_group_health_settings_are_not_compared() {
        let recorded = json!([{
            "dns_failover": [{"minimum_healthy_targets_count": "1", "minimum_healthy_targets_percentage": "off"}],
            "unhealthy_state_routing": [{"minimum_healthy_targets_count": 1, "minimum_healthy_targets_percentage": "off"}],
        }]);
        let mut desired = json!({"target_group_health": recorded.clone()});
        let mut live = json!({"target_group_health": [{
            "dns_failover": [{"minimum_healthy_targets_count": null, "minimum_healthy_targets_percentage": null}],
            "unhealthy_state_routing": [{"minimum_healthy_targets_count": null, "minimum_healthy_targets_percentage": "off"}],
        }]});
        normalize_tg(&mut desired, &mut live);
        assert_eq!(desired, live);
        assert_eq!(
            live["target_group_health"][0]["unhealthy_state_routing"][0]["minimum_healthy_targets_percentage"],
            "off"
        );
        // A returned value that differs still shows.
        let mut desired = json!({"target_group_health": recorded});
        let mut live = json!({"target_group_health": [{
            "dns_failover": [{"minimum_healthy_targets_count": "2", "minimum_healthy_targets_percentage": "off"}],
            "unhealthy_state_routing": [{"minimum_healthy_targets_count": 1, "minimum_healthy_targets_percentage": "off"}],
        }]});
        normalize_tg(&mut desired, &mut live);
        assert_ne!(desired, live);
    }

    #[test]
    fn a_forward_action_keeps_the_form_the_state_uses() {
        let tg = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/tg/1";
        let live_action = json!({
            "type": "forward", "target_group_arn": tg,
            "forward": [{"stickiness": [{"duration": 0, "enabled": false}], "target_group": [{"arn": tg, "weight": 1}]}],
        });
        let mut desired =
            json!({"default_action": [{"type": "forward", "target_group_arn": tg, "forward": []}]});
        let mut live = json!({"default_action": [live_action.clone()]});
        normalize_listener(&mut desired, &mut live);
        assert_eq!(desired["default_action"], live["default_action"]);

        let mut desired = json!({"default_action": [{"type": "forward", "target_group_arn": "",
            "forward": live_action["forward"].clone()}]});
        let mut live = json!({"default_action": [live_action]});
        normalize_listener(&mut desired, &mut live);
        assert_eq!(desired["default_action"], live["default_action"]);
    }
}
