//! The resource model shared by every part of driftd: what a resource is,
//! how it is keyed, and how its Terraform address and provider are spelled.
//!
//! Pure data: nothing here does IO.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;
use std::sync::Arc;

/// Whether a state entry is a managed resource or a data source.
/// Data sources are kept in the model (they feed the graph) but never drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Managed,
    Data,
}

/// The `count` (integer) or `for_each` (string) key of one resource instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IndexKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndexKey::Int(i) => write!(f, "[{i}]"),
            // Terraform quotes for_each keys with Go-style escaping; serde_json's
            // string escaping matches it for every key Terraform accepts.
            IndexKey::Str(s) => write!(f, "[{}]", serde_json::to_string(s).unwrap_or_default()),
        }
    }
}

/// A resource instance's Terraform address, e.g.
/// `module.net.module.sg.aws_security_group.web["a"]` or `data.aws_ami.ubuntu[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    /// The module path as Terraform writes it (`module.a.module.b`, or `module.a["x"]`),
    /// `None` for the root module. Shared: every resource of a module points at one copy.
    pub module: Option<Arc<str>>,
    pub mode: Mode,
    /// Shared with the key (and interned per state): types repeat thousands of times.
    pub resource_type: Arc<str>,
    pub name: String,
    pub index: Option<IndexKey>,
}

impl Address {
    /// The address of the resource (all instances), without the index key:
    /// the form Terraform writes in `dependencies`.
    pub fn resource_address(&self) -> String {
        let mut s = String::new();
        if let Some(m) = &self.module {
            s.push_str(m);
            s.push('.');
        }
        if self.mode == Mode::Data {
            s.push_str("data.");
        }
        s.push_str(&self.resource_type);
        s.push('.');
        s.push_str(&self.name);
        s
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.resource_address())?;
        if let Some(i) = &self.index {
            write!(f, "{i}")?;
        }
        Ok(())
    }
}

/// A provider configuration address as found in state, normalised from every
/// form Terraform and OpenTofu have written:
/// `provider.aws`, `provider.aws.west`, `provider["registry.terraform.io/hashicorp/aws"]`,
/// `provider["registry.opentofu.org/hashicorp/aws"].west`, `module.x.provider[...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderAddress {
    /// Registry host, `registry.terraform.io` when the state used the legacy short form.
    pub hostname: String,
    /// Registry namespace (`hashicorp`); `-` for legacy addresses that did not record it.
    pub namespace: String,
    /// Provider type (`aws`, `azurerm`): the first part of every resource type it owns.
    pub name: String,
    /// The provider configuration alias (`provider "aws" { alias = "west" }`).
    pub alias: Option<String>,
    /// The module whose provider configuration this is, `None` for the root module.
    pub module: Option<String>,
}

impl fmt::Display for ProviderAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = &self.module {
            write!(f, "{m}.")?;
        }
        write!(
            f,
            "provider[\"{}/{}/{}\"]",
            self.hostname, self.namespace, self.name
        )?;
        if let Some(a) = &self.alias {
            write!(f, ".{a}")?;
        }
        Ok(())
    }
}

/// How driftd matches state with the live cloud: `(provider, resource type, cloud id)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceKey {
    /// Provider type, e.g. `aws`.
    pub provider: Arc<str>,
    /// Terraform resource type, e.g. `aws_security_group`.
    pub resource_type: Arc<str>,
    /// The cloud's id for the object: the `id` attribute Terraform stores.
    pub id: String,
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resource_type, self.id)
    }
}

/// Instance status in state. Deposed objects are separate instances with `deposed` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    Ready,
    Tainted,
}

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathStep {
    /// An object attribute: `.name`.
    Attr(String),
    /// A map key: `["key"]`.
    Key(String),
    /// A list or tuple index: `[0]`.
    Index(i64),
}

/// A path into a resource's attributes, e.g. `settings[0].ip_configuration[0].password`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct AttrPath(pub Vec<PathStep>);

