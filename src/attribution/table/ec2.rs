//! EC2: the network (`aws::types::net`), security groups and their rules
//! (`sg`), and compute (`compute`).
//!
//! EC2 records come in two shapes: the classic one (`requestParameters.vpcId`,
//! lists as `…Set.items[]`) and, for newer operations, the request wrapped in
//! `<Operation>Request` with the API's own capitalisation
//! (`requestParameters.DeleteNatGatewayRequest.NatGatewayId`). Every path here
//! is the shape the operation's real records have.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const EC2: &str = "ec2.amazonaws.com";

/// `CreateTags` / `DeleteTags` name the resources by id.
const TAGGED: &[(&str, &str)] = &[("requestParameters.resourcesSet.items[].resourceId", "id")];
const VPC: &[(&str, &str)] = &[("requestParameters.vpcId", "id")];
const NEW_VPC_OF: &[(&str, &str)] = &[("responseElements.vpc.vpcId", "vpc_id")];
const DELETED_VPC_OF: &[(&str, &str)] = &[("requestParameters.vpcId", "vpc_id")];
const SUBNET: &[(&str, &str)] = &[("requestParameters.subnetId", "id")];
const GATEWAY: &[(&str, &str)] = &[("requestParameters.internetGatewayId", "id")];
const TABLE: &[(&str, &str)] = &[("requestParameters.routeTableId", "id")];
const ROUTE: &[(&str, &str)] = &[
    ("requestParameters.routeTableId", "route_table_id"),
    (
        "requestParameters.destinationCidrBlock",
        "destination_cidr_block",
    ),
];
const ACL: &[(&str, &str)] = &[("requestParameters.networkAclId", "id")];
const GROUP: &[(&str, &str)] = &[("requestParameters.groupId", "id")];
const RULES_OF_GROUP: &[(&str, &str)] = &[("requestParameters.groupId", "security_group_id")];
/// `ModifySecurityGroupRules` names the group and each rule it rewrites.
const MODIFIED_GROUP: &[(&str, &str)] = &[(
    "requestParameters.ModifySecurityGroupRulesRequest.GroupId",
    "id",
)];
const MODIFIED_RULE: &[(&str, &str)] = &[(
    "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule[].SecurityGroupRuleId",
    "id",
)];
const MODIFIED_SG_RULE: &[(&str, &str)] = &[(
    "requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule[].SecurityGroupRuleId",
    "security_group_rule_id",
)];
const INSTANCES: &[(&str, &str)] = &[("requestParameters.instancesSet.items[].instanceId", "id")];
const INSTANCE: &[(&str, &str)] = &[("requestParameters.instanceId", "id")];
const KEY_NAME: &[(&str, &str)] = &[("requestParameters.keyName", "id")];

/// What `ReplaceRoute` can point a route at.
const ROUTE_TARGETS: &[&str] = &[
    "carrier_gateway_id",
    "core_network_arn",
    "egress_only_gateway_id",
    "gateway_id",
    "instance_id",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];
