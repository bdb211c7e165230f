//! Terraform state (format version 4, Terraform ≥ 0.12 and OpenTofu) into the
//! resource model.
//!
//! Pure: bytes in, resources and diagnostics out. Sensitive values are replaced
//! by keyed hashes here, before anything else sees them (invariant 4).

mod flatmap;
mod provider;
mod scan;
mod sensitive;

pub use provider::{DEFAULT_REGISTRY, parse_provider_address};
pub use scan::Scanned;
pub use scan::{NAME_REFERENCE_ATTRIBUTES, looks_like_cloud_id};
pub use sensitive::parse_sensitive_paths;
pub use sensitive::redact;

use crate::diag::Diagnostic;
use crate::model::{
    Address, Attributes, IndexKey, InstanceStatus, Mode, Origin, ProviderAddress, Resource,
    ResourceKey,
};
use crate::secrets::{SECRET_NAME_FRAGMENTS, SecretKey};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// The state format driftd reads.
pub const SUPPORTED_FORMAT: u64 = 4;

/// A parsed state: its header, its resource instances (managed and data), and
/// what was odd about it.
#[derive(Debug)]
pub struct StateFile {
    pub meta: StateMeta,
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
}

impl StateFile {
    pub fn managed(&self) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .filter(|r| r.address.mode == Mode::Managed)
    }

    pub fn data_sources(&self) -> impl Iterator<Item = &Resource> {
        self.resources
            .iter()
            .filter(|r| r.address.mode == Mode::Data)
    }
}

/// The state header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateMeta {
    pub format_version: u64,
    pub terraform_version: Option<String>,
    pub serial: u64,
    pub lineage: Option<String>,
}

/// Why a state could not be read. Every message names the state and says what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StateError {
    #[error(
        "{origin}: the file is empty; it is not a Terraform state (an empty state still has a version and a resources list)"
    )]
    Empty { origin: String },
    #[error(
        "{origin}:{line}:{column}: invalid JSON: {message}; the file is damaged or not a state (restore it from the backend or a .backup)"
    )]
    InvalidJson {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{origin}: not a Terraform state: the top level is {found}, expected an object with \"version\" and \"resources\""
    )]
    NotAnObject { origin: String, found: String },
    #[error(
        "{origin}: this is Terraform's backend configuration (.terraform/terraform.tfstate), not a state; \
         point driftd at the state itself (the backend's bucket/key, or terraform.tfstate in the working directory)"
    )]
    BackendConfig { origin: String },
    #[error("{origin}: the state has no \"version\" field; it is not a Terraform state")]
    NoVersion { origin: String },
    #[error(
        "{origin}: format version {version} is written by Terraform older than 0.12; upgrade the state with \
         Terraform 0.12 or later (run `terraform apply -refresh-only` or `terraform state push` with it)"
    )]
    TooOld { origin: String, version: u64 },
    #[error(
        "{origin}: format version {version} is newer than this driftd understands (it reads version {SUPPORTED_FORMAT}); \
         upgrade driftd"
    )]
    TooNew { origin: String, version: u64 },
    #[error(
        "{origin}:{line}:{column}: {path}: {message}; the state does not have the shape Terraform writes"
    )]
    Malformed {
        origin: String,
        line: usize,
        column: usize,
        path: String,
        message: String,
    },
}

impl StateError {
    /// A stable name for the kind of error (for JSON output and tests).
    pub fn kind(&self) -> &'static str {
        match self {
            StateError::Empty { .. } => "empty",
            StateError::InvalidJson { .. } => "invalid_json",
            StateError::NotAnObject { .. } => "not_an_object",
            StateError::BackendConfig { .. } => "backend_config",
            StateError::NoVersion { .. } => "no_version",
            StateError::TooOld { .. } => "too_old",
            StateError::TooNew { .. } => "too_new",
            StateError::Malformed { .. } => "malformed",
        }
    }
}

