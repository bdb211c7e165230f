//! The canonical content of a resource version and its address.
//!
//! The content is everything a resource is except where it was read from
//! (key, address, provider, status, deposed key, schema version, attributes,
//! sensitive paths, dependencies, references, aliases):
//! two scans that read the same resource from different state files share
//! one `resource_versions` row. It is serialised with serde_json from a
//! struct with a fixed field order, so equal resources give equal text; the
//! attributes go in verbatim (they are already compact JSON text, and their
//! exact text is what `Attributes` equality compares).
//!
//! Changing this serialisation changes every hash: old rows stay readable
//! (fields added later must be `#[serde(default)]`), but the next scan stores
//! each resource once more under its new hash.

use crate::model::{
    Address, Aliases, AttrPath, Attributes, InstanceStatus, Origin, ProviderAddress, Reference,
    Resource, ResourceKey,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest: the address of a resource version or of a snapshot.
pub(crate) type Hash = [u8; 32];

#[derive(Serialize)]
struct ContentRef<'a> {
    key: &'a ResourceKey,
    address: &'a Address,
    provider: &'a ProviderAddress,
    status: InstanceStatus,
    deposed: &'a Option<String>,
    schema_version: u64,
    attributes: &'a Attributes,
    sensitive_paths: &'a [AttrPath],
    dependencies: &'a [std::sync::Arc<str>],
    references: &'a [Reference],
    aliases: &'a Aliases,
}

#[derive(Deserialize)]
struct ContentOwned {
    key: ResourceKey,
    address: Address,
    provider: ProviderAddress,
    status: InstanceStatus,
    deposed: Option<String>,
    schema_version: u64,
    attributes: Attributes,
    sensitive_paths: Vec<AttrPath>,
    dependencies: Vec<std::sync::Arc<str>>,
    references: Vec<Reference>,
    aliases: Aliases,
}

/// The canonical JSON of `resource` without its origin, and its SHA-256.
pub(crate) fn encode(resource: &Resource) -> (String, Hash) {
    // Destructured without `..`: a field added to `Resource` must be placed
    // here on purpose, in the content or (like `origin`) outside it.
    let Resource {
        key,
        address,
        provider,
        status,
        deposed,
        schema_version,
        attributes,
        sensitive_paths,
        dependencies,
        references,
        aliases,
        origin: _,
    } = resource;
    let content = ContentRef {
        key,
        address,
        provider,
        status: *status,
        deposed,
        schema_version: *schema_version,
        attributes,
        sensitive_paths,
        dependencies,
        references,
        aliases,
    };
    // Every field is plain data with string map keys: serialisation cannot fail.
    let text = serde_json::to_string(&content).expect("resource content serialises");
    let hash = Sha256::digest(text.as_bytes()).into();
    (text, hash)
}

/// Rebuilds a resource from its stored content and the origin a scan recorded.
pub(crate) fn decode(text: &str, origin: Origin) -> serde_json::Result<Resource> {
    let c: ContentOwned = serde_json::from_str(text)?;
    Ok(Resource {
        key: c.key,
        address: c.address,
        provider: std::sync::Arc::new(c.provider),
        status: c.status,
        deposed: c.deposed,
        schema_version: c.schema_version,
        attributes: c.attributes,
        sensitive_paths: c.sensitive_paths,
        dependencies: c.dependencies,
        references: c.references,
        aliases: c.aliases,
        origin,
    })
}

/// The address of a snapshot: SHA-256 of its member hashes, which must be sorted.
pub(crate) fn snapshot_hash(sorted_members: &[Hash]) -> Hash {
    debug_assert!(sorted_members.is_sorted());
    let mut hasher = Sha256::new();
    for member in sorted_members {
        hasher.update(member);
    }
    hasher.finalize().into()
}
