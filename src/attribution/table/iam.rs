//! IAM (`aws::types::iam`). Requests name roles, users, groups and instance
//! profiles by name, managed policies and OIDC providers by ARN, exactly as
//! driftd keys them. IAM is global: its events are recorded in `us-east-1`.

use super::{Effect, EventRule, TAGS, TypeLookup, lookup, rule};
use Effect::{Create, Delete, Modify};

const IAM: &str = "iam.amazonaws.com";

const ROLE: &[(&str, &str)] = &[("requestParameters.roleName", "id")];
const ROLE_POLICY: &[(&str, &str)] = &[
    ("requestParameters.roleName", "role"),
    ("requestParameters.policyName", "name"),
];
const ROLE_ATTACHMENT: &[(&str, &str)] = &[
    ("requestParameters.roleName", "role"),
    ("requestParameters.policyArn", "policy_arn"),
];
const POLICY: &[(&str, &str)] = &[("requestParameters.policyArn", "id")];
const USER: &[(&str, &str)] = &[("requestParameters.userName", "id")];
const USER_POLICY: &[(&str, &str)] = &[
    ("requestParameters.userName", "user"),
    ("requestParameters.policyName", "name"),
];
const GROUP: &[(&str, &str)] = &[("requestParameters.groupName", "id")];
const PROFILE: &[(&str, &str)] = &[("requestParameters.instanceProfileName", "id")];
const OIDC: &[(&str, &str)] = &[("requestParameters.openIDConnectProviderArn", "id")];