// What Terraform writes, as borrowed as possible: attributes stay raw text.
#[derive(Deserialize)]
struct RawState<'a> {
    version: Option<serde_json::Value>,
    #[serde(default, borrow)]
    terraform_version: Option<Cow<'a, str>>,
    #[serde(default)]
    serial: Option<u64>,
    #[serde(default, borrow)]
    lineage: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    resources: Option<Vec<RawResource<'a>>>,
    /// Only in `.terraform/terraform.tfstate` (backend configuration).
    #[serde(default)]
    backend: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawResource<'a> {
    #[serde(default, borrow)]
    module: Option<Cow<'a, str>>,
    #[serde(borrow)]
    mode: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    resource_type: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    provider: Cow<'a, str>,
    #[serde(default, borrow)]
    instances: Vec<RawInstance<'a>>,
}

#[derive(Deserialize)]
struct RawInstance<'a> {
    #[serde(default)]
    index_key: Option<IndexKey>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    deposed: Option<Cow<'a, str>>,
    #[serde(default)]
    schema_version: u64,
    #[serde(default, borrow)]
    attributes: Option<&'a RawValue>,
    /// Parsed only when present (rare), so the common path skips it cheaply.
    #[serde(default, borrow)]
    attributes_flat: Option<&'a RawValue>,
    #[serde(default, borrow)]
    sensitive_attributes: Option<&'a RawValue>,
    #[serde(default, borrow)]
    dependencies: Vec<BorrowedStr<'a>>,
}

/// serde borrows a `Cow<str>` only when it is a field, not inside a `Vec`:
/// this newtype makes the dependency strings borrow from the state text.
#[derive(Deserialize)]
struct BorrowedStr<'a>(#[serde(borrow)] Cow<'a, str>);

/// Only the header, for telling a v3 or future state apart when the full parse fails.
#[derive(Deserialize)]
struct Header {
    version: Option<serde_json::Value>,
}

/// Parses a state. `origin` names it in messages; `key` hashes sensitive values.
pub fn parse_state(
    bytes: &[u8],
    origin: &Origin,
    key: &SecretKey,
) -> Result<StateFile, StateError> {
    parse_state_with(bytes, origin, key, PARALLEL_THRESHOLD_BYTES)
}

/// `parse_state`, building on several threads when the text is at least
/// `parallel_from` bytes long (tests compare both paths).
fn parse_state_with(
    bytes: &[u8],
    origin: &Origin,
    key: &SecretKey,
    parallel_from: usize,
) -> Result<StateFile, StateError> {
    let o = || origin.to_string();
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(StateError::Empty { origin: o() });
    }
    let top = first_significant_byte(bytes);
    if top != Some(b'{') {
        // Tell invalid JSON from valid JSON of the wrong shape.
        return match serde_json::from_slice::<IgnoredAny>(bytes) {
            Err(e) => Err(invalid_json(origin, &e)),
            Ok(_) => Err(StateError::NotAnObject {
                origin: o(),
                found: json_kind_of(top),
            }),
        };
    }
    let raw: RawState = match parse_raw(bytes) {
        Ok(raw) => raw,
        Err((e, path)) => {
            if e.is_syntax() || e.is_eof() {
                return Err(invalid_json(origin, &e));
            }
            // A shape error: first make sure it is not simply another format version.
            if let Ok(header) = serde_json::from_slice::<Header>(bytes)
                && let Some(err) = check_version(origin, header.version.as_ref(), false)?
            {
                return Err(err);
            }
            return Err(StateError::Malformed {
                origin: o(),
                line: e.line(),
                column: e.column(),
                path,
                message: strip_position(&e.to_string()),
            });
        }
    };
    if raw.backend.is_some() {
        return Err(StateError::BackendConfig { origin: o() });
    }
    let format_version = match check_version(origin, raw.version.as_ref(), true)? {
        Some(err) => return Err(err),
        None => SUPPORTED_FORMAT,
    };
    let mut diagnostics = Vec::new();
    let terraform_version = raw.terraform_version.map(Cow::into_owned);
    if let Some(tv) = &terraform_version
        && is_older_than_0_12(tv)
    {
        diagnostics.push(Diagnostic::warning(
                o(),
                format!(
                    "terraform_version {tv} never wrote format version 4; the state was edited or generated \
                     by another tool, so read it with care"
                ),
            ));
    }
    let meta = StateMeta {
        format_version,
        terraform_version,
        serial: raw.serial.unwrap_or(0),
        lineage: raw.lineage.map(Cow::into_owned),
    };
    let raw_resources = raw.resources.unwrap_or_default();
    let parallel = bytes.len() >= parallel_from;
    let (resources, more) = build_resources(raw_resources, parallel, origin, key);
    diagnostics.extend(more);
    Ok(StateFile {
        meta,
        resources,
        diagnostics,
    })
}

