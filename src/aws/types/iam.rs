//! IAM: roles with their inline policies and managed-policy attachments,
//! customer-managed policies, users with their inline policies, groups,
//! instance profiles and OpenID Connect providers.
//!
//! IAM is global, so every type here is listed once per account. The role, user
//! and policy families come from `GetAccountAuthorizationDetails`, which returns
//! each entity with its inline policy documents, attached policies, tags and
//! permissions boundary in one paged call: a handful of calls for the whole
//! account instead of three or four per role. It lacks a role's description and
//! maximum session duration, which `ListRoles` adds (also paged).
//!
//! Policy documents come URL-encoded from IAM (`%7B%22Version…`); they are
//! decoded to the JSON text and otherwise left as they are: the diff compares
//! policy JSON semantically.

use crate::aws::{CollectError, ListFuture, LiveObject, RegionContext, TypeDef};
use crate::live::{Fold, TypeRules, never_default, no_normalization};
use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::types::{
    EntityType, ManagedPolicyDetail, PolicyDetail, PolicyScopeType, Role, RoleDetail, Tag,
    UserDetail,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Largest page IAM serves: fewer round trips for big accounts.
const PAGE_SIZE: i32 = 1000;

// ---------------------------------------------------------------------------
// aws_iam_role

static RULES_ROLE: TypeRules = TypeRules {
    resource_type: "aws_iam_role",
    global: true,
    // `force_detach_policies` only steers Terraform's destroy; `name_prefix` only its create.
    ignore: &["force_detach_policies", "name_prefix"],
    sensitive: &[],
    sets: &["inline_policy", "managed_policy_arns"],
    normalize: normalize_role,
    is_default: is_service_linked_role,
    desired_parts: None,
    folds: &[Fold {
        child_types: &["aws_iam_role_policy", "aws_iam_role_policy_attachment"],
        parent_id_attribute: "role",
        children_are_parts: true,
        remove_child: remove_role_child,
    }],
};

pub static IAM_ROLE: TypeDef = TypeDef {
    rules: &RULES_ROLE,
    actions: &[
        "iam:GetAccountAuthorizationDetails",
        "iam:GetRole",
        "iam:ListRoles",
    ],
    list: list_roles,
};

/// Providers before 3.x wrote neither `inline_policy` nor `managed_policy_arns`
/// (`aws-iam-role-tf012.tfstate`): a state without them says nothing about the
/// role's policies, which its `aws_iam_role_policy` and attachment resources, if
/// any, cover.
fn normalize_role(desired: &mut Value, live: &mut Value) {
    empty_tags_are_null_tags(desired, live);
    for name in ["inline_policy", "managed_policy_arns"] {
        if desired.get(name).is_none()
            && let Some(live) = live.as_object_mut()
        {
            live.remove(name);
        }
    }
}

/// Service-linked roles are created by AWS services (path `/aws-service-role/`).
fn is_service_linked_role(live: &Value) -> bool {
    live["path"]
        .as_str()
        .is_some_and(|p| p.starts_with("/aws-service-role/"))
}

/// What an `aws_iam_role_policy` or `aws_iam_role_policy_attachment` manages is
/// compared through it, not again inside the role's deprecated `inline_policy`
/// and `managed_policy_arns`.
fn remove_role_child(desired: &mut Value, live: &mut Value, child_type: &str, child: &Value) {
    match child_type {
        "aws_iam_role_policy" => {
            let Some(name) = child["name"].as_str() else {
                return;
            };
            for tree in [desired, live] {
                if let Some(list) = tree.get_mut("inline_policy").and_then(Value::as_array_mut) {
                    list.retain(|p| p["name"].as_str() != Some(name));
                }
            }
        }
        "aws_iam_role_policy_attachment" => {
            let Some(arn) = child["policy_arn"].as_str() else {
                return;
            };
            for tree in [desired, live] {
                if let Some(list) = tree
                    .get_mut("managed_policy_arns")
                    .and_then(Value::as_array_mut)
                {
                    list.retain(|a| a.as_str() != Some(arn));
                }
            }
        }
        _ => {}
    }
}

/// `ListRoles` (description, maximum session duration), then the roles' details.
/// A role that appears only in the details was created between the two calls and
/// is read with `GetRole`; one that appears only in `ListRoles` was deleted.
fn list_roles(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut listed: HashMap<String, Role> = HashMap::new();
        let mut pages = ctx
            .iam()
            .list_roles()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CollectError::from_sdk("iam:ListRoles", e))?;
            for role in page.roles {
                listed.insert(role.role_name().to_string(), role);
            }
        }
        let details = role_details(ctx).await?;
        let mut objects = Vec::with_capacity(details.len());
        for detail in &details {
            let name = detail.role_name().unwrap_or_default();
            let role = match listed.remove(name) {
                Some(role) => role,
                None => match ctx.iam().get_role().role_name(name).send().await {
                    Ok(out) => match out.role {
                        Some(role) => role,
                        None => continue,
                    },
                    Err(e) if is_no_such_entity(&e) => continue,
                    Err(e) => return Err(CollectError::from_sdk("iam:GetRole", e)),
                },
            };
            objects.push(LiveObject {
                id: name.to_string(),
                attributes: role_attributes(&role, detail),
            });
        }
        Ok(objects)
    })
}

