//! Synthetic Terraform states for benchmarks, cloned from real ones.
//!
//! The templates are the managed resource instances of the real format-4 AWS
//! states in the corpus. [`TemplateSet::write_state`] copies the whole set in
//! batches until the wanted number of instances exists. In batch `k`:
//! - every resource is renamed `name` → `name_b{k}`, and so is every entry of
//!   `dependencies`, so dependency edges stay inside the batch;
//! - every cloud id gets a fresh value, the same one wherever it occurs in the
//!   batch (attribute values, ARNs, policies, tag keys, flatmap values,
//!   sensitive paths), so reference edges (vpc_id, subnet ids, role names in
//!   ARNs…) point at the batch's own copies.
//!
//! How: each template instance is pretty-printed once at the depth Terraform
//! writes it, then tokenised into literal text and id occurrences (found with
//! `memchr::memmem`, longest id first, only inside JSON strings). A batch is
//! then a concatenation of literals and the batch's new ids: no JSON parsing
//! or serialising per copy.
//!
//! Ids (length ≥ 8, no quote or backslash) are the top-level `id` and `name`
//! of every managed instance and the last component of its `id`/`arn` ARNs.
//! An id that contains another id is not one itself: it changes with the id
//! inside it (`sg-0b5e…,Blueprint`, `cluster:addon`, `r-rtb-…`). Shorter names
//! (3 to 7 bytes) that are a resource's identity (its `name`, found in its own
//! `id` or `arn`: an EKS cluster `sandbox`, an ECR repository `ndh`) are ids
//! too, but only where they name it: as a path or ARN component, or as the
//! whole value of a name-like key; otherwise every copy's `cluster_name =
//! "sandbox"` would refer to the clusters of all batches. New values:
//! - `prefix-hexdigits` (≥ 6 hex digits, lowercase) keeps its shape with new
//!   hex digits; plain lowercase hex strings (not all digits) likewise;
//! - anything else gets the suffix `-b{k:04}`.
//!
//! Hex ids are a bijection of `batch * ids + id_index`, so no two batches (and
//! no two ids of one shape) ever share a value. A managed instance whose own
//! top-level `id` contains no id occurrence (shorter than 8, e.g. `ndh`) gets
//! the suffix at that one place, so every `(type, id)` is unique per batch.
//!
//! Deterministic: no randomness, stable template order, fixed lineage.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Bump whenever the output for the same templates changes (invalidates caches).
pub const GENERATOR_VERSION: u32 = 2;

/// Ids shorter than this are not substituted globally (too likely to hit unrelated text).
const MIN_ID_LEN: usize = 8;

/// Terraform's indentation: 2 spaces per level.
const INDENT: &str = "  ";
// Nesting levels in a state file: resources[] items, resource keys, instances[] items, instance keys.
const RESOURCE_DEPTH: usize = 2;
const INSTANCE_DEPTH: usize = 4;

/// One piece of a template: literal text, or something that differs per batch.
#[derive(Debug, Clone)]
enum Piece {
    Lit(String),
    /// The batch's value for id number `n`.
    Id(u32),
    /// `_b{k}`: after resource names and dependency addresses.
    NameSuffix,
    /// `-b{k:04}`: after a top-level id that no global id made unique.
    IdSuffix,
}

#[derive(Debug, Default, Clone)]
struct Pieces(Vec<Piece>);

impl Pieces {
    fn lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Piece::Lit(last)) = self.0.last_mut() {
            last.push_str(s);
        } else {
            self.0.push(Piece::Lit(s.to_string()));
        }
    }
    fn push(&mut self, p: Piece) {
        match p {
            Piece::Lit(s) => self.lit(&s),
            p => self.0.push(p),
        }
    }
    fn extend(&mut self, other: Pieces) {
        for p in other.0 {
            self.push(p);
        }
    }
}

