//! Security groups and their rules: `aws_security_group`,
//! `aws_default_security_group`, `aws_security_group_rule`,
//! `aws_vpc_security_group_ingress_rule` and `aws_vpc_security_group_egress_rule`.
//!
//! One rule can be written four ways in Terraform (inline `ingress`/`egress`
//! elements, `aws_security_group_rule` with several sources, one
//! `aws_vpc_security_group_*_rule` per source), while AWS keeps one rule per
//! source. Everything here therefore goes through [`Atom`]: one direction,
//! protocol, port range, *one* source and a description. Inline elements and
//! multi-source rules are split into atoms to compare and to fold, and
//! regrouped into the element shape the provider writes.
//!
//! Listing: region-wide calls only, every page, joined in memory, never a
//! call per group. `DescribeSecurityGroups` gives the groups (their
//! `IpPermissions` the inline view); `DescribeSecurityGroupRules` gives the
//! `aws_vpc_security_group_*_rule`s; `aws_security_group_rule` reads both, as
//! the provider does (rules and descriptions from the groups, `sgr-` ids from
//! the rules).

use crate::aws::{
    CollectError, ErrorKind, ListFuture, LiveObject, RegionContext, TypeDef, partition,
};
use crate::live::{Fold, TypeRules};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

const DESCRIBE_GROUPS: &str = "ec2:DescribeSecurityGroups";
const DESCRIBE_RULES: &str = "ec2:DescribeSecurityGroupRules";
/// The largest page both Describe calls allow.
const PAGE_SIZE: i32 = 1000;

const SG: &str = "aws_security_group";
const DEFAULT_SG: &str = "aws_default_security_group";
const SG_RULE: &str = "aws_security_group_rule";
const INGRESS_RULE: &str = "aws_vpc_security_group_ingress_rule";
const EGRESS_RULE: &str = "aws_vpc_security_group_egress_rule";

/// A live-only attribute of `aws_vpc_security_group_*_rule`: the `sgrule-` id
/// the same AWS rule has as an `aws_security_group_rule`. Every AWS rule is
/// listed under both types; a state manages it through one of them, and the
/// other view must not read as unmanaged (folds below), also when the group
/// itself is another state's. The colon keeps it out of every provider schema.
pub const SG_RULE_VIEW: &str = "driftd:security_group_rule";

/// The other listing of an AWS rule a state manages is part of it.
static SG_RULE_FOLDS: [Fold; 1] = [Fold {
    child_types: &[INGRESS_RULE, EGRESS_RULE],
    parent_id_attribute: SG_RULE_VIEW,
    children_are_parts: true,
    remove_child: remove_nothing,
}];

/// See [`SG_RULE_FOLDS`]: a live `aws_security_group_rule` names its AWS rule
/// in `security_group_rule_id`.
static VPC_RULE_FOLDS: [Fold; 1] = [Fold {
    child_types: &[SG_RULE],
    parent_id_attribute: "security_group_rule_id",
    children_are_parts: true,
    remove_child: remove_nothing,
}];

/// The two views of one AWS rule share no attribute to fold away.
fn remove_nothing(_: &mut Value, _: &mut Value, _: &str, _: &Value) {}

// ---------------------------------------------------------------------------
// Type definitions

/// The rule resources a group's `ingress`/`egress` can be managed through instead.
static GROUP_FOLDS: [Fold; 1] = [Fold {
    child_types: &[SG_RULE, INGRESS_RULE, EGRESS_RULE],
    parent_id_attribute: "security_group_id",
    children_are_parts: true,
    remove_child: remove_child_rules,
}];

/// Sets in the provider schema: element order is Terraform's hash order.
const GROUP_SETS: &[&str] = &[
    "ingress",
    "egress",
    "ingress.security_groups",
    "egress.security_groups",
];

static RULES_SECURITY_GROUP: TypeRules = TypeRules {
    resource_type: SG,
    global: false,
    // Terraform-only arguments: the API knows nothing of them.
    ignore: &["name_prefix", "revoke_rules_on_delete", "timeouts"],
    sensitive: &[],
    sets: GROUP_SETS,
    normalize: normalize_group,
    is_default: is_default_group,
    desired_parts: None,
    folds: &GROUP_FOLDS,
};

pub static SECURITY_GROUP: TypeDef = TypeDef {
    rules: &RULES_SECURITY_GROUP,
    actions: &[DESCRIBE_GROUPS],
    list: list_security_groups,
};

static RULES_DEFAULT_SECURITY_GROUP: TypeRules = TypeRules {
    resource_type: DEFAULT_SG,
    global: false,
    // `name_prefix` is always "" for the default group; the others are Terraform-only.
    ignore: &["name_prefix", "revoke_rules_on_delete", "timeouts"],
    sensitive: &[],
    sets: GROUP_SETS,
    normalize: normalize_group,
    is_default: always_default,
    desired_parts: None,
    folds: &GROUP_FOLDS,
};

pub static DEFAULT_SECURITY_GROUP: TypeDef = TypeDef {
    rules: &RULES_DEFAULT_SECURITY_GROUP,
    actions: &[DESCRIBE_GROUPS],
    list: list_default_security_groups,
};

