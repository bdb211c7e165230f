//! Validation of the raw config into [`super::Config`].
//!
//! Every problem in the file is reported at once, in file order, each with its
//! line, column, dotted field path and a hint saying what to write instead.
//!
//! How: the text is parsed once into a tree of spanned TOML values (a syntax
//! error stops here: nothing after it can be trusted). An index maps every span
//! of that tree to its field path. Serde then deserialises the raw structs from
//! the tree; it stops at the first unknown field or wrong type, so that error is
//! recorded, the offending entry is removed from the tree, and serde runs again
//! until it succeeds. The semantic checks then run on the raw structs. Paths
//! always come from the index of the original tree, so removed entries never
//! shift an index (`target[2]` stays `target[2]`).
//!
//! Pure: no IO and no environment reads. A secret's env var or file is only
//! looked at when the secret is used. The one exception is injected: given a
//! file reader (`Config::load` passes one), the `driftignore` files the config
//! names are read and parsed, so a missing or bad one is reported with the rest.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::raw::{
    EXPIRY_EXPECTING, HEADERS_EXPECTING, RawAccount, RawAws, RawAwsSettings, RawConfig, RawExpiry,
    RawFindings, RawIgnoreRule, RawSecret, RawStateSource, RawStore, RawTarget, SECRET_EXPECTING,
    STATE_SOURCE_FIELDS,
};
use super::raw::{RawAttribution, RawCloudTrail, RawRetention};
use super::{AttributionSettings, CloudTrailSource, TrailBucket};
use super::{
    AwsAccount, AwsScope, AwsSettings, Config, DEFAULT_STORE_PATH, FindingsSettings, HcpSource,
    HttpSource, S3Source, SecretOrPlain, SecretRef, StateSourceSpec, StoreConfig, Target,
};
use crate::ignore::{AttrPattern, DriftIgnore, Glob, IgnoreError, IgnoreRule};
use crate::store::RetentionPolicy;

mod daemon;
mod notify;

/// One problem in a config file, with where it is and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Dotted field path, e.g. `target[1].state[0].bucket`; empty when unknown
    /// (a TOML syntax error).
    pub field: String,
    /// Lowercase, no trailing period.
    pub message: String,
    /// What to write instead.
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    /// `12:5: target[0].aws.regions[1]: "eu-west" is not an AWS region code (write …)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} has {} problem(s)", problems.len())]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems found (empty when the file could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }

    /// Every problem for humans, one per line, compiler style:
    /// `config.toml:12:5: target[0].aws.regions[1]: "eu-west" is not an AWS region code (write a region code such as "eu-west-1")`.
    pub fn render(&self) -> String {
        match self {
            ConfigError::Read { .. } => self.to_string(),
            ConfigError::Invalid { path, problems } => problems
                .iter()
                .map(|p| format!("{}:{p}", path.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// Serde rounds before giving up (each round removes one bad entry).
const MAX_SERDE_ROUNDS: usize = 256;

/// Reads a file the config names (`driftignore`); `Config::load` passes `std::fs`.
pub(super) type ReadFile<'a> = &'a dyn Fn(&Path) -> std::io::Result<String>;

pub(super) fn parse_and_validate(
    path: &Path,
    text: &str,
    read_file: Option<ReadFile<'_>>,
) -> Result<Config, ConfigError> {
    let invalid = |mut problems: Vec<Problem>| {
        // Stable: problems at the same position keep the order they were found in.
        problems.sort_by_key(|p| (p.line, p.column));
        ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        }
    };
    let lines = Lines::new(text);

    let tree = match DeTable::parse(text) {
        Ok(tree) => tree,
        Err(error) => return Err(invalid(vec![syntax_problem(&lines, &error)])),
    };
    let index = SpanIndex::build(tree.get_ref());

    let mut problems = Vec::new();
    let mut reported = HashSet::new();
    let Some(raw) = deserialize_all(&lines, &index, tree, &mut problems, &mut reported) else {
        return Err(invalid(problems));
    };

    let mut checker = Checker {
        lines: &lines,
        index: &index,
        reported: &reported,
        dir: path.parent().unwrap_or(Path::new("")).to_path_buf(),
        read_file,
        problems,
    };
    let config = checker.config(path, &raw);
    if checker.problems.is_empty() {
        Ok(config)
    } else {
        Err(invalid(checker.problems))
    }
}

// ---------------------------------------------------------------------------
// Positions

/// Byte offset to 1-based line and column.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, column + 1)
    }

    fn source(&self, span: &Range<usize>) -> &'a str {
        self.text.get(span.clone()).unwrap_or("")
    }

    fn problem(
        &self,
        span: &Range<usize>,
        field: String,
        message: String,
        hint: String,
    ) -> Problem {
        let (line, column) = self.line_column(span.start);
        Problem {
            line,
            column,
            field,
            message,
            hint: Some(hint),
        }
    }
}

fn syntax_problem(lines: &Lines<'_>, error: &toml::de::Error) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let message = tidy_message(error.message());
    let hint = if message.contains("must be quoted") {
        // `name = prod` → `name = "prod"`: the rest of the line is the value.
        let (line, _) = lines.line_column(span.start);
        let line_start = lines.starts[line - 1];
        let before = lines.source(&(line_start..span.start));
        let rest = lines
            .text
            .get(span.start..)
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("");
        let value = rest.split('#').next().unwrap_or("").trim();
        match before.trim().strip_suffix('=') {
            Some(key) if !value.is_empty() => {
                format!(
                    "put the value in double quotes: {} = \"{value}\"",
                    key.trim()
                )
            }
            _ => "put the value in double quotes, e.g. region = \"eu-west-1\"".into(),
        }
    } else if message.contains("duplicate") {
        "define each key and each [table] once; merge the two".into()
    } else {
        "fix the TOML syntax here, see https://toml.io; strings are quoted, \
         and [table] and [[list]] headers stand on their own line"
            .into()
    };
    lines.problem(
        &span,
        String::new(),
        format!("invalid TOML: {message}"),
        hint,
    )
}

/// Lowercase first letter, no trailing period, one line.
fn tidy_message(message: &str) -> String {
    let message = message
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_end_matches('.');
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid value".into(),
    }
}

// ---------------------------------------------------------------------------
// Field paths

/// One key or value of the parsed tree.
struct Node {
    span: Range<usize>,
    /// Dotted path, e.g. `target[0].state[1].bucket`.
    path: String,
    /// The entry's key (for an array element, the array's key).
    key: String,
    /// `span` is the key's position, not the value's.
    is_key: bool,
    /// An element of an array.
    element: bool,
    /// `DeValue::type_str` of the value.
    type_name: &'static str,
}

/// Every span of the original tree and its field path, parents before children.
/// (An array of tables has the span of its first element's header, and a
/// dotted-key table the span of its key: the first match is the outermost.)
struct SpanIndex(Vec<Node>);

impl SpanIndex {
    fn build(root: &DeTable<'_>) -> Self {
        let mut nodes = Vec::new();
        index_table(root, "", &mut nodes);
        SpanIndex(nodes)
    }

    fn outermost(&self, span: &Range<usize>) -> Option<&Node> {
        self.0.iter().find(|n| n.span == *span)
    }

    /// The path of the innermost value at `span` (`target[0]`, not `target`).
    fn value_path(&self, span: &Range<usize>) -> String {
        self.0
            .iter()
            .rev()
            .find(|n| !n.is_key && n.span == *span)
            .map(|n| n.path.clone())
            .unwrap_or_default()
    }
}

fn index_table(table: &DeTable<'_>, prefix: &str, nodes: &mut Vec<Node>) {
    for (key, value) in table.iter() {
        let path = join_key(prefix, key.get_ref());
        let type_name = value.get_ref().type_str();
        for (span, is_key) in [(key.span(), true), (value.span(), false)] {
            nodes.push(Node {
                span,
                path: path.clone(),
                key: key.get_ref().to_string(),
                is_key,
                element: false,
                type_name,
            });
        }
        index_value(value.get_ref(), &path, key.get_ref(), nodes);
    }
}

fn index_value(value: &DeValue<'_>, path: &str, key: &str, nodes: &mut Vec<Node>) {
    match value {
        DeValue::Table(table) => index_table(table, path, nodes),
        DeValue::Array(array) => {
            for (i, element) in array.iter().enumerate() {
                let path = format!("{path}[{i}]");
                nodes.push(Node {
                    span: element.span(),
                    path: path.clone(),
                    key: key.to_string(),
                    is_key: false,
                    element: true,
                    type_name: element.get_ref().type_str(),
                });
                index_value(element.get_ref(), &path, key, nodes);
            }
        }
        _ => {}
    }
}