/// One template resource: its header and footer, and one template per instance.
#[derive(Debug, Clone)]
struct TemplateResource {
    /// From `{` to `"instances": [` (or to the end when it has no instances key).
    head: Pieces,
    instances: Vec<Pieces>,
    /// From after the last instance to the closing `}`.
    tail: Pieces,
}

/// The template set: real managed instances, tokenised, ready to be copied.
pub struct TemplateSet {
    resources: Vec<TemplateResource>,
    /// Original id strings, indexed by id number.
    ids: Vec<String>,
    /// The template files used, in order (name, managed instances).
    pub files: Vec<(String, usize)>,
    /// Files skipped (not format-4 JSON), with the reason.
    pub skipped: Vec<(String, String)>,
    /// A fingerprint of the template files' bytes and the generator version.
    pub fingerprint: u64,
}

/// What [`TemplateSet::write_state`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct SynthStats {
    pub managed_instances: usize,
    pub resources: usize,
    /// Batches started (the last one may be partial).
    pub batches: usize,
    pub bytes: u64,
}

impl TemplateSet {
    /// Managed instances in one full copy of the set.
    pub fn instances_per_batch(&self) -> usize {
        self.resources.iter().map(|r| r.instances.len()).sum()
    }

    /// Number of distinct ids substituted per batch.
    pub fn id_count(&self) -> usize {
        self.ids.len()
    }