static RULES_SECURITY_GROUP_RULE: TypeRules = TypeRules {
    resource_type: SG_RULE,
    global: false,
    ignore: &["timeouts"],
    sensitive: &[],
    sets: &[],
    normalize: normalize_security_group_rule,
    is_default: is_default_security_group_rule,
    desired_parts: Some(split_security_group_rule),
    folds: &SG_RULE_FOLDS,
};

pub static SECURITY_GROUP_RULE: TypeDef = TypeDef {
    rules: &RULES_SECURITY_GROUP_RULE,
    actions: &[DESCRIBE_GROUPS, DESCRIBE_RULES],
    list: list_security_group_rules,
};

static RULES_INGRESS_RULE: TypeRules = TypeRules {
    resource_type: INGRESS_RULE,
    global: false,
    ignore: &[SG_RULE_VIEW],
    sensitive: &[],
    sets: &[],
    normalize: normalize_vpc_rule,
    is_default: crate::live::never_default,
    desired_parts: None,
    folds: &VPC_RULE_FOLDS,
};

pub static VPC_SECURITY_GROUP_INGRESS_RULE: TypeDef = TypeDef {
    rules: &RULES_INGRESS_RULE,
    actions: &[DESCRIBE_RULES],
    list: list_ingress_rules,
};

static RULES_EGRESS_RULE: TypeRules = TypeRules {
    resource_type: EGRESS_RULE,
    global: false,
    ignore: &[SG_RULE_VIEW],
    sensitive: &[],
    sets: &[],
    normalize: normalize_vpc_rule,
    is_default: is_default_vpc_egress_rule,
    desired_parts: None,
    folds: &VPC_RULE_FOLDS,
};

pub static VPC_SECURITY_GROUP_EGRESS_RULE: TypeDef = TypeDef {
    rules: &RULES_EGRESS_RULE,
    actions: &[DESCRIBE_RULES],
    list: list_egress_rules,
};

// ---------------------------------------------------------------------------
// Listing

fn list_security_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let groups = describe_groups(ctx).await?;
        Ok(groups.iter().map(|g| group_object(ctx, g)).collect())
    })
}

fn list_default_security_groups(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let groups = describe_groups(ctx).await?;
        Ok(groups
            .iter()
            .filter(|g| g.group_name() == Some("default"))
            .map(|g| group_object(ctx, g))
            .collect())
    })
}

/// Like the provider, reads the rules of `aws_security_group_rule` from the
/// groups' `IpPermissions` (their descriptions included), and takes each
/// rule's `sgr-` id from `DescribeSecurityGroupRules`.
fn list_security_group_rules(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let (groups, rules) = tokio::try_join!(describe_groups(ctx), describe_rules(ctx))?;
        let rule_ids: HashMap<(&str, AtomKey), &str> = rules
            .iter()
            .filter_map(|r| {
                Some((
                    (r.group_id()?, api_rule_atom(r)?.key()),
                    r.security_group_rule_id()?,
                ))
            })
            .collect();
        let mut objects = Vec::new();
        for g in groups.iter() {
            let group_id = g.group_id().unwrap_or_default();
            let owner = g.owner_id().unwrap_or_default();
            let mut atoms = permission_atoms(false, g.ip_permissions(), group_id, owner);
            atoms.extend(permission_atoms(
                true,
                g.ip_permissions_egress(),
                group_id,
                owner,
            ));
            for atom in atoms {
                let rule_id = rule_ids.get(&(group_id, atom.key())).copied();
                let attributes = rule_attributes(group_id, &atom, json!(rule_id));
                objects.push(LiveObject {
                    id: attributes["id"].as_str().unwrap_or_default().to_string(),
                    attributes,
                });
            }
        }
        Ok(objects)
    })
}

fn list_ingress_rules(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let rules = describe_rules(ctx).await?;
        Ok(rules
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .map(|r| vpc_rule_object(ctx, r))
            .collect())
    })
}

fn list_egress_rules(ctx: &RegionContext) -> ListFuture<'_> {
    Box::pin(async move {
        let rules = describe_rules(ctx).await?;
        Ok(rules
            .iter()
            .filter(|r| r.is_egress() == Some(true))
            .map(|r| vpc_rule_object(ctx, r))
            .collect())
    })
}

/// Every security group of the region, listed once per scan for the types
/// (and the VPCs' default groups) that read them.
pub(super) async fn describe_groups(
    ctx: &RegionContext,
) -> Result<Arc<Vec<aws_sdk_ec2::types::SecurityGroup>>, CollectError> {
    ctx.shared(DESCRIBE_GROUPS, || {
        all_pages(DESCRIBE_GROUPS, |token| {
            let request = ctx
                .ec2()
                .describe_security_groups()
                .max_results(PAGE_SIZE)
                .set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| CollectError::from_sdk(DESCRIBE_GROUPS, e))?;
                Ok((page.security_groups.unwrap_or_default(), page.next_token))
            }
        })
    })
    .await
}