const ACL_ENTRIES: Effect = Modify(&["ingress", "egress"]);
const EIP_ASSOCIATION: Effect = Modify(&[
    "association_id",
    "instance",
    "network_interface",
    "private_dns",
    "private_ip",
]);
const SG_RULE_ATTRIBUTES: &[&str] = &[
    "cidr_blocks",
    "description",
    "from_port",
    "ipv6_cidr_blocks",
    "prefix_list_ids",
    "protocol",
    "self",
    "source_security_group_id",
    "to_port",
];
const VPC_RULE_ATTRIBUTES: &[&str] = &[
    "cidr_ipv4",
    "cidr_ipv6",
    "description",
    "from_port",
    "ip_protocol",
    "prefix_list_id",
    "referenced_security_group_id",
    "to_port",
];
/// What `ModifyInstanceAttribute` sets, one attribute a call.
const INSTANCE_ATTRIBUTES: &[&str] = &[
    "disable_api_stop",
    "disable_api_termination",
    "ebs_optimized",
    "instance_initiated_shutdown_behavior",
    "instance_type",
    "security_groups",
    "source_dest_check",
    "user_data",
    "user_data_base64",
    "vpc_security_group_ids",
];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_vpc ---
    rule(EC2, "CreateVpc", "aws_vpc", Create, &[("responseElements.vpc.vpcId", "id")]),
    rule(EC2, "DeleteVpc", "aws_vpc", Delete, VPC),
    rule(EC2, "ModifyVpcAttribute", "aws_vpc", Modify(&["enable_dns_hostnames", "enable_dns_support", "enable_network_address_usage_metrics"]), VPC),
    rule(EC2, "AssociateDhcpOptions", "aws_vpc", Modify(&["dhcp_options_id"]), VPC),
    rule(EC2, "CreateTags", "aws_vpc", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_vpc", TAGS, TAGGED),
    // --- aws_subnet ---
    rule(EC2, "CreateSubnet", "aws_subnet", Create, &[("responseElements.subnet.subnetId", "id")]),
    rule(EC2, "DeleteSubnet", "aws_subnet", Delete, SUBNET),
    rule(EC2, "ModifySubnetAttribute", "aws_subnet", Modify(&["assign_ipv6_address_on_creation", "customer_owned_ipv4_pool", "enable_dns64", "enable_lni_at_device_index", "enable_resource_name_dns_a_record_on_launch", "enable_resource_name_dns_aaaa_record_on_launch", "map_customer_owned_ip_on_launch", "map_public_ip_on_launch", "private_dns_hostname_type_on_launch"]), SUBNET),
    rule(EC2, "CreateTags", "aws_subnet", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_subnet", TAGS, TAGGED),
    // --- aws_internet_gateway ---
    rule(EC2, "CreateInternetGateway", "aws_internet_gateway", Create, &[("responseElements.internetGateway.internetGatewayId", "id")]),
    rule(EC2, "DeleteInternetGateway", "aws_internet_gateway", Delete, GATEWAY),
    rule(EC2, "AttachInternetGateway", "aws_internet_gateway", Modify(&["vpc_id"]), GATEWAY),
    rule(EC2, "DetachInternetGateway", "aws_internet_gateway", Modify(&["vpc_id"]), GATEWAY),
    rule(EC2, "CreateTags", "aws_internet_gateway", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_internet_gateway", TAGS, TAGGED),
    // --- aws_route_table ---
    rule(EC2, "CreateRouteTable", "aws_route_table", Create, &[("responseElements.routeTable.routeTableId", "id")]),
    rule(EC2, "DeleteRouteTable", "aws_route_table", Delete, TABLE),
    rule(EC2, "CreateRoute", "aws_route_table", Modify(&["route"]), TABLE),
    rule(EC2, "DeleteRoute", "aws_route_table", Modify(&["route"]), TABLE),
    rule(EC2, "ReplaceRoute", "aws_route_table", Modify(&["route"]), TABLE),
    rule(EC2, "EnableVgwRoutePropagation", "aws_route_table", Modify(&["propagating_vgws"]), TABLE),
    rule(EC2, "DisableVgwRoutePropagation", "aws_route_table", Modify(&["propagating_vgws"]), TABLE),
    rule(EC2, "CreateTags", "aws_route_table", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_route_table", TAGS, TAGGED),
    // --- aws_default_route_table: the VPC's main table, made and removed with it ---
    rule(EC2, "CreateVpc", "aws_default_route_table", Create, NEW_VPC_OF),
    rule(EC2, "DeleteVpc", "aws_default_route_table", Delete, DELETED_VPC_OF),
    rule(EC2, "CreateRoute", "aws_default_route_table", Modify(&["route"]), TABLE),
    rule(EC2, "DeleteRoute", "aws_default_route_table", Modify(&["route"]), TABLE),
    rule(EC2, "ReplaceRoute", "aws_default_route_table", Modify(&["route"]), TABLE),
    rule(EC2, "EnableVgwRoutePropagation", "aws_default_route_table", Modify(&["propagating_vgws"]), TABLE),
    rule(EC2, "DisableVgwRoutePropagation", "aws_default_route_table", Modify(&["propagating_vgws"]), TABLE),
    rule(EC2, "CreateTags", "aws_default_route_table", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_default_route_table", TAGS, TAGGED),
    // --- aws_route: its id is made up by the provider; a route is its table and destination ---
    rule(EC2, "CreateRoute", "aws_route", Create, ROUTE),
    rule(EC2, "DeleteRoute", "aws_route", Delete, ROUTE),
    rule(EC2, "ReplaceRoute", "aws_route", Modify(ROUTE_TARGETS), ROUTE),
    rule(EC2, "DeleteRouteTable", "aws_route", Delete, &[("requestParameters.routeTableId", "route_table_id")]),
    // --- aws_route_table_association ---
    rule(EC2, "AssociateRouteTable", "aws_route_table_association", Create, &[("responseElements.associationId", "id")]),
    rule(EC2, "DisassociateRouteTable", "aws_route_table_association", Delete, &[("requestParameters.associationId", "id")]),
    // Replacing an association gives it a new id: the old one goes, a new one comes.
    rule(EC2, "ReplaceRouteTableAssociation", "aws_route_table_association", Delete, &[("requestParameters.associationId", "id")]),
    rule(EC2, "ReplaceRouteTableAssociation", "aws_route_table_association", Create, &[("responseElements.newAssociationId", "id")]),
    rule(EC2, "DeleteSubnet", "aws_route_table_association", Delete, &[("requestParameters.subnetId", "subnet_id")]),
    // --- aws_network_acl ---
    rule(EC2, "CreateNetworkAcl", "aws_network_acl", Create, &[("responseElements.networkAcl.networkAclId", "id")]),
    rule(EC2, "DeleteNetworkAcl", "aws_network_acl", Delete, ACL),
    rule(EC2, "CreateNetworkAclEntry", "aws_network_acl", ACL_ENTRIES, ACL),
    rule(EC2, "DeleteNetworkAclEntry", "aws_network_acl", ACL_ENTRIES, ACL),
    rule(EC2, "ReplaceNetworkAclEntry", "aws_network_acl", ACL_ENTRIES, ACL),
    rule(EC2, "ReplaceNetworkAclAssociation", "aws_network_acl", Modify(&["subnet_ids"]), ACL),
    rule(EC2, "CreateTags", "aws_network_acl", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_network_acl", TAGS, TAGGED),
    // --- aws_default_network_acl: made and removed with its VPC ---
    rule(EC2, "CreateVpc", "aws_default_network_acl", Create, NEW_VPC_OF),
    rule(EC2, "DeleteVpc", "aws_default_network_acl", Delete, DELETED_VPC_OF),
    rule(EC2, "CreateNetworkAclEntry", "aws_default_network_acl", ACL_ENTRIES, ACL),
    rule(EC2, "DeleteNetworkAclEntry", "aws_default_network_acl", ACL_ENTRIES, ACL),
    rule(EC2, "ReplaceNetworkAclEntry", "aws_default_network_acl", ACL_ENTRIES, ACL),
    rule(EC2, "ReplaceNetworkAclAssociation", "aws_default_network_acl", Modify(&["subnet_ids"]), ACL),
    rule(EC2, "CreateTags", "aws_default_network_acl", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_default_network_acl", TAGS, TAGGED),
    // --- aws_eip ---
    rule(EC2, "AllocateAddress", "aws_eip", Create, &[("responseElements.allocationId", "id")]),
    rule(EC2, "ReleaseAddress", "aws_eip", Delete, &[("requestParameters.allocationId", "id")]),
    rule(EC2, "AssociateAddress", "aws_eip", EIP_ASSOCIATION, &[("requestParameters.allocationId", "id")]),
    rule(EC2, "DisassociateAddress", "aws_eip", EIP_ASSOCIATION, &[("requestParameters.associationId", "association_id")]),
    rule(EC2, "CreateTags", "aws_eip", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_eip", TAGS, TAGGED),
    // --- aws_nat_gateway ---
    rule(EC2, "CreateNatGateway", "aws_nat_gateway", Create, &[("responseElements.CreateNatGatewayResponse.natGateway.natGatewayId", "id")]),
    rule(EC2, "DeleteNatGateway", "aws_nat_gateway", Delete, &[("requestParameters.DeleteNatGatewayRequest.NatGatewayId", "id")]),
    rule(EC2, "CreateTags", "aws_nat_gateway", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_nat_gateway", TAGS, TAGGED),
    // --- aws_security_group ---
    rule(EC2, "CreateSecurityGroup", "aws_security_group", Create, &[("responseElements.groupId", "id")]),
    rule(EC2, "DeleteSecurityGroup", "aws_security_group", Delete, GROUP),
    rule(EC2, "AuthorizeSecurityGroupIngress", "aws_security_group", Modify(&["ingress"]), GROUP),
    rule(EC2, "RevokeSecurityGroupIngress", "aws_security_group", Modify(&["ingress"]), GROUP),
    rule(EC2, "AuthorizeSecurityGroupEgress", "aws_security_group", Modify(&["egress"]), GROUP),
    rule(EC2, "RevokeSecurityGroupEgress", "aws_security_group", Modify(&["egress"]), GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsIngress", "aws_security_group", Modify(&["ingress"]), GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsEgress", "aws_security_group", Modify(&["egress"]), GROUP),
    rule(EC2, "ModifySecurityGroupRules", "aws_security_group", Modify(&["ingress", "egress"]), MODIFIED_GROUP),
    rule(EC2, "CreateTags", "aws_security_group", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_security_group", TAGS, TAGGED),
    // --- aws_default_security_group: made and removed with its VPC ---
    rule(EC2, "CreateVpc", "aws_default_security_group", Create, NEW_VPC_OF),
    rule(EC2, "DeleteVpc", "aws_default_security_group", Delete, DELETED_VPC_OF),
    rule(EC2, "AuthorizeSecurityGroupIngress", "aws_default_security_group", Modify(&["ingress"]), GROUP),
    rule(EC2, "RevokeSecurityGroupIngress", "aws_default_security_group", Modify(&["ingress"]), GROUP),
    rule(EC2, "AuthorizeSecurityGroupEgress", "aws_default_security_group", Modify(&["egress"]), GROUP),
    rule(EC2, "RevokeSecurityGroupEgress", "aws_default_security_group", Modify(&["egress"]), GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsIngress", "aws_default_security_group", Modify(&["ingress"]), GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsEgress", "aws_default_security_group", Modify(&["egress"]), GROUP),
    rule(EC2, "ModifySecurityGroupRules", "aws_default_security_group", Modify(&["ingress", "egress"]), MODIFIED_GROUP),
    rule(EC2, "CreateTags", "aws_default_security_group", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_default_security_group", TAGS, TAGGED),
    // --- aws_security_group_rule: either direction, so named by its group (older
    // records carry no rule id); a deleted group takes its rules with it ---
    rule(EC2, "AuthorizeSecurityGroupIngress", "aws_security_group_rule", Create, RULES_OF_GROUP),
    rule(EC2, "AuthorizeSecurityGroupEgress", "aws_security_group_rule", Create, RULES_OF_GROUP),
    rule(EC2, "RevokeSecurityGroupIngress", "aws_security_group_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "RevokeSecurityGroupEgress", "aws_security_group_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "DeleteSecurityGroup", "aws_security_group_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsIngress", "aws_security_group_rule", Modify(&["description"]), RULES_OF_GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsEgress", "aws_security_group_rule", Modify(&["description"]), RULES_OF_GROUP),
    rule(EC2, "ModifySecurityGroupRules", "aws_security_group_rule", Modify(SG_RULE_ATTRIBUTES), MODIFIED_SG_RULE),
    // --- aws_vpc_security_group_ingress_rule ---
    rule(EC2, "AuthorizeSecurityGroupIngress", "aws_vpc_security_group_ingress_rule", Create, RULES_OF_GROUP),
    rule(EC2, "RevokeSecurityGroupIngress", "aws_vpc_security_group_ingress_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "DeleteSecurityGroup", "aws_vpc_security_group_ingress_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsIngress", "aws_vpc_security_group_ingress_rule", Modify(&["description"]), RULES_OF_GROUP),
    rule(EC2, "ModifySecurityGroupRules", "aws_vpc_security_group_ingress_rule", Modify(VPC_RULE_ATTRIBUTES), MODIFIED_RULE),
    rule(EC2, "CreateTags", "aws_vpc_security_group_ingress_rule", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_vpc_security_group_ingress_rule", TAGS, TAGGED),
    // --- aws_vpc_security_group_egress_rule ---
    rule(EC2, "AuthorizeSecurityGroupEgress", "aws_vpc_security_group_egress_rule", Create, RULES_OF_GROUP),
    rule(EC2, "RevokeSecurityGroupEgress", "aws_vpc_security_group_egress_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "DeleteSecurityGroup", "aws_vpc_security_group_egress_rule", Delete, RULES_OF_GROUP),
    rule(EC2, "UpdateSecurityGroupRuleDescriptionsEgress", "aws_vpc_security_group_egress_rule", Modify(&["description"]), RULES_OF_GROUP),
    rule(EC2, "ModifySecurityGroupRules", "aws_vpc_security_group_egress_rule", Modify(VPC_RULE_ATTRIBUTES), MODIFIED_RULE),
    rule(EC2, "CreateTags", "aws_vpc_security_group_egress_rule", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_vpc_security_group_egress_rule", TAGS, TAGGED),
    // --- aws_instance ---
    rule(EC2, "RunInstances", "aws_instance", Create, &[("responseElements.instancesSet.items[].instanceId", "id")]),
    rule(EC2, "TerminateInstances", "aws_instance", Delete, INSTANCES),
    rule(EC2, "StopInstances", "aws_instance", Modify(&["instance_state", "public_dns", "public_ip"]), INSTANCES),
    rule(EC2, "StartInstances", "aws_instance", Modify(&["instance_state", "public_dns", "public_ip"]), INSTANCES),
    rule(EC2, "ModifyInstanceAttribute", "aws_instance", Modify(INSTANCE_ATTRIBUTES), INSTANCE),
    rule(EC2, "ModifyInstanceMetadataOptions", "aws_instance", Modify(&["metadata_options"]), &[("requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId", "id")]),
    rule(EC2, "MonitorInstances", "aws_instance", Modify(&["monitoring"]), INSTANCES),
    rule(EC2, "UnmonitorInstances", "aws_instance", Modify(&["monitoring"]), INSTANCES),
    rule(EC2, "CreateTags", "aws_instance", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_instance", TAGS, TAGGED),
    // --- aws_ebs_volume ---
    rule(EC2, "CreateVolume", "aws_ebs_volume", Create, &[("responseElements.volumeId", "id")]),
    rule(EC2, "DeleteVolume", "aws_ebs_volume", Delete, &[("requestParameters.volumeId", "id")]),
    rule(EC2, "CreateTags", "aws_ebs_volume", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_ebs_volume", TAGS, TAGGED),
    // --- aws_launch_template: named by id or by name in every call but Create ---
    rule(EC2, "CreateLaunchTemplate", "aws_launch_template", Create, &[("requestParameters.CreateLaunchTemplateRequest.LaunchTemplateName", "name")]),
    rule(EC2, "DeleteLaunchTemplate", "aws_launch_template", Delete, &[("requestParameters.DeleteLaunchTemplateRequest.LaunchTemplateId", "id")]),
    rule(EC2, "DeleteLaunchTemplate", "aws_launch_template", Delete, &[("requestParameters.DeleteLaunchTemplateRequest.LaunchTemplateName", "name")]),
    rule(EC2, "CreateLaunchTemplateVersion", "aws_launch_template", Modify(&["*"]), &[("requestParameters.CreateLaunchTemplateVersionRequest.LaunchTemplateId", "id")]),
    rule(EC2, "CreateLaunchTemplateVersion", "aws_launch_template", Modify(&["*"]), &[("requestParameters.CreateLaunchTemplateVersionRequest.LaunchTemplateName", "name")]),
    rule(EC2, "ModifyLaunchTemplate", "aws_launch_template", Modify(&["default_version"]), &[("requestParameters.ModifyLaunchTemplateRequest.LaunchTemplateId", "id")]),
    rule(EC2, "ModifyLaunchTemplate", "aws_launch_template", Modify(&["default_version"]), &[("requestParameters.ModifyLaunchTemplateRequest.LaunchTemplateName", "name")]),
    rule(EC2, "CreateTags", "aws_launch_template", TAGS, TAGGED),
    rule(EC2, "DeleteTags", "aws_launch_template", TAGS, TAGGED),
    // --- aws_key_pair: keyed by name; tags name the key-… id ---
    rule(EC2, "CreateKeyPair", "aws_key_pair", Create, KEY_NAME),
    rule(EC2, "ImportKeyPair", "aws_key_pair", Create, KEY_NAME),
    rule(EC2, "DeleteKeyPair", "aws_key_pair", Delete, KEY_NAME),
    rule(EC2, "CreateTags", "aws_key_pair", TAGS, &[("requestParameters.resourcesSet.items[].resourceId", "key_pair_id")]),
    rule(EC2, "DeleteTags", "aws_key_pair", TAGS, &[("requestParameters.resourcesSet.items[].resourceId", "key_pair_id")]),
];

/// Event history names EC2 resources by their id (AWS's CloudTrail guide:
/// "the resource name might be … `i-12345678910` for an EC2 instance").
/// A route and a group rule have no resource of their own there: their
/// table's and group's ids stand for them.
#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_vpc", &["id"], false),
    lookup("aws_subnet", &["id"], false),
    lookup("aws_internet_gateway", &["id"], false),
    lookup("aws_route_table", &["id"], false),
    lookup("aws_default_route_table", &["id"], false),
    lookup("aws_route", &["route_table_id"], false),
    lookup("aws_route_table_association", &["id"], false),
    lookup("aws_network_acl", &["id"], false),
    lookup("aws_default_network_acl", &["id"], false),
    lookup("aws_eip", &["id"], false),
    lookup("aws_nat_gateway", &["id"], false),
    lookup("aws_security_group", &["id"], false),
    lookup("aws_default_security_group", &["id"], false),
    lookup("aws_security_group_rule", &["security_group_id"], false),
    lookup("aws_vpc_security_group_ingress_rule", &["security_group_id"], false),
    lookup("aws_vpc_security_group_egress_rule", &["security_group_id"], false),
    lookup("aws_instance", &["id"], false),
    lookup("aws_ebs_volume", &["id"], false),
    lookup("aws_launch_template", &["id"], false),
    lookup("aws_key_pair", &["id"], false),
];