/// A role in the shape hashicorp/aws 5.100.0 writes: `description` and
/// `permissions_boundary` are `""` when unset, `inline_policy` and
/// `managed_policy_arns` empty lists when there are none.
fn role_attributes(role: &Role, detail: &RoleDetail) -> Value {
    let inline: Vec<Value> = detail
        .role_policy_list()
        .iter()
        .map(|p| json!({"name": p.policy_name().unwrap_or_default(), "policy": policy_text(p)}))
        .collect();
    let managed: Vec<&str> = detail
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    let tags = tag_map(detail.tags());
    let assume = detail
        .assume_role_policy_document()
        .or(role.assume_role_policy_document())
        .map(policy_document)
        .unwrap_or_default();
    json!({
        "arn": detail.arn().unwrap_or(role.arn()),
        "assume_role_policy": assume,
        "create_date": detail.create_date().map(date).unwrap_or_else(|| date(role.create_date())),
        "description": role.description().unwrap_or_default(),
        "id": role.role_name(),
        "inline_policy": inline,
        "managed_policy_arns": managed,
        "max_session_duration": role.max_session_duration().unwrap_or(3600),
        "name": role.role_name(),
        "path": detail.path().unwrap_or(role.path()),
        "permissions_boundary": detail
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .unwrap_or_default(),
        "tags": tags,
        "tags_all": tags,
        "unique_id": detail.role_id().unwrap_or(role.role_id()),
    })
}

// ---------------------------------------------------------------------------
// aws_iam_role_policy

static RULES_ROLE_POLICY: TypeRules = TypeRules {
    resource_type: "aws_iam_role_policy",
    global: true,
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: on_service_linked_role,
    desired_parts: None,
    folds: &[],
};

pub static IAM_ROLE_POLICY: TypeDef = TypeDef {
    rules: &RULES_ROLE_POLICY,
    actions: &["iam:GetAccountAuthorizationDetails"],
    list: list_role_policies,
};

/// Policies and attachments that AWS put on its service-linked roles.
fn on_service_linked_role(live: &Value) -> bool {
    live["role"]
        .as_str()
        .is_some_and(|r| r.starts_with("AWSServiceRoleFor"))
        || live["policy_arn"]
            .as_str()
            .is_some_and(|a| a.contains(":policy/aws-service-role/"))
}

/// Id `role:policy_name`, as the provider writes it.
fn list_role_policies(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut objects = Vec::new();
        for role in role_details(ctx).await? {
            let role_name = role.role_name().unwrap_or_default();
            for policy in role.role_policy_list() {
                objects.push(inline_policy_object("role", role_name, policy));
            }
        }
        Ok(objects)
    })
}