/// `prefix.key`, quoting keys that are not bare TOML keys.
fn join_key(prefix: &str, key: &str) -> String {
    let key = if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// The path without indices: `target[0].aws.regions[1]` → `target.aws.regions`.
fn kind_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' && chars.peek().is_some_and(char::is_ascii_digit) {
            for c in chars.by_ref() {
                if c == ']' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The path of the table holding `path`'s entry.
fn parent_of(path: &str) -> &str {
    path.rfind('.').map_or("", |i| &path[..i])
}

// ---------------------------------------------------------------------------
// Serde rounds: unknown fields and wrong types

/// Deserialises the raw config, recording and removing one bad entry per round.
/// `reported` collects the fields already reported (or, for a misspelled key,
/// the field it was probably meant to be) so that later checks do not report
/// the same mistake again as "missing". `None` when serde cannot be satisfied.
fn deserialize_all(
    lines: &Lines<'_>,
    index: &SpanIndex,
    mut tree: Spanned<DeTable<'_>>,
    problems: &mut Vec<Problem>,
    reported: &mut HashSet<String>,
) -> Option<RawConfig> {
    for _ in 0..MAX_SERDE_ROUNDS {
        let error = match RawConfig::deserialize(toml::de::Deserializer::from(tree.clone())) {
            Ok(raw) => return Some(raw),
            Err(error) => error,
        };
        let located = error
            .span()
            .and_then(|span| index.outermost(&span).map(|node| (span, node)));
        let Some((span, node)) = located else {
            // Nothing to point at and nothing to remove: report it and stop.
            let span = error.span().unwrap_or(0..0);
            problems.push(lines.problem(
                &span,
                String::new(),
                tidy_message(error.message()),
                "see config.example.toml for the expected shape".into(),
            ));
            return None;
        };
        let (problem, meant) = serde_problem(lines, &span, node, error.message());
        problems.push(problem);
        reported.insert(node.path.clone());
        if let Some(meant) = meant {
            reported.insert(join_key(parent_of(&node.path), &meant));
        }
        if !prune_table(tree.get_mut(), &span) {
            return None;
        }
    }
    None
}

/// Removes the outermost entry or array element whose key or value is at `span`.
fn prune_table(table: &mut DeTable<'_>, span: &Range<usize>) -> bool {
    let found = table
        .iter()
        .find(|(k, v)| k.span() == *span || v.span() == *span)
        .map(|(k, _)| k.clone());
    if let Some(key) = found {
        table.remove(&key);
        return true;
    }
    table
        .iter_mut()
        .any(|(_, value)| prune_value(value.get_mut(), span))
}

fn prune_value(value: &mut DeValue<'_>, span: &Range<usize>) -> bool {
    match value {
        DeValue::Table(table) => prune_table(table, span),
        DeValue::Array(array) => {
            if let Some(i) = array.iter().position(|e| e.span() == *span) {
                let old = std::mem::replace(array, DeArray::new());
                *array = old
                    .into_iter()
                    .enumerate()
                    .filter_map(|(j, e)| (j != i).then_some(e))
                    .collect();
                return true;
            }
            array.iter_mut().any(|e| prune_value(e.get_mut(), span))
        }
        _ => false,
    }
}

/// Turns a serde error into a problem; also returns the field a misspelled key
/// was probably meant to be.
fn serde_problem(
    lines: &Lines<'_>,
    span: &Range<usize>,
    node: &Node,
    message: &str,
) -> (Problem, Option<String>) {
    let field = node.path.clone();
    if message.starts_with("unknown field `$__toml_private") {
        // toml hands a date-time to a map visitor as a private key: the value
        // has the wrong type, nothing is misspelled.
        let kind = kind_of(&node.path);
        let expected =
            if kind.ends_with(".password") || kind.ends_with(".token") || is_header_kind(&kind) {
                SECRET_EXPECTING
            } else if kind.ends_with(".headers") {
                HEADERS_EXPECTING
            } else {
                "a table"
            };
        let hint = type_hint(lines, span, node, expected);
        let problem = lines.problem(
            span,
            field,
            format!("expected {expected}, found a date-time"),
            hint,
        );
        return (problem, None);
    }
    if message.starts_with("unknown field") {
        let allowed = backticked(message.split_once("expected").map_or("", |(_, rest)| rest));
        let meant = closest(&node.key, allowed.iter().copied()).map(str::to_string);
        let hint = match &meant {
            Some(m) => format!("did you mean `{m}`?"),
            None if allowed.is_empty() => "remove it: this table takes no fields".into(),
            None => format!(
                "remove it; allowed here: {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let problem = lines.problem(span, field, format!("unknown field `{}`", node.key), hint);
        return (problem, meant);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (unexpected, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        let expected = if node.type_name == "array" && !unexpected.starts_with("sequence") {
            // serde lets a struct be written as a list of its fields' values, so
            // `[[target.aws]]` fails on its first field; the mistake is the list.
            "a table"
        } else if expected.starts_with("a secret reference")
            && is_header_kind(&kind_of(&node.path))
            && !is_secret_header(&node.key)
        {
            "a string or a secret reference"
        } else if expected == "a sequence" {
            "a list"
        } else if expected == "i64" {
            "a whole number"
        } else {
            expected
        };
        let found = if node.type_name == "array" && lines.source(span).starts_with("[[") {
            "a list of [[tables]]"
        } else {
            a_type(node.type_name)
        };
        let hint = type_hint(lines, span, node, expected);
        let problem = lines.problem(
            span,
            field,
            format!("expected {expected}, found {found}"),
            hint,
        );
        return (problem, None);
    }
    let problem = lines.problem(
        span,
        field,
        tidy_message(message),
        "see config.example.toml for the expected shape".into(),
    );
    (problem, None)
}

fn a_type(type_name: &str) -> &'static str {
    match type_name {
        "string" => "a string",
        "integer" => "an integer",
        "float" => "a float",
        "boolean" => "a boolean",
        "datetime" => "a date-time",
        "array" => "a list",
        _ => "a table",
    }
}

/// The `backticked` words of a serde message.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// The candidate closest to `typed`, if it is close enough to be a typo.
fn closest<'c>(typed: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let typed = typed.to_ascii_lowercase();
    // Jaro-Winkler catches shared prefixes (`region` → `regions`); one edit or
    // transposition catches short words it misses (`hpc` → `hcp`).
    candidates
        .map(|c| {
            let one_edit = strsim::damerau_levenshtein(&typed, c) <= 1;
            (
                strsim::jaro_winkler(&typed, c) + if one_edit { 1.0 } else { 0.0 },
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// What to write instead of a value of the wrong type.
fn type_hint(lines: &Lines<'_>, span: &Range<usize>, node: &Node, expected: &str) -> String {
    let kind = kind_of(&node.path);
    let key = join_key("", &node.key);
    let source = lines.source(span);
    let scalar = !matches!(node.type_name, "array" | "table");
    let lhs = if node.element {
        String::new()
    } else {
        format!("{key} = ")
    };
    if expected == "a string" || expected == "a string or a secret reference" {
        return if scalar {
            format!("put it in quotes: {lhs}\"{}\"", source.trim_matches('"'))
        } else if node.element {
            let element = example(&kind).trim_start_matches('[').trim_end_matches(']');
            format!("write one quoted string per entry, e.g. {element}")
        } else {
            format!("write one quoted string, e.g. {key} = {}", example(&kind))
        };
    }
    if expected == "a boolean" {
        return match source.trim_matches(|c| c == '"' || c == '\'') {
            b @ ("true" | "false") => format!("write {key} = {b} without quotes"),
            _ => format!("write {key} = true or {key} = false"),
        };
    }
    if expected == "a list" {
        return match kind.as_str() {
            "target" | "target.state" | "target.aws.account" | "ignore" => {
                format!("write [[{kind}]] with double brackets: each one adds an entry")
            }
            _ if scalar => format!("write a list: {key} = [{source}]"),
            _ => format!("write a list, e.g. {key} = {}", example(&kind)),
        };
    }
    if expected == "a table" {
        return if node.element {
            format!("write each entry as a [[{kind}]] table")
        } else if node.type_name == "array" {
            format!("write [{kind}] with single brackets: there is one")
        } else {
            format!("write a [{kind}] table")
        };
    }
    if expected.starts_with("a secret reference") {
        return secret_hint(&node.key, is_header_kind(&kind));
    }
    if expected == "a whole number" {
        return format!(
            "write a whole number without quotes, e.g. {key} = {}",
            example(&kind)
        );
    }
    if expected == EXPIRY_EXPECTING {
        return EXPIRES_HINT.into();
    }
    if expected == HEADERS_EXPECTING {
        return "write headers = { \"X-Team\" = \"network\", \"Authorization\" = { env = \"TFSTATE_AUTHORIZATION\" } }".into();
    }
    "see config.example.toml for the expected shape".into()
}

fn is_header_kind(kind: &str) -> bool {
    kind.starts_with("target.state.headers.")
}

/// A sample value for a field, as TOML, by its path without indices.
fn example(kind: &str) -> &'static str {
    match kind {
        "store.path" => return "\"/var/lib/driftd/driftd.db\"",
        "ignore.name" => return "\"ci-tags\"",
        "ignore.id" => return "\"sg-0123456789abcdef0\"",
        "ignore.target" => return "\"prod-*\"",
        _ => {}
    }
    match kind.rsplit('.').next().unwrap_or("") {
        "key_path" => "\"/var/lib/driftd/hmac.key\"",
        "name" => "\"prod-network\"",
        "environment" => "\"prod\"",
        "type" => "\"file\"",
        "path" => "\"states/network.tfstate\"",
        "pattern" => "\"/srv/tf/*/terraform.tfstate\"",
        "bucket" => "\"acme-tfstate\"",
        "key" => "\"network/terraform.tfstate\"",
        "region" => "\"eu-west-1\"",
        "regions" => "[\"eu-west-1\"]",
        "endpoint_url" => "\"http://127.0.0.1:9000\"",
        "profile" => "\"driftd\"",
        "role_arn" => "\"arn:aws:iam::111111111111:role/driftd-read\"",
        "url" => "\"https://tfstate.internal/network\"",
        "username" => "\"driftd\"",
        "address" => "\"https://app.terraform.io\"",
        "organization" => "\"acme\"",
        "workspace" => "\"network-prod\"",
        "token" => "{ env = \"TFE_TOKEN\" }",
        "password" => "{ env = \"TF_HTTP_PASSWORD\" }",
        "id" => "\"111111111111\"",
        "env" => "\"TF_HTTP_PASSWORD\"",
        "file" => "\"/etc/driftd/secret\"",
        "credential" => "\"tfe-token\"",
        "concurrency" => "4",
        "max_attempts" => "5",
        "call_timeout_seconds" => "30",
        "keep_scans" => "1000",
        "driftignore" => "\"prod-network.driftignore\"",
        "confirm_after" => "2",
        "reread_delay_seconds" => "15",
        "resource_type" => "\"aws_security_group\"",
        "attribute" => "\"tags.LastScanned\"",
        "reason" => "\"set by the nightly backup job, not Terraform\"",
        "owner" => "\"team-platform\"",
        "expires" => "2027-01-31",
        _ => "\"...\"",
    }
}

// ---------------------------------------------------------------------------
// Secrets

/// The environment variable suggested for a secret field or header.
fn suggested_env(key: &str, header: bool) -> String {
    match (key, header) {
        ("password", false) => "TF_HTTP_PASSWORD".into(),
        ("token", false) => "TFE_TOKEN".into(),
        _ => {
            let name: String = key
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            format!("TFSTATE_{}", name.trim_matches('_'))
        }
    }
}

fn secret_hint(key: &str, header: bool) -> String {
    let env = suggested_env(key, header);
    format!(
        "write {} = {{ env = \"{env}\" }} and set {env} in driftd's EnvironmentFile, \
         or use {{ file = \"/path\" }} or {{ credential = \"name\" }}",
        join_key("", key)
    )
}

/// Headers whose value is a credential: never plain text in the file.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "auth",
        "password",
        "passwd",
        "session",
        "signature",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

// ---------------------------------------------------------------------------
// Semantic checks

struct Checker<'a> {
    lines: &'a Lines<'a>,
    index: &'a SpanIndex,
    /// Fields the serde rounds already reported.
    reported: &'a HashSet<String>,
    /// The config file's directory, for relative paths.
    dir: PathBuf,
    /// Reads the `driftignore` files to check them; `None`: not checked.
    read_file: Option<ReadFile<'a>>,
    problems: Vec<Problem>,
}

/// The state source types, in the order hints list them.
const SOURCE_TYPES: [&str; 5] = ["file", "glob", "s3", "http", "hcp"];

impl Checker<'_> {
    fn report(&mut self, span: &Range<usize>, field: String, message: String, hint: String) {
        self.problems
            .push(self.lines.problem(span, field, message, hint));
    }

    fn path<T>(&self, value: &Spanned<T>) -> String {
        self.index.value_path(&value.span())
    }

    /// Whether `field` (or something inside it) was already reported.
    fn already_reported(&self, field: &str) -> bool {
        self.reported.iter().any(|r| {
            r == field
                || r.strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    }

    /// Reports a missing field at the table that lacks it.
    fn missing(&mut self, table: &Range<usize>, key: &str, message: String, hint: String) {
        let field = join_key(&self.index.value_path(table), key);
        if !self.already_reported(&field) {
            self.report(table, field, message, hint);
        }
    }

    /// A required string: missing (reported at its table) or blank is a problem.
    fn required<'r>(
        &mut self,
        table: &Range<usize>,
        key: &str,
        value: &'r Option<Spanned<String>>,
    ) -> Option<&'r Spanned<String>> {
        match value {
            None => {
                let kind = kind_of(&join_key(&self.index.value_path(table), key));
                self.missing(
                    table,
                    key,
                    format!("missing required field `{key}`"),
                    format!("add {key} = {}", example(&kind)),
                );
                None
            }
            Some(value) => self.not_blank(value, true),
        }
    }

    /// An optional string that must not be blank when given.
    fn optional<'r>(&mut self, value: &'r Option<Spanned<String>>) -> Option<&'r Spanned<String>> {
        value.as_ref().and_then(|v| self.not_blank(v, false))
    }

    /// A string that must not be blank; `required` only changes the hint.
    fn not_blank<'r>(
        &mut self,
        value: &'r Spanned<String>,
        required: bool,
    ) -> Option<&'r Spanned<String>> {
        if !value.get_ref().trim().is_empty() {
            return Some(value);
        }
        let field = self.path(value);
        let key = field.rsplit('.').next().unwrap_or("").to_string();
        let mut hint = format!("write a value, e.g. {key} = {}", example(&kind_of(&field)));
        if !required {
            hint.push_str(", or remove the line to use the default");
        }
        self.report(&value.span(), field, format!("`{key}` is empty"), hint);
        None
    }

    /// A file path: relative to the config file's directory.
    fn file_path(&mut self, value: &Spanned<String>) -> PathBuf {
        let text = value.get_ref();
        if text.starts_with('~') {
            self.report(
                &value.span(),
                self.path(value),
                "`~` is not expanded in paths".into(),
                "write the full path, or one relative to the config file's directory".into(),
            );
        }
        self.dir.join(text)
    }

    fn config(&mut self, path: &Path, raw: &RawConfig) -> Config {
        let store = self.store(raw.store.as_ref());
        let mut targets = Vec::new();
        match &raw.target {
            Some(list) if !list.is_empty() => {
                let mut names: HashMap<String, String> = HashMap::new();
                for target in list {
                    targets.push(self.target(target, &mut names));
                }
            }
            _ => self.missing(
                &(0..0),
                "target",
                "no target is configured".into(),
                "add a [[target]] table with name, environment, [[target.state]] and [target.aws]; \
                 see config.example.toml"
                    .into(),
            ),
        }
        let aws = self.aws_settings(raw.aws.as_ref());
        let findings = self.findings_settings(raw.findings.as_ref());
        let ignore = self.ignore_rules(raw.ignore.as_deref().unwrap_or_default(), &targets);
        let retention = self.retention(raw.retention.as_ref());
        let attribution = self.attribution(raw.attribution.as_ref());
        let policy = self.policy(raw.policy.as_ref(), &targets);
        let channels = self.channels(raw.channel.as_deref().unwrap_or_default());
        let routes = self.routes(raw.route.as_deref().unwrap_or_default(), &channels);
        let notify = self.notify(raw.notify.as_ref(), &channels);
        let daemon = self.daemon(raw.daemon.as_ref());
        Config {
            source: path.to_path_buf(),
            store,
            targets,
            aws,
            findings,
            ignore,
            retention,
            attribution,
            policy,
            channels,
            routes,
            notify,
            daemon,
        }
    }

    fn attribution(&mut self, raw: Option<&Spanned<RawAttribution>>) -> AttributionSettings {
        let defaults = AttributionSettings::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return defaults;
        };
        let minutes = |v: Option<i64>, d: chrono::Duration| v.map_or(d, chrono::Duration::minutes);
        let retry_for = self.in_range(&raw.retry_for_minutes, 5, 1440, "retry_for_minutes = 60");
        let retry_every = self.in_range(&raw.retry_every_minutes, 1, 60, "retry_every_minutes = 5");
        let delay = self.in_range(
            &raw.delivery_delay_minutes,
            0,
            120,
            "delivery_delay_minutes = 15",
        );
        let skew = self.in_range(&raw.clock_skew_seconds, 0, 3600, "clock_skew_seconds = 60");
        let lookback = self.in_range(
            &raw.first_scan_lookback_days,
            1,
            90,
            "first_scan_lookback_days = 90",
        );
        let calls = self.in_range(
            &raw.max_calls_per_pass,
            1,
            100_000,
            "max_calls_per_pass = 600",
        );
        let mut pipeline_principals = Vec::new();
        for p in raw
            .pipeline_principals
            .as_ref()
            .map_or(&[][..], |v| v.get_ref())
        {
            let text = p.get_ref();
            match glob::Pattern::new(text) {
                Ok(pattern) if text.starts_with("arn:") => pipeline_principals.push(pattern),
                Ok(_) => self.report(
                    &p.span(),
                    "attribution.pipeline_principals".into(),
                    format!("{text:?} is not an ARN"),
                    "list the pipeline's role or user ARNs, e.g. \"arn:aws:iam::111111111111:role/ci-deploy\" \
                     (globs such as arn:aws:iam::*:role/ci-* work)"
                        .into(),
                ),
                Err(e) => self.report(
                    &p.span(),
                    "attribution.pipeline_principals".into(),
                    format!("{text:?} is not a valid glob: {e}"),
                    "use * and ? as wildcards, e.g. \"arn:aws:iam::*:role/ci-*\"".into(),
                ),
            }
        }
        AttributionSettings {
            enabled: raw
                .enabled
                .as_ref()
                .map_or(defaults.enabled, |v| *v.get_ref()),
            retry_for: minutes(retry_for, defaults.retry_for),
            retry_every: minutes(retry_every, defaults.retry_every),
            delivery_delay: minutes(delay, defaults.delivery_delay),
            clock_skew: skew.map_or(defaults.clock_skew, chrono::Duration::seconds),
            first_scan_lookback: lookback
                .map_or(defaults.first_scan_lookback, chrono::Duration::days),
            max_calls_per_pass: calls.map_or(defaults.max_calls_per_pass, |v| v as u64),
            pipeline_principals,
        }
    }

    fn retention(&mut self, raw: Option<&Spanned<RawRetention>>) -> RetentionPolicy {
        let defaults = RetentionPolicy::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return defaults;
        };
        let keep_scans = self.in_range(&raw.keep_scans, 1, 1_000_000, "keep_scans = 1000");
        let trail_days = self.in_range(&raw.trail_days, 7, 3650, "trail_days = 100");
        let outbox_days = self.in_range(&raw.outbox_days, 1, 3650, "outbox_days = 90");
        RetentionPolicy {
            keep_scans: keep_scans.map_or(defaults.keep_scans, |v| v as u32),
            trail_days: trail_days.map_or(defaults.trail_days, |v| v as u32),
            outbox_days: outbox_days.map_or(defaults.outbox_days, |v| v as u32),
            ..defaults
        }
    }

    fn aws_settings(&mut self, raw: Option<&Spanned<RawAwsSettings>>) -> AwsSettings {
        let defaults = AwsSettings::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return defaults;
        };
        let concurrency = self.in_range(&raw.concurrency, 1, 64, "concurrency = 4");
        let max_attempts = self.in_range(&raw.max_attempts, 1, 20, "max_attempts = 5");
        let timeout = self.in_range(
            &raw.call_timeout_seconds,
            1,
            600,
            "call_timeout_seconds = 30",
        );
        AwsSettings {
            concurrency: concurrency.map_or(defaults.concurrency, |v| v as usize),
            max_attempts: max_attempts.map_or(defaults.max_attempts, |v| v as u32),
            call_timeout: timeout.map_or(defaults.call_timeout, |v| {
                std::time::Duration::from_secs(v as u64)
            }),
        }
    }

    /// An optional integer within `min..=max`; outside it, a problem with `example`.
    fn in_range(
        &mut self,
        value: &Option<Spanned<i64>>,
        min: i64,
        max: i64,
        example: &str,
    ) -> Option<i64> {
        let value = value.as_ref()?;
        let v = *value.get_ref();
        if (min..=max).contains(&v) {
            Some(v)
        } else {
            self.report(
                &value.span(),
                self.path(value),
                format!("{v} is out of range: it must be from {min} to {max}"),
                format!("e.g. {example}"),
            );
            None
        }
    }

    fn store(&mut self, raw: Option<&Spanned<RawStore>>) -> StoreConfig {
        let raw = raw.map(Spanned::get_ref);
        let path = match raw.and_then(|r| self.optional(&r.path)) {
            Some(p) => self.file_path(p),
            None => PathBuf::from(DEFAULT_STORE_PATH),
        };
        let key_path = match raw.and_then(|r| r.key_path.as_ref()) {
            Some(k) => {
                let resolved = self.not_blank(k, false).map(|k| self.file_path(k));
                if resolved.as_ref() == Some(&path) {
                    self.report(
                        &k.span(),
                        self.path(k),
                        "`key_path` is the database file itself".into(),
                        "write another file, e.g. key_path = \"/var/lib/driftd/hmac.key\"".into(),
                    );
                }
                resolved.unwrap_or_default()
            }
            None => path.parent().unwrap_or(Path::new("")).join("hmac.key"),
        };
        StoreConfig { path, key_path }
    }

    fn target(
        &mut self,
        target: &Spanned<RawTarget>,
        names: &mut HashMap<String, String>,
    ) -> Target {
        let span = target.span();
        let path = self.path(target);
        let raw = target.get_ref();

        let name = match self.required(&span, "name", &raw.name) {
            Some(name) => {
                let text = name.get_ref();
                if !is_target_name(text) {
                    self.report(
                        &name.span(),
                        self.path(name),
                        format!("\"{text}\" is not a valid target name"),
                        format!(
                            "use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit, e.g. \"{}\"",
                            slug(text)
                        ),
                    );
                } else if let Some(first) = names.get(text.as_str()) {
                    self.report(
                        &name.span(),
                        self.path(name),
                        format!("target name \"{text}\" is already used by {first}"),
                        "give every target a unique name".into(),
                    );
                } else {
                    names.insert(text.clone(), path.clone());
                }
                text.clone()
            }
            None => String::new(),
        };
        let environment = self
            .required(&span, "environment", &raw.environment)
            .map(|e| e.get_ref().clone())
            .unwrap_or_default();

        let mut states = Vec::new();
        match &raw.state {
            Some(list) if !list.is_empty() => {
                for state in list {
                    if let Some(spec) = self.state_source(state) {
                        states.push(spec);
                    }
                }
            }
            _ => self.missing(
                &span,
                "state",
                "target has no state source".into(),
                "add a [[target.state]] table, e.g. type = \"file\" and path = \"terraform.tfstate\"".into(),
            ),
        }

        let aws = match &raw.aws {
            Some(aws) => Some(self.aws(aws)),
            None => {
                self.missing(
                    &span,
                    "aws",
                    "target has no cloud scope".into(),
                    "add a [target.aws] table with regions = [\"eu-west-1\"] and a \
                     [[target.aws.account]] with id = \"111111111111\""
                        .into(),
                );
                None
            }
        };

        let driftignore = raw.driftignore.as_ref().and_then(|d| self.driftignore(d));
        let schedule = self.target_schedule(raw);

        Target {
            name,
            environment,
            states,
            aws,
            driftignore,
            schedule,
        }
    }

    fn state_source(&mut self, state: &Spanned<RawStateSource>) -> Option<StateSourceSpec> {
        let span = state.span();
        let raw = state.get_ref();
        let present = raw.present_fields();

        let Some(kind) = &raw.kind else {
            // Guess the type from the fields given, for the hint.
            let guesses: Vec<&str> = STATE_SOURCE_FIELDS
                .iter()
                .filter(|(_, fields)| present.iter().all(|(f, _)| fields.contains(f)))
                .map(|(t, _)| *t)
                .collect();
            let hint = match guesses.as_slice() {
                [one] if !present.is_empty() => format!("add type = \"{one}\""),
                _ => "add type = \"file\", \"glob\", \"s3\", \"http\" or \"hcp\"".into(),
            };
            self.missing(&span, "type", "state source has no `type`".into(), hint);
            return None;
        };
        let type_name = kind.get_ref().as_str();
        let Some((_, allowed)) = STATE_SOURCE_FIELDS.iter().find(|(t, _)| *t == type_name) else {
            let hint = match closest(type_name, SOURCE_TYPES.into_iter()) {
                Some(t) => format!("did you mean type = \"{t}\"?"),
                None => "write type = \"file\", \"glob\", \"s3\", \"http\" or \"hcp\"".into(),
            };
            self.report(
                &kind.span(),
                self.path(kind),
                format!("unknown state source type \"{type_name}\""),
                hint,
            );
            return None;
        };

        let mut misplaced = false;
        for (field, field_span) in &present {
            if allowed.contains(field) {
                continue;
            }
            misplaced = true;
            let owner = STATE_SOURCE_FIELDS
                .iter()
                .find(|(_, fields)| fields.contains(field))
                .map_or("", |(t, _)| *t);
            self.report(
                field_span,
                self.index.value_path(field_span),
                format!("`{field}` does not apply to type \"{type_name}\""),
                format!("remove it, or change the source to type = \"{owner}\""),
            );
        }

        let spec = match type_name {
            "file" => self
                .required(&span, "path", &raw.path)
                .map(|p| StateSourceSpec::File {
                    path: self.file_path(p),
                }),
            "glob" => self
                .required(&span, "pattern", &raw.pattern)
                .and_then(|p| self.glob(p)),
            "s3" => self.s3(&span, raw).map(StateSourceSpec::S3),
            "http" => self.http(&span, raw).map(StateSourceSpec::Http),
            _ => self.hcp(&span, raw).map(StateSourceSpec::Hcp),
        };
        if misplaced { None } else { spec }
    }

    fn glob(&mut self, pattern: &Spanned<String>) -> Option<StateSourceSpec> {
        let text = pattern.get_ref();
        if let Err(error) = glob::Pattern::new(text) {
            self.report(
                &pattern.span(),
                self.path(pattern),
                format!("invalid glob pattern \"{text}\": {} at character {}", error.msg, error.pos + 1),
                "write a glob such as \"/srv/tf/*/terraform.tfstate\"; match a literal [ or ] as [[] or []]".into(),
            );
            return None;
        }
        if text.starts_with('~') {
            self.file_path(pattern);
        }
        let pattern = if Path::new(text).is_absolute() || self.dir.as_os_str().is_empty() {
            text.clone()
        } else {
            // The directory is literal text: escape it so `[` in it is not a class.
            let dir = glob::Pattern::escape(&self.dir.to_string_lossy());
            format!("{}/{text}", dir.trim_end_matches('/'))
        };
        Some(StateSourceSpec::Glob { pattern })
    }

    fn s3(&mut self, span: &Range<usize>, raw: &RawStateSource) -> Option<S3Source> {
        let region = self.required(span, "region", &raw.region);
        if let Some(r) = region {
            self.region(r);
        }
        let bucket = self.required(span, "bucket", &raw.bucket);
        if let Some(b) = bucket {
            let legacy = region.is_some_and(|r| r.get_ref() == "us-east-1");
            if let Some((message, hint)) = bucket_problem(b.get_ref(), legacy) {
                self.report(&b.span(), self.path(b), message, hint);
            }
        }
        let key = self.required(span, "key", &raw.key);
        if let Some(k) = key {
            let text = k.get_ref();
            if text.starts_with('/') || text.ends_with('/') {
                self.report(
                    &k.span(),
                    self.path(k),
                    format!("state key \"{text}\" starts or ends with '/'"),
                    format!(
                        "write the key as the s3 backend does, e.g. key = \"{}\"",
                        text.trim_matches('/')
                    ),
                );
            }
        }
        let version_id = self.optional(&raw.version_id);
        let endpoint_url = self.optional(&raw.endpoint_url);
        if let Some(u) = endpoint_url {
            self.url(u);
        }
        let profile = self.optional(&raw.profile);
        let role_arn = self.optional(&raw.role_arn);
        if let Some(r) = role_arn {
            self.role_arn(r, None);
        }
        Some(S3Source {
            bucket: bucket?.get_ref().clone(),
            key: key?.get_ref().clone(),
            region: region?.get_ref().clone(),
            version_id: version_id.map(|v| v.get_ref().clone()),
            endpoint_url: endpoint_url.map(|v| v.get_ref().clone()),
            force_path_style: raw.force_path_style.as_ref().is_some_and(|f| *f.get_ref()),
            profile: profile.map(|v| v.get_ref().clone()),
            role_arn: role_arn.map(|v| v.get_ref().clone()),
        })
    }

    fn http(&mut self, span: &Range<usize>, raw: &RawStateSource) -> Option<HttpSource> {
        let url = self.required(span, "url", &raw.url);
        if let Some(u) = url {
            self.url(u);
        }
        let username = self.optional(&raw.username);
        let password = raw
            .password
            .as_ref()
            .and_then(|p| self.secret(p, "password", false));
        if let (Some(p), None) = (&raw.password, &raw.username) {
            self.report(
                &p.span(),
                self.path(p),
                "`password` is given without `username`".into(),
                "add username = \"...\": basic auth needs both".into(),
            );
        }
        let mut headers = Vec::new();
        if let Some(raw_headers) = &raw.headers {
            let mut seen: HashMap<String, String> = HashMap::new();
            for (name, value) in &raw_headers.get_ref().0 {
                if let Some(header) = self.header(name, value, &mut seen) {
                    headers.push(header);
                }
            }
        }
        Some(HttpSource {
            url: url?.get_ref().clone(),
            username: username.map(|u| u.get_ref().clone()),
            password,
            headers,
            skip_tls_verify: raw.skip_tls_verify.as_ref().is_some_and(|s| *s.get_ref()),
        })
    }

    fn header(
        &mut self,
        name: &Spanned<String>,
        value: &Spanned<RawSecret>,
        seen: &mut HashMap<String, String>,
    ) -> Option<(String, SecretOrPlain)> {
        let text = name.get_ref();
        let field = self.path(value);
        let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if text.is_empty() || !text.chars().all(tchar) {
            self.report(
                &name.span(),
                field.clone(),
                format!("\"{text}\" is not a valid HTTP header name"),
                "use letters, digits and '-', e.g. \"X-Team\"".into(),
            );
        } else if let Some(first) = seen.get(&text.to_ascii_lowercase()) {
            self.report(
                &name.span(),
                field.clone(),
                format!("header \"{text}\" is given twice: header names ignore case and it is already at {first}"),
                "keep one of them".into(),
            );
        } else {
            seen.insert(text.to_ascii_lowercase(), field.clone());
        }
        match value.get_ref() {
            RawSecret::Literal(_) if is_secret_header(text) => {
                self.report(
                    &value.span(),
                    field,
                    format!("header \"{text}\" carries a secret, written here as plain text"),
                    secret_hint(text, true),
                );
                None
            }
            RawSecret::Literal(plain) => {
                if plain.chars().any(char::is_control) {
                    self.report(
                        &value.span(),
                        field,
                        format!("header \"{text}\" contains a control character"),
                        "write the value on one line without control characters".into(),
                    );
                }
                Some((text.clone(), SecretOrPlain::Plain(plain.clone())))
            }
            RawSecret::Ref(_) => self
                .secret(value, text, true)
                .map(|s| (text.clone(), SecretOrPlain::Secret(s))),
        }
    }

    fn hcp(&mut self, span: &Range<usize>, raw: &RawStateSource) -> Option<HcpSource> {
        let address = match self.optional(&raw.address) {
            Some(a) => {
                self.url(a);
                a.get_ref().trim_end_matches('/').to_string()
            }
            None => "https://app.terraform.io".to_string(),
        };
        let organization = self.required(span, "organization", &raw.organization);
        let workspace = self.required(span, "workspace", &raw.workspace);
        for name in [organization, workspace].into_iter().flatten() {
            let text = name.get_ref();
            if !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                let field = self.path(name);
                let key = field.rsplit('.').next().unwrap_or("").to_string();
                self.report(
                    &name.span(),
                    field,
                    format!("\"{text}\" is not a valid HCP Terraform {key} name"),
                    format!("write the name as HCP Terraform shows it, with letters, digits, '-' and '_', e.g. {key} = {}", example(&key)),
                );
            }
        }
        let token = match &raw.token {
            Some(t) => self.secret(t, "token", false),
            None => {
                self.missing(
                    span,
                    "token",
                    "missing required field `token`".into(),
                    "add token = { env = \"TFE_TOKEN\" } and set TFE_TOKEN in driftd's EnvironmentFile".into(),
                );
                None
            }
        };
        Some(HcpSource {
            address,
            organization: organization?.get_ref().clone(),
            workspace: workspace?.get_ref().clone(),
            token: token?,
        })
    }

    /// A secret reference: exactly one of env, file, credential; never a literal.
    fn secret(&mut self, value: &Spanned<RawSecret>, key: &str, header: bool) -> Option<SecretRef> {
        let field = self.path(value);
        let reference = match value.get_ref() {
            RawSecret::Literal(_) => {
                // Never echo the value: it is a secret.
                self.report(
                    &value.span(),
                    field,
                    "secret written as plain text in the config file".into(),
                    secret_hint(key, header),
                );
                return None;
            }
            RawSecret::Ref(reference) => reference,
        };
        let given: Vec<(&str, &Spanned<String>)> = [
            ("env", &reference.env),
            ("file", &reference.file),
            ("credential", &reference.credential),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let (source, text) = match given.as_slice() {
            [] => {
                // `{ enviroment = … }` was already reported as an unknown field.
                if !self.already_reported(&field) {
                    self.report(
                        &value.span(),
                        field,
                        "empty secret reference".into(),
                        secret_hint(key, header),
                    );
                }
                return None;
            }
            [(source, text)] => (*source, *text),
            several => {
                let names: Vec<String> = several.iter().map(|(k, _)| format!("`{k}`")).collect();
                self.report(
                    &value.span(),
                    field,
                    format!(
                        "secret reference names more than one source ({})",
                        names.join(", ")
                    ),
                    "keep exactly one of env, file or credential".into(),
                );
                return None;
            }
        };
        let text = self.not_blank(text, true)?;
        let name = text.get_ref();
        match source {
            "env" => {
                let valid = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    self.report(
                        &text.span(),
                        self.path(text),
                        format!("\"{name}\" is not an environment variable name"),
                        format!(
                            "use letters, digits and '_', e.g. env = \"{}\"",
                            suggested_env(key, header)
                        ),
                    );
                    return None;
                }
                Some(SecretRef::Env(name.clone()))
            }
            "file" => Some(SecretRef::File(self.file_path(text))),
            _ => {
                if name.contains('/') || name == "." || name == ".." {
                    self.report(
                        &text.span(),
                        self.path(text),
                        format!("\"{name}\" is not a systemd credential name"),
                        "write the name given to LoadCredential= in the unit, e.g. credential = \"tfe-token\"".into(),
                    );
                    return None;
                }
                Some(SecretRef::Credential(name.clone()))
            }
        }
    }

    fn url(&mut self, value: &Spanned<String>) {
        let text = value.get_ref();
        let field = self.path(value);
        let key = field.rsplit('.').next().unwrap_or("").to_string();
        let hint = format!(
            "write an http or https URL, e.g. {key} = {}",
            example(&kind_of(&field))
        );
        match reqwest::Url::parse(text) {
            Err(error) => self.report(&value.span(), field, format!("\"{text}\" is not a URL: {error}"), hint),
            Ok(url) if url.password().is_some() => self.report(
                &value.span(),
                field,
                "URL contains a password".into(),
                "remove the credentials from the URL; for an http state use username and password = { env = \"TF_HTTP_PASSWORD\" }".into(),
            ),
            Ok(url) if !matches!(url.scheme(), "http" | "https") || !url.has_host() => {
                self.report(&value.span(), field, format!("\"{text}\" is not an http or https URL"), hint);
            }
            Ok(_) => {}
        }
    }

    fn region(&mut self, value: &Spanned<String>) {
        let text = value.get_ref();
        if is_region(text) {
            return;
        }
        let lower = text.to_ascii_lowercase();
        let zone_of = text
            .strip_suffix(|c: char| c.is_ascii_lowercase())
            .filter(|r| is_region(r));
        let hint = if is_region(&lower) {
            format!("write \"{lower}\": region codes are lowercase")
        } else if let Some(region) = zone_of {
            format!("write the region \"{region}\", not the availability zone")
        } else {
            "write a region code such as \"eu-west-1\"".to_string()
        };
        self.report(
            &value.span(),
            self.path(value),
            format!("\"{text}\" is not an AWS region code"),
            hint,
        );
    }

    /// Checks a role ARN; with `account`, also that the role lives in that account.
    fn role_arn(&mut self, value: &Spanned<String>, account: Option<&str>) {
        let text = value.get_ref();
        let example_account = account
            .filter(|a| is_account_id(a))
            .unwrap_or("111111111111");
        match role_arn_account(text) {
            None => self.report(
                &value.span(),
                self.path(value),
                format!("\"{text}\" is not an IAM role ARN"),
                format!(
                    "write a role ARN such as \"arn:aws:iam::{example_account}:role/driftd-read\""
                ),
            ),
            Some(in_arn) => {
                if let Some(account) = account.filter(|a| is_account_id(a) && *a != in_arn) {
                    self.report(
                        &value.span(),
                        self.path(value),
                        format!("role is in account {in_arn}, but this is account {account}"),
                        format!("use a role in account {account}, e.g. \"arn:aws:iam::{account}:role/driftd-read\""),
                    );
                }
            }
        }
    }

    fn aws(&mut self, aws: &Spanned<RawAws>) -> AwsScope {
        let span = aws.span();
        let raw = aws.get_ref();

        let mut regions = Vec::new();
        match &raw.regions {
            None => self.missing(
                &span,
                "regions",
                "missing required field `regions`".into(),
                "add regions = [\"eu-west-1\"]".into(),
            ),
            Some(list) => {
                let field = self.path(list);
                if list.get_ref().is_empty() && !self.already_reported(&field) {
                    self.report(
                        &list.span(),
                        field,
                        "`regions` is empty".into(),
                        "list at least one region, e.g. regions = [\"eu-west-1\"]".into(),
                    );
                }
                for region in list.get_ref() {
                    if let Some(r) = self.not_blank(region, true) {
                        let text = r.get_ref();
                        if regions.contains(text) {
                            self.report(
                                &r.span(),
                                self.path(r),
                                format!("region \"{text}\" is listed twice"),
                                "list each region once".into(),
                            );
                        } else {
                            self.region(r);
                            regions.push(text.clone());
                        }
                    }
                }
            }
        }

        let mut accounts = Vec::new();
        match &raw.account {
            Some(list) if !list.is_empty() => {
                for account in list {
                    let account = self.account(account);
                    if accounts
                        .iter()
                        .any(|a: &AwsAccount| a.id == account.0.id && !a.id.is_empty())
                    {
                        self.report(
                            &account.1,
                            self.index.value_path(&account.1),
                            format!("account {} is listed twice in this target", account.0.id),
                            "list each account once".into(),
                        );
                    }
                    accounts.push(account.0);
                }
            }
            _ => self.missing(
                &span,
                "account",
                "no AWS account is listed".into(),
                "add a [[target.aws.account]] table with id = \"111111111111\", the account the \
                 states describe, so that driftd never scans the wrong one"
                    .into(),
            ),
        }

        let profile = self.optional(&raw.profile).map(|p| p.get_ref().clone());
        let endpoint_url = self.optional(&raw.endpoint_url);
        if let Some(u) = endpoint_url {
            self.url(u);
        }
        let cloudtrail = match &raw.cloudtrail {
            Some(trail) => self.cloudtrail(trail, regions.first()),
            None => CloudTrailSource::default(),
        };
        AwsScope {
            regions,
            accounts,
            profile,
            endpoint_url: endpoint_url.map(|u| u.get_ref().clone()),
            cloudtrail,
        }
    }

    fn cloudtrail(
        &mut self,
        trail: &Spanned<RawCloudTrail>,
        first_region: Option<&String>,
    ) -> CloudTrailSource {
        let raw = trail.get_ref();
        let endpoint_url = self.optional(&raw.endpoint_url);
        if let Some(u) = endpoint_url {
            self.url(u);
        }
        let bucket = self.optional(&raw.bucket);
        if let Some(b) = bucket
            && let Some((message, hint)) = bucket_problem(b.get_ref(), false)
        {
            self.report(&b.span(), self.path(b), message, hint);
        }
        let region = self.optional(&raw.bucket_region);
        if let Some(r) = region {
            self.region(r);
        }
        let organization_id = self.optional(&raw.organization_id);
        if let Some(o) = organization_id {
            let text = o.get_ref();
            let valid = text.len() >= 12
                && text.starts_with("o-")
                && text[2..]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            if !valid {
                self.report(
                    &o.span(),
                    self.path(o),
                    format!("{text:?} is not an AWS Organizations id"),
                    "write the id as in the trail's keys, e.g. organization_id = \"o-exampleorgid\"".into(),
                );
            }
        }
        for (field, value) in [
            ("prefix", &raw.prefix),
            ("organization_id", &raw.organization_id),
            ("bucket_region", &raw.bucket_region),
        ] {
            if value.is_some() && bucket.is_none() {
                self.report(
                    &trail.span(),
                    format!("{}.{field}", self.path(trail)),
                    format!("`{field}` is set but `bucket` is not"),
                    "name the trail's bucket, or remove this key".into(),
                );
            }
        }
        CloudTrailSource {
            bucket: bucket.map(|b| TrailBucket {
                bucket: b.get_ref().clone(),
                prefix: raw
                    .prefix
                    .as_ref()
                    .map(|p| p.get_ref().trim_matches('/').to_string())
                    .unwrap_or_default(),
                organization_id: organization_id.map(|o| o.get_ref().clone()),
                region: region
                    .map(|r| r.get_ref().clone())
                    .or_else(|| first_region.cloned())
                    .unwrap_or_else(|| "us-east-1".to_string()),
            }),
            endpoint_url: endpoint_url.map(|u| u.get_ref().clone()),
        }
    }

    /// The account, and the span of its id (for duplicates).
    fn account(&mut self, account: &Spanned<RawAccount>) -> (AwsAccount, Range<usize>) {
        let span = account.span();
        let raw = account.get_ref();
        let id = self.required(&span, "id", &raw.id);
        if let Some(id) = id {
            let text = id.get_ref();
            if !is_account_id(text) {
                let hint = if !text.is_empty()
                    && text.len() < 12
                    && text.chars().all(|c| c.is_ascii_digit())
                {
                    format!(
                        "write all 12 digits in quotes; if leading zeros were lost: id = \"{text:0>12}\""
                    )
                } else {
                    "write the 12-digit account id in quotes, e.g. id = \"111111111111\"".into()
                };
                self.report(
                    &id.span(),
                    self.path(id),
                    format!("\"{text}\" is not a 12-digit AWS account id"),
                    hint,
                );
            }
        }
        let role_arn = self.optional(&raw.role_arn);
        if let Some(r) = role_arn {
            self.role_arn(r, id.map(|i| i.get_ref().as_str()));
        }
        let external_id = self.optional(&raw.external_id);
        if let (Some(e), None) = (&raw.external_id, &raw.role_arn) {
            self.report(
                &e.span(),
                self.path(e),
                "`external_id` is given without `role_arn`".into(),
                "add the role_arn whose trust policy requires this external id, or remove external_id".into(),
            );
        }
        let id_span = id.map_or(span, |i| i.span());
        (
            AwsAccount {
                id: id.map(|i| i.get_ref().clone()).unwrap_or_default(),
                role_arn: role_arn.map(|r| r.get_ref().clone()),
                external_id: external_id.map(|e| e.get_ref().clone()),
            },
            id_span,
        )
    }
}