/// Every security group rule of the region, listed once per scan.
async fn describe_rules(
    ctx: &RegionContext,
) -> Result<Arc<Vec<aws_sdk_ec2::types::SecurityGroupRule>>, CollectError> {
    ctx.shared(DESCRIBE_RULES, || {
        all_pages(DESCRIBE_RULES, |token| {
            let request = ctx
                .ec2()
                .describe_security_group_rules()
                .max_results(PAGE_SIZE)
                .set_next_token(token);
            async move {
                let page = request
                    .send()
                    .await
                    .map_err(|e| CollectError::from_sdk(DESCRIBE_RULES, e))?;
                Ok((
                    page.security_group_rules.unwrap_or_default(),
                    page.next_token,
                ))
            }
        })
    })
    .await
}

/// Reads every page of a paged listing: `fetch(token)` returns one page and
/// the next token. Any failed page fails the whole listing (a partial list
/// would make the rest look missing); a token seen twice is an error too,
/// rather than a loop that never ends.
pub(crate) async fn all_pages<T, F, Fut>(
    operation: &str,
    mut fetch: F,
) -> Result<Vec<T>, CollectError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), CollectError>>,
{
    let mut items = Vec::new();
    let mut token = None;
    let mut seen = HashSet::new();
    loop {
        let (page, next) = fetch(token.take()).await?;
        items.extend(page);
        match next.filter(|t| !t.is_empty()) {
            None => return Ok(items),
            Some(next) => {
                if !seen.insert(next.clone()) {
                    return Err(CollectError::new(
                        ErrorKind::Other,
                        format!(
                            "{operation}: the API returned the page token {next:?} twice; \
                             the listing cannot complete, so the type is unknown for this scan"
                        ),
                    ));
                }
                token = Some(next);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Mapping into the provider's state shape

fn tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> Map<String, Value> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), json!(t.value().unwrap_or_default()))))
        .collect()
}

/// `aws_security_group` / `aws_default_security_group` as the provider writes it.
fn group_object(ctx: &RegionContext, g: &aws_sdk_ec2::types::SecurityGroup) -> LiveObject {
    let id = g.group_id().unwrap_or_default().to_string();
    let owner = g.owner_id().unwrap_or_default();
    let arn = g
        .security_group_arn()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "arn:{}:ec2:{}:{owner}:security-group/{id}",
                partition(&ctx.region),
                ctx.region
            )
        });
    let mut atoms = permission_atoms(false, g.ip_permissions(), &id, owner);
    atoms.extend(permission_atoms(
        true,
        g.ip_permissions_egress(),
        &id,
        owner,
    ));
    let tags = tag_map(g.tags());
    LiveObject {
        id: id.clone(),
        attributes: json!({
            "arn": arn,
            "description": g.description().unwrap_or_default(),
            "egress": elements(atoms.iter().filter(|a| a.egress)),
            "id": id,
            "ingress": elements(atoms.iter().filter(|a| !a.egress)),
            "name": g.group_name().unwrap_or_default(),
            "owner_id": owner,
            "tags": tags,
            "tags_all": tags,
            "vpc_id": g.vpc_id().unwrap_or_default(),
        }),
    }
}

