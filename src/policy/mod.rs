//! Policy (pure): each finding's tier, and what decided it.
//!
//! Tiers (DESIGN.md): 1 *inform* (report and digest), 2 *propose* (a PR and
//! a chat message asking for a review), 3 *advise and page*. `[[policy.rule]]`
//! rules match on where (target, environment), what (resource type, changed
//! attribute paths, tags, drift kind), how (the actor's channel) and
//! security-relevant content ([`security`]); the highest matching tier wins,
//! the first rule of that tier names the decision. Then the graph may raise
//! it: more dependents than `raise_at_dependents` adds one tier (at most 3).

pub mod security;

use crate::config::{PolicyConfig, TierRule};
use crate::model::AttrPath;
use security::Signal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the tier of a finding depends on, gathered when the scan saw it and
/// kept with the finding, so the tier can be decided again (when its actor
/// is found, when the config changes) without the scan's resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub target: String,
    pub environment: String,
    pub resource_type: String,
    /// `changed`, `unmanaged` or `missing`.
    pub kind: String,
    /// The cloud account and region it is in, when known.
    pub account: Option<String>,
    pub region: Option<String>,
    /// Changed attribute paths (changed drift), as `a.b[0].c`.
    pub paths: Vec<String>,
    /// The resource's tags (live, else recorded).
    pub tags: BTreeMap<String, String>,
    pub security: Vec<Signal>,
    /// Resources that depend on it, transitively (the graph of the state).
    pub blast_radius: usize,
    /// Up to [`DEPENDENTS_SHOWN`] of them, by address.
    pub dependents: Vec<String>,
}

/// Dependents kept by address for messages.
pub const DEPENDENTS_SHOWN: usize = 5;

/// How a change was made, as tier rules name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Console,
    Cli,
    Sdk,
    /// Terraform, CloudFormation, or a principal listed as the pipeline's.
    Iac,
    AwsService,
    /// Not known (yet): no event explains it.
    Unknown,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Console => "console",
            ActorKind::Cli => "cli",
            ActorKind::Sdk => "sdk",
            ActorKind::Iac => "iac",
            ActorKind::AwsService => "aws_service",
            ActorKind::Unknown => "unknown",
        }
    }

    /// From an explaining event's actor (`None`: no event explains it).
    pub fn of(actor: Option<&crate::attribution::Actor>) -> ActorKind {
        use crate::attribution::Channel;
        let Some(actor) = actor else {
            return ActorKind::Unknown;
        };
        if actor.iac {
            return ActorKind::Iac;
        }
        match actor.channel {
            Channel::Console => ActorKind::Console,
            Channel::Cli => ActorKind::Cli,
            Channel::Terraform | Channel::Cloudformation => ActorKind::Iac,
            Channel::AwsService => ActorKind::AwsService,
            Channel::Sdk => ActorKind::Sdk,
            Channel::Unknown => ActorKind::Unknown,
        }
    }
}

/// The tier of a finding and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierDecision {
    pub tier: u8,
    /// The rule that set it; `None`: the default tier.
    pub rule: Option<String>,
    /// Why, in words: every condition of the deciding rule and what matched
    /// it, and the blast radius when it raised the tier.
    pub why: String,
}

/// `inform`, `propose` or `advise`.
pub fn tier_name(tier: u8) -> &'static str {
    match tier {
        1 => "inform",
        2 => "propose",
        _ => "advise",
    }
}

/// Decides the tier of a finding with `facts`, made by `actor`.
pub fn decide(facts: &Facts, actor: ActorKind, policy: &PolicyConfig) -> TierDecision {
    let mut best: Option<(u8, &TierRule, Vec<String>)> = None;
    for rule in &policy.rules {
        if let Some(reasons) = matches(rule, facts, actor)
            && best.as_ref().is_none_or(|(tier, _, _)| rule.tier > *tier)
        {
            best = Some((rule.tier, rule, reasons));
        }
    }
    let (mut tier, rule, mut why) = match best {
        Some((tier, rule, reasons)) => {
            let why = if reasons.is_empty() {
                format!("rule {} (matches every finding)", rule.name)
            } else {
                format!("rule {}: {}", rule.name, reasons.join("; "))
            };
            (tier, Some(rule.name.clone()), why)
        }
        None => (
            policy.default_tier,
            None,
            format!("no rule matched: the default tier {}", policy.default_tier),
        ),
    };
    if let Some(limit) = policy.raise_at_dependents
        && facts.blast_radius > limit
        && tier < 3
    {
        tier += 1;
        why.push_str(&format!(
            "; raised to tier {tier}: {} resources depend on it (more than {limit})",
            facts.blast_radius
        ));
    }
    TierDecision { tier, rule, why }
}