// ---------------------------------------------------------------------------
// Findings, ignore rules and driftignore files

/// What to write for `expires`.
const EXPIRES_HINT: &str = "write expires = 2027-01-31 (the rule applies through that day, UTC) \
                            or a date-time with its offset, e.g. expires = 2027-01-31T18:00:00Z";

impl Checker<'_> {
    fn findings_settings(&mut self, raw: Option<&Spanned<RawFindings>>) -> FindingsSettings {
        let defaults = FindingsSettings::default();
        let Some(raw) = raw.map(Spanned::get_ref) else {
            return defaults;
        };
        let confirm_after = self.in_range(&raw.confirm_after, 1, 100, "confirm_after = 2");
        let delay = self.in_range(
            &raw.reread_delay_seconds,
            0,
            300,
            "reread_delay_seconds = 15",
        );
        FindingsSettings {
            confirm_after: confirm_after.map_or(defaults.confirm_after, |v| v as u32),
            reread: raw
                .reread
                .as_ref()
                .map_or(defaults.reread, |v| *v.get_ref()),
            reread_delay: delay.map_or(defaults.reread_delay, |v| {
                std::time::Duration::from_secs(v as u64)
            }),
        }
    }

    /// A target's `driftignore`: the resolved path; with a file reader, the
    /// file must exist and parse (each bad line is a problem at this field).
    fn driftignore(&mut self, value: &Spanned<String>) -> Option<PathBuf> {
        let value = self.not_blank(value, false)?;
        let path = self.file_path(value);
        let Some(read) = self.read_file else {
            return Some(path);
        };
        let span = value.span();
        let field = self.path(value);
        match read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.report(
                &span,
                field,
                format!("driftignore file {} does not exist", path.display()),
                "create it (an empty file ignores nothing), fix the path (relative paths are \
                 relative to the config file's directory), or remove `driftignore`"
                    .into(),
            ),
            Err(e) => self.report(
                &span,
                field,
                format!("cannot read driftignore file {}: {e}", path.display()),
                "make it readable by the user driftd runs as".into(),
            ),
            Ok(text) => {
                if let Err(IgnoreError::Invalid { origin, problems }) =
                    DriftIgnore::parse(&text, &path.display().to_string())
                {
                    for p in problems {
                        self.report(
                            &span,
                            field.clone(),
                            format!("{origin}:{}: {}", p.line, p.message),
                            p.hint,
                        );
                    }
                }
            }
        }
        Some(path)
    }

    fn ignore_rules(
        &mut self,
        raw: &[Spanned<RawIgnoreRule>],
        targets: &[Target],
    ) -> Vec<IgnoreRule> {
        let mut names: HashMap<String, String> = HashMap::new();
        raw.iter()
            .filter_map(|rule| self.ignore_rule(rule, targets, &mut names))
            .collect()
    }

    /// One `[[ignore]]` rule; `None` when it has a problem (reported).
    fn ignore_rule(
        &mut self,
        rule: &Spanned<RawIgnoreRule>,
        targets: &[Target],
        names: &mut HashMap<String, String>,
    ) -> Option<IgnoreRule> {
        let span = rule.span();
        let path = self.path(rule);
        let raw = rule.get_ref();
        let problems_before = self.problems.len();

        let label = match self.optional(&raw.name) {
            Some(name) => {
                let text = name.get_ref().trim().to_string();
                if let Some(first) = names.get(&text) {
                    self.report(
                        &name.span(),
                        self.path(name),
                        format!("ignore rule name \"{text}\" is already used by {first}"),
                        "give every rule a unique name: outputs count hidden drift by it".into(),
                    );
                } else {
                    names.insert(text.clone(), path.clone());
                }
                text
            }
            None => path.clone(),
        };
        let target = self.optional(&raw.target).and_then(|t| {
            let glob = self.ignore_glob(t)?;
            let known: Vec<&str> = targets
                .iter()
                .map(|t| t.name.as_str())
                .filter(|n| !n.is_empty())
                .collect();
            if !known.is_empty() && !known.iter().any(|n| glob.matches(n)) {
                self.report(
                    &t.span(),
                    self.path(t),
                    format!("`target = \"{glob}\"` matches no [[target]] name"),
                    format!(
                        "write a target name or a glob matching some: {}; or remove `target` \
                         to apply the rule to every target",
                        known.join(", ")
                    ),
                );
            }
            Some(glob)
        });
        let resource_type = match &raw.resource_type {
            None => {
                self.missing(
                    &span,
                    "resource_type",
                    "missing required field `resource_type`".into(),
                    "add resource_type = \"aws_security_group\", or \"*\" for every type".into(),
                );
                None
            }
            Some(t) => self.not_blank(t, true).and_then(|t| self.ignore_glob(t)),
        };
        let id = match self.optional(&raw.id) {
            Some(id) => self.ignore_glob(id),
            None => Glob::new("*").ok(),
        };
        let attribute = self.optional(&raw.attribute).and_then(|a| {
            AttrPattern::parse(a.get_ref())
                .map_err(|e| self.report(&a.span(), self.path(a), e.message, e.hint))
                .ok()
        });
        let mut tags = std::collections::BTreeMap::new();
        for (name, value) in raw
            .tags
            .as_ref()
            .map(|t| t.get_ref().iter())
            .into_iter()
            .flatten()
        {
            if let Some(glob) = self.ignore_glob(value) {
                tags.insert(name.clone(), glob);
            }
        }
        let reason = self.required(&span, "reason", &raw.reason);
        let owner = self.required(&span, "owner", &raw.owner);
        let expires = raw.expires.as_ref().and_then(|e| self.expires(e));

        if self.problems.len() > problems_before {
            return None;
        }
        Some(IgnoreRule {
            label,
            target,
            resource_type: resource_type?,
            id: id?,
            attribute,
            tags,
            reason: reason?.get_ref().trim().to_string(),
            owner: owner?.get_ref().trim().to_string(),
            expires,
        })
    }

    /// A glob of an ignore rule; a problem at the value when it does not compile.
    fn ignore_glob(&mut self, value: &Spanned<String>) -> Option<Glob> {
        Glob::new(value.get_ref())
            .map_err(|e| self.report(&value.span(), self.path(value), e.message, e.hint))
            .ok()
    }

    /// `expires`: a date means through that day (UTC): the rule stops at the
    /// next midnight UTC; a date-time needs its offset.
    fn expires(&mut self, value: &Spanned<RawExpiry>) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = match value.get_ref() {
            RawExpiry::Text(t) => t.trim().to_string(),
            RawExpiry::Toml(d) => d.to_string(),
        };
        match parse_expiry(&text) {
            Ok(instant) => Some(instant),
            Err(message) => {
                self.report(
                    &value.span(),
                    self.path(value),
                    message,
                    EXPIRES_HINT.into(),
                );
                None
            }
        }
    }
}

