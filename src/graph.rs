//! The resource graph of one scan: nodes are resources, edges say "depends on".
//!
//! Edges come from state `dependencies` (within one state) and from references:
//! an attribute holding another resource's id, ARN, or (for attributes that
//! name things, such as `role` or `bucket`) its name. Pure: no IO.

use crate::diag::Diagnostic;
use crate::model::{Mode, Resource};
use crate::state::NAME_REFERENCE_ATTRIBUTES;
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Bfs, Reversed};
use std::collections::HashMap;
use std::sync::Arc;

/// Why one resource depends on another.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Listed in the state's `dependencies`.
    DependsOn,
    /// An attribute of the dependent holds the other's id, ARN or name.
    References { attribute: Arc<str> },
}

/// A neighbour of a resource in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// Index into the resource slice the graph was built from.
    pub resource: usize,
    /// `Outgoing`: the resource depends on the neighbour; `Incoming`: the neighbour depends on it.
    pub direction: Direction,
    pub kind: EdgeKind,
}

/// What [`ResourceGraph::dependents_by_level`] draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbourhood {
    /// Dependents (resource indexes) with their level, nearest first.
    pub shown: Vec<(usize, u32)>,
    /// (dependent, dependency) pairs among the resource and `shown`.
    pub edges: Vec<(usize, usize)>,
    /// Dependents left out.
    pub more: usize,
}

/// The graph over a slice of resources; node weights are indexes into that slice.
#[derive(Debug)]
pub struct ResourceGraph {
    graph: DiGraph<usize, EdgeKind>,
}

/// Resource types whose `name` attribute other resources use to refer to them
/// (an IAM role is referenced by name in `aws_iam_role_policy_attachment.role`).
const NAMED_TYPES: &[&str] = &[
    "aws_iam_role",
    "aws_iam_user",
    "aws_iam_group",
    "aws_iam_instance_profile",
    "aws_cloudwatch_log_group",
    "aws_db_subnet_group",
    "aws_db_parameter_group",
    "aws_ecr_repository",
    "aws_dynamodb_table",
    "aws_eks_cluster",
    "aws_lambda_function",
    "azurerm_resource_group",
    "azurerm_virtual_network",
    "azurerm_network_security_group",
    "azurerm_storage_account",
];