/// `Some(reasons)` when every condition of `rule` holds, each reason saying
/// what matched; `None` otherwise.
fn matches(rule: &TierRule, f: &Facts, actor: ActorKind) -> Option<Vec<String>> {
    let mut why = Vec::new();
    let any_glob = |globs: &[crate::ignore::Glob], s: &str| globs.iter().any(|g| g.matches(s));
    if !rule.targets.is_empty() {
        any_glob(&rule.targets, &f.target).then(|| why.push(format!("target {}", f.target)))?;
    }
    if !rule.environments.is_empty() {
        any_glob(&rule.environments, &f.environment)
            .then(|| why.push(format!("environment {}", f.environment)))?;
    }
    if !rule.resource_types.is_empty() {
        any_glob(&rule.resource_types, &f.resource_type)
            .then(|| why.push(format!("type {}", f.resource_type)))?;
    }
    if !rule.kinds.is_empty() {
        rule.kinds
            .iter()
            .any(|k| k.as_str() == f.kind)
            .then(|| why.push(format!("kind {}", f.kind)))?;
    }
    if !rule.attributes.is_empty() {
        let hit = f.paths.iter().find(|p| {
            AttrPath::parse(p).is_some_and(|path| rule.attributes.iter().any(|a| a.matches(&path)))
        })?;
        why.push(format!("attribute {hit}"));
    }
    for (key, glob) in &rule.tags {
        let value = f.tags.get(key).filter(|v| glob.matches(v))?;
        why.push(format!("tag {key}={value}"));
    }
    if !rule.actors.is_empty() {
        rule.actors
            .iter()
            .any(|a| a == actor.as_str())
            .then(|| why.push(format!("actor {}", actor.as_str())))?;
    }
    if !rule.security.is_empty() {
        let hit = f
            .security
            .iter()
            .find(|s| rule.security.iter().any(|r| r == "any" || *r == s.kind))?;
        why.push(format!("security {} ({})", hit.kind, hit.detail));
    }
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ignore::{AttrPattern, Glob};

    fn facts() -> Facts {
        Facts {
            target: "prod-network".into(),
            environment: "prod".into(),
            resource_type: "aws_security_group".into(),
            kind: "changed".into(),
            account: None,
            region: None,
            paths: vec!["ingress".into(), "tags.Owner".into()],
            tags: BTreeMap::from([("team".into(), "payments".into())]),
            security: vec![Signal {
                kind: "open_to_world".into(),
                detail: "ingress 22/tcp from 0.0.0.0/0".into(),
            }],
            blast_radius: 3,
            dependents: vec![],
        }
    }

    fn rule(name: &str, tier: u8) -> TierRule {
        TierRule {
            name: name.into(),
            tier,
            targets: vec![],
            environments: vec![],
            resource_types: vec![],
            attributes: vec![],
            tags: BTreeMap::new(),
            kinds: vec![],
            actors: vec![],
            security: vec![],
        }
    }

    fn policy(rules: Vec<TierRule>) -> PolicyConfig {
        PolicyConfig {
            default_tier: 1,
            raise_at_dependents: Some(25),
            rules,
        }
    }

    #[test]
    fn the_highest_matching_tier_wins_and_says_why() {
        let mut prod = rule("prod", 2);
        prod.environments = vec![Glob::new("prod*").unwrap()];
        let mut world = rule("world-open", 3);
        world.security = vec!["open_to_world".into()];
        let mut tags_only = rule("tags", 1);
        tags_only.attributes = vec![AttrPattern::parse("tags.*").unwrap()];
        let d = decide(
            &facts(),
            ActorKind::Unknown,
            &policy(vec![tags_only, prod, world]),
        );
        assert_eq!(d.tier, 3);
        assert_eq!(d.rule.as_deref(), Some("world-open"));
        assert_eq!(
            d.why,
            "rule world-open: security open_to_world (ingress 22/tcp from 0.0.0.0/0)"
        );
    }

    #[test]
    fn every_condition_must_hold() {
        let mut r = rule("console-in-payments", 3);
        r.actors = vec!["console".into()];
        r.tags = BTreeMap::from([("team".into(), Glob::new("pay*").unwrap())]);
        let p = policy(vec![r]);
        assert_eq!(decide(&facts(), ActorKind::Iac, &p).tier, 1);
        let d = decide(&facts(), ActorKind::Console, &p);
        assert_eq!(d.tier, 3);
        assert_eq!(
            d.why,
            "rule console-in-payments: tag team=payments; actor console"
        );
        let mut other = facts();
        other.tags.clear();
        assert_eq!(decide(&other, ActorKind::Console, &p).tier, 1);
    }

    #[test]
    fn a_large_blast_radius_raises_the_tier_once() {
        let mut f = facts();
        f.blast_radius = 40;
        let d = decide(&f, ActorKind::Unknown, &policy(vec![]));
        assert_eq!(d.tier, 2);
        assert_eq!(d.rule, None);
        assert!(
            d.why
                .ends_with("raised to tier 2: 40 resources depend on it (more than 25)"),
            "{}",
            d.why
        );
        let mut never = policy(vec![]);
        never.raise_at_dependents = None;
        assert_eq!(decide(&f, ActorKind::Unknown, &never).tier, 1);
    }
}