/// `2027-01-31` (through that day, UTC) or RFC 3339 with an offset.
fn parse_expiry(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .ok_or_else(|| format!("\"{text}\" is too far in the future"));
    }
    if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
        return Ok(instant.with_timezone(&Utc));
    }
    let local = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .any(|f| NaiveDateTime::parse_from_str(text, f).is_ok());
    if local {
        Err(format!(
            "\"{text}\" has no time zone: it would mean a different instant on every host"
        ))
    } else {
        Err(format!("\"{text}\" is not a date or a date-time"))
    }
}

// ---------------------------------------------------------------------------
// Value rules

/// `[a-z0-9][a-z0-9_.-]*`
fn is_target_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

/// A valid target name close to `name`, for hints.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_start_matches(['_', '.', '-'])
        .trim_end_matches('-')
        .to_string();
    if out.is_empty() {
        "prod-network".into()
    } else {
        out
    }
}

/// `^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$`
pub(crate) fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
    let (country, middle, direction, number) = match parts.as_slice() {
        [c, d, n] => (*c, None, *d, *n),
        [c, m, d, n] => (*c, Some(*m), *d, *n),
        _ => return false,
    };
    let middle_ok = match middle {
        None => true,
        Some(m) => {
            m == "gov"
                || m.strip_prefix("iso")
                    .is_some_and(|rest| rest.is_empty() || (rest.len() == 1 && lower(rest)))
        }
    };
    country.len() == 2
        && lower(country)
        && middle_ok
        && lower(direction)
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())
}