    /// Loads every `*.tfstate*` file (states and their `.backup`s) in `dir`, in name order,
    /// skipping files that are not format-4 JSON.
    pub fn load(dir: &Path) -> io::Result<TemplateSet> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(".tfstate"))
            })
            .collect();
        paths.sort();
        let mut fingerprint = Fnv::new();
        fingerprint.write(&GENERATOR_VERSION.to_le_bytes());
        let mut texts = Vec::new();
        let mut skipped = Vec::new();
        for p in paths {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = match std::fs::read_to_string(&p) {
                Ok(t) => t,
                Err(e) => {
                    skipped.push((name, e.to_string()));
                    continue;
                }
            };
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if v.get("version").and_then(|v| v.as_u64()) == Some(4) => {
                    fingerprint.write(name.as_bytes());
                    fingerprint.write(text.as_bytes());
                    texts.push((name, text));
                }
                Ok(v) => skipped.push((name, format!("format version {:?}", v.get("version")))),
                Err(e) => skipped.push((name, format!("not JSON: {e}"))),
            }
        }
        if texts.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no format-4 state in {}", dir.display()),
            ));
        }
        let mut set = Self::from_states(&texts)?;
        set.skipped = skipped;
        set.fingerprint = fingerprint.finish();
        Ok(set)
    }

    /// Builds the set from `(name, state text)` pairs (all format 4).
    pub fn from_states(states: &[(String, String)]) -> io::Result<TemplateSet> {
        let bad = |name: &str, e: serde_json::Error| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{name}: {e}"))
        };
        // Pass 1: the managed resources, and their ids.
        struct RawRes<'a> {
            file: usize,
            fields: Vec<(Cow<'a, str>, &'a RawValue)>,
            instances: Vec<Vec<(Cow<'a, str>, &'a RawValue)>>,
        }
        let mut raws: Vec<RawRes> = Vec::new();
        let mut files = Vec::new();
        let mut id_set: HashSet<String> = HashSet::new();
        let mut short_names: HashSet<String> = HashSet::new();
        for (f, (name, text)) in states.iter().enumerate() {
            let top: Ordered = serde_json::from_str(text).map_err(|e| bad(name, e))?;
            let Some(resources) = top.get("resources") else {
                continue;
            };
            let resources: Vec<Ordered> =
                serde_json::from_str(resources.get()).map_err(|e| bad(name, e))?;
            let mut count = 0;
            for r in resources {
                if r.get_str("mode").as_deref() != Some("managed") {
                    continue;
                }
                let instances: Vec<Ordered> = match r.get("instances") {
                    Some(raw) => serde_json::from_str(raw.get()).map_err(|e| bad(name, e))?,
                    None => Vec::new(),
                };
                for inst in &instances {
                    collect_ids(inst, &mut id_set);
                    collect_short_names(inst, &mut short_names);
                }
                count += instances.len();
                raws.push(RawRes {
                    file: f,
                    fields: r.0,
                    instances: instances.into_iter().map(|i| i.0).collect(),
                });
            }
            files.push((name.clone(), count));
        }

        // Ids containing another id are not ids (they change with the inner one).
        let mut ids: Vec<String> = id_set.into_iter().collect();
        ids.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let contains_other = |i: usize| {
            let hay = ids[i].as_bytes();
            ids[i + 1..].iter().any(|shorter| {
                shorter.len() < hay.len() && memchr::memmem::find(hay, shorter.as_bytes()).is_some()
            })
        };
        let keep: Vec<bool> = (0..ids.len()).map(|i| !contains_other(i)).collect();
        let mut ids: Vec<String> = ids
            .into_iter()
            .zip(keep)
            .filter_map(|(id, k)| k.then_some(id))
            .collect();
        // Short names last (they only match where they name a resource), longest first.
        let mut short_names: Vec<String> = short_names.into_iter().collect();
        short_names.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        ids.extend(short_names);
        let finders: Vec<memchr::memmem::Finder<'static>> = ids
            .iter()
            .map(|s| memchr::memmem::Finder::new(s.as_bytes()).into_owned())
            .collect();

        // Resource names must be unique across template files: a file that reuses an
        // address already seen gets `_t{file}` on all its names (and dependencies).
        let mut seen_addresses: HashSet<String> = HashSet::new();
        let mut renamed_files: HashSet<usize> = HashSet::new();
        let mut addresses_of_file: HashMap<usize, Vec<String>> = HashMap::new();
        for r in &raws {
            let module = field_str(&r.fields, "module").unwrap_or_default();
            let addr = format!(
                "{module}.{}.{}",
                field_str(&r.fields, "type").unwrap_or_default(),
                field_str(&r.fields, "name").unwrap_or_default()
            );
            addresses_of_file.entry(r.file).or_default().push(addr);
        }
        for f in 0..states.len() {
            let addrs = addresses_of_file.remove(&f).unwrap_or_default();
            if addrs.iter().any(|a| seen_addresses.contains(a)) {
                renamed_files.insert(f);
            }
            seen_addresses.extend(addrs);
        }

        // Pass 2: templates.
        let mut resources = Vec::with_capacity(raws.len());
        for r in &raws {
            let file_tag = if renamed_files.contains(&r.file) {
                format!("_t{}", r.file)
            } else {
                String::new()
            };
            let mut head = Pieces::default();
            let mut tail = Pieces::default();
            let mut instances = Vec::new();
            let indent1 = INDENT.repeat(RESOURCE_DEPTH + 1);
            head.lit("{");
            let mut in_tail = false;
            for (n, (key, raw)) in r.fields.iter().enumerate() {
                let target = if in_tail { &mut tail } else { &mut head };
                if n > 0 {
                    target.lit(",");
                }
                target.lit("\n");
                target.lit(&indent1);
                target.lit(&json_string(key));
                target.lit(": ");
                match key.as_ref() {
                    "name" => {
                        let name: String =
                            serde_json::from_str(raw.get()).map_err(|e| bad("resource name", e))?;
                        let quoted = json_string(&format!("{name}{file_tag}"));
                        target.lit(&quoted[..quoted.len() - 1]);
                        target.push(Piece::NameSuffix);
                        target.lit("\"");
                    }
                    "instances" if r.instances.is_empty() => target.lit("[]"),
                    "instances" => {
                        target.lit("[");
                        for inst in &r.instances {
                            instances.push(instance_template(inst, &file_tag, &ids, &finders));
                        }
                        in_tail = true;
                        tail.lit("\n");
                        tail.lit(&INDENT.repeat(RESOURCE_DEPTH + 1));
                        tail.lit("]");
                    }
                    _ => {
                        let mut p = Pretty::default();
                        p.write(raw.get().as_bytes(), RESOURCE_DEPTH + 1);
                        target.lit(&p.out);
                    }
                }
            }
            tail.lit("\n");
            tail.lit(&INDENT.repeat(RESOURCE_DEPTH));
            tail.lit("}");
            resources.push(TemplateResource {
                head,
                instances,
                tail,
            });
        }
        Ok(TemplateSet {
            resources,
            ids,
            files,
            skipped: Vec::new(),
            fingerprint: 0,
        })
    }

    /// The new value of every id in batch `k` (index = id number).
    pub fn batch_ids(&self, k: usize) -> Vec<String> {
        let n_ids = self.ids.len() as u64;
        self.ids
            .iter()
            .enumerate()
            .map(|(j, orig)| fresh_id(orig, k as u64 * n_ids + j as u64, k))
            .collect()
    }

    /// Writes a state with `instances` managed instances: `ceil(instances / per batch)` batches,
    /// the last one cut short. Returns what was written.
    pub fn write_state<W: Write>(&self, instances: usize, out: W) -> io::Result<SynthStats> {
        let mut out = CountingWriter {
            inner: out,
            bytes: 0,
        };
        let lineage = format!(
            "5e1f0000-0000-4000-8000-{:012x}",
            self.fingerprint & 0xffff_ffff_ffff
        );
        write!(
            out,
            "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.9.8\",\n  \"serial\": 1,\n  \
             \"lineage\": \"{lineage}\",\n  \"outputs\": {{}},\n  \"resources\": ["
        )?;
        let per_batch = self.instances_per_batch();
        assert!(per_batch > 0, "the template set has no managed instance");
        let mut written = 0;
        let mut resources = 0;
        let mut batches = 0;
        let resource_indent = INDENT.repeat(RESOURCE_DEPTH);
        let instance_indent = INDENT.repeat(INSTANCE_DEPTH);
        let mut k = 0;
        while written < instances {
            assert!(k < 10_000, "batch suffixes are 4 digits");
            let new_ids = self.batch_ids(k);
            let name_suffix = format!("_b{k}");
            let id_suffix = format!("-b{k:04}");
            batches += 1;
            for r in &self.resources {
                if written >= instances {
                    break;
                }
                let emit = |out: &mut CountingWriter<W>, pieces: &Pieces| -> io::Result<()> {
                    for p in &pieces.0 {
                        match p {
                            Piece::Lit(s) => out.write_all(s.as_bytes())?,
                            Piece::Id(j) => out.write_all(new_ids[*j as usize].as_bytes())?,
                            Piece::NameSuffix => out.write_all(name_suffix.as_bytes())?,
                            Piece::IdSuffix => out.write_all(id_suffix.as_bytes())?,
                        }
                    }
                    Ok(())
                };
                out.write_all(if resources == 0 { b"\n" } else { b",\n" })?;
                out.write_all(resource_indent.as_bytes())?;
                emit(&mut out, &r.head)?;
                let take = r.instances.len().min(instances - written);
                for (n, inst) in r.instances[..take].iter().enumerate() {
                    out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
                    out.write_all(instance_indent.as_bytes())?;
                    emit(&mut out, inst)?;
                }
                emit(&mut out, &r.tail)?;
                written += take;
                resources += 1;
            }
            k += 1;
        }
        out.write_all(b"\n  ],\n  \"check_results\": null\n}\n")?;
        out.flush()?;
        Ok(SynthStats {
            managed_instances: written,
            resources,
            batches,
            bytes: out.bytes,
        })
    }
}