/// The atoms of a group's `IpPermissions`: one per source, each with its own description.
fn permission_atoms(
    egress: bool,
    permissions: &[aws_sdk_ec2::types::IpPermission],
    group_id: &str,
    owner_id: &str,
) -> Vec<Atom> {
    let mut atoms = Vec::new();
    for p in permissions {
        let protocol = protocol_for_value(p.ip_protocol().unwrap_or("-1"));
        let (from_port, to_port) = ports(
            &protocol,
            p.from_port().map(i64::from),
            p.to_port().map(i64::from),
        );
        let mut push = |source: Source, description: Option<&str>| {
            atoms.push(Atom {
                egress,
                protocol: protocol.clone(),
                from_port,
                to_port,
                source,
                description: description.unwrap_or_default().to_string(),
            })
        };
        for r in p.ip_ranges() {
            if let Some(cidr) = r.cidr_ip() {
                push(Source::Cidr(cidr.to_string()), r.description());
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(cidr) = r.cidr_ipv6() {
                push(Source::Ipv6(cidr.to_string()), r.description());
            }
        }
        for r in p.prefix_list_ids() {
            if let Some(pl) = r.prefix_list_id() {
                push(Source::PrefixList(pl.to_string()), r.description());
            }
        }
        for pair in p.user_id_group_pairs() {
            let Some(other) = pair.group_id() else {
                continue;
            };
            let source = if other == group_id {
                Source::SelfGroup
            } else {
                Source::Group(qualified_group(pair.user_id(), other, owner_id))
            };
            push(source, pair.description());
        }
    }
    atoms
}

/// A referenced group as the provider writes it: `sg-…` in the same account,
/// `<account>/sg-…` across accounts.
fn qualified_group(user_id: Option<&str>, group_id: &str, own_account: &str) -> String {
    match user_id {
        Some(user) if !user.is_empty() && user != own_account => format!("{user}/{group_id}"),
        _ => group_id.to_string(),
    }
}

/// The atom of one AWS security group rule (`DescribeSecurityGroupRules`).
fn api_rule_atom(r: &aws_sdk_ec2::types::SecurityGroupRule) -> Option<Atom> {
    let group_id = r.group_id()?;
    let protocol = protocol_for_value(r.ip_protocol().unwrap_or("-1"));
    let (from_port, to_port) = ports(
        &protocol,
        r.from_port().map(i64::from),
        r.to_port().map(i64::from),
    );
    let source = if let Some(c) = r.cidr_ipv4() {
        Source::Cidr(c.to_string())
    } else if let Some(c) = r.cidr_ipv6() {
        Source::Ipv6(c.to_string())
    } else if let Some(p) = r.prefix_list_id() {
        Source::PrefixList(p.to_string())
    } else {
        let referenced = r.referenced_group_info()?;
        let other = referenced.group_id()?;
        if other == group_id {
            Source::SelfGroup
        } else {
            Source::Group(qualified_group(
                referenced.user_id(),
                other,
                r.group_owner_id().unwrap_or_default(),
            ))
        }
    };
    Some(Atom {
        egress: r.is_egress().unwrap_or(false),
        protocol,
        from_port,
        to_port,
        source,
        description: r.description().unwrap_or_default().to_string(),
    })
}

/// An `aws_security_group_rule` holding exactly one atom, in the provider's shape.
fn rule_attributes(group_id: &str, atom: &Atom, security_group_rule_id: Value) -> Value {
    let one = |s: Option<&String>| s.map_or(Value::Null, |s| json!([s]));
    let (cidr, ipv6, prefix, group) = match &atom.source {
        Source::Cidr(c) => (Some(c), None, None, None),
        Source::Ipv6(c) => (None, Some(c), None, None),
        Source::PrefixList(p) => (None, None, Some(p), None),
        // The provider writes the bare group id unless the configuration
        // itself named the account.
        Source::Group(g) => (None, None, None, Some(unqualified(g))),
        Source::SelfGroup => (None, None, None, None),
    };
    json!({
        "cidr_blocks": one(cidr),
        "description": Some(&atom.description).filter(|d| !d.is_empty()),
        "from_port": atom.from_port,
        "id": sgrule_id(group_id, atom.egress, &atom.protocol, atom.from_port, atom.to_port, std::slice::from_ref(&atom.source)),
        "ipv6_cidr_blocks": one(ipv6),
        "prefix_list_ids": one(prefix),
        "protocol": atom.protocol,
        "security_group_id": group_id,
        "security_group_rule_id": security_group_rule_id,
        "self": atom.source == Source::SelfGroup,
        "source_security_group_id": group,
        "to_port": atom.to_port,
        "type": if atom.egress { "egress" } else { "ingress" },
    })
}

/// `aws_vpc_security_group_ingress_rule` / `_egress_rule` as the provider writes it.
fn vpc_rule_object(ctx: &RegionContext, r: &aws_sdk_ec2::types::SecurityGroupRule) -> LiveObject {
    let id = r.security_group_rule_id().unwrap_or_default().to_string();
    let arn = r
        .security_group_rule_arn()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "arn:{}:ec2:{}:{}:security-group-rule/{id}",
                partition(&ctx.region),
                ctx.region,
                ctx.account
            )
        });
    let protocol = r.ip_protocol().unwrap_or("-1");
    // The API answers -1 for "no port" (all protocols, all ICMP types); the
    // provider keeps an unset port null.
    let port = |p: Option<i32>| match p {
        Some(-1) | None => Value::Null,
        Some(p) => json!(p),
    };
    let referenced = r.referenced_group_info().and_then(|g| {
        Some(qualified_group(
            g.user_id(),
            g.group_id()?,
            r.group_owner_id().unwrap_or(&ctx.account),
        ))
    });
    let tags = tag_map(r.tags());
    let mut attributes = json!({
            "arn": arn,
            "cidr_ipv4": r.cidr_ipv4(),
            "cidr_ipv6": r.cidr_ipv6(),
            "description": r.description().filter(|d| !d.is_empty()),
            "from_port": port(r.from_port()),
            "id": id,
            "ip_protocol": protocol,
            "prefix_list_id": r.prefix_list_id(),
            "referenced_security_group_id": referenced,
            "security_group_id": r.group_id(),
            "security_group_rule_id": id,
            "tags": if tags.is_empty() { Value::Null } else { Value::Object(tags.clone()) },
            "tags_all": tags,
            "to_port": port(r.to_port()),
    });
    if let Some(view) = sg_rule_view_id(&attributes, r.is_egress() == Some(true)) {
        attributes[SG_RULE_VIEW] = json!(view);
    }
    LiveObject { id, attributes }
}

/// The `sgrule-` id of an `aws_vpc_security_group_*_rule`'s AWS rule seen as
/// an `aws_security_group_rule` ([`SG_RULE_VIEW`]).
fn sg_rule_view_id(vpc_rule: &Value, egress: bool) -> Option<String> {
    let group = str_of(vpc_rule, "security_group_id")?;
    let atom = vpc_rule_atom(vpc_rule, egress)?;
    Some(sgrule_id(
        group,
        egress,
        &atom.protocol,
        atom.from_port,
        atom.to_port,
        std::slice::from_ref(&atom.source),
    ))
}