fn parse_raw(bytes: &[u8]) -> Result<RawState<'_>, (serde_json::Error, String)> {
    match serde_json::from_slice::<RawState>(bytes) {
        Ok(raw) => Ok(raw),
        Err(e) if e.is_data() => {
            // The slow path, only on error: find the JSON path of the bad field.
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let path = match serde_path_to_error::deserialize::<_, RawState>(&mut de) {
                Err(pe) => pe.path().to_string(),
                Ok(_) => String::from("."),
            };
            Err((e, path))
        }
        Err(e) => Err((e, String::new())),
    }
}

/// `Ok(None)` when the version is the supported one.
fn check_version(
    origin: &Origin,
    version: Option<&serde_json::Value>,
    required: bool,
) -> Result<Option<StateError>, StateError> {
    let o = || origin.to_string();
    match version {
        None if required => Ok(Some(StateError::NoVersion { origin: o() })),
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(SUPPORTED_FORMAT) => Ok(None),
            Some(n) if n < SUPPORTED_FORMAT => Ok(Some(StateError::TooOld {
                origin: o(),
                version: n,
            })),
            Some(n) => Ok(Some(StateError::TooNew {
                origin: o(),
                version: n,
            })),
            None => Ok(Some(StateError::Malformed {
                origin: o(),
                line: 1,
                column: 1,
                path: "version".into(),
                message: format!("expected a whole number, found {v}"),
            })),
        },
    }
}

/// States smaller than this are built on the calling thread.
const PARALLEL_THRESHOLD_BYTES: usize = 8 << 20;

/// Builds the model from the raw resources, in state order. Large states are split
/// into contiguous chunks built on scoped threads: after serde's pass, the work is
/// per instance and independent.
fn build_resources(
    raw: Vec<RawResource<'_>>,
    parallel: bool,
    origin: &Origin,
    key: &SecretKey,
) -> (Vec<Resource>, Vec<Diagnostic>) {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let total: usize = raw.iter().map(|r| r.instances.len()).sum();
    let build = |chunk: Vec<RawResource<'_>>| {
        let mut resources = Vec::with_capacity(chunk.iter().map(|r| r.instances.len()).sum());
        let mut diagnostics = Vec::new();
        let mut interner = Interner::default();
        for r in chunk {
            build_resource(
                r,
                origin,
                key,
                &mut interner,
                &mut resources,
                &mut diagnostics,
            );
        }
        (resources, diagnostics)
    };
    if threads == 1 || !parallel {
        return build(raw);
    }
    // Split by instance count so each thread gets about the same work.
    let per_chunk = total.div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<RawResource>> = Vec::with_capacity(threads);
    let mut current = Vec::new();
    let mut in_current = 0;
    for r in raw {
        in_current += r.instances.len();
        current.push(r);
        if in_current >= per_chunk {
            chunks.push(std::mem::take(&mut current));
            in_current = 0;
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    let parts: Vec<(Vec<Resource>, Vec<Diagnostic>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || build(c)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("building resources does not panic"))
            .collect()
    });
    // Grow the first part in place (large allocations are remapped, not copied)
    // rather than copying every part into a new vector: that copy doubled the
    // model's peak memory.
    let mut parts = parts.into_iter();
    let (mut resources, mut diagnostics) = parts.next().unwrap_or_default();
    let rest: Vec<(Vec<Resource>, Vec<Diagnostic>)> = parts.collect();
    resources.reserve_exact(rest.iter().map(|(r, _)| r.len()).sum());
    for (mut r, d) in rest {
        resources.append(&mut r);
        diagnostics.extend(d);
    }
    (resources, diagnostics)
}

/// Shares the strings that repeat across a state (types, modules, dependency
/// addresses, provider configurations) instead of allocating them per instance.
#[derive(Default)]
struct Interner {
    strings: HashSet<Arc<str>>,
    providers: HashMap<String, Arc<ProviderAddress>>,
}

