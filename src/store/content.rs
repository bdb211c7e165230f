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

/// A resource ready to be stored: its canonical content (everything but the
/// origin), the SHA-256 of that content, and where it was read from.
///
/// Encoding is pure CPU work (serialising and hashing, about 15 µs for a
/// typical resource), kept apart from [`Writer::store_encoded`](super::Writer::store_encoded)
/// so that a caller can encode off the store's thread, or keep the encodings
/// of resources that did not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedResource {
    pub(crate) origin: Origin,
    pub(crate) hash: Hash,
    /// The canonical JSON.
    pub(crate) content: String,
    pub(crate) key: ResourceKey,
    /// The address as text, for the `address` column.
    pub(crate) address: String,
}

impl EncodedResource {
    /// Encodes `resource`: its canonical JSON without the origin, and its SHA-256.
    pub fn new(resource: &Resource) -> EncodedResource {
        let (content, hash) = encode(resource);
        EncodedResource {
            origin: resource.origin.clone(),
            hash,
            content,
            key: resource.key.clone(),
            address: resource.address.to_string(),
        }
    }

    /// Where the resource was read from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The address of the resource version: SHA-256 of the canonical content.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The canonical content's length in bytes, before compression.
    pub fn content_len(&self) -> usize {
        self.content.len()
    }

    /// The canonical content: the JSON whose SHA-256 is [`EncodedResource::hash`].
    pub fn content(&self) -> &str {
        &self.content
    }
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

/// zstd level for stored contents: level 3 (zstd's default) makes a typical
/// 1.5 KB resource about 2.5 times smaller at some 150 MB/s on one core;
/// higher levels gained a few percent for several times the time.
const ZSTD_LEVEL: i32 = 3;

/// Compresses canonical contents for the `content` column; one per write.
pub(crate) struct Packer(zstd::bulk::Compressor<'static>);

impl Packer {
    pub(crate) fn new() -> Packer {
        Packer(zstd::bulk::Compressor::new(ZSTD_LEVEL).expect("a zstd context can be created"))
    }

    pub(crate) fn pack(&mut self, text: &str) -> Vec<u8> {
        // Compressing bytes in memory fails only for lack of memory.
        self.0
            .compress(text.as_bytes())
            .expect("zstd compresses in memory")
    }
}

/// Decompresses a `content` column value; one per read.
pub(crate) struct Unpacker(zstd::bulk::Decompressor<'static>);

impl Unpacker {
    pub(crate) fn new() -> Unpacker {
        Unpacker(zstd::bulk::Decompressor::new().expect("a zstd context can be created"))
    }

    /// The canonical JSON text, or why the stored bytes are not one.
    pub(crate) fn unpack(&mut self, packed: &[u8]) -> Result<String, String> {
        let size = zstd::zstd_safe::get_frame_content_size(packed)
            .map_err(|_| "not a zstd frame".to_string())?
            .ok_or_else(|| "the zstd frame does not record its size".to_string())?;
        let size = usize::try_from(size).map_err(|_| "the zstd frame is too large".to_string())?;
        let bytes = self.0.decompress(packed, size).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|e| e.to_string())
    }
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