/// An `aws_iam_role_policy` or `aws_iam_user_policy`: `owner` is `role` or `user`.
fn inline_policy_object(owner: &str, owner_name: &str, policy: &PolicyDetail) -> LiveObject {
    let name = policy.policy_name().unwrap_or_default();
    let id = format!("{owner_name}:{name}");
    let mut attributes = Map::new();
    attributes.insert("id".into(), json!(id));
    attributes.insert("name".into(), json!(name));
    attributes.insert("policy".into(), json!(policy_text(policy)));
    attributes.insert(owner.into(), json!(owner_name));
    LiveObject {
        id,
        attributes: Value::Object(attributes),
    }
}

// ---------------------------------------------------------------------------
// aws_iam_role_policy_attachment

static RULES_ROLE_POLICY_ATTACHMENT: TypeRules = TypeRules {
    resource_type: "aws_iam_role_policy_attachment",
    global: true,
    // The provider's id is `<role>-<creation timestamp and counter>`
    // (`app-20261121104814704800000001`), made up when Terraform created the
    // attachment: AWS does not know it. The live id is the provider's import id
    // `<role>/<policy_arn>`; see `role_policy_attachment_key`.
    ignore: &["id"],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: on_service_linked_role,
    desired_parts: Some(role_policy_attachment_parts),
    folds: &[],
};

/// A desired attachment is matched under the live key `<role>/<policy_arn>`.
fn role_policy_attachment_parts(attributes: &Value) -> Option<Vec<(String, Value)>> {
    role_policy_attachment_key(attributes).map(|key| vec![(key, attributes.clone())])
}

pub static IAM_ROLE_POLICY_ATTACHMENT: TypeDef = TypeDef {
    rules: &RULES_ROLE_POLICY_ATTACHMENT,
    actions: &["iam:GetAccountAuthorizationDetails"],
    list: list_role_policy_attachments,
};

/// What identifies an attachment on both sides (state and live): the role and
/// the policy ARN, `<role>/<policy_arn>` (the provider's import id). The state's
/// `id` cannot be reproduced from AWS, so the diff must match attachments by this
/// key instead of by `id`.
pub fn role_policy_attachment_key(attributes: &Value) -> Option<String> {
    let role = attributes["role"].as_str()?;
    let arn = attributes["policy_arn"].as_str()?;
    Some(format!("{role}/{arn}"))
}

fn list_role_policy_attachments(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut objects = Vec::new();
        for role in role_details(ctx).await? {
            let role_name = role.role_name().unwrap_or_default();
            for policy in role.attached_managed_policies() {
                let arn = policy.policy_arn().unwrap_or_default();
                let id = format!("{role_name}/{arn}");
                objects.push(LiveObject {
                    attributes: json!({"id": id, "policy_arn": arn, "role": role_name}),
                    id,
                });
            }
        }
        Ok(objects)
    })
}

// ---------------------------------------------------------------------------
// aws_iam_policy

static RULES_POLICY: TypeRules = TypeRules {
    resource_type: "aws_iam_policy",
    global: true,
    // `attachment_count` moves whenever any role, user or group gets or loses the
    // policy; those attachments are compared through their own resources.
    ignore: &["name_prefix", "attachment_count"],
    sensitive: &[],
    sets: &[],
    normalize: empty_tags_are_null_tags,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static IAM_POLICY: TypeDef = TypeDef {
    rules: &RULES_POLICY,
    actions: &[
        "iam:GetAccountAuthorizationDetails",
        "iam:ListPolicies",
        "iam:ListPolicyTags",
    ],
    list: list_policies,
};

/// Customer-managed policies only (`LocalManagedPolicy`): AWS-managed policies
/// are never "unmanaged". The details carry every version's document; tags need
/// `ListPolicyTags`, one call per policy.
fn list_policies(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut policies: Vec<ManagedPolicyDetail> = account_details(ctx)
            .await?
            .iter()
            .flat_map(|page| page.policies().iter().cloned())
            .collect();
        fill_policy_names(ctx, &mut policies).await?;
        // One ListPolicyTags per policy (the API has no batch form), a few at a time.
        let iam = ctx.iam().clone();
        super::per_resource::each_bounded(policies, move |policy| {
            let iam = iam.clone();
            async move {
                let arn = policy.arn().unwrap_or_default().to_string();
                let mut tags = Vec::new();
                let mut pages = iam
                    .list_policy_tags()
                    .policy_arn(&arn)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    match page {
                        Ok(page) => tags.extend(page.tags),
                        // Deleted since the details were read: gone, like a policy not listed.
                        Err(e) if is_no_such_entity(&e) => return Ok(None),
                        Err(e) => return Err(CollectError::from_sdk("iam:ListPolicyTags", e)),
                    }
                }
                Ok(Some(LiveObject {
                    attributes: policy_attributes(&policy, &tags),
                    id: arn,
                }))
            }
        })
        .await
    })
}