impl Interner {
    fn string(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.strings.insert(shared.clone());
        shared
    }
}

fn build_resource(
    r: RawResource<'_>,
    origin: &Origin,
    key: &SecretKey,
    interner: &mut Interner,
    out: &mut Vec<Resource>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mode = match r.mode.as_ref() {
        "managed" => Mode::Managed,
        "data" => Mode::Data,
        other => {
            diagnostics.push(Diagnostic::error(
                format!("{origin}: {}.{}", r.resource_type, r.name),
                format!("unknown resource mode {other:?} (expected \"managed\" or \"data\"); resource skipped"),
            ));
            return;
        }
    };
    let module = r
        .module
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| interner.string(m));
    let resource_type = interner.string(&r.resource_type);
    let provider = match interner.providers.get(r.provider.as_ref()) {
        Some(p) => p.clone(),
        None => {
            let parsed = parse_provider_address(&r.provider).unwrap_or_else(|| {
                let name = r.resource_type.split('_').next().unwrap_or_default().to_string();
                diagnostics.push(Diagnostic::warning(
                    format!("{origin}: {}", r.provider),
                    format!(
                        "provider address not understood; assuming provider {name:?} from the resource type"
                    ),
                ));
                ProviderAddress {
                    hostname: provider::DEFAULT_REGISTRY.into(),
                    namespace: "-".into(),
                    name,
                    alias: None,
                    module: module.as_deref().map(str::to_string),
                }
            });
            let parsed = Arc::new(parsed);
            interner
                .providers
                .insert(r.provider.to_string(), parsed.clone());
            parsed
        }
    };
    let provider_name = interner.string(&provider.name);
    for inst in r.instances {
        let address = Address {
            module: module.clone(),
            mode,
            resource_type: resource_type.clone(),
            name: r.name.to_string(),
            index: inst.index_key,
        };
        let subject = || format!("{origin}: {address}");
        let status = match inst.status.as_deref() {
            None | Some("") | Some("ready") => InstanceStatus::Ready,
            Some("tainted") => InstanceStatus::Tainted,
            Some(other) => {
                diagnostics.push(Diagnostic::warning(
                    subject(),
                    format!("unknown instance status {other:?}; read as ready"),
                ));
                InstanceStatus::Ready
            }
        };
        let (declared, problems) = match inst.sensitive_attributes {
            Some(raw) if raw.get() != "[]" && raw.get() != "null" => {
                let value: serde_json::Value =
                    serde_json::from_str(raw.get()).expect("validated by the parser");
                parse_sensitive_paths(&value)
            }
            _ => (Vec::new(), Vec::new()),
        };
        for p in problems {
            diagnostics.push(Diagnostic::warning(subject(), p));
        }
        let (attributes_text, from_flat) =
            match (inst.attributes, inst.attributes_flat) {
                (Some(a), _) => (Cow::Borrowed(a.get()), false),
                (None, Some(flat)) => {
                    match serde_json::from_str::<BTreeMap<String, String>>(flat.get()) {
                        Ok(flat) => (Cow::Owned(flatmap::unflatten(&flat).to_string()), true),
                        Err(e) => {
                            diagnostics.push(Diagnostic::error(
                        subject(),
                        format!("attributes_flat is not a map of strings ({e}); instance skipped"),
                    ));
                            continue;
                        }
                    }
                }
                (None, None) => (Cow::Borrowed("{}"), false),
            };
        if from_flat {
            diagnostics.push(Diagnostic::warning(
                subject(),
                "attributes are in the pre-0.12 flatmap form (attributes_flat); every value is read as a string. \
                 Run `terraform apply -refresh-only` to have Terraform rewrite them",
            ));
        }
        // Cheap whole-text test first; only text that mentions a secret-like word has
        // its keys checked (a description that says "password" is not a secret).
        let scanned =
            scan::scan_attributes(&attributes_text, mentions_secret_name(&attributes_text));
        let needs_redaction = !declared.is_empty() || scanned.has_secret_key;
        let (attributes, sensitive_paths) = if needs_redaction {
            let mut value: serde_json::Value =
                serde_json::from_str(&scanned.compact).expect("compaction keeps valid JSON valid");
            let hashed = sensitive::redact(&mut value, &declared, key);
            (Attributes::from_value(&value), hashed)
        } else {
            // serde_json validated this text; compaction only dropped whitespace.
            (Attributes::from_validated(scanned.compact), Vec::new())
        };
        let id = match scanned.id {
            Some(id) => id,
            None => {
                if mode == Mode::Managed {
                    diagnostics.push(Diagnostic::warning(
                        subject(),
                        "the instance has no \"id\" attribute; it cannot be matched with the live cloud",
                    ));
                }
                String::new()
            }
        };
        // References never carry secrets: a hashed value is no reference.
        let references = if sensitive_paths.is_empty() {
            scanned.references
        } else {
            scanned
                .references
                .into_iter()
                .filter(|r| {
                    !sensitive_paths
                        .iter()
                        .any(|p| p.top_level() == Some(r.attribute.as_str()))
                })
                .collect()
        };
        out.push(Resource {
            key: ResourceKey {
                provider: provider_name.clone(),
                resource_type: address.resource_type.clone(),
                id,
            },
            address,
            provider: provider.clone(),
            status,
            deposed: inst.deposed.map(Cow::into_owned),
            schema_version: inst.schema_version,
            attributes,
            sensitive_paths,
            dependencies: inst
                .dependencies
                .iter()
                .map(|d| interner.string(&d.0))
                .collect(),
            references,
            aliases: scanned.aliases,
            origin: origin.clone(),
        });
    }
}