/// The account of `arn:aws[a-z-]*:iam::<12 digits>:role/<path/name>`, if it is one.
fn role_arn_account(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return None;
    };
    let name = resource.strip_prefix("role/")?;
    let name_ok = !name.is_empty()
        && !name.ends_with('/')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c));
    let partition_ok = partition
        .strip_prefix("aws")
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
    (*prefix == "arn"
        && partition_ok
        && *service == "iam"
        && region.is_empty()
        && is_account_id(account)
        && name_ok)
        .then_some(*account)
}

/// Why `name` is not a usable S3 bucket name, with a hint. `legacy` allows the
/// pre-2018 us-east-1 names (uppercase, underscores, up to 255 characters).
fn bucket_problem(name: &str, legacy: bool) -> Option<(String, String)> {
    let generic_hint =
        "write the bucket name as the S3 console shows it, e.g. bucket = \"acme-tfstate\"";
    let problem = |reason: &str, hint: String| {
        Some((
            format!("\"{name}\" is not a valid S3 bucket name: {reason}"),
            hint,
        ))
    };
    if let Some(rest) = name.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let hint = if key.is_empty() {
            format!("write bucket = \"{bucket}\"")
        } else {
            format!("write bucket = \"{bucket}\" and key = \"{key}\"")
        };
        return problem("write the bucket name alone, not an s3:// URL", hint);
    }
    if legacy
        && (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return None;
    }
    if !(3..=63).contains(&name.len()) {
        return problem("it must be 3 to 63 characters long", generic_hint.into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        let lower = name.to_ascii_lowercase();
        let hint = if lower != name && bucket_problem(&lower, false).is_none() {
            format!("write bucket = \"{lower}\"")
        } else {
            "use only lowercase letters, digits, '.' and '-', e.g. bucket = \"acme-tfstate\"".into()
        };
        return problem(&format!("'{c}' is not allowed"), hint);
    }
    let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !ends_ok(name.chars().next()) || !ends_ok(name.chars().last()) {
        return problem(
            "it must start and end with a letter or digit",
            generic_hint.into(),
        );
    }
    if name.contains("..") {
        return problem("it must not contain two dots in a row", generic_hint.into());
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return problem("it must not look like an IP address", generic_hint.into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return problem(
                &format!("the prefix \"{prefix}\" is reserved"),
                generic_hint.into(),
            );
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return problem(
                &format!("the suffix \"{suffix}\" is reserved"),
                generic_hint.into(),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes() {
        for ok in [
            "eu-west-1",
            "us-east-1",
            "us-gov-west-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "ap-southeast-10",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "eu-west",
            "EU-WEST-1",
            "eu-west-1a",
            "euw-west-1",
            "us-gav-west-1",
            "us-isobb-east-1",
            "eu--1",
            "",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            role_arn_account("arn:aws:iam::111111111111:role/driftd-read"),
            Some("111111111111")
        );
        assert_eq!(
            role_arn_account("arn:aws-us-gov:iam::111111111111:role/ops/driftd"),
            Some("111111111111")
        );
        for bad in [
            "arn:aws:iam::11111111111:role/x",
            "arn:aws:iam::111111111111:user/x",
            "arn:aws:iam::111111111111:role/",
            "arn:aws:iam:eu-west-1:111111111111:role/x",
            "arn:gcp:iam::111111111111:role/x",
            "arn:aws:sts::111111111111:role/x",
        ] {
            assert_eq!(role_arn_account(bad), None, "{bad}");
        }
    }

    #[test]
    fn bucket_names() {
        assert_eq!(bucket_problem("acme-tfstate", false), None);
        assert_eq!(bucket_problem("acme.tfstate.2", false), None);
        assert_eq!(bucket_problem("Legacy_Bucket", true), None);
        for bad in [
            "ab",
            "Acme",
            "acme_tf",
            "-acme",
            "acme-",
            "a..b",
            "192.168.1.1",
            "xn--acme",
            "acme-s3alias",
            "s3://acme/x",
        ] {
            assert!(bucket_problem(bad, false).is_some(), "{bad}");
        }
        assert_eq!(
            bucket_problem("s3://acme/net/terraform.tfstate", false).map(|p| p.1),
            Some("write bucket = \"acme\" and key = \"net/terraform.tfstate\"".to_string())
        );
    }

    #[test]
    fn kinds_and_keys() {
        assert_eq!(kind_of("target[0].aws.regions[12]"), "target.aws.regions");
        assert_eq!(
            join_key("target[0].state[1].headers", "X Team"),
            "target[0].state[1].headers.\"X Team\""
        );
        assert_eq!(slug("Prod Network!"), "prod-network");
    }

    #[test]
    fn columns_count_characters() {
        let lines = Lines::new("a = 1\nné = \"x\"\n");
        assert_eq!(lines.line_column(0), (1, 1));
        assert_eq!(lines.line_column(6), (2, 1));
        // "né = " is 6 bytes, 5 characters.
        assert_eq!(lines.line_column(12), (2, 6));
    }
}