// ---------------------------------------------------------------------------
// Atoms

/// Where one rule lets traffic come from (ingress) or go to (egress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Cidr(String),
    Ipv6(String),
    PrefixList(String),
    /// The rule's own group (`self = true`).
    SelfGroup,
    /// Another group: `sg-…`, or `<account>/sg-…` across accounts.
    Group(String),
}

impl Source {
    /// The source without the account qualifier: group ids are unique across
    /// accounts, and Terraform spells a same-account group either way.
    fn key(&self) -> Source {
        match self {
            Source::Group(g) => Source::Group(unqualified(g).to_string()),
            other => other.clone(),
        }
    }
}

fn unqualified(group: &str) -> &str {
    group.rsplit('/').next().unwrap_or(group)
}

/// One AWS security group rule: a direction, protocol, port range, one source
/// and its description.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Atom {
    egress: bool,
    /// As [`protocol_for_value`] spells it.
    protocol: String,
    from_port: i64,
    to_port: i64,
    source: Source,
    description: String,
}

/// What identifies a rule in AWS: everything but the description (two rules
/// that differ only by description cannot coexist).
type AtomKey = (bool, String, i64, i64, Source);

impl Atom {
    fn key(&self) -> AtomKey {
        (
            self.egress,
            self.protocol.clone(),
            self.from_port,
            self.to_port,
            self.source.key(),
        )
    }
}

/// The provider's spelling of a protocol: `-1` for all, a name for the
/// protocols it knows by name (also when given as a number), else as given.
pub fn protocol_for_value(value: &str) -> String {
    const NAMED: &[(&str, &str)] = &[("icmp", "1"), ("tcp", "6"), ("udp", "17"), ("icmpv6", "58")];
    let value = value.trim().to_ascii_lowercase();
    if value == "-1" || value == "all" {
        return "-1".to_string();
    }
    NAMED
        .iter()
        .find(|(name, number)| value == *name || value == *number)
        .map_or(value, |(name, _)| name.to_string())
}

