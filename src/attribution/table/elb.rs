//! Elastic Load Balancing v2 (`aws::types::elb`): load balancers, target
//! groups and listeners, all keyed by ARN as requests name them. Deleting a
//! load balancer deletes its listeners.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const ELB: &str = "elasticloadbalancing.amazonaws.com";

const LB: &[(&str, &str)] = &[("requestParameters.loadBalancerArn", "id")];
const TARGET_GROUP: &[(&str, &str)] = &[("requestParameters.targetGroupArn", "id")];
const LISTENER: &[(&str, &str)] = &[("requestParameters.listenerArn", "id")];
/// `AddTags` / `RemoveTags` take a list of ARNs of any of the three kinds.
const TAGGED: &[(&str, &str)] = &[("requestParameters.resourceArns[]", "id")];

/// The load balancer attributes `ModifyLoadBalancerAttributes` sets.
const LB_ATTRIBUTES: &[&str] = &[
    "access_logs",
    "client_keep_alive",
    "connection_logs",
    "desync_mitigation_mode",
    "dns_record_client_routing_policy",
    "drop_invalid_header_fields",
    "enable_cross_zone_load_balancing",
    "enable_deletion_protection",
    "enable_http2",
    "enable_tls_version_and_cipher_suite_headers",
    "enable_waf_fail_open",
    "enable_xff_client_port",
    "enable_zonal_shift",
    "idle_timeout",
    "preserve_host_header",
    "xff_header_processing_mode",
];
/// The target group attributes `ModifyTargetGroupAttributes` sets.
const TARGET_GROUP_ATTRIBUTES: &[&str] = &[
    "connection_termination",
    "deregistration_delay",
    "lambda_multi_value_headers_enabled",
    "load_balancing_algorithm_type",
    "load_balancing_anomaly_mitigation",
    "load_balancing_cross_zone_enabled",
    "preserve_client_ip",
    "proxy_protocol_v2",
    "slow_start",
    "stickiness",
    "target_failover",
    "target_group_health",
    "target_health_state",
];
/// What `ModifyListener` sets.
const LISTENER_SETTINGS: &[&str] = &[
    "alpn_policy",
    "certificate_arn",
    "default_action",
    "mutual_authentication",
    "port",
    "protocol",
    "ssl_policy",
];
/// The listener attributes `ModifyListenerAttributes` sets.
const LISTENER_ATTRIBUTES: &[&str] = &[
    "routing_http_request_x_amzn_mtls_clientcert_header_name",
    "routing_http_request_x_amzn_mtls_clientcert_issuer_header_name",
    "routing_http_request_x_amzn_mtls_clientcert_leaf_header_name",
    "routing_http_request_x_amzn_mtls_clientcert_serial_number_header_name",
    "routing_http_request_x_amzn_mtls_clientcert_subject_header_name",
    "routing_http_request_x_amzn_mtls_clientcert_validity_header_name",
    "routing_http_request_x_amzn_tls_cipher_suite_header_name",
    "routing_http_request_x_amzn_tls_version_header_name",
    "routing_http_response_access_control_allow_credentials_header_value",
    "routing_http_response_access_control_allow_headers_header_value",
    "routing_http_response_access_control_allow_methods_header_value",
    "routing_http_response_access_control_allow_origin_header_value",
    "routing_http_response_access_control_expose_headers_header_value",
    "routing_http_response_access_control_max_age_header_value",
    "routing_http_response_content_security_policy_header_value",
    "routing_http_response_server_enabled",
    "routing_http_response_strict_transport_security_header_value",
    "routing_http_response_x_content_type_options_header_value",
    "routing_http_response_x_frame_options_header_value",
    "tcp_idle_timeout_seconds",
];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_lb ---
    rule(ELB, "CreateLoadBalancer", "aws_lb", Create, &[("responseElements.loadBalancers[].loadBalancerArn", "id")]),
    rule(ELB, "DeleteLoadBalancer", "aws_lb", Delete, LB),
    rule(ELB, "ModifyLoadBalancerAttributes", "aws_lb", Modify(LB_ATTRIBUTES), LB),
    rule(ELB, "SetSecurityGroups", "aws_lb", Modify(&["enforce_security_group_inbound_rules_on_private_link_traffic", "security_groups"]), LB),
    rule(ELB, "SetSubnets", "aws_lb", Modify(&["subnet_mapping", "subnets"]), LB),
    rule(ELB, "SetIpAddressType", "aws_lb", Modify(&["ip_address_type"]), LB),
    rule(ELB, "AddTags", "aws_lb", TAGS, TAGGED),
    rule(ELB, "RemoveTags", "aws_lb", TAGS, TAGGED),
    // --- aws_lb_target_group ---
    rule(ELB, "CreateTargetGroup", "aws_lb_target_group", Create, &[("responseElements.targetGroups[].targetGroupArn", "id")]),
    rule(ELB, "DeleteTargetGroup", "aws_lb_target_group", Delete, TARGET_GROUP),
    rule(ELB, "ModifyTargetGroup", "aws_lb_target_group", Modify(&["health_check"]), TARGET_GROUP),
    rule(ELB, "ModifyTargetGroupAttributes", "aws_lb_target_group", Modify(TARGET_GROUP_ATTRIBUTES), TARGET_GROUP),
    rule(ELB, "AddTags", "aws_lb_target_group", TAGS, TAGGED),
    rule(ELB, "RemoveTags", "aws_lb_target_group", TAGS, TAGGED),
    // --- aws_lb_listener ---
    rule(ELB, "CreateListener", "aws_lb_listener", Create, &[("responseElements.listeners[].listenerArn", "id")]),
    rule(ELB, "DeleteListener", "aws_lb_listener", Delete, LISTENER),
    rule(ELB, "DeleteLoadBalancer", "aws_lb_listener", Delete, &[("requestParameters.loadBalancerArn", "load_balancer_arn")]),
    rule(ELB, "ModifyListener", "aws_lb_listener", Modify(LISTENER_SETTINGS), LISTENER),
    rule(ELB, "ModifyListenerAttributes", "aws_lb_listener", Modify(LISTENER_ATTRIBUTES), LISTENER),
    rule(ELB, "AddTags", "aws_lb_listener", TAGS, TAGGED),
    rule(ELB, "RemoveTags", "aws_lb_listener", TAGS, TAGGED),
];

#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_lb", &["arn", "id"], false),
    lookup("aws_lb_target_group", &["arn", "id"], false),
    lookup("aws_lb_listener", &["arn", "id"], false),
];