/// The API declares a policy detail's name and id optional (and moto leaves them
/// out): when one is missing, `ListPolicies` (paged, customer-managed only)
/// supplies them. A policy it no longer lists was deleted in between and is dropped.
async fn fill_policy_names(
    ctx: &RegionContext,
    policies: &mut Vec<ManagedPolicyDetail>,
) -> Result<(), CollectError> {
    if policies
        .iter()
        .all(|p| p.policy_name().is_some() && p.policy_id().is_some())
    {
        return Ok(());
    }
    let mut listed: HashMap<String, (String, String)> = HashMap::new();
    let mut pages = ctx
        .iam()
        .list_policies()
        .scope(PolicyScopeType::Local)
        .into_paginator()
        .page_size(PAGE_SIZE)
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| CollectError::from_sdk("iam:ListPolicies", e))?;
        for p in page.policies() {
            if let (Some(arn), Some(name), Some(id)) = (p.arn(), p.policy_name(), p.policy_id()) {
                listed.insert(arn.to_string(), (name.to_string(), id.to_string()));
            }
        }
    }
    let details = std::mem::take(policies);
    for mut detail in details {
        let Some((name, id)) = detail.arn().and_then(|arn| listed.get(arn)) else {
            continue;
        };
        detail.policy_name.get_or_insert_with(|| name.clone());
        detail.policy_id.get_or_insert_with(|| id.clone());
        policies.push(detail);
    }
    Ok(())
}

fn policy_attributes(policy: &ManagedPolicyDetail, tags: &[Tag]) -> Value {
    let default_version = policy.default_version_id();
    let document = policy
        .policy_version_list()
        .iter()
        .find(|v| {
            v.is_default_version()
                || (v.version_id().is_some() && v.version_id() == default_version)
        })
        .and_then(|v| v.document())
        .map(policy_document)
        .unwrap_or_default();
    let tags = tag_map(tags);
    json!({
        "arn": policy.arn(),
        "attachment_count": policy.attachment_count().unwrap_or_default(),
        "description": policy.description().unwrap_or_default(),
        "id": policy.arn(),
        "name": policy.policy_name(),
        "path": policy.path().unwrap_or("/"),
        "policy": document,
        "policy_id": policy.policy_id(),
        "tags": tags,
        "tags_all": tags,
    })
}

// ---------------------------------------------------------------------------
// aws_iam_user

static RULES_USER: TypeRules = TypeRules {
    resource_type: "aws_iam_user",
    global: true,
    // `force_destroy` only steers Terraform's destroy.
    ignore: &["force_destroy"],
    sensitive: &[],
    sets: &[],
    normalize: empty_tags_are_null_tags,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static IAM_USER: TypeDef = TypeDef {
    rules: &RULES_USER,
    actions: &["iam:GetAccountAuthorizationDetails"],
    list: list_users,
};

fn list_users(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        Ok(user_details(ctx)
            .await?
            .iter()
            .map(|user| LiveObject {
                id: user.user_name().unwrap_or_default().to_string(),
                attributes: user_attributes(user),
            })
            .collect())
    })
}

/// `permissions_boundary` is `""` when unset, as the provider writes it.
fn user_attributes(user: &UserDetail) -> Value {
    let tags = tag_map(user.tags());
    json!({
        "arn": user.arn(),
        "id": user.user_name(),
        "name": user.user_name(),
        "path": user.path().unwrap_or("/"),
        "permissions_boundary": user
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .unwrap_or_default(),
        "tags": tags,
        "tags_all": tags,
        "unique_id": user.user_id(),
    })
}