impl AttrPath {
    /// Reads the path back from its `Display` form (`a.b[0]["k.x"]`);
    /// `None` when it is not one.
    pub fn parse(text: &str) -> Option<AttrPath> {
        let mut steps = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                if inner.starts_with('"') {
                    let mut de = serde_json::Deserializer::from_str(inner).into_iter::<String>();
                    let key = de.next()?.ok()?;
                    let used = de.byte_offset();
                    rest = inner[used..].strip_prefix(']')?;
                    steps.push(PathStep::Key(key));
                } else {
                    let (n, after) = inner.split_once(']')?;
                    steps.push(PathStep::Index(n.parse().ok()?));
                    rest = after;
                }
            } else {
                let name = rest.strip_prefix('.').unwrap_or(rest);
                if steps.is_empty() == rest.starts_with('.') {
                    return None;
                }
                let end = name.find(['.', '[']).unwrap_or(name.len());
                if end == 0 {
                    return None;
                }
                steps.push(PathStep::Attr(name[..end].to_string()));
                rest = &name[end..];
            }
        }
        (!steps.is_empty()).then_some(AttrPath(steps))
    }

    /// The first attribute name on the path (what Terraform's `resource_drift` names).
    pub fn top_level(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathStep::Attr(a)) => Some(a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod attr_path_tests {
    use super::{AttrPath, PathStep};

    #[test]
    fn display_form_reads_back() {
        let path = AttrPath(vec![
            PathStep::Attr("ingress".into()),
            PathStep::Index(0),
            PathStep::Attr("cidr_blocks".into()),
            PathStep::Key("a.b\"c".into()),
        ]);
        let text = path.to_string();
        assert_eq!(AttrPath::parse(&text), Some(path));
        for bad in ["", ".a", "a..b", "a[x]", "a[\"k\"", "a["] {
            assert_eq!(AttrPath::parse(bad), None, "{bad}");
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attr(a) if i == 0 => f.write_str(a)?,
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => {
                    write!(f, "[{}]", serde_json::to_string(k).unwrap_or_default())?
                }
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A resource's attributes as compact JSON in the shape the provider wrote
/// (or, for live resources, the shape driftd maps the API response into).
///
/// Kept as text rather than a parsed tree: a daemon holding 100,000 resources
/// keeps them at about the size of their JSON, and the diff parses one pair at
/// a time. Sensitive values are already replaced by keyed hashes
/// (see [`crate::secrets`]): the plaintext never gets this far.
#[derive(Debug, Clone)]
pub struct Attributes(Box<str>);

impl Attributes {
    /// Wraps validated JSON text (kept byte for byte).
    pub fn from_raw(raw: Box<RawValue>) -> Self {
        Attributes(raw.into())
    }

    /// Wraps text the caller has already validated as JSON, without checking it
    /// again: the state reader compacts text that serde_json just validated, and a
    /// second validation pass cost 7% of parsing. Crate-private so the invariant
    /// stays local.
    pub(crate) fn from_validated(text: String) -> Self {
        Attributes(text.into_boxed_str())
    }

    /// Serialises a parsed value (used after redaction and for live resources).
    pub fn from_value(value: &serde_json::Value) -> Self {
        Attributes(
            serde_json::to_string(value)
                .expect("a JSON value always serialises")
                .into_boxed_str(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the attributes into a tree, for the diff and for display.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).expect("attributes hold valid JSON")
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Embedded as JSON (not as a string) wherever a resource is serialised.
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Attributes::from_raw)
    }
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Attributes {}

/// A value in one resource's attributes that may name another resource
/// (an id, an ARN, a name in a reference attribute such as `role` or `bucket`).
/// The graph turns the ones that match a known resource into edges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    /// The top-level attribute the value sits under (`vpc_id`, `vpc_config`).
    pub attribute: String,
    pub value: String,
}

/// The other ways a resource is referred to, beside its id: its ARN and its name
/// (an IAM role is attached by name, a bucket policy names its bucket).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Aliases {
    /// The top-level `arn` attribute.
    pub arn: Option<String>,
    /// The top-level `name` attribute.
    pub name: Option<String>,
}

/// Where a resource came from: the state source's label (a path or URL, never a secret).
pub type Origin = Arc<str>;

/// One resource instance, from a state or (later) from the live cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub key: ResourceKey,
    pub address: Address,
    /// Shared by every instance configured by the same provider block.
    pub provider: Arc<ProviderAddress>,
    pub status: InstanceStatus,
    /// The deposed key when this is a deposed object (create_before_destroy left it behind).
    pub deposed: Option<String>,
    /// The provider's schema version for the attributes.
    pub schema_version: u64,
    pub attributes: Attributes,
    /// Paths whose values are sensitive (from `sensitive_attributes` and known secret names);
    /// their values in `attributes` are keyed hashes.
    pub sensitive_paths: Vec<AttrPath>,
    /// Resource addresses from state `dependencies` (interned: many resources name the same one).
    pub dependencies: Vec<Arc<str>>,
    /// Candidate references to other resources, found in the attributes.
    pub references: Vec<Reference>,
    /// ARN and name, for resolving references to this resource.
    pub aliases: Aliases,
    /// The state source the resource was read from.
    pub origin: Origin,
}

impl Resource {
    pub fn is_managed(&self) -> bool {
        self.address.mode == Mode::Managed
    }
}
