//! ELBv2 load balancers, target groups and listeners against a real AWS
//! emulator (moto) and a real `terraform apply`: the raw state shows no drift,
//! the refreshed state equals the live mapping, and changes made by hand drift
//! exactly where Terraform's refresh-only plan says.

use crate::aws_logs::{
    assert_refreshed_state_equals_live, assert_schema, driftd_says, list, terraform_says,
};
use crate::support::moto::MotoServer;
use crate::support::terraform::Workspace;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerAttribute, ProtocolEnum, Tag};
use driftd::aws::TypeDef;
use driftd::aws::types::elb;

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