// ---------------------------------------------------------------------------
// aws_iam_user_policy

static RULES_USER_POLICY: TypeRules = TypeRules {
    resource_type: "aws_iam_user_policy",
    global: true,
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static IAM_USER_POLICY: TypeDef = TypeDef {
    rules: &RULES_USER_POLICY,
    actions: &["iam:GetAccountAuthorizationDetails"],
    list: list_user_policies,
};

/// Id `user:policy_name`, as the provider writes it.
fn list_user_policies(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut objects = Vec::new();
        for user in user_details(ctx).await? {
            let user_name = user.user_name().unwrap_or_default();
            for policy in user.user_policy_list() {
                objects.push(inline_policy_object("user", user_name, policy));
            }
        }
        Ok(objects)
    })
}

// ---------------------------------------------------------------------------
// aws_iam_group

static RULES_GROUP: TypeRules = TypeRules {
    resource_type: "aws_iam_group",
    global: true,
    ignore: &[],
    sensitive: &[],
    sets: &[],
    normalize: no_normalization,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static IAM_GROUP: TypeDef = TypeDef {
    rules: &RULES_GROUP,
    actions: &["iam:ListGroups"],
    list: list_groups,
};

fn list_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut objects = Vec::new();
        let mut pages = ctx
            .iam()
            .list_groups()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CollectError::from_sdk("iam:ListGroups", e))?;
            for group in page.groups() {
                objects.push(LiveObject {
                    id: group.group_name().to_string(),
                    attributes: json!({
                        "arn": group.arn(),
                        "id": group.group_name(),
                        "name": group.group_name(),
                        "path": group.path(),
                        "unique_id": group.group_id(),
                    }),
                });
            }
        }
        Ok(objects)
    })
}

// ---------------------------------------------------------------------------
// aws_iam_instance_profile

static RULES_INSTANCE_PROFILE: TypeRules = TypeRules {
    resource_type: "aws_iam_instance_profile",
    global: true,
    ignore: &["name_prefix"],
    sensitive: &[],
    sets: &[],
    normalize: empty_tags_are_null_tags,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static IAM_INSTANCE_PROFILE: TypeDef = TypeDef {
    rules: &RULES_INSTANCE_PROFILE,
    actions: &["iam:GetInstanceProfile", "iam:ListInstanceProfiles"],
    list: list_instance_profiles,
};

/// `ListInstanceProfiles` leaves tags out, so `GetInstanceProfile` per profile.
fn list_instance_profiles(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let mut profiles = Vec::new();
        let mut pages = ctx
            .iam()
            .list_instance_profiles()
            .into_paginator()
            .page_size(PAGE_SIZE)
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| CollectError::from_sdk("iam:ListInstanceProfiles", e))?;
            profiles.extend(page.instance_profiles);
        }
        // One GetInstanceProfile per profile (for its tags), a few at a time.
        let iam = ctx.iam().clone();
        super::per_resource::each_bounded(profiles, move |profile| {
            let iam = iam.clone();
            async move {
                let name = profile.instance_profile_name();
                let tags = match iam
                    .get_instance_profile()
                    .instance_profile_name(name)
                    .send()
                    .await
                {
                    Ok(out) => out
                        .instance_profile
                        .and_then(|p| p.tags)
                        .unwrap_or_default(),
                    // Deleted since it was listed: gone, like a profile not listed.
                    Err(e) if is_no_such_entity(&e) => return Ok(None),
                    Err(e) => return Err(CollectError::from_sdk("iam:GetInstanceProfile", e)),
                };
                let tags = tag_map(&tags);
                // An instance profile holds at most one role; `null` when it has none.
                let role = profile.roles().first().map(|r| r.role_name());
                Ok(Some(LiveObject {
                    id: name.to_string(),
                    attributes: json!({
                        "arn": profile.arn(),
                        "create_date": date(profile.create_date()),
                        "id": name,
                        "name": name,
                        "path": profile.path(),
                        "role": role,
                        "tags": tags,
                        "tags_all": tags,
                        "unique_id": profile.instance_profile_id(),
                    }),
                }))
            }
        })
        .await
    })
}