/// A synthetic state file on disk, generated once and cached.
#[derive(Debug, Clone)]
pub struct SynthFile {
    pub path: PathBuf,
    pub bytes: u64,
    /// Whether this call generated it (false: it was cached).
    pub generated: bool,
    pub generate_secs: f64,
    /// What was written, when this call generated the file.
    pub stats: Option<SynthStats>,
}

/// Returns the synthetic state with `instances` managed instances under `dir`, generating it
/// if it is missing or was made by another generator version or other templates.
pub fn ensure_state(
    templates: &TemplateSet,
    instances: usize,
    dir: &Path,
) -> io::Result<SynthFile> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(
        "synth-aws-{instances}-g{GENERATOR_VERSION}-{:016x}.tfstate",
        templates.fingerprint
    ));
    if let Ok(meta) = std::fs::metadata(&path) {
        return Ok(SynthFile {
            path,
            bytes: meta.len(),
            generated: false,
            generate_secs: 0.0,
            stats: None,
        });
    }
    let started = std::time::Instant::now();
    let tmp = path.with_extension("tfstate.tmp");
    let file = std::fs::File::create(&tmp)?;
    let stats = templates.write_state(instances, io::BufWriter::with_capacity(1 << 20, file))?;
    std::fs::rename(&tmp, &path)?;
    Ok(SynthFile {
        path,
        bytes: stats.bytes,
        generated: true,
        generate_secs: started.elapsed().as_secs_f64(),
        stats: Some(stats),
    })
}