/// References and aliases of compact attribute text (live resources use it too).
pub fn scan_compact(text: &str) -> scan::Scanned {
    scan::scan_attributes(text, false)
}

fn mentions_secret_name(text: &str) -> bool {
    static FINDERS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::LazyLock::new(|| {
            SECRET_NAME_FRAGMENTS
                .iter()
                .map(memchr::memmem::Finder::new)
                .collect()
        });
    FINDERS.iter().any(|f| f.find(text.as_bytes()).is_some())
}

fn first_significant_byte(bytes: &[u8]) -> Option<u8> {
    // A UTF-8 byte order mark is not JSON, but editors add it: skip it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn json_kind_of(first: Option<u8>) -> String {
    match first {
        Some(b'[') => "a list",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
    .to_string()
}

fn invalid_json(origin: &Origin, e: &serde_json::Error) -> StateError {
    StateError::InvalidJson {
        origin: origin.to_string(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// serde_json appends " at line L column C"; the error carries those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn is_older_than_0_12(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    matches!((parts.next(), parts.next()), (Some(0), Some(minor)) if minor < 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StateFile, StateError> {
        parse_state(
            text.as_bytes(),
            &Origin::from("t.tfstate"),
            &SecretKey::from_bytes([3; 32]),
        )
    }

    #[test]
    fn minimal_state_with_module_index_and_provider_forms() {
        let s = parse(
            r#"{"version":4,"terraform_version":"1.5.0","serial":7,"lineage":"l","outputs":{},
            "resources":[
             {"module":"module.net[\"a\"]","mode":"managed","type":"aws_vpc","name":"this",
              "provider":"module.net[\"a\"].provider[\"registry.terraform.io/hashicorp/aws\"]",
              "instances":[{"index_key":0,"schema_version":1,"attributes":{"id":"vpc-0a1b2c3d","cidr_block":"10.0.0.0/16"},
                            "sensitive_attributes":[],"dependencies":["module.net.aws_x.y"]}]},
             {"mode":"data","type":"aws_ami","name":"u","provider":"provider.aws",
              "instances":[{"index_key":"k","schema_version":0,"attributes":{"id":"ami-12345678"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(s.meta.serial, 7);
        assert_eq!(s.resources.len(), 2);
        let vpc = &s.resources[0];
        assert_eq!(
            vpc.address.to_string(),
            r#"module.net["a"].aws_vpc.this[0]"#
        );
        assert_eq!(vpc.key.to_string(), "aws_vpc.vpc-0a1b2c3d");
        assert_eq!(
            vpc.attributes.as_str(),
            r#"{"id":"vpc-0a1b2c3d","cidr_block":"10.0.0.0/16"}"#
        );
        assert_eq!(
            vpc.dependencies,
            vec![std::sync::Arc::<str>::from("module.net.aws_x.y")]
        );
        assert_eq!(s.resources[1].address.to_string(), r#"data.aws_ami.u["k"]"#);
        assert_eq!(s.managed().count(), 1);
    }

    #[test]
    fn parallel_build_equals_sequential_build() {
        let mut text = String::from(r#"{"version":4,"serial":3,"lineage":"l","resources":["#);
        for i in 0..3000 {
            if i > 0 {
                text.push(',');
            }
            let mode = if i % 7 == 0 { "data" } else { "managed" };
            text.push_str(&format!(
                r#"{{"module":"module.m{m}","mode":"{mode}","type":"aws_db_instance","name":"db{i}",
                "provider":"module.m{m}.provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances":[{{"index_key":{i},"schema_version":2,"attributes":{{"id":"db-{i:08x}",
                "password":"pw{i}","vpc_security_group_ids":["sg-{m:08x}"],"tags":{{"n":"{i}"}}}},
                "sensitive_attributes":[[{{"type":"get_attr","value":"tags"}}]],
                "dependencies":["module.m{m}.aws_security_group.sg"]}}]}}"#,
                m = i % 13
            ));
        }
        text.push_str("]}");
        let key = SecretKey::from_bytes([5; 32]);
        let origin = Origin::from("big");
        let sequential = parse_state_with(text.as_bytes(), &origin, &key, usize::MAX).unwrap();
        let parallel = parse_state_with(text.as_bytes(), &origin, &key, 0).unwrap();
        assert_eq!(sequential.resources.len(), 3000);
        assert_eq!(parallel.resources, sequential.resources);
        assert_eq!(parallel.diagnostics, sequential.diagnostics);
        assert!(!parallel.resources[1].attributes.as_str().contains("pw1"));
        assert!(sequential.resources[1].sensitive_paths.len() == 2);
    }

    #[test]
    fn error_kinds() {
        assert_eq!(parse("").unwrap_err().kind(), "empty");
        assert_eq!(parse("  \n").unwrap_err().kind(), "empty");
        assert_eq!(
            parse("{\"version\": 4,").unwrap_err().kind(),
            "invalid_json"
        );
        assert_eq!(parse("[1]").unwrap_err().kind(), "not_an_object");
        assert_eq!(
            parse("{\"version\":3,\"modules\":[]}").unwrap_err().kind(),
            "too_old"
        );
        assert_eq!(
            parse("{\"version\":5,\"resources\":[]}")
                .unwrap_err()
                .kind(),
            "too_new"
        );
        assert_eq!(
            parse("{\"resources\":[]}").unwrap_err().kind(),
            "no_version"
        );
        assert_eq!(
            parse("{\"version\":3,\"backend\":{\"type\":\"s3\"},\"modules\":[]}")
                .unwrap_err()
                .kind(),
            "backend_config"
        );
        let e = parse(r#"{"version":4,"resources":[{"mode":"managed","type":"t","name":"n","provider":"provider.aws","instances":[{"schema_version":"one"}]}]}"#)
            .unwrap_err();
        assert_eq!(e.kind(), "malformed");
        assert!(
            e.to_string()
                .contains("resources[0].instances[0].schema_version"),
            "{e}"
        );
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let e = parse("{\n  \"version\": 4,\n  \"resources\": [ x ]\n}").unwrap_err();
        assert_eq!(
            e,
            StateError::InvalidJson {
                origin: "t.tfstate".into(),
                line: 3,
                column: 18,
                message: "expected value".into()
            }
        );
    }

    #[test]
    fn sensitive_values_never_survive() {
        let s = parse(
            r#"{"version":4,"serial":1,"resources":[{"mode":"managed","type":"aws_db_instance","name":"db",
            "provider":"provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances":[{"schema_version":2,"attributes":{"id":"db-1","password":"hunter2","custom":"c0nf1dential",
            "nested":[{"client_secret":"abc123xyz"}]},
            "sensitive_attributes":[[{"type":"get_attr","value":"custom"}]]}]}]}"#,
        )
        .unwrap();
        let text = s.resources[0].attributes.as_str();
        for secret in ["hunter2", "c0nf1dential", "abc123xyz"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(s.resources[0].sensitive_paths.len(), 3);
    }
}
