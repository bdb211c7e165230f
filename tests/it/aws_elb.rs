//! ELBv2 load balancers, target groups and listeners against a real AWS
//! emulator (moto) and a real `terraform apply`: the raw state shows no drift,
//! the refreshed state equals the live mapping, and changes made by hand drift
//! exactly where Terraform's refresh-only plan says. Objects made with the SDK
//! are compared whole with the provider's shape.

use crate::aws_logs::{
    assert_refreshed_state_equals_live, assert_schema, driftd_says, list, object, sort_sets,
    terraform_says,
};
use crate::support::fault_proxy::{Fault, FaultProxy};
use crate::support::moto::MotoServer;
use crate::support::terraform::Workspace;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
    ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum, Tag,
};
use driftd::aws::types::elb;
use driftd::aws::{TypeDef, collect};
use driftd::live::Listing;
use serde_json::{Value, json};

const ELB: &[&TypeDef] = &[&elb::LB, &elb::LB_TARGET_GROUP, &elb::LB_LISTENER];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elb_types_after_terraform_drift_where_terraform_says() {
    let moto = MotoServer::start();
    let mut ws = Workspace::new("elb", &moto.endpoint_url());
    tokio::task::block_in_place(|| {
        ws.init();
        ws.apply();
    });
    assert_eq!(driftd_says(&moto, &ws, ELB).await, Vec::<String>::new());
    tokio::task::block_in_place(|| ws.refresh_only_apply());
    for def in ELB {
        assert!(assert_refreshed_state_equals_live(&moto, &ws, def).await > 0);
    }
    let inventory = list(&moto, ELB).await;
    for def in ELB {
        assert_schema(&inventory, def);
    }

    // A person raises a health check threshold, turns on deletion protection,
    // tags a listener, deletes another, and makes a target group by hand.
    let c = aws_sdk_elasticloadbalancingv2::Client::new(&moto.sdk_config().await);
    c.modify_target_group()
        .target_group_arn(ws.resource_id("aws_lb_target_group.web"))
        .healthy_threshold_count(6)
        .send()
        .await
        .unwrap();
    c.modify_load_balancer_attributes()
        .load_balancer_arn(ws.resource_id("aws_lb.web"))
        .attributes(
            LoadBalancerAttribute::builder()
                .key("deletion_protection.enabled")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.add_tags()
        .resource_arns(ws.resource_id("aws_lb_listener.http"))
        .tags(Tag::builder().key("owner").value("oncall").build())
        .send()
        .await
        .unwrap();
    c.delete_listener()
        .listener_arn(ws.resource_id("aws_lb_listener.fixed"))
        .send()
        .await
        .unwrap();
    let vpc = ws.resource_id("aws_vpc.main");
    let stray = c
        .create_target_group()
        .name("stray")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    let stray = stray.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();

    let referee = tokio::task::block_in_place(|| terraform_says(&mut ws));
    assert_eq!(
        referee,
        vec![
            "aws_lb.web: enable_deletion_protection".to_string(),
            "aws_lb_listener.fixed: deleted".to_string(),
            "aws_lb_listener.http: tags".to_string(),
            "aws_lb_target_group.web: health_check".to_string(),
        ]
    );
    let mut expected = referee.clone();
    expected.push(format!("unmanaged aws_lb_target_group.{stray}"));
    expected.sort();
    assert_eq!(driftd_says(&moto, &ws, ELB).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elb_types_map_into_the_provider_shape() {
    let moto = MotoServer::start();
    let config = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let c = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let vpc = ec2.describe_vpcs().send().await.unwrap().vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let subnets: Vec<String> = ec2
        .describe_subnets()
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .filter(|s| s.vpc_id() == Some(vpc.as_str()))
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .take(2)
        .collect();
    let sg = ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
        .iter()
        .find(|g| g.vpc_id() == Some(vpc.as_str()))
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();

    // An application load balancer, tagged; an internal network one.
    let alb = c
        .create_load_balancer()
        .name("alb")
        .set_subnets(Some(subnets.clone()))
        .security_groups(&sg)
        .tags(Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone();
    let nlb = c
        .create_load_balancer()
        .name("nlb")
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::Internal)
        .set_subnets(Some(subnets.clone()))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone();
    // A target group with a custom health check, and two listeners.
    let tg = c
        .create_target_group()
        .name("tg-http")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(&vpc)
        .health_check_path("/hc")
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .clone();
    let tg_arn = tg.target_group_arn().unwrap().to_string();
    let alb_arn = alb.load_balancer_arn().unwrap().to_string();
    let forward = c
        .create_listener()
        .load_balancer_arn(&alb_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .clone();
    let redirect = c
        .create_listener()
        .load_balancer_arn(&alb_arn)
        .protocol(ProtocolEnum::Http)
        .port(81)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .order(1)
                .redirect_config(
                    RedirectActionConfig::builder()
                        .protocol("HTTPS")
                        .port("443")
                        .host("#{host}")
                        .path("/#{path}")
                        .query("#{query}")
                        .status_code(RedirectActionStatusCodeEnum::Http301)
                        .build(),
                )
                .build(),
        )
        .tags(Tag::builder().key("kind").value("redirect").build())
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .clone();

    let inventory = list(&moto, ELB).await;
    let live = |t: &str, id: &str| {
        let mut v = object(&inventory, t, id);
        let def = ELB.iter().find(|d| d.rules.resource_type == t).unwrap();
        sort_sets(&mut v, def.rules.sets);
        v
    };
    let mut sorted_subnets = subnets.clone();
    sorted_subnets.sort();
    let mapping: Vec<Value> = sorted_subnets
        .iter()
        .map(|s| json!({"allocation_id": "", "ipv6_address": "", "outpost_id": "", "private_ipv4_address": "", "subnet_id": s}))
        .collect();
    let no_logs = json!([{"bucket": "", "enabled": false, "prefix": ""}]);
    let suffix = |arn: &str| arn.split_once(":loadbalancer/").unwrap().1.to_string();
    // moto 5.1.22 returns only four load balancer attributes; the others are
    // unknown (null) and not compared.
    let unknown_lb_settings = json!({
        "client_keep_alive": null, "desync_mitigation_mode": null,
        "dns_record_client_routing_policy": null, "drop_invalid_header_fields": null,
        "enable_http2": null, "enable_tls_version_and_cipher_suite_headers": null,
        "enable_waf_fail_open": null, "enable_xff_client_port": null,
        "enable_zonal_shift": null, "idle_timeout": null, "preserve_host_header": null,
        "xff_header_processing_mode": null,
    });
    let with = |mut base: Value, extra: &Value| {
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };
    assert_eq!(
        live("aws_lb", &alb_arn),
        with(
            json!({
                "access_logs": no_logs,
                "arn": alb_arn,
                "arn_suffix": suffix(&alb_arn),
                "connection_logs": no_logs,
                "customer_owned_ipv4_pool": "",
                "dns_name": alb.dns_name().unwrap(),
                "enable_cross_zone_load_balancing": false,
                "enable_deletion_protection": false,
                "enforce_security_group_inbound_rules_on_private_link_traffic": "",
                "id": alb_arn,
                "internal": false,
                "ip_address_type": "ipv4",
                "ipam_pools": [],
                "load_balancer_type": "application",
                "name": "alb",
                "security_groups": [sg],
                "subnet_mapping": mapping,
                "subnets": sorted_subnets,
                "tags": {"team": "web"},
                "tags_all": {"team": "web"},
                "vpc_id": vpc,
                "zone_id": alb.canonical_hosted_zone_id().unwrap(),
            }),
            &unknown_lb_settings
        )
    );
    let nlb_arn = nlb.load_balancer_arn().unwrap();
    let nlb_live = live("aws_lb", nlb_arn);
    assert_eq!(nlb_live["internal"], true);
    assert_eq!(nlb_live["load_balancer_type"], "network");
    assert_eq!(nlb_live["connection_logs"], Value::Null, "ALB only");
    assert_eq!(nlb_live["security_groups"], json!([]));

    assert_eq!(
        live("aws_lb_target_group", &tg_arn),
        json!({
            "arn": tg_arn,
            "arn_suffix": format!("targetgroup/{}", tg_arn.split_once(":targetgroup/").unwrap().1),
            "connection_termination": null,
            "deregistration_delay": "300",
            "health_check": [{
                "enabled": true, "healthy_threshold": 5, "interval": 30, "matcher": "200",
                "path": "/hc", "port": "traffic-port", "protocol": "HTTP", "timeout": 5,
                "unhealthy_threshold": 2,
            }],
            "id": tg_arn,
            "ip_address_type": "ipv4",
            "lambda_multi_value_headers_enabled": null,
            "load_balancer_arns": [alb_arn],
            "load_balancing_algorithm_type": "round_robin",
            "load_balancing_anomaly_mitigation": null,
            "load_balancing_cross_zone_enabled": "use_load_balancer_configuration",
            "name": "tg-http",
            "port": 80,
            "preserve_client_ip": null,
            "protocol": "HTTP",
            "protocol_version": "HTTP1",
            "proxy_protocol_v2": null,
            "slow_start": 0,
            "stickiness": [{"cookie_duration": 0, "cookie_name": "", "enabled": false, "type": "lb_cookie"}],
            "tags": {},
            "tags_all": {},
            "target_failover": [{"on_deregistration": null, "on_unhealthy": null}],
            "target_group_health": [{
                "dns_failover": [{"minimum_healthy_targets_count": null, "minimum_healthy_targets_percentage": null}],
                "unhealthy_state_routing": [{"minimum_healthy_targets_count": null, "minimum_healthy_targets_percentage": null}],
            }],
            "target_health_state": [{"enable_unhealthy_connection_termination": null, "unhealthy_draining_interval": null}],
            "target_type": "instance",
            "vpc_id": vpc,
        })
    );

    let listener = |arn: &str, port: i64, action: Value, tags: Value| {
        let mut expected = json!({
            "alpn_policy": null,
            "arn": arn,
            "certificate_arn": null,
            "default_action": [action],
            "id": arn,
            "load_balancer_arn": alb_arn,
            "mutual_authentication": [],
            "port": port,
            "protocol": "HTTP",
            "ssl_policy": "ELBSecurityPolicy-2016-08",
            "tags": tags.clone(),
            "tags_all": tags,
            // moto answers this TCP-only attribute for HTTP listeners too.
            "tcp_idle_timeout_seconds": 350,
        });
        for name in LISTENER_HEADER_SETTINGS {
            expected[*name] = Value::Null;
        }
        expected
    };
    let action = |kind: &str, order: i64| {
        json!({
            "authenticate_cognito": [], "authenticate_oidc": [], "fixed_response": [],
            "forward": [], "order": order, "redirect": [], "target_group_arn": "", "type": kind,
        })
    };
    let forward_arn = forward.listener_arn().unwrap();
    assert_eq!(
        live("aws_lb_listener", forward_arn),
        listener(
            forward_arn,
            80,
            with(action("forward", 0), &json!({"target_group_arn": tg_arn})),
            json!({})
        )
    );
    let redirect_arn = redirect.listener_arn().unwrap();
    assert_eq!(
        live("aws_lb_listener", redirect_arn),
        listener(
            redirect_arn,
            81,
            with(
                action("redirect", 1),
                &json!({"redirect": [{
                    "host": "#{host}", "path": "/#{path}", "port": "443", "protocol": "HTTPS",
                    "query": "#{query}", "status_code": "HTTP_301",
                }]})
            ),
            json!({"kind": "redirect"})
        )
    );
    for def in ELB {
        assert_schema(&inventory, def);
    }
}

/// The listener settings moto 5.1.22 does not return for HTTP listeners.
const LISTENER_HEADER_SETTINGS: &[&str] = &[
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
];

/// Tags are read 20 ARNs a call, the load balancers once for both types that
/// need them; a denied attribute call makes its type unknown, never short.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elb_calls_are_batched_and_a_failed_call_makes_the_listing_unknown() {
    let moto = MotoServer::start();
    let proxy = FaultProxy::start(&moto.endpoint_url());
    let config = moto.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let c = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let vpc = ec2.describe_vpcs().send().await.unwrap().vpcs()[0]
        .vpc_id()
        .unwrap()
        .to_string();
    let subnets: Vec<String> = ec2
        .describe_subnets()
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .filter(|s| s.vpc_id() == Some(vpc.as_str()))
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .take(2)
        .collect();
    c.create_load_balancer()
        .name("alb")
        .set_subnets(Some(subnets))
        .send()
        .await
        .unwrap();
    for i in 0..25 {
        c.create_target_group()
            .name(format!("tg-{i}"))
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
    }

    let mut scope = crate::aws_logs::scope(&moto);
    scope.endpoint_url = Some(proxy.endpoint_url());
    let key = crate::aws_logs::key();
    let options = crate::aws_logs::options();
    let (inventory, _) = collect(&scope, ELB, &options, &key).await;
    assert!(!inventory.is_partial(), "{:?}", inventory.coverage);
    assert_eq!(inventory.resources.len(), 26);
    let service = "elasticloadbalancing";
    assert_eq!(proxy.count(service, "DescribeLoadBalancers"), 1, "shared");
    assert_eq!(proxy.count(service, "DescribeTargetGroupAttributes"), 25);
    // 25 target groups in two calls, the load balancer in one; no listeners.
    assert_eq!(proxy.count(service, "DescribeTags"), 3);

    proxy.fault_operation(service, "DescribeTargetGroupAttributes", Fault::Deny);
    let (inventory, _) = collect(&scope, ELB, &options, &key).await;
    let coverage = |t: &str| {
        inventory
            .coverage
            .iter()
            .find(|c| c.resource_type == t)
            .unwrap()
            .listing
            .clone()
    };
    assert_eq!(coverage("aws_lb"), Listing::Complete);
    match coverage("aws_lb_target_group") {
        Listing::Unknown { reason } => assert!(
            reason.contains("elasticloadbalancing:DescribeTargetGroupAttributes"),
            "{reason}"
        ),
        Listing::Complete => panic!("a denied call must not give a short listing"),
    }
    assert!(
        inventory
            .resources
            .iter()
            .all(|r| &*r.key.resource_type != "aws_lb_target_group")
    );
}