impl ResourceGraph {
    /// Builds the graph. Linear in resources plus references: lookups go through
    /// hash maps of ids, ARNs, names and addresses.
    pub fn build(resources: &[Resource]) -> (ResourceGraph, Vec<Diagnostic>) {
        let mut graph = DiGraph::with_capacity(resources.len(), resources.len() * 2);
        for i in 0..resources.len() {
            graph.add_node(i);
        }
        let diagnostics = Vec::new();

        // Lookup tables. Managed resources win over data sources with the same id:
        // a reference to a VPC that is both managed and read by a data source
        // points at the managed one.
        let mut by_id: HashMap<&str, Vec<usize>> = HashMap::with_capacity(resources.len());
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_arn: HashMap<&str, Vec<usize>> = HashMap::new();
        // Dependencies resolve within the state that lists them: origin, then address.
        let mut by_address: HashMap<&str, HashMap<String, Vec<usize>>> = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            if !r.key.id.is_empty() {
                by_id.entry(r.key.id.as_str()).or_default().push(i);
            }
            if let Some(arn) = &r.aliases.arn {
                by_arn.entry(arn.as_str()).or_default().push(i);
            }
            if let Some(name) = &r.aliases.name
                && NAMED_TYPES.contains(&&*r.key.resource_type)
            {
                by_name.entry(name.as_str()).or_default().push(i);
            }
            by_address
                .entry(&*r.origin)
                .or_default()
                .entry(r.address.resource_address())
                .or_default()
                .push(i);
        }
        let prefer_managed = |candidates: &[usize]| -> Vec<usize> {
            let managed: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&c| resources[c].address.mode == Mode::Managed)
                .collect();
            if managed.is_empty() {
                candidates.to_vec()
            } else {
                managed
            }
        };

        let mut edges: Vec<(usize, usize, EdgeKind)> = Vec::new();
        let mut attribute_names: HashMap<&str, Arc<str>> = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            for dep in &r.dependencies {
                let in_state = by_address.get(&*r.origin);
                if let Some(targets) = in_state.and_then(|m| m.get(&**dep)) {
                    edges.extend(
                        targets
                            .iter()
                            .filter(|&&t| t != i)
                            .map(|&t| (i, t, EdgeKind::DependsOn)),
                    );
                }
            }
            for reference in &r.references {
                let value = reference.value.as_str();
                let targets = if value.starts_with("arn:") {
                    by_arn
                        .get(value)
                        .map(Vec::as_slice)
                        .or_else(|| by_id.get(value).map(Vec::as_slice))
                } else {
                    by_id.get(value).map(Vec::as_slice).or_else(|| {
                        NAME_REFERENCE_ATTRIBUTES
                            .contains(&reference.attribute.as_str())
                            .then(|| by_name.get(value).map(Vec::as_slice))
                            .flatten()
                    })
                };
                let Some(targets) = targets else { continue };
                let attribute = attribute_names
                    .entry(reference.attribute.as_str())
                    .or_insert_with(|| Arc::from(reference.attribute.as_str()))
                    .clone();
                for t in prefer_managed(targets) {
                    if t != i {
                        edges.push((
                            i,
                            t,
                            EdgeKind::References {
                                attribute: attribute.clone(),
                            },
                        ));
                    }
                }
            }
        }
        // One edge per pair: a state dependency also seen as a reference keeps the reference
        // (it says which attribute), then the first attribute in name order.
        edges.sort_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| edge_rank(&a.2).cmp(&edge_rank(&b.2)))
        });
        edges.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for (from, to, kind) in edges {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), kind);
        }
        (ResourceGraph { graph }, diagnostics)
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Every resource that depends on `resource`, directly or transitively: what a
    /// change to it can break. Sorted indexes, `resource` itself excluded.
    pub fn dependents(&self, resource: usize) -> Vec<usize> {
        let reversed = Reversed(&self.graph);
        let mut bfs = Bfs::new(reversed, NodeIndex::new(resource));
        let mut out = Vec::new();
        while let Some(n) = bfs.next(reversed) {
            if n.index() != resource {
                out.push(self.graph[n]);
            }
        }
        out.sort_unstable();
        out
    }

    /// The dependents of `resource` level by level (1: depends on it directly),
    /// at most `limit` of them, for drawing.
    pub fn dependents_by_level(&self, resource: usize, limit: usize) -> Neighbourhood {
        let mut level: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
        level.insert(resource, 0);
        let mut queue = std::collections::VecDeque::from([NodeIndex::new(resource)]);
        let mut shown = Vec::new();
        let mut total = 0usize;
        while let Some(n) = queue.pop_front() {
            let depth = level[&self.graph[n]];
            let mut next: Vec<NodeIndex> = self
                .graph
                .neighbors_directed(n, Direction::Incoming)
                .collect();
            next.sort_unstable();
            next.dedup();
            for m in next {
                let r = self.graph[m];
                if level.contains_key(&r) {
                    continue;
                }
                level.insert(r, depth + 1);
                total += 1;
                if shown.len() < limit {
                    shown.push((r, depth + 1));
                }
                queue.push_back(m);
            }
        }
        let drawn: std::collections::HashSet<usize> = shown
            .iter()
            .map(|&(r, _)| r)
            .chain(std::iter::once(resource))
            .collect();
        let mut edges: Vec<(usize, usize)> = self
            .graph
            .edge_indices()
            .filter_map(|e| self.graph.edge_endpoints(e))
            .map(|(a, b)| (self.graph[a], self.graph[b]))
            .filter(|(a, b)| a != b && drawn.contains(a) && drawn.contains(b))
            .collect();
        edges.sort_unstable();
        edges.dedup();
        Neighbourhood {
            shown,
            edges,
            more: total - total.min(limit),
        }
    }

    /// The blast radius: how many resources depend on `resource`, transitively.
    pub fn blast_radius(&self, resource: usize) -> usize {
        self.dependents(resource).len()
    }

    /// Direct neighbours in both directions, for display.
    pub fn neighbours(&self, resource: usize) -> Vec<Neighbour> {
        let node = NodeIndex::new(resource);
        let mut out = Vec::new();
        for direction in [Direction::Outgoing, Direction::Incoming] {
            for edge in self.graph.edges_directed(node, direction) {
                use petgraph::visit::EdgeRef;
                let other = if direction == Direction::Outgoing {
                    edge.target()
                } else {
                    edge.source()
                };
                out.push(Neighbour {
                    resource: self.graph[other],
                    direction,
                    kind: edge.weight().clone(),
                });
            }
        }
        out.sort_by(|a, b| {
            (a.resource, a.direction == Direction::Incoming)
                .cmp(&(b.resource, b.direction == Direction::Incoming))
        });
        out
    }
}

fn edge_rank(kind: &EdgeKind) -> (u8, Option<&str>) {
    match kind {
        EdgeKind::References { attribute } => (0, Some(attribute)),
        EdgeKind::DependsOn => (1, None),
    }
}