// ---------------------------------------------------------------------------
// Templates of instances.

fn instance_template(
    fields: &[(Cow<'_, str>, &RawValue)],
    file_tag: &str,
    ids: &[String],
    finders: &[memchr::memmem::Finder<'_>],
) -> Pieces {
    let mut pieces = Pieces::default();
    let indent1 = INDENT.repeat(INSTANCE_DEPTH + 1);
    pieces.lit("{");
    for (n, (key, raw)) in fields.iter().enumerate() {
        if n > 0 {
            pieces.lit(",");
        }
        pieces.lit("\n");
        pieces.lit(&indent1);
        pieces.lit(&json_string(key));
        pieces.lit(": ");
        match key.as_ref() {
            "dependencies" => {
                let deps: Vec<String> = serde_json::from_str(raw.get()).unwrap_or_default();
                if deps.is_empty() {
                    pieces.lit("[]");
                    continue;
                }
                pieces.lit("[");
                for (i, dep) in deps.iter().enumerate() {
                    pieces.lit(if i == 0 { "\n" } else { ",\n" });
                    pieces.lit(&INDENT.repeat(INSTANCE_DEPTH + 2));
                    let quoted = json_string(&format!("{dep}{file_tag}"));
                    pieces.lit(&quoted[..quoted.len() - 1]);
                    pieces.push(Piece::NameSuffix);
                    pieces.lit("\"");
                }
                pieces.lit("\n");
                pieces.lit(&indent1);
                pieces.lit("]");
            }
            // Kept as they are: addresses keep their index keys; `private` is opaque.
            "index_key" | "private" | "schema_version" | "status" | "deposed" => {
                let mut p = Pretty::default();
                p.write(raw.get().as_bytes(), INSTANCE_DEPTH + 1);
                pieces.lit(&p.out);
            }
            _ => {
                let mut p = Pretty::default();
                p.write(raw.get().as_bytes(), INSTANCE_DEPTH + 1);
                let top_id = if matches!(key.as_ref(), "attributes" | "attributes_flat") {
                    p.top_id.clone()
                } else {
                    None
                };
                pieces.extend(tokenise(&p, top_id, ids, finders));
            }
        }
    }
    pieces.lit("\n");
    pieces.lit(&INDENT.repeat(INSTANCE_DEPTH));
    pieces.lit("}");
    pieces
}

/// Splits pretty-printed JSON into literals and id occurrences (inside strings only,
/// never in identifier-like object keys, longest id first, no overlaps).
fn tokenise(
    p: &Pretty,
    top_id: Option<std::ops::Range<usize>>,
    ids: &[String],
    finders: &[memchr::memmem::Finder<'_>],
) -> Pieces {
    let text = p.out.as_bytes();
    // For each byte: the string span it belongs to, if substitutable.
    let mut allowed = vec![u32::MAX; text.len()];
    for (n, s) in p.strings.iter().enumerate() {
        if !s.identifier_key {
            allowed[s.range.clone()].fill(n as u32);
        }
    }
    let mut claimed = vec![false; text.len()];
    let mut sites: Vec<(usize, usize, u32)> = Vec::new();
    for (j, finder) in finders.iter().enumerate() {
        let len = ids[j].len();
        let short = len < MIN_ID_LEN;
        for start in finder.find_iter(text) {
            let end = start + len;
            let span = allowed[start];
            if span == u32::MAX
                || allowed[end - 1] != span
                || claimed[start..end].iter().any(|&c| c)
            {
                continue;
            }
            if short && !short_name_site(p, &p.strings[span as usize], start, end) {
                continue;
            }
            claimed[start..end].fill(true);
            sites.push((start, end, j as u32));
        }
    }
    sites.sort_unstable();
    // The instance's own id must change per batch: if no site falls in it, suffix it there.
    let id_suffix_at =
        top_id.filter(|r| !sites.iter().any(|&(s, e, _)| s >= r.start && e <= r.end));
    let mut pieces = Pieces::default();
    let mut at = 0;
    let mut suffix_done = false;
    for (s, e, j) in sites {
        if let Some(r) = &id_suffix_at
            && !suffix_done
            && r.end <= s
        {
            pieces.lit(&p.out[at..r.end]);
            pieces.push(Piece::IdSuffix);
            at = r.end;
            suffix_done = true;
        }
        pieces.lit(&p.out[at..s]);
        pieces.push(Piece::Id(j));
        at = e;
    }
    if let Some(r) = &id_suffix_at
        && !suffix_done
    {
        pieces.lit(&p.out[at..r.end]);
        pieces.push(Piece::IdSuffix);
        at = r.end;
    }
    pieces.lit(&p.out[at..]);
    pieces
}

/// Whether a short name (fewer than [`MIN_ID_LEN`] bytes) found at `start..end` in string
/// `span` stands for the resource it names: a component of a path or ARN (between `/` or
/// `:` and the string's ends), or the whole value of a name-like key (`name`, `*_name`,
/// `cluster`, `repository`…).
fn short_name_site(p: &Pretty, span: &StrSpan, start: usize, end: usize) -> bool {
    let text = p.out.as_bytes();
    let inside = span.range.clone();
    let before = (start > inside.start).then(|| text[start - 1]);
    let after = (end < inside.end).then(|| text[end]);
    if before.is_none() && after.is_none() {
        let Some(key) = &span.key else { return false };
        let key = &p.out[key.clone()];
        return matches!(
            key,
            "id" | "name"
                | "cluster"
                | "repository"
                | "role"
                | "roles"
                | "bucket"
                | "group"
                | "user"
        ) || key.ends_with("_name");
    }
    let edge = |b: Option<u8>| b.is_none_or(|b| b == b'/' || b == b':');
    edge(before) && edge(after)
}

/// The short names an instance contributes: a top-level `name` of 3 to 7 bytes that its
/// own `id` or `arn` contains (so it is the resource's identity, like an EKS cluster
/// `sandbox` or an ECR repository `ndh`, not a label like a security group's `default`).
fn collect_short_names(instance: &Ordered<'_>, out: &mut HashSet<String>) {
    let attrs: Option<HashMap<String, serde_json::Value>> = instance
        .get("attributes")
        .or_else(|| instance.get("attributes_flat"))
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    let Some(attrs) = attrs else { return };
    let text = |key: &str| match attrs.get(key) {
        Some(serde_json::Value::String(v)) => v.as_str(),
        _ => "",
    };
    let name = text("name");
    if (3..MIN_ID_LEN).contains(&name.len())
        && !name.contains(['"', '\\'])
        && (text("id").contains(name) || text("arn").contains(name))
    {
        out.insert(name.to_string());
    }
}

/// The ids an instance contributes: top-level `id` and `name`, the last component of ARNs.
fn collect_ids(instance: &Ordered<'_>, out: &mut HashSet<String>) {
    let attrs: Option<HashMap<String, serde_json::Value>> = instance
        .get("attributes")
        .or_else(|| instance.get("attributes_flat"))
        .and_then(|raw| serde_json::from_str(raw.get()).ok());
    let Some(attrs) = attrs else { return };
    let mut add = |s: &str| {
        if s.len() >= MIN_ID_LEN && !s.contains(['"', '\\']) {
            out.insert(s.to_string());
        }
    };
    for key in ["id", "arn", "name"] {
        let Some(serde_json::Value::String(v)) = attrs.get(key) else {
            continue;
        };
        if let Some(resource) = arn_resource(v) {
            if let Some(last) = resource.rsplit(['/', ':']).next() {
                add(last);
            }
        } else if key != "arn" {
            add(v);
        }
    }
}

/// The resource part of an ARN (after `arn:partition:service:region:account:`).
fn arn_resource(s: &str) -> Option<&str> {
    if !s.starts_with("arn:") {
        return None;
    }
    let mut parts = s.splitn(6, ':');
    parts.nth(5)
}

/// The new value of id `orig` in batch `k`; `n` is unique per (id, batch).
fn fresh_id(orig: &str, n: u64, k: usize) -> String {
    let is_hex = |s: &str| s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if let Some((prefix, hex)) = orig.rsplit_once('-') {
        let prefix_ok = prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if prefix_ok && hex.len() >= 6 && is_hex(hex) {
            return format!("{prefix}-{}", scramble_hex(hex, n));
        }
    }
    if orig.len() >= MIN_ID_LEN && is_hex(orig) && !orig.bytes().all(|b| b.is_ascii_digit()) {
        return scramble_hex(orig, n);
    }
    format!("{orig}-b{k:04}")
}

/// Hex digits of the same length: the last (up to) 16 replaced by a bijection of `n`.
fn scramble_hex(hex: &str, n: u64) -> String {
    let scrambled = hex.len().min(16);
    let bits = 4 * scrambled as u32;
    assert!(
        bits >= 24 && (bits == 64 || n < 1u64 << bits),
        "id space too small"
    );
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut x = n;
    for c in [
        0x9E37_79B9_7F4A_7C15u64,
        0xBF58_476D_1CE4_E5B9,
        0x94D0_49BB_1331_11EB,
    ] {
        x = x.wrapping_mul(c) & mask; // odd multiplier: a bijection mod 2^bits
        x ^= x >> (bits / 2); // xorshift: a bijection
    }
    format!(
        "{}{:0width$x}",
        &hex[..hex.len() - scrambled],
        x,
        width = scrambled
    )
}

// ---------------------------------------------------------------------------
// Pretty-printing JSON text the way Terraform does (Go's MarshalIndent with two
// spaces), keeping key order and string bytes as they are.

#[derive(Default)]
struct Pretty {
    out: String,
    /// Contents (without quotes) of every string written.
    strings: Vec<StrSpan>,
    /// The contents of the top-level `"id"` string value, if any.
    top_id: Option<std::ops::Range<usize>>,
}

struct StrSpan {
    range: std::ops::Range<usize>,
    /// An object key made of `[a-z0-9_]` only: a schema attribute name, never substituted.
    identifier_key: bool,
    /// For a value: the object key it sits under (through arrays), as a range of `out`.
    key: Option<std::ops::Range<usize>>,
}

impl Pretty {
    /// Writes valid JSON `raw` as if its first byte were at nesting depth `depth`.
    fn write(&mut self, raw: &[u8], depth: usize) {
        let mut depth = depth;
        let mut stack: Vec<u8> = Vec::new();
        let mut expect_key = false;
        let mut key_is_id = false;
        // The current member key of each open container (arrays inherit their parent's).
        let mut keys: Vec<Option<std::ops::Range<usize>>> = Vec::new();
        let mut i = 0;
        let newline = |out: &mut String, depth: usize| {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(INDENT);
            }
        };
        while i < raw.len() {
            match raw[i] {
                b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                b'"' => {
                    let mut j = i + 1;
                    while raw[j] != b'"' {
                        j += if raw[j] == b'\\' { 2 } else { 1 };
                    }
                    let start = self.out.len() + 1;
                    // The input is valid UTF-8 (it came from a &str) and quotes are ASCII.
                    self.out
                        .push_str(std::str::from_utf8(&raw[i..=j]).expect("valid UTF-8"));
                    let range = start..self.out.len() - 1;
                    let content = &raw[i + 1..j];
                    if expect_key {
                        if stack.len() == 1 {
                            key_is_id = content == b"id";
                        }
                        let identifier_key = content
                            .iter()
                            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                        if let Some(k) = keys.last_mut() {
                            *k = Some(range.clone());
                        }
                        self.strings.push(StrSpan {
                            range,
                            identifier_key,
                            key: None,
                        });
                    } else {
                        if stack.len() == 1 && key_is_id && stack[0] == b'{' {
                            self.top_id = Some(range.clone());
                        }
                        self.strings.push(StrSpan {
                            range,
                            identifier_key: false,
                            key: keys.last().cloned().flatten(),
                        });
                    }
                    expect_key = false;
                    i = j + 1;
                }
                open @ (b'{' | b'[') => {
                    let close = if open == b'{' { b'}' } else { b']' };
                    let mut k = i + 1;
                    while matches!(raw.get(k), Some(b' ' | b'\n' | b'\r' | b'\t')) {
                        k += 1;
                    }
                    if raw.get(k) == Some(&close) {
                        self.out.push(open as char);
                        self.out.push(close as char);
                        expect_key = false;
                        i = k + 1;
                    } else {
                        self.out.push(open as char);
                        stack.push(open);
                        let inherited = if open == b'[' {
                            keys.last().cloned().flatten()
                        } else {
                            None
                        };
                        keys.push(inherited);
                        depth += 1;
                        newline(&mut self.out, depth);
                        expect_key = open == b'{';
                        i += 1;
                    }
                }
                close @ (b'}' | b']') => {
                    stack.pop();
                    keys.pop();
                    depth -= 1;
                    newline(&mut self.out, depth);
                    self.out.push(close as char);
                    expect_key = false;
                    i += 1;
                }
                b',' => {
                    self.out.push(',');
                    newline(&mut self.out, depth);
                    expect_key = stack.last() == Some(&b'{');
                    i += 1;
                }
                b':' => {
                    self.out.push_str(": ");
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < raw.len()
                        && !matches!(
                            raw[i],
                            b' ' | b'\n' | b'\r' | b'\t' | b',' | b'}' | b']' | b':'
                        )
                    {
                        i += 1;
                    }
                    self.out
                        .push_str(std::str::from_utf8(&raw[start..i]).expect("valid UTF-8"));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Small helpers.

/// A JSON object's members in document order, values as raw text.
struct Ordered<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Ordered<'a> {
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
    fn get_str(&self, key: &str) -> Option<String> {
        field_str(&self.0, key)
    }
}

fn field_str(fields: &[(Cow<'_, str>, &RawValue)], key: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| serde_json::from_str(v.get()).ok())
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Ordered<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Ordered<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Ordered<'a>, M::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    fields.push((k, v));
                }
                Ok(Ordered(fields))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// FNV-1a, for the cache fingerprint (stable across Rust versions, unlike `DefaultHasher`).
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
