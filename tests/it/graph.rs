//! The resource graph: edges from dependencies and references, blast radius.

use crate::support::corpus_dir;
use driftd::graph::{EdgeKind, ResourceGraph};
use driftd::model::{Mode, Origin, Resource};
use driftd::secrets::SecretKey;
use driftd::state::parse_state;
use petgraph::Direction;

fn state(text: &str, origin: &str) -> Vec<Resource> {
    parse_state(
        text.as_bytes(),
        &Origin::from(origin),
        &SecretKey::from_bytes([1; 32]),
    )
    .unwrap()
    .resources
}

fn corpus(path: &str) -> Vec<Resource> {
    let text = std::fs::read_to_string(corpus_dir().join("terraform-state").join(path)).unwrap();
    state(&text, path)
}

fn index(resources: &[Resource], address: &str) -> usize {
    resources
        .iter()
        .position(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no {address}"))
}

fn addresses(resources: &[Resource], idx: &[usize]) -> Vec<String> {
    let mut v: Vec<String> = idx
        .iter()
        .map(|&i| resources[i].address.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn real_state_vpc_blast_radius() {
    let rs = corpus("aws/aws-kong-vpc-sg-tf012.tfstate");
    let (g, _) = ResourceGraph::build(&rs);
    let vpc = index(&rs, "aws_vpc.kong_vpc");
    // Six subnets and the security group name the VPC in vpc_id; the DB subnet group
    // depends on it (state dependencies) and on two subnets (subnet_ids).
    assert_eq!(
        addresses(&rs, &g.dependents(vpc)),
        vec![
            "aws_db_subnet_group.k_db_subnet_group",
            "aws_security_group.kong_vpc_sg",
            "aws_subnet.cache_subnet",
            "aws_subnet.db_subnet_1",
            "aws_subnet.db_subnet_2",
            "aws_subnet.private_subnet_1",
            "aws_subnet.private_subnet_2",
            "aws_subnet.public_subnet",
        ]
    );
    let subnet = index(&rs, "aws_subnet.db_subnet_1");
    assert_eq!(
        addresses(&rs, &g.dependents(subnet)),
        vec!["aws_db_subnet_group.k_db_subnet_group"]
    );
    let sg = index(&rs, "aws_security_group.kong_vpc_sg");
    let n = g.neighbours(sg);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].resource, vpc);
    assert_eq!(n[0].direction, Direction::Outgoing);
    assert_eq!(
        n[0].kind,
        EdgeKind::References {
            attribute: "vpc_id".into()
        }
    );
    assert_eq!(g.blast_radius(sg), 0);
}

const NAMES: &str = r#"{"version":4,"serial":1,"lineage":"l","resources":[
 {"mode":"managed","type":"aws_iam_role","name":"app","provider":"provider.aws",
  "instances":[{"schema_version":0,"attributes":{"id":"app-role","name":"app-role","arn":"arn:aws:iam::111111111111:role/app-role"}}]},
 {"mode":"managed","type":"aws_iam_role_policy_attachment","name":"a","provider":"provider.aws",
  "instances":[{"schema_version":0,"attributes":{"id":"app-role-2024","role":"app-role","policy_arn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}}]},
 {"mode":"managed","type":"aws_iam_instance_profile","name":"p","provider":"provider.aws",
  "instances":[{"schema_version":0,"attributes":{"id":"app-profile","name":"app-profile","role":"app-role"}}]},
 {"mode":"managed","type":"aws_instance","name":"web","provider":"provider.aws",
  "instances":[{"schema_version":1,"attributes":{"id":"i-0123456789abcdef0","iam_instance_profile":"app-profile",
   "vpc_security_group_ids":["sg-0aaaaaaaaaaaaaaaa"]}}]},
 {"mode":"data","type":"aws_security_group","name":"shared","provider":"provider.aws",
  "instances":[{"schema_version":0,"attributes":{"id":"sg-0aaaaaaaaaaaaaaaa"}}]},
 {"mode":"managed","type":"aws_lambda_permission","name":"x","provider":"provider.aws",
  "instances":[{"schema_version":0,"attributes":{"id":"perm","source_arn":"arn:aws:iam::111111111111:role/app-role"}}]}]}"#;

#[test]
fn references_by_name_arn_and_id_are_edges() {
    let rs = state(NAMES, "names.tfstate");
    let (g, _) = ResourceGraph::build(&rs);
    let role = index(&rs, "aws_iam_role.app");
    assert_eq!(
        addresses(&rs, &g.dependents(role)),
        vec![
            "aws_iam_instance_profile.p",
            "aws_iam_role_policy_attachment.a",
            "aws_instance.web",
            "aws_lambda_permission.x",
        ],
        "the instance depends on the role through its instance profile"
    );
    // A data source is a node too, and a reference to it is an edge.
    let sg = index(&rs, "data.aws_security_group.shared");
    assert_eq!(rs[sg].address.mode, Mode::Data);
    assert_eq!(addresses(&rs, &g.dependents(sg)), vec!["aws_instance.web"]);
}

#[test]
fn references_cross_states_but_dependencies_do_not() {
    let network = r#"{"version":4,"serial":1,"lineage":"n","resources":[
     {"mode":"managed","type":"aws_vpc","name":"main","provider":"provider.aws",
      "instances":[{"schema_version":1,"attributes":{"id":"vpc-0bbbbbbbbbbbbbbbb"}}]}]}"#;
    let app = r#"{"version":4,"serial":1,"lineage":"a","resources":[
     {"mode":"managed","type":"aws_vpc","name":"main","provider":"provider.aws",
      "instances":[{"schema_version":1,"attributes":{"id":"vpc-0cccccccccccccccc"}}]},
     {"mode":"managed","type":"aws_security_group","name":"app","provider":"provider.aws",
      "instances":[{"schema_version":1,"attributes":{"id":"sg-0dddddddddddddddd","vpc_id":"vpc-0bbbbbbbbbbbbbbbb"},
       "dependencies":["aws_vpc.main"]}]}]}"#;
    let mut rs = state(network, "network.tfstate");
    rs.extend(state(app, "app.tfstate"));
    let (g, _) = ResourceGraph::build(&rs);
    // The SG references the network state's VPC by id, and depends (in its own state)
    // on the app state's aws_vpc.main: two edges, one per VPC.
    assert_eq!(g.dependents(0), vec![2]);
    assert_eq!(g.dependents(1), vec![2]);
    let kinds: Vec<EdgeKind> = g.neighbours(2).into_iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EdgeKind::References {
                attribute: "vpc_id".into()
            },
            EdgeKind::DependsOn
        ]
    );
}

#[test]
fn every_corpus_state_builds_a_graph() {
    let dir = corpus_dir().join("terraform-state");
    let mut edges = 0;
    for sub in ["aws", "azure", "other-providers"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let rs = state(&text, &path.to_string_lossy());
            let (g, _) = ResourceGraph::build(&rs);
            assert_eq!(g.node_count(), rs.len());
            edges += g.edge_count();
        }
    }
    assert!(edges > 300, "real states have many edges; found {edges}");
}