#[rustfmt::skip]
pub(super) static RULES: &[EventRule] = &[
    // --- aws_iam_role ---
    rule(IAM, "CreateRole", "aws_iam_role", Create, ROLE),
    rule(IAM, "DeleteRole", "aws_iam_role", Delete, ROLE),
    rule(IAM, "UpdateAssumeRolePolicy", "aws_iam_role", Modify(&["assume_role_policy"]), ROLE),
    rule(IAM, "UpdateRole", "aws_iam_role", Modify(&["description", "max_session_duration"]), ROLE),
    rule(IAM, "UpdateRoleDescription", "aws_iam_role", Modify(&["description"]), ROLE),
    rule(IAM, "PutRolePermissionsBoundary", "aws_iam_role", Modify(&["permissions_boundary"]), ROLE),
    rule(IAM, "DeleteRolePermissionsBoundary", "aws_iam_role", Modify(&["permissions_boundary"]), ROLE),
    rule(IAM, "PutRolePolicy", "aws_iam_role", Modify(&["inline_policy"]), ROLE),
    rule(IAM, "DeleteRolePolicy", "aws_iam_role", Modify(&["inline_policy"]), ROLE),
    rule(IAM, "AttachRolePolicy", "aws_iam_role", Modify(&["managed_policy_arns"]), ROLE),
    rule(IAM, "DetachRolePolicy", "aws_iam_role", Modify(&["managed_policy_arns"]), ROLE),
    rule(IAM, "TagRole", "aws_iam_role", TAGS, ROLE),
    rule(IAM, "UntagRole", "aws_iam_role", TAGS, ROLE),
    // --- aws_iam_role_policy: PutRolePolicy makes the inline policy or replaces it ---
    rule(IAM, "PutRolePolicy", "aws_iam_role_policy", Create, ROLE_POLICY),
    rule(IAM, "PutRolePolicy", "aws_iam_role_policy", Modify(&["policy"]), ROLE_POLICY),
    rule(IAM, "DeleteRolePolicy", "aws_iam_role_policy", Delete, ROLE_POLICY),
    // --- aws_iam_role_policy_attachment ---
    rule(IAM, "AttachRolePolicy", "aws_iam_role_policy_attachment", Create, ROLE_ATTACHMENT),
    rule(IAM, "DetachRolePolicy", "aws_iam_role_policy_attachment", Delete, ROLE_ATTACHMENT),
    // --- aws_iam_policy: keyed by ARN; a new version is a new document ---
    rule(IAM, "CreatePolicy", "aws_iam_policy", Create, &[("responseElements.policy.arn", "id")]),
    rule(IAM, "DeletePolicy", "aws_iam_policy", Delete, POLICY),
    rule(IAM, "CreatePolicyVersion", "aws_iam_policy", Modify(&["policy"]), POLICY),
    rule(IAM, "SetDefaultPolicyVersion", "aws_iam_policy", Modify(&["policy"]), POLICY),
    rule(IAM, "TagPolicy", "aws_iam_policy", TAGS, POLICY),
    rule(IAM, "UntagPolicy", "aws_iam_policy", TAGS, POLICY),
    // --- aws_iam_user: a rename is the old name going and the new one coming ---
    rule(IAM, "CreateUser", "aws_iam_user", Create, USER),
    rule(IAM, "DeleteUser", "aws_iam_user", Delete, USER),
    rule(IAM, "UpdateUser", "aws_iam_user", Modify(&["path"]), USER),
    rule(IAM, "UpdateUser", "aws_iam_user", Delete, USER),
    rule(IAM, "UpdateUser", "aws_iam_user", Create, &[("requestParameters.newUserName", "id")]),
    rule(IAM, "PutUserPermissionsBoundary", "aws_iam_user", Modify(&["permissions_boundary"]), USER),
    rule(IAM, "DeleteUserPermissionsBoundary", "aws_iam_user", Modify(&["permissions_boundary"]), USER),
    rule(IAM, "TagUser", "aws_iam_user", TAGS, USER),
    rule(IAM, "UntagUser", "aws_iam_user", TAGS, USER),
    // --- aws_iam_user_policy ---
    rule(IAM, "PutUserPolicy", "aws_iam_user_policy", Create, USER_POLICY),
    rule(IAM, "PutUserPolicy", "aws_iam_user_policy", Modify(&["policy"]), USER_POLICY),
    rule(IAM, "DeleteUserPolicy", "aws_iam_user_policy", Delete, USER_POLICY),
    // --- aws_iam_group: renamed like a user ---
    rule(IAM, "CreateGroup", "aws_iam_group", Create, GROUP),
    rule(IAM, "DeleteGroup", "aws_iam_group", Delete, GROUP),
    rule(IAM, "UpdateGroup", "aws_iam_group", Modify(&["path"]), GROUP),
    rule(IAM, "UpdateGroup", "aws_iam_group", Delete, GROUP),
    rule(IAM, "UpdateGroup", "aws_iam_group", Create, &[("requestParameters.newGroupName", "id")]),
    // --- aws_iam_instance_profile ---
    rule(IAM, "CreateInstanceProfile", "aws_iam_instance_profile", Create, PROFILE),
    rule(IAM, "DeleteInstanceProfile", "aws_iam_instance_profile", Delete, PROFILE),
    rule(IAM, "AddRoleToInstanceProfile", "aws_iam_instance_profile", Modify(&["role"]), PROFILE),
    rule(IAM, "RemoveRoleFromInstanceProfile", "aws_iam_instance_profile", Modify(&["role"]), PROFILE),
    rule(IAM, "TagInstanceProfile", "aws_iam_instance_profile", TAGS, PROFILE),
    rule(IAM, "UntagInstanceProfile", "aws_iam_instance_profile", TAGS, PROFILE),
    // --- aws_iam_openid_connect_provider: keyed by ARN ---
    rule(IAM, "CreateOpenIDConnectProvider", "aws_iam_openid_connect_provider", Create, &[("responseElements.openIDConnectProviderArn", "id")]),
    rule(IAM, "DeleteOpenIDConnectProvider", "aws_iam_openid_connect_provider", Delete, OIDC),
    rule(IAM, "UpdateOpenIDConnectProviderThumbprint", "aws_iam_openid_connect_provider", Modify(&["thumbprint_list"]), OIDC),
    rule(IAM, "AddClientIDToOpenIDConnectProvider", "aws_iam_openid_connect_provider", Modify(&["client_id_list"]), OIDC),
    rule(IAM, "RemoveClientIDFromOpenIDConnectProvider", "aws_iam_openid_connect_provider", Modify(&["client_id_list"]), OIDC),
    rule(IAM, "TagOpenIDConnectProvider", "aws_iam_openid_connect_provider", TAGS, OIDC),
    rule(IAM, "UntagOpenIDConnectProvider", "aws_iam_openid_connect_provider", TAGS, OIDC),
];

/// Event history names IAM resources by name (AWS's CloudTrail guide looks
/// a role up as `ResourceName=CloudTrail_CloudWatchLogs_Role`); managed
/// policies and OIDC providers have no name apart from their ARN.
#[rustfmt::skip]
pub(super) static LOOKUPS: &[TypeLookup] = &[
    lookup("aws_iam_role", &["name", "id"], true),
    lookup("aws_iam_role_policy", &["role"], true),
    lookup("aws_iam_role_policy_attachment", &["role"], true),
    lookup("aws_iam_policy", &["arn", "id"], true),
    lookup("aws_iam_user", &["name", "id"], true),
    lookup("aws_iam_user_policy", &["user"], true),
    lookup("aws_iam_group", &["name", "id"], true),
    lookup("aws_iam_instance_profile", &["name", "id"], true),
    lookup("aws_iam_openid_connect_provider", &["arn", "id"], true),
];