/// Ports as compared: "all protocols" has no ports (the API omits them or
/// answers -1, state says 0); an absent port is -1 ("all types" for ICMP).
fn ports(protocol: &str, from: Option<i64>, to: Option<i64>) -> (i64, i64) {
    if protocol == "-1" {
        (0, 0)
    } else {
        (from.unwrap_or(-1), to.unwrap_or(-1))
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn str_of<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A boolean, also as the string a state upgraded from Terraform 0.11 holds
/// (`attributes_flat` keeps every leaf as a string: `"self": "true"`).
fn is_true(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn int_of(v: &Value, name: &str) -> Option<i64> {
    v.get(name).and_then(|p| {
        p.as_i64()
            .or_else(|| p.as_f64().map(|f| f as i64))
            .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
    })
}

/// The atoms of a rule written with lists of sources: an inline `ingress`/`egress`
/// element (`security_groups`) or an `aws_security_group_rule`
/// (`source_security_group_id`). `own_group` turns a reference to itself into `self`.
fn listed_atoms(rule: &Value, egress: bool, own_group: &str) -> Vec<Atom> {
    let protocol = protocol_for_value(str_of(rule, "protocol").unwrap_or("-1"));
    let (from_port, to_port) = ports(
        &protocol,
        int_of(rule, "from_port"),
        int_of(rule, "to_port"),
    );
    let mut sources: Vec<Source> = Vec::new();
    sources.extend(
        strings(rule.get("cidr_blocks"))
            .into_iter()
            .map(Source::Cidr),
    );
    sources.extend(
        strings(rule.get("ipv6_cidr_blocks"))
            .into_iter()
            .map(Source::Ipv6),
    );
    sources.extend(
        strings(rule.get("prefix_list_ids"))
            .into_iter()
            .map(Source::PrefixList),
    );
    let mut groups = strings(rule.get("security_groups"));
    groups.extend(str_of(rule, "source_security_group_id").map(str::to_string));
    if is_true(rule.get("self")) {
        sources.push(Source::SelfGroup);
    }
    for g in groups {
        sources.push(if !own_group.is_empty() && unqualified(&g) == own_group {
            Source::SelfGroup
        } else {
            Source::Group(g)
        });
    }
    let description = str_of(rule, "description").unwrap_or_default().to_string();
    let unique: BTreeSet<Source> = sources.into_iter().collect();
    unique
        .into_iter()
        .map(|source| Atom {
            egress,
            protocol: protocol.clone(),
            from_port,
            to_port,
            source,
            description: description.clone(),
        })
        .collect()
}

/// The atoms of a group's `ingress` or `egress` attribute (null counts as none).
fn group_atoms(group: &Value, egress: bool) -> Vec<Atom> {
    let own = str_of(group, "id").unwrap_or_default();
    let name = if egress { "egress" } else { "ingress" };
    group
        .get(name)
        .and_then(Value::as_array)
        .map(|elements| {
            elements
                .iter()
                .flat_map(|e| listed_atoms(e, egress, own))
                .collect()
        })
        .unwrap_or_default()
}

/// The atom of an `aws_vpc_security_group_*_rule`.
fn vpc_rule_atom(rule: &Value, egress: bool) -> Option<Atom> {
    let own = str_of(rule, "security_group_id").unwrap_or_default();
    let protocol = protocol_for_value(str_of(rule, "ip_protocol").unwrap_or("-1"));
    let (from_port, to_port) = ports(
        &protocol,
        int_of(rule, "from_port"),
        int_of(rule, "to_port"),
    );
    let source = if let Some(c) = str_of(rule, "cidr_ipv4") {
        Source::Cidr(c.to_string())
    } else if let Some(c) = str_of(rule, "cidr_ipv6") {
        Source::Ipv6(c.to_string())
    } else if let Some(p) = str_of(rule, "prefix_list_id") {
        Source::PrefixList(p.to_string())
    } else {
        let g = str_of(rule, "referenced_security_group_id")?;
        if unqualified(g) == own {
            Source::SelfGroup
        } else {
            Source::Group(g.to_string())
        }
    };
    Some(Atom {
        egress,
        protocol,
        from_port,
        to_port,
        source,
        description: str_of(rule, "description").unwrap_or_default().to_string(),
    })
}

/// The atoms a rule resource of `child_type` manages.
fn child_atoms(child_type: &str, child: &Value) -> Vec<Atom> {
    match child_type {
        SG_RULE => {
            let egress = str_of(child, "type") == Some("egress");
            let own = str_of(child, "security_group_id").unwrap_or_default();
            listed_atoms(child, egress, own)
        }
        INGRESS_RULE => vpc_rule_atom(child, false).into_iter().collect(),
        EGRESS_RULE => vpc_rule_atom(child, true).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Regroups atoms into the provider's `ingress`/`egress` elements: one element
/// per protocol, port range and description, sources sorted.
fn elements<'a>(atoms: impl Iterator<Item = &'a Atom>) -> Value {
    #[derive(Default)]
    struct Element {
        cidr: BTreeSet<String>,
        ipv6: BTreeSet<String>,
        prefix: BTreeSet<String>,
        groups: BTreeSet<String>,
        self_: bool,
    }
    let mut by_key: BTreeMap<(String, i64, i64, String), Element> = BTreeMap::new();
    for a in atoms {
        let e = by_key
            .entry((
                a.protocol.clone(),
                a.from_port,
                a.to_port,
                a.description.clone(),
            ))
            .or_default();
        match &a.source {
            Source::Cidr(c) => e.cidr.insert(c.clone()),
            Source::Ipv6(c) => e.ipv6.insert(c.clone()),
            Source::PrefixList(p) => e.prefix.insert(p.clone()),
            Source::Group(g) => e.groups.insert(g.clone()),
            Source::SelfGroup => {
                e.self_ = true;
                true
            }
        };
    }
    Value::Array(
        by_key
            .into_iter()
            .map(|((protocol, from_port, to_port, description), e)| {
                json!({
                    "cidr_blocks": e.cidr,
                    "description": description,
                    "from_port": from_port,
                    "ipv6_cidr_blocks": e.ipv6,
                    "prefix_list_ids": e.prefix,
                    "protocol": protocol,
                    "security_groups": e.groups,
                    "self": e.self_,
                    "to_port": to_port,
                })
            })
            .collect(),
    )
}

/// Rewrites a group's `ingress` and `egress` from atoms, keeping those `keep` accepts.
fn rewrite_group_rules(group: &mut Value, keep: impl Fn(&Atom) -> bool) {
    if !group.is_object() {
        return;
    }
    for (name, egress) in [("ingress", false), ("egress", true)] {
        let atoms: Vec<Atom> = group_atoms(group, egress)
            .into_iter()
            .filter(|a| keep(a))
            .collect();
        group[name] = elements(atoms.iter());
    }
}

/// A group's rules in one spelling: regrouped from atoms, referenced groups
/// without their account (the provider writes `<account>/sg-…` or `sg-…`
/// depending on who owns the group and on what the configuration said).
fn canonical_group_rules(group: &mut Value) {
    if !group.is_object() {
        return;
    }
    for (name, egress) in [("ingress", false), ("egress", true)] {
        let atoms: Vec<Atom> = group_atoms(group, egress)
            .into_iter()
            .map(|a| Atom {
                source: a.source.key(),
                ..a
            })
            .collect();
        group[name] = elements(atoms.iter());
    }
}

// ---------------------------------------------------------------------------
// The sgrule id

/// The id the provider gives an `aws_security_group_rule`: `sgrule-` and the
/// CRC-32 (IEEE) of a text made from the group id, the ports when above zero,
/// the protocol, the direction, then the sorted IPv4 CIDRs, IPv6 CIDRs and
/// prefix lists, and each referenced group id followed by an empty group name,
/// every part ended by `-`.
pub fn sgrule_id(
    group_id: &str,
    egress: bool,
    protocol: &str,
    from_port: i64,
    to_port: i64,
    sources: &[Source],
) -> String {
    let mut text = format!("{group_id}-");
    if from_port > 0 {
        text.push_str(&format!("{from_port}-"));
    }
    if to_port > 0 {
        text.push_str(&format!("{to_port}-"));
    }
    text.push_str(&format!(
        "{}-{}-",
        protocol_for_value(protocol),
        if egress { "egress" } else { "ingress" }
    ));
    let sorted = |pick: fn(&Source) -> Option<&str>| -> Vec<&str> {
        let mut v: Vec<&str> = sources.iter().filter_map(pick).collect();
        v.sort_unstable();
        v
    };
    for part in sorted(|s| match s {
        Source::Cidr(c) => Some(c),
        _ => None,
    }) {
        text.push_str(part);
        text.push('-');
    }
    for part in sorted(|s| match s {
        Source::Ipv6(c) => Some(c),
        _ => None,
    }) {
        text.push_str(part);
        text.push('-');
    }
    for part in sorted(|s| match s {
        Source::PrefixList(p) => Some(p),
        _ => None,
    }) {
        text.push_str(part);
        text.push('-');
    }
    let mut groups: Vec<&str> = sources
        .iter()
        .filter_map(|s| match s {
            Source::SelfGroup => Some(group_id),
            Source::Group(g) => Some(unqualified(g)),
            _ => None,
        })
        .collect();
    groups.sort_unstable();
    groups.dedup();
    for g in groups {
        // The group id, then the (EC2-Classic) group name, absent in a VPC.
        text.push_str(g);
        text.push_str("--");
    }
    format!("sgrule-{}", crc32(text.as_bytes()))
}

/// CRC-32 with the IEEE polynomial (as zlib and Go's `hash/crc32` compute it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One AWS rule per source: an `aws_security_group_rule` with several sources
/// (two CIDRs, or a CIDR and an IPv6 CIDR) is several AWS rules, each listed
/// live under its own `sgrule-` id. Returns those parts with their ids, or
/// `None` when the rule has one source (it is matched as itself).
pub fn split_security_group_rule(desired: &Value) -> Option<Vec<(String, Value)>> {
    let group_id = str_of(desired, "security_group_id")?;
    let egress = str_of(desired, "type") == Some("egress");
    let atoms = listed_atoms(desired, egress, group_id);
    if atoms.len() <= 1 {
        return None;
    }
    Some(
        atoms
            .iter()
            .map(|atom| {
                // Which AWS rule each part is, the state does not say.
                let mut part = rule_attributes(group_id, atom, Value::Null);
                if let (Some(obj), Some(timeouts)) = (part.as_object_mut(), desired.get("timeouts"))
                {
                    obj.insert("timeouts".to_string(), timeouts.clone());
                }
                let id = part["id"].as_str().unwrap_or_default().to_string();
                (id, part)
            })
            .collect(),
    )
}

/// The `sgrule-` id of an `aws_security_group_rule` as the provider computed it
/// when it created the rule, over all its sources.
pub fn security_group_rule_id_of(desired: &Value) -> Option<String> {
    let group_id = str_of(desired, "security_group_id")?;
    let egress = str_of(desired, "type") == Some("egress");
    let atoms = listed_atoms(desired, egress, group_id);
    let first = atoms.first()?;
    let sources: Vec<Source> = atoms.iter().map(|a| a.source.clone()).collect();
    Some(sgrule_id(
        group_id,
        egress,
        &first.protocol,
        first.from_port,
        first.to_port,
        &sources,
    ))
}

// ---------------------------------------------------------------------------
// Folds, normalisation, defaults

/// Removes the rules `desired_child` manages from both sides of its group, so
/// they are compared through the child only. Matched by everything but the
/// description: a description changed out of band is the child's drift.
fn remove_child_rules(
    desired_parent: &mut Value,
    live_parent: &mut Value,
    child_type: &str,
    desired_child: &Value,
) {
    let managed: HashSet<AtomKey> = child_atoms(child_type, desired_child)
        .iter()
        .map(Atom::key)
        .collect();
    if managed.is_empty() {
        return;
    }
    for parent in [desired_parent, live_parent] {
        rewrite_group_rules(parent, |a| !managed.contains(&a.key()));
    }
}

/// Both sides' rules regrouped from atoms (protocol spellings, split or merged
/// elements, source order and null-vs-empty all stop mattering), and tags.
fn normalize_group(desired: &mut Value, live: &mut Value) {
    canonical_group_rules(desired);
    canonical_group_rules(live);
    normalize_tags(desired, live);
}

/// `tags` vs `tags_all`: the live side only knows every tag (`tags_all`);
/// which of them the resource sets itself (`tags`) rather than the provider's
/// `default_tags`, only the state knows. A tag changed out of band shows in
/// `tags_all`, and in `tags` when the resource sets it.
fn normalize_tags(desired: &mut Value, live: &mut Value) {
    // Providers before 3.38 had no `default_tags` and wrote no `tags_all`:
    // their `tags` are all the tags.
    if desired.is_object()
        && desired.get("tags_all").is_none()
        && let Some(obj) = live.as_object_mut()
        && let Some(all) = obj.remove("tags_all")
    {
        obj.insert("tags".to_string(), all);
        for side in [&mut *desired, &mut *live] {
            if side.get("tags").is_none_or(Value::is_null) {
                side["tags"] = json!({});
            }
        }
        return;
    }
    for side in [&mut *desired, &mut *live] {
        if let Some(obj) = side.as_object_mut() {
            for name in ["tags", "tags_all"] {
                if obj.get(name).is_none_or(Value::is_null) {
                    obj.insert(name.to_string(), json!({}));
                }
            }
        }
    }
    let own: BTreeSet<String> = desired
        .get("tags")
        .and_then(Value::as_object)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    if let Some(all) = live.get("tags_all").and_then(Value::as_object) {
        let tags: Map<String, Value> = all
            .iter()
            .filter(|(k, _)| own.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        live["tags"] = Value::Object(tags);
    }
}

fn normalize_security_group_rule(desired: &mut Value, live: &mut Value) {
    for side in [&mut *desired, &mut *live] {
        let Some(obj) = side.as_object_mut() else {
            continue;
        };
        for name in ["cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids"] {
            let mut list = strings(obj.get(name));
            list.sort();
            obj.insert(name.to_string(), json!(list));
        }
        if obj.get("description").is_none_or(Value::is_null) {
            obj.insert("description".to_string(), json!(""));
        }
        let protocol =
            protocol_for_value(obj.get("protocol").and_then(Value::as_str).unwrap_or("-1"));
        if protocol == "-1" {
            obj.insert("from_port".to_string(), json!(0));
            obj.insert("to_port".to_string(), json!(0));
        }
        obj.insert("protocol".to_string(), json!(protocol));
        // Older providers also wrote the group itself as the source of a `self`
        // rule; an account prefix is kept only when the configuration had one.
        let own = obj.get("security_group_id").cloned();
        let source = obj
            .get("source_security_group_id")
            .and_then(Value::as_str)
            .map(|g| json!(unqualified(g)))
            .unwrap_or(Value::Null);
        // A rule whose source is its own group is one AWS rule whether the
        // configuration wrote `self = true` or named the group as the source
        // (terraform-aws-eks 13.x did the latter): both read as `self`.
        let own = own.unwrap_or_default();
        if !own.is_null() && source == own {
            obj.insert("self".to_string(), json!(true));
        }
        let is_self = is_true(obj.get("self"));
        obj.insert(
            "source_security_group_id".to_string(),
            if is_self && source == own {
                Value::Null
            } else {
                source
            },
        );
    }
    // A rule split from a multi-source resource does not know its AWS rule id;
    // providers before 3.x did not record it at all.
    if let Some(obj) = live.as_object_mut() {
        // hashicorp/aws 5.x writes "" for a rule of several AWS rules.
        match desired.get("security_group_rule_id") {
            None => {
                obj.remove("security_group_rule_id");
            }
            Some(unknown) if unknown.is_null() || unknown == "" => {
                obj.insert("security_group_rule_id".to_string(), unknown.clone());
            }
            Some(_) => {}
        }
    }
}

fn normalize_vpc_rule(desired: &mut Value, live: &mut Value) {
    for side in [&mut *desired, &mut *live] {
        if let Some(obj) = side.as_object_mut() {
            let protocol = protocol_for_value(
                obj.get("ip_protocol")
                    .and_then(Value::as_str)
                    .unwrap_or("-1"),
            );
            obj.insert("ip_protocol".to_string(), json!(protocol));
            if obj
                .get("description")
                .is_some_and(|d| d.as_str() == Some(""))
            {
                obj.insert("description".to_string(), Value::Null);
            }
        }
    }
    // The API says -1 where the state may say -1 or null (no port).
    for port in ["from_port", "to_port"] {
        if desired.get(port).and_then(Value::as_i64) == Some(-1)
            && live.get(port).is_some_and(Value::is_null)
        {
            live[port] = json!(-1);
        }
    }
    normalize_tags(desired, live);
}

/// The group every VPC gets: managed only through `aws_default_security_group`.
fn is_default_group(live: &Value) -> bool {
    live.get("name").and_then(Value::as_str) == Some("default")
}

fn always_default(_: &Value) -> bool {
    true
}

/// The allow-all egress rule AWS adds to every new group (Terraform removes it
/// from the groups it creates unless their `egress` asks for it).
fn is_default_egress(atom: &Atom) -> bool {
    atom.egress
        && atom.protocol == "-1"
        && atom.description.is_empty()
        && (matches!(&atom.source, Source::Cidr(c) if c == "0.0.0.0/0")
            || matches!(&atom.source, Source::Ipv6(c) if c == "::/0"))
}

fn is_default_security_group_rule(live: &Value) -> bool {
    let atoms = child_atoms(SG_RULE, live);
    !atoms.is_empty() && atoms.iter().all(is_default_egress)
}

fn is_default_vpc_egress_rule(live: &Value) -> bool {
    vpc_rule_atom(live, true).is_some_and(|a| is_default_egress(&a))
}

#[cfg(test)]
mod tests;