// ---------------------------------------------------------------------------
// aws_iam_openid_connect_provider

static RULES_OPENID_CONNECT_PROVIDER: TypeRules = TypeRules {
    resource_type: "aws_iam_openid_connect_provider",
    global: true,
    ignore: &[],
    sensitive: &[],
    // `thumbprint_list` is a list in the 5.100.0 schema: its order is kept.
    sets: &["client_id_list"],
    normalize: empty_tags_are_null_tags,
    is_default: never_default,
    desired_parts: None,
    folds: &[],
};

pub static IAM_OPENID_CONNECT_PROVIDER: TypeDef = TypeDef {
    rules: &RULES_OPENID_CONNECT_PROVIDER,
    actions: &[
        "iam:GetOpenIDConnectProvider",
        "iam:ListOpenIDConnectProviders",
    ],
    list: list_openid_connect_providers,
};

/// `ListOpenIDConnectProviders` (not paged) returns only ARNs; the rest needs
/// `GetOpenIDConnectProvider` per provider. Id: the ARN.
fn list_openid_connect_providers(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let list = ctx
            .iam()
            .list_open_id_connect_providers()
            .send()
            .await
            .map_err(|e| CollectError::from_sdk("iam:ListOpenIDConnectProviders", e))?;
        let mut objects = Vec::new();
        for entry in list.open_id_connect_provider_list() {
            let Some(arn) = entry.arn() else { continue };
            let provider = match ctx
                .iam()
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) if is_no_such_entity(&e) => continue,
                Err(e) => return Err(CollectError::from_sdk("iam:GetOpenIDConnectProvider", e)),
            };
            let url = provider.url().unwrap_or_default();
            // State holds the URL without its scheme, as IAM keeps it.
            let url = url.strip_prefix("https://").unwrap_or(url);
            let tags = tag_map(provider.tags());
            objects.push(LiveObject {
                id: arn.to_string(),
                attributes: json!({
                    "arn": arn,
                    "client_id_list": provider.client_id_list(),
                    "id": arn,
                    "tags": tags,
                    "tags_all": tags,
                    "thumbprint_list": provider.thumbprint_list(),
                    "url": url,
                }),
            });
        }
        Ok(objects)
    })
}

// ---------------------------------------------------------------------------
// Shared

/// Right after a create the provider writes `tags: null` when the configuration
/// sets none, and `{}` once it has refreshed the resource; AWS has no such
/// difference. Both mean "no tags".
fn empty_tags_are_null_tags(desired: &mut Value, live: &mut Value) {
    for tree in [desired, live] {
        if let Some(tags) = tree.get_mut("tags")
            && tags.is_null()
        {
            *tags = json!({});
        }
    }
}

/// Every page of `GetAccountAuthorizationDetails` for one entity kind.
/// Roles, users and customer-managed policies, read once per scan in one
/// paged listing for the seven types that need them.
async fn account_details(
    ctx: &RegionContext,
) -> Result<Arc<Vec<GetAccountAuthorizationDetailsOutput>>, CollectError> {
    ctx.shared("iam:GetAccountAuthorizationDetails", || async {
        let mut pages = ctx
            .iam()
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .filter(EntityType::User)
            .filter(EntityType::LocalManagedPolicy)
            .into_paginator()
            .page_size(PAGE_SIZE)
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            out.push(
                page.map_err(|e| CollectError::from_sdk("iam:GetAccountAuthorizationDetails", e))?,
            );
        }
        Ok(out)
    })
    .await
}

/// Every role with its inline policies, attached policies, tags and boundary.
async fn role_details(ctx: &RegionContext) -> Result<Vec<RoleDetail>, CollectError> {
    Ok(account_details(ctx)
        .await?
        .iter()
        .flat_map(|page| page.role_detail_list().iter().cloned())
        .collect())
}

/// Every user with its inline policies, tags and boundary.
async fn user_details(ctx: &RegionContext) -> Result<Vec<UserDetail>, CollectError> {
    Ok(account_details(ctx)
        .await?
        .iter()
        .flat_map(|page| page.user_detail_list().iter().cloned())
        .collect())
}

fn is_no_such_entity<E, R>(e: &aws_sdk_iam::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_iam::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .is_some_and(|s| s.code() == Some("NoSuchEntity"))
}

fn policy_text(policy: &PolicyDetail) -> String {
    policy
        .policy_document()
        .map(policy_document)
        .unwrap_or_default()
}

/// A policy document as JSON text. IAM returns documents URL-encoded (RFC 3986)
/// from its Get* calls and plain from List* calls; a text that already parses
/// as JSON is kept as it is.
pub fn policy_document(text: &str) -> String {
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return text.to_string();
    }
    crate::diff::percent_decode(text).unwrap_or_else(|| text.to_string())
}

/// Tags as the provider's map (`{}` when there are none).
fn tag_map(tags: &[Tag]) -> BTreeMap<&str, &str> {
    tags.iter().map(|t| (t.key(), t.value())).collect()
}

/// IAM dates as the provider writes them: RFC 3339 in UTC, whole seconds.
fn date(d: &aws_smithy_types::DateTime) -> String {
    chrono::DateTime::from_timestamp(d.secs(), 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_decode_only_when_encoded() {
        let plain = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a%20b"}]}"#;
        assert_eq!(policy_document(plain), plain);
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%2520b%22%7D%5D%7D";
        assert_eq!(policy_document(encoded), plain);
        // Whitespace and key order are the diff's business, not the decoder's.
        assert_eq!(
            policy_document("%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%0A%7D"),
            "{\n  \"Version\": \"2012-10-17\"\n}"
        );
        assert_eq!(crate::diff::percent_decode("%7"), None);
        assert_eq!(crate::diff::percent_decode("%zz"), None);
    }

    /// A role as a 5.100.0 state holds it (shape from
    /// `aws-eks-plane-nodegroups.tfstate`, and a state written before the
    /// provider refreshed the role: its copies still empty).
    fn role(inline: Value, managed: Value) -> Value {
        json!({
            "id": "sandbox-cluster-role",
            "name": "sandbox-cluster-role",
            "inline_policy": inline,
            "managed_policy_arns": managed,
        })
    }

    #[test]
    fn fold_removes_inline_policies_and_attachments_of_child_resources() {
        let inline = json!([
            {"name": "sandbox-cluster", "policy": "{\"Statement\":[{\"Action\":[\"logs:CreateLogGroup\"],\"Effect\":\"Deny\",\"Resource\":\"*\"}],\"Version\":\"2012-10-17\"}"},
            {"name": "console-added", "policy": "{}"}
        ]);
        let managed = json!([
            "arn:aws:iam::270841321238:policy/sandbox-cluster-ClusterEncryption2023030411501341120000000e",
            "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
        ]);
        let mut desired = role(json!([]), json!([]));
        let mut live = role(inline.clone(), managed.clone());
        let fold = &RULES_ROLE.folds[0];
        assert_eq!(fold.parent_id_attribute, "role");
        (fold.remove_child)(
            &mut desired,
            &mut live,
            "aws_iam_role_policy",
            &json!({"id": "sandbox-cluster-role:sandbox-cluster", "name": "sandbox-cluster", "role": "sandbox-cluster-role", "policy": "{}", "name_prefix": ""}),
        );
        for arn in [
            "arn:aws:iam::270841321238:policy/sandbox-cluster-ClusterEncryption2023030411501341120000000e",
            "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
        ] {
            (fold.remove_child)(
                &mut desired,
                &mut live,
                "aws_iam_role_policy_attachment",
                &json!({"id": "sandbox-cluster-role-20230304115606740600000001", "policy_arn": arn, "role": "sandbox-cluster-role"}),
            );
        }
        // What no child manages stays, so it is still compared (and drifts).
        assert_eq!(
            live,
            role(
                json!([{"name": "console-added", "policy": "{}"}]),
                json!(["arn:aws:iam::aws:policy/AmazonEC2FullAccess"])
            )
        );
        assert_eq!(desired, role(json!([]), json!([])));

        // A refreshed state holds the same copies: both sides lose them alike.
        let mut desired = role(inline.clone(), managed.clone());
        let mut live = role(inline, managed);
        (fold.remove_child)(
            &mut desired,
            &mut live,
            "aws_iam_role_policy_attachment",
            &json!({"policy_arn": "arn:aws:iam::aws:policy/AmazonEC2FullAccess", "role": "sandbox-cluster-role"}),
        );
        assert_eq!(desired, live);
        assert_eq!(desired["managed_policy_arns"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn fold_leaves_states_without_the_deprecated_attributes_alone() {
        // Providers before 3.x wrote neither attribute (`aws-iam-role-tf012.tfstate`).
        let mut desired = json!({"id": "test-role-for-lambda", "name": "test-role-for-lambda"});
        let before = desired.clone();
        let mut live = role(
            json!([]),
            json!(["arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
        );
        (RULES_ROLE.folds[0].remove_child)(
            &mut desired,
            &mut live,
            "aws_iam_role_policy_attachment",
            &json!({"id": "test-role-for-lambda-20200503083012098800000001", "policy_arn": "arn:aws:iam::aws:policy/AmazonS3FullAccess", "role": "test-role-for-lambda"}),
        );
        assert_eq!(desired, before);
        assert_eq!(live["managed_policy_arns"], json!([]));
    }

    #[test]
    fn attachment_key_is_the_same_for_state_and_live() {
        let state = json!({"id": "ecs-task-execution-role-20250627212146908000000003", "policy_arn": "arn:aws-us-gov:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", "role": "ecs-task-execution-role"});
        let live = json!({"id": "ecs-task-execution-role/arn:aws-us-gov:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", "policy_arn": "arn:aws-us-gov:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", "role": "ecs-task-execution-role"});
        assert_eq!(
            role_policy_attachment_key(&state),
            role_policy_attachment_key(&live)
        );
        assert_eq!(
            role_policy_attachment_key(&live).as_deref(),
            live["id"].as_str()
        );
    }

    #[test]
    fn old_states_without_the_policy_copies_compare_without_them() {
        let mut desired = json!({"id": "test-role-for-lambda", "tags": {}});
        let mut live = role(
            json!([]),
            json!(["arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
        );
        live["tags"] = json!({});
        (RULES_ROLE.normalize)(&mut desired, &mut live);
        assert_eq!(
            live,
            json!({"id": "sandbox-cluster-role", "name": "sandbox-cluster-role", "tags": {}})
        );
        // A state that has them keeps them compared.
        let mut desired = role(json!([]), json!([]));
        let mut live = role(
            json!([]),
            json!(["arn:aws:iam::aws:policy/AmazonS3FullAccess"]),
        );
        (RULES_ROLE.normalize)(&mut desired, &mut live);
        assert_eq!(
            live["managed_policy_arns"],
            json!(["arn:aws:iam::aws:policy/AmazonS3FullAccess"])
        );
    }

    #[test]
    fn null_tags_are_no_tags() {
        // `aws_iam_role.node` right after `terraform apply` (hashicorp/aws 5.100.0).
        let mut desired = json!({"id": "node", "tags": null, "tags_all": {}});
        let mut live = json!({"id": "node", "tags": {}, "tags_all": {}});
        (RULES_ROLE.normalize)(&mut desired, &mut live);
        assert_eq!(desired, live);
        let mut desired = json!({"tags": {"a": "b"}});
        (RULES_ROLE.normalize)(&mut desired, &mut live);
        assert_eq!(desired, json!({"tags": {"a": "b"}}));
    }

    #[test]
    fn service_linked_roles_are_aws_defaults() {
        assert!(is_service_linked_role(
            &json!({"path": "/aws-service-role/elasticloadbalancing.amazonaws.com/"})
        ));
        assert!(!is_service_linked_role(&json!({"path": "/"})));
        assert!(on_service_linked_role(
            &json!({"role": "AWSServiceRoleForECS", "policy_arn": "arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy"})
        ));
        assert!(!on_service_linked_role(
            &json!({"role": "app", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"})
        ));
    }
}
