//! Ignore rules (issue 4, part 3): which drift a team has decided not to be
//! told about, and the proof that it was hidden, never silently dropped.
//!
//! Two sources of rules, combined per target in an [`IgnoreSet`]:
//! - a driftctl `.driftignore` file ([`DriftIgnore`]), read as driftctl's users
//!   wrote it, so a team can migrate without rewriting it;
//! - `[[ignore]]` rules from the config ([`IgnoreRule`]): a scope (target, type,
//!   id, attribute path, tags), a reason, an owner and an optional expiry. An
//!   expired rule stops applying and what it hid is reported again, with a
//!   warning that names the rule, its owner and its reason.
//!
//! [`filter`] takes a diff's drifts and returns what is kept, what was hidden
//! (with the rules that hid it) and [`IgnoredCounts`] for every output.
//!
//! Pure: data in, data out, except [`load_driftignore`], which reads one file.
//!
//! # `.driftignore`: what driftctl does, and what this module matches
//!
//! Sources: the driftctl docs page `docs/usage/filtering/driftignore.mdx`
//! (snyk/driftctl-docs); `pkg/filter/driftignore.go`, its tests and
//! `testdata/*/.driftignore` in snyk/driftctl v0.39.0, the last release that
//! reported changed attributes (v0.40.0, commit 40f68d61 "remove deep and
//! only-managed modes", dropped attribute ignores with the changed drift
//! itself); `pkg/analyser/analyzer.go` for where the filter applies;
//! `pkg/analyser/analysis.go` `escapeKey` for what `gen-driftignore` writes; and
//! go-git's `plumbing/format/gitignore` (v5.4.2), which driftctl delegates to
//! since v0.11 (commit 67231949 "go-git gitignore to handle driftignore").
//!
//! Matched:
//! - A line is a glob over the text `type.id` (a resource) or
//!   `type.id.path.to.field` (one attribute of a changed resource, the path's
//!   steps joined by `.`, list indices as numbers: `ingress.0.cidr_blocks`,
//!   map keys as written: `tags.Name`). It is not split on dots.
//! - `*` matches any run of characters, dots included (`aws_s3_bucket.*`
//!   ignores every bucket and every attribute of every bucket); `**` is the
//!   same as `*`; `?` matches one character; `[a-z]`, `[^0-9]` are character
//!   classes (Go `filepath.Match`: `^` negates, `!` is a literal); `\x`
//!   matches `x` literally, so `my\.bucket` matches `my.bucket` and `\\`
//!   matches a backslash (`gen-driftignore` escapes ids this way). Matching is
//!   case-sensitive.
//! - Every line also matches anything below what it names: driftctl adds the
//!   pattern `line.*` for each line not ending in `*`. So `aws_s3_bucket`
//!   alone ignores the whole type, `aws_s3_bucket.logs` ignores that bucket's
//!   attribute changes too, and `aws_lambda_function.*.environment` ignores
//!   `environment.0.variables.FOO`. (It also means `aws_s3_bucket.my` ignores
//!   a bucket named `my.bucket`: driftctl does the same.)
//! - `!` negates, and the *last* matching line decides (gitignore order):
//!   `*` then `!aws_iam_*` ignores everything but IAM. `\!` is a literal `!`.
//! - A line starting with `#` is a comment; blank lines are skipped; trailing
//!   spaces are trimmed unless escaped (`\ `).
//! - Where it applies (analyzer.go): a line matching `type.id` hides the
//!   resource whatever its drift: unmanaged, missing or changed. Only when the
//!   resource itself is not ignored are its changed attributes matched one by
//!   one against `type.id.path`; a changed resource whose every attribute is
//!   ignored is not reported. So a negated attribute line cannot bring back an
//!   attribute of a resource that a resource line ignores.
//!
//! Deliberate differences:
//! - driftctl dropped ignored resources silently (and a missing or unreadable
//!   `.driftignore` was a debug log line). Here every hidden drift is counted
//!   and returned with the rule that hid it, and a file named in the config
//!   must exist and parse.
//! - Lines driftctl accepted but could never match are errors naming the file
//!   and line, because each is a rule its author believes works: a malformed
//!   glob (`[` not closed, a trailing `\`), a `!` with nothing after it, and
//!   unescaped whitespace inside a pattern (an inline `# comment`, several
//!   entries on one line, a leading space: driftctl issue #1688). A line whose
//!   first non-blank character is `#` is a comment even after spaces (driftctl
//!   read it as a pattern that matched nothing: the same effect). A UTF-8 byte
//!   order mark at the start of the file is skipped.
//! - driftctl replaced `/` by `_-_` before matching, so `?` could not match a
//!   `/`; here `?` matches any one character.
//! - Types are matched as driftd keys them: an `aws_alb` is keyed `aws_lb`.
//!
//! # Config rules
//!
//! `[[ignore]]` rules are driftd's own: every field of the scope must match,
//! the globs (`target`, `resource_type`, `id`, tag values) match the whole text
//! with `*` (any run), `?`, `[…]` and `\` as above. `attribute` is a path as
//! reports print it (`tags["Name"]`, `ingress[0].cidr_blocks`) or dotted
//! (`tags.Name`, `ingress.0.cidr_blocks`; `\.` for a dot inside a key); each
//! step is a glob over one step (`*` never crosses a step), `**` stands for any
//! number of steps, and the pattern matches the change's path or any path
//! below it (`tags` matches `tags["Name"]`, not `tags_all`); brackets there
//! are steps, so character classes are not available in attribute paths. A
//! list index is its number, a map key its text. A rule without
//! `attribute` hides the whole resource, whatever its drift; a rule with one
//! only hides changed attributes (an unmanaged or missing resource has none).
//! `tags` must all be present on the resource with a matching string value.
//! Config rules only add: a driftignore `!` line cannot bring back what a
//! config rule hides. When several rules match, the hidden drift is counted
//! under the first config rule in file order, then under the driftignore line.
//! `expires` is an instant: the rule applies while `now < expires` (the
//! config reads a bare date as the end of that day, UTC), and the caller
//! passes `now`, so tests fix the clock.

use crate::diag::Diagnostic;
use crate::diff::{AttrChange, Drift};
use crate::model::{AttrPath, PathStep, ResourceKey};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Globs

/// A compiled glob: `*` any run of characters, `?` one character, `[…]` a
/// character class (`^` negates, `a-z` ranges), `\x` the character `x`.
/// Matches the whole text, case-sensitively.
#[derive(Debug, Clone)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyChar,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Char(t) => *t == c,
            Token::AnyChar => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// Why a glob or an attribute path does not compile, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GlobError {
    /// Lowercase, no trailing period.
    pub message: String,
    /// What to write instead.
    pub hint: String,
}

impl GlobError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        GlobError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl Glob {
    /// Compiles `text`; a `[` without its `]`, an empty or reversed class, or a
    /// trailing `\` is an error.
    pub fn new(text: &str) -> Result<Glob, GlobError> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let token = match c {
                '*' => {
                    if tokens.last() == Some(&Token::Star) {
                        continue;
                    }
                    Token::Star
                }
                '?' => Token::AnyChar,
                '\\' => match chars.next() {
                    Some(e) => Token::Char(e),
                    None => {
                        return Err(GlobError::new(
                            format!("`{text}` ends with a lone `\\`"),
                            "remove it, or write `\\\\` for a backslash",
                        ));
                    }
                },
                '[' => Self::class(text, &mut chars)?,
                c => Token::Char(c),
            };
            tokens.push(token);
        }
        Ok(Glob {
            text: text.to_string(),
            tokens,
        })
    }

    /// A class after its `[`, up to and including its `]` (Go `filepath.Match`:
    /// `-` and `]` must be escaped unless they form a range).
    fn class(
        text: &str,
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    ) -> Result<Token, GlobError> {
        let unclosed = || {
            GlobError::new(
                format!("`{text}` has a `[` without its `]`"),
                "close the class, e.g. [0-9], or write `\\[` for a literal bracket",
            )
        };
        let negated = chars.next_if_eq(&'^').is_some();
        let mut ranges = Vec::new();
        loop {
            let lo = match chars.next() {
                None => return Err(unclosed()),
                Some(']') if !ranges.is_empty() => break,
                Some(']' | '-') => {
                    return Err(GlobError::new(
                        format!("`{text}` has an empty class or a misplaced `-` or `]` in one"),
                        "write at least one character or range between [ and ], and escape \
                         a literal `-` or `]` as `\\-`, `\\]`",
                    ));
                }
                Some('\\') => chars.next().ok_or_else(unclosed)?,
                Some(c) => c,
            };
            let hi = if chars.next_if_eq(&'-').is_some() {
                match chars.next() {
                    None => return Err(unclosed()),
                    Some('\\') => chars.next().ok_or_else(unclosed)?,
                    Some(c) => c,
                }
            } else {
                lo
            };
            if hi < lo {
                return Err(GlobError::new(
                    format!("`{text}` has a reversed range `{lo}-{hi}`"),
                    format!("write it low to high: {hi}-{lo}"),
                ));
            }
            ranges.push((lo, hi));
        }
        Ok(Token::Class { negated, ranges })
    }

    /// A glob that matches `text` exactly.
    pub fn literal(text: &str) -> Glob {
        Glob {
            text: escape(text),
            tokens: text.chars().map(Token::Char).collect(),
        }
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the glob matches the whole of `s`.
    pub fn matches(&self, s: &str) -> bool {
        let s: Vec<char> = s.chars().collect();
        self.matches_chars(&s)
    }

    /// Whether the glob matches `s`, or `s` up to one of its dots (driftctl's
    /// implicit `line.*`).
    fn matches_up_to_a_dot(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        self.matches_chars(&chars)
            || chars
                .iter()
                .enumerate()
                .any(|(i, &c)| c == '.' && self.matches_chars(&chars[..i]))
    }

    /// Greedy match with backtracking to the last `*`: O(pattern × text).
    fn matches_chars(&self, s: &[char]) -> bool {
        let t = &self.tokens;
        let (mut p, mut i) = (0, 0);
        // Where the last `*` is, and the text position it currently covers up to.
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            if p < t.len() && t[p] == Token::Star {
                star = Some((p, i));
                p += 1;
            } else if p < t.len() && t[p].matches(s[i]) {
                p += 1;
                i += 1;
            } else if let Some((sp, si)) = star {
                star = Some((sp, si + 1));
                p = sp + 1;
                i = si + 1;
            } else {
                return false;
            }
        }
        t[p..].iter().all(|tok| *tok == Token::Star)
    }
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Glob {}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `text` with glob metacharacters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Attribute path patterns

/// An attribute path pattern of a config rule: `tags`, `tags["Name"]`,
/// `tags.Name`, `ingress[*].cidr_blocks`, `**.password`. Matches a change's
/// path, or any path below it, step by step.
#[derive(Debug, Clone)]
pub struct AttrPattern {
    text: String,
    steps: Vec<StepPattern>,
}

#[derive(Debug, Clone)]
enum StepPattern {
    /// One step whose text (attribute name, map key, index digits) matches.
    One(Glob),
    /// `**`: any number of steps, none included.
    AnyDepth,
}

impl AttrPattern {
    /// Parses a pattern. Steps are separated by `.` or written in brackets:
    /// `[0]`, `[*]`, `["key.with.dots"]` (a quoted key is literal); `\` escapes
    /// the next character in a bare step.
    pub fn parse(text: &str) -> Result<AttrPattern, GlobError> {
        let bad = |message: String| {
            GlobError::new(
                message,
                "write steps separated by dots or in brackets, e.g. tags.Name, \
                 tags[\"kubernetes.io/role\"], ingress[*].cidr_blocks",
            )
        };
        let chars: Vec<char> = text.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        // Whether a step must start here (at the start, and after a `.`).
        let mut need_step = true;
        while i < chars.len() || need_step {
            if i < chars.len() && chars[i] == '[' {
                let (glob, next) = Self::bracket(text, &chars, i + 1)?;
                steps.push(StepPattern::One(glob));
                i = next;
            } else if need_step {
                let start = i;
                let mut source = String::new();
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        source.push('\\');
                        i += 1;
                    }
                    source.push(chars[i]);
                    i += 1;
                }
                if i == start {
                    return Err(bad(format!("`{text}` has an empty step")));
                }
                if source == "**" {
                    steps.push(StepPattern::AnyDepth);
                } else {
                    steps.push(StepPattern::One(Glob::new(&source)?));
                }
            } else {
                return Err(bad(format!(
                    "`{text}` has `{}` after a `]`: expected `.`, `[` or the end",
                    chars[i]
                )));
            }
            need_step = false;
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                need_step = true;
            }
        }
        Ok(AttrPattern {
            text: text.to_string(),
            steps,
        })
    }

    /// The step inside brackets starting at `i` (after the `[`); returns the
    /// position after the `]`.
    fn bracket(text: &str, chars: &[char], mut i: usize) -> Result<(Glob, usize), GlobError> {
        let unclosed = || {
            GlobError::new(
                format!("`{text}` has a `[` without its `]`"),
                "close it, e.g. tags[\"Name\"] or ingress[0]",
            )
        };
        if chars.get(i) == Some(&'"') {
            // A JSON string, as reports print map keys.
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            if i >= chars.len() {
                return Err(unclosed());
            }
            let quoted: String = chars[start..=i].iter().collect();
            let key: String = serde_json::from_str(&quoted).map_err(|_| {
                GlobError::new(
                    format!("`{text}` has an invalid quoted key {quoted}"),
                    "write the key as reports show it, e.g. tags[\"Name\"]",
                )
            })?;
            if chars.get(i + 1) != Some(&']') {
                return Err(unclosed());
            }
            return Ok((Glob::literal(&key), i + 2));
        }
        let start = i;
        while i < chars.len() && chars[i] != ']' {
            i += 1;
        }
        if i >= chars.len() {
            return Err(unclosed());
        }
        let inner: String = chars[start..i].iter().collect();
        if inner.is_empty() {
            return Err(GlobError::new(
                format!("`{text}` has an empty `[]`"),
                "write an index or `*` in it, e.g. ingress[0] or ingress[*]",
            ));
        }
        Ok((Glob::new(&inner)?, i + 1))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern matches `path` or a path `path` is below.
    pub fn matches(&self, path: &AttrPath) -> bool {
        let steps: Vec<String> = path.0.iter().map(step_text).collect();
        Self::match_from(&self.steps, &steps)
    }

    fn match_from(pattern: &[StepPattern], steps: &[String]) -> bool {
        match pattern.split_first() {
            None => true,
            Some((StepPattern::AnyDepth, rest)) => {
                (0..=steps.len()).any(|k| Self::match_from(rest, &steps[k..]))
            }
            Some((StepPattern::One(glob), rest)) => match steps.split_first() {
                Some((step, more)) => glob.matches(step) && Self::match_from(rest, more),
                None => false,
            },
        }
    }
}

impl PartialEq for AttrPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for AttrPattern {}

impl fmt::Display for AttrPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One step of a path as text: the attribute name, the map key, the index.
fn step_text(step: &PathStep) -> String {
    match step {
        PathStep::Attr(a) | PathStep::Key(a) => a.clone(),
        PathStep::Index(n) => n.to_string(),
    }
}

// ---------------------------------------------------------------------------
// .driftignore

/// A parsed driftctl `.driftignore` (see the module docs for the semantics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftIgnore {
    /// Where it came from (a path), for rule labels and messages.
    origin: String,
    entries: Vec<DriftIgnoreEntry>,
}

/// One pattern line of a `.driftignore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftIgnoreEntry {
    /// 1-based line number in the file.
    pub line: usize,
    /// A `!` line: what it matches is not ignored.
    pub negated: bool,
    /// The pattern without its `!`.
    pub pattern: Glob,
}

/// One bad line of a `.driftignore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based line number.
    pub line: usize,
    /// Lowercase, no trailing period.
    pub message: String,
    /// What to write instead.
    pub hint: String,
}

/// Why a `.driftignore` cannot be used. Messages name the file and the line.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error(
        "cannot read driftignore file {}: {source} (check the path: relative paths are relative to the config file's directory)",
        path.display()
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_problems(origin, problems))]
    Invalid {
        origin: String,
        problems: Vec<LineProblem>,
    },
}

fn render_problems(origin: &str, problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{origin}:{}: {} ({})", p.line, p.message, p.hint))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads and parses a `.driftignore`; the path is its origin in labels and messages.
pub fn load_driftignore(path: &Path) -> Result<DriftIgnore, IgnoreError> {
    let text = std::fs::read_to_string(path).map_err(|source| IgnoreError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    DriftIgnore::parse(&text, &path.display().to_string())
}

impl DriftIgnore {
    /// Parses `.driftignore` text. Every bad line is reported at once, as
    /// `origin:line: message (hint)`.
    pub fn parse(text: &str, origin: &str) -> Result<DriftIgnore, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            match Self::parse_line(raw) {
                Ok(Some((negated, pattern))) => entries.push(DriftIgnoreEntry {
                    line,
                    negated,
                    pattern,
                }),
                Ok(None) => {}
                Err(e) => problems.push(LineProblem {
                    line,
                    message: e.message,
                    hint: e.hint,
                }),
            }
        }
        if problems.is_empty() {
            Ok(DriftIgnore {
                origin: origin.to_string(),
                entries,
            })
        } else {
            Err(IgnoreError::Invalid {
                origin: origin.to_string(),
                problems,
            })
        }
    }

    /// One line: `None` for blanks and comments, else `(negated, pattern)`.
    fn parse_line(raw: &str) -> Result<Option<(bool, Glob)>, GlobError> {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(None);
        }
        if trimmed.len() != raw.len() {
            return Err(GlobError::new(
                "the line starts with whitespace: driftctl matched it against nothing",
                "remove the leading whitespace",
            ));
        }
        let (negated, rest) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        // gitignore: trailing spaces are trimmed unless the last one is escaped.
        let pattern = if rest.ends_with("\\ ") {
            rest
        } else {
            rest.trim_end_matches(' ')
        };
        if pattern.is_empty() {
            return Err(GlobError::new(
                "`!` with nothing after it",
                "write what to stop ignoring, e.g. !aws_iam_role.*",
            ));
        }
        let mut escaped = false;
        for c in pattern.chars() {
            if !escaped && c.is_whitespace() {
                let hint = if pattern.contains(" #") || pattern.contains("\t#") {
                    "driftctl has no inline comments: put the comment on its own line \
                     starting with #"
                } else {
                    "write one entry per line; escape a space that is part of an id as `\\ `"
                };
                return Err(GlobError::new(
                    format!(
                        "`{}` contains whitespace: driftctl matched this line against nothing",
                        raw.trim_end()
                    ),
                    hint,
                ));
            }
            escaped = !escaped && c == '\\';
        }
        Glob::new(pattern).map(|glob| Some((negated, glob)))
    }

    /// Where it came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The pattern lines, in file order.
    pub fn entries(&self) -> &[DriftIgnoreEntry] {
        &self.entries
    }

    /// The line that decides `subject`: the last one matching it.
    fn decide(&self, subject: &str) -> Option<&DriftIgnoreEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.pattern.matches_up_to_a_dot(subject))
    }

    /// The line that ignores the resource `type.id`, if it is ignored.
    pub fn ignores_resource(&self, key: &ResourceKey) -> Option<usize> {
        self.decide(&format!("{}.{}", key.resource_type, key.id))
            .filter(|e| !e.negated)
            .map(|e| e.line)
    }

    /// The line that ignores the attribute `type.id.path`, if it is ignored.
    /// (Only asked for resources [`Self::ignores_resource`] does not ignore.)
    pub fn ignores_attribute(&self, key: &ResourceKey, path: &AttrPath) -> Option<usize> {
        let mut subject = format!("{}.{}", key.resource_type, key.id);
        for step in &path.0 {
            subject.push('.');
            subject.push_str(&step_text(step));
        }
        self.decide(&subject).filter(|e| !e.negated).map(|e| e.line)
    }

    fn label(&self, line: usize) -> String {
        format!("{}:{line}", self.origin)
    }
}

// ---------------------------------------------------------------------------
// Config rules

/// One `[[ignore]]` rule of the config, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreRule {
    /// How outputs name the rule: its `name`, or `ignore[N]` (0-based, file order).
    pub label: String,
    /// Target names it applies to; every target when absent.
    pub target: Option<Glob>,
    /// Resource types it applies to (`*` for every type).
    pub resource_type: Glob,
    /// Cloud ids it applies to (`*` when the config leaves it out).
    pub id: Glob,
    /// The attribute path it hides; the whole resource when absent.
    pub attribute: Option<AttrPattern>,
    /// Tags the resource must carry, each with a value matching the glob.
    pub tags: BTreeMap<String, Glob>,
    /// Why the drift is acceptable.
    pub reason: String,
    /// Who answers for the rule (a person or a team).
    pub owner: String,
    /// From this instant on, the rule no longer applies.
    pub expires: Option<DateTime<Utc>>,
}

impl IgnoreRule {
    /// Whether the rule applies at `now` (it has not expired).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| now < e)
    }

    /// Whether the rule applies to the target named `target`.
    pub fn applies_to_target(&self, target: &str) -> bool {
        self.target.as_ref().is_none_or(|g| g.matches(target))
    }

    /// Type, id and tags (the attribute is checked separately).
    fn matches_resource<'t>(
        &self,
        key: &ResourceKey,
        tags_of: &impl Fn(&ResourceKey) -> Option<&'t Map<String, Value>>,
    ) -> bool {
        self.resource_type.matches(&key.resource_type)
            && self.id.matches(&key.id)
            && (self.tags.is_empty()
                || tags_of(key).is_some_and(|tags| {
                    self.tags.iter().all(|(k, glob)| {
                        matches!(tags.get(k), Some(Value::String(v)) if glob.matches(v))
                    })
                }))
    }
}

// ---------------------------------------------------------------------------
// One target's rules, and the filter

/// The rules that apply to one target: its `.driftignore` and the config rules
/// whose `target` matches it (expired ones included: they produce warnings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IgnoreSet {
    pub driftignore: Option<DriftIgnore>,
    pub rules: Vec<IgnoreRule>,
}

impl IgnoreSet {
    /// The set for the target named `target`.
    pub fn for_target(
        target: &str,
        driftignore: Option<DriftIgnore>,
        rules: &[IgnoreRule],
    ) -> IgnoreSet {
        IgnoreSet {
            driftignore,
            rules: rules
                .iter()
                .filter(|r| r.applies_to_target(target))
                .cloned()
                .collect(),
        }
    }

    /// The set for the target named `target`, reading its `.driftignore` (the
    /// one IO here, for callers that hold a config `Target`'s path).
    pub fn load(
        target: &str,
        driftignore: Option<&Path>,
        rules: &[IgnoreRule],
    ) -> Result<IgnoreSet, IgnoreError> {
        let driftignore = driftignore.map(load_driftignore).transpose()?;
        Ok(IgnoreSet::for_target(target, driftignore, rules))
    }

    /// The rules that have expired at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> Vec<&IgnoreRule> {
        self.rules.iter().filter(|r| !r.is_active(now)).collect()
    }

    /// Whether nothing can be hidden (no driftignore line, no rule).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self
                .driftignore
                .as_ref()
                .is_none_or(|d| d.entries.is_empty())
    }
}

/// How much one rule hid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RuleHits {
    /// Whole drifts (a rule without `attribute`, a driftignore resource line).
    pub drifts: usize,
    /// Attribute changes (a rule with `attribute`, a driftignore attribute line).
    pub changes: usize,
}

/// What the ignore rules hid, for every output: nothing is dropped uncounted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IgnoredCounts {
    /// Drifts no longer reported at all: `changed + unmanaged + missing`.
    pub drifts: usize,
    /// Changed drifts hidden whole: by a resource rule, or because every
    /// changed attribute was hidden.
    pub changed: usize,
    pub unmanaged: usize,
    pub missing: usize,
    /// Attribute changes hidden by attribute rules, whether the rest of their
    /// drift is still reported or not.
    pub changes: usize,
    /// Per rule label (`ignore[2]`, a rule's name, `path/.driftignore:7`).
    pub by_rule: BTreeMap<String, RuleHits>,
}

/// A drift, or the part of a changed drift, that rules hid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IgnoredDrift {
    /// For a changed drift, only the hidden changes (the rest, if any, is kept).
    pub drift: Drift,
    /// The labels of the rules that hid it.
    pub rules: BTreeSet<String>,
}

/// The outcome of [`filter`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filtered {
    /// What is still reported, in the input order.
    pub kept: Vec<Drift>,
    /// What was hidden, in the input order.
    pub ignored: Vec<IgnoredDrift>,
    pub counts: IgnoredCounts,
    /// One warning per expired rule: what it hid is reported again.
    pub diagnostics: Vec<Diagnostic>,
}

/// Splits `drifts` into what is still reported and what `set` hides at `now`.
/// `tags_of` gives a resource's tags for rules with `tags` (the state's for a
/// managed resource, the cloud's for an unmanaged one); `None` means unknown,
/// and a rule with `tags` then does not apply.
pub fn filter<'t>(
    drifts: Vec<Drift>,
    set: &IgnoreSet,
    now: DateTime<Utc>,
    tags_of: impl Fn(&ResourceKey) -> Option<&'t Map<String, Value>>,
) -> Filtered {
    let (whole, by_attribute): (Vec<&IgnoreRule>, Vec<&IgnoreRule>) = set
        .rules
        .iter()
        .filter(|r| r.is_active(now))
        .partition(|r| r.attribute.is_none());
    let di = set.driftignore.as_ref();

    let mut kept = Vec::with_capacity(drifts.len());
    let mut ignored = Vec::new();
    let mut counts = IgnoredCounts::default();
    for drift in drifts {
        let key = drift.key();
        let resource_rule = whole
            .iter()
            .find(|r| r.matches_resource(key, &tags_of))
            .map(|r| r.label.clone())
            .or_else(|| di.and_then(|d| d.ignores_resource(key).map(|l| d.label(l))));
        if let Some(label) = resource_rule {
            counts.by_rule.entry(label.clone()).or_default().drifts += 1;
            count_whole(&mut counts, &drift);
            ignored.push(IgnoredDrift {
                drift,
                rules: BTreeSet::from([label]),
            });
            continue;
        }
        let Drift::Changed {
            key,
            address,
            changes,
        } = drift
        else {
            kept.push(drift);
            continue;
        };
        let rules_here: Vec<&&IgnoreRule> = by_attribute
            .iter()
            .filter(|r| r.matches_resource(&key, &tags_of))
            .collect();
        let mut rest: Vec<AttrChange> = Vec::with_capacity(changes.len());
        let mut hidden: Vec<AttrChange> = Vec::new();
        let mut labels = BTreeSet::new();
        for change in changes {
            let label = rules_here
                .iter()
                .find(|r| {
                    r.attribute
                        .as_ref()
                        .is_some_and(|a| a.matches(&change.path))
                })
                .map(|r| r.label.clone())
                .or_else(|| {
                    di.and_then(|d| d.ignores_attribute(&key, &change.path).map(|l| d.label(l)))
                });
            match label {
                Some(label) => {
                    counts.by_rule.entry(label.clone()).or_default().changes += 1;
                    counts.changes += 1;
                    labels.insert(label);
                    hidden.push(change);
                }
                None => rest.push(change),
            }
        }
        if !hidden.is_empty() {
            if rest.is_empty() {
                counts.drifts += 1;
                counts.changed += 1;
            }
            ignored.push(IgnoredDrift {
                drift: Drift::Changed {
                    key: key.clone(),
                    address: address.clone(),
                    changes: hidden,
                },
                rules: labels,
            });
        }
        if !rest.is_empty() {
            kept.push(Drift::Changed {
                key,
                address,
                changes: rest,
            });
        }
    }

    let diagnostics = set
        .expired(now)
        .into_iter()
        .map(|rule| expired_warning(rule, &kept, &tags_of))
        .collect();
    Filtered {
        kept,
        ignored,
        counts,
        diagnostics,
    }
}

fn count_whole(counts: &mut IgnoredCounts, drift: &Drift) {
    counts.drifts += 1;
    match drift {
        Drift::Changed { .. } => counts.changed += 1,
        Drift::Unmanaged { .. } => counts.unmanaged += 1,
        Drift::Missing { .. } => counts.missing += 1,
    }
}

/// "rule X (owner, reason) expired on …; what it hid is reported again".
fn expired_warning<'t>(
    rule: &IgnoreRule,
    kept: &[Drift],
    tags_of: &impl Fn(&ResourceKey) -> Option<&'t Map<String, Value>>,
) -> Diagnostic {
    let matching = kept
        .iter()
        .filter(|d| rule.matches_resource(d.key(), tags_of));
    let again = match &rule.attribute {
        None => {
            let n = matching.count();
            format!("{n} drift{} it would hide", if n == 1 { "" } else { "s" })
        }
        Some(attribute) => {
            let n: usize = matching
                .map(|d| match d {
                    Drift::Changed { changes, .. } => changes
                        .iter()
                        .filter(|c| attribute.matches(&c.path))
                        .count(),
                    _ => 0,
                })
                .sum();
            format!(
                "{n} attribute change{} it would hide",
                if n == 1 { "" } else { "s" }
            )
        }
    };
    let expires = rule
        .expires
        .map(|e| e.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default();
    Diagnostic::warning(
        format!("ignore rule {}", rule.label),
        format!(
            "expired at {expires} (owner: {}; reason: {}): what it hid is reported again, \
             {again} in this scan; extend `expires` or remove the rule",
            rule.owner, rule.reason
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::AttrValue;
    use crate::model::{Address, Mode};
    use chrono::TimeZone;
    use serde_json::json;
    use std::sync::Arc;

    fn key(t: &str, id: &str) -> ResourceKey {
        ResourceKey {
            provider: Arc::from("aws"),
            resource_type: Arc::from(t),
            id: id.into(),
        }
    }

    fn address(t: &str, name: &str) -> Address {
        Address {
            module: None,
            mode: Mode::Managed,
            resource_type: Arc::from(t),
            name: name.into(),
            index: None,
        }
    }

    /// A path from a compact spec: `a.b` attributes, `[k]` map keys (may hold
    /// dots), `#n` indices, e.g. `tags.[kubernetes.io/role]`, `ingress.#0.cidr_blocks`.
    fn path(spec: &str) -> AttrPath {
        let mut steps = Vec::new();
        let mut rest = spec;
        while !rest.is_empty() {
            let (step, after) = if let Some(inner) = rest.strip_prefix('[') {
                let end = inner.find(']').unwrap();
                (PathStep::Key(inner[..end].into()), &inner[end + 1..])
            } else {
                let end = rest.find('.').unwrap_or(rest.len());
                let s = &rest[..end];
                let step = match s.strip_prefix('#') {
                    Some(n) => PathStep::Index(n.parse().unwrap()),
                    None => PathStep::Attr(s.into()),
                };
                (step, &rest[end..])
            };
            steps.push(step);
            rest = after.strip_prefix('.').unwrap_or(after);
        }
        AttrPath(steps)
    }

    fn change(spec: &str) -> AttrChange {
        AttrChange {
            path: path(spec),
            recorded: AttrValue::Value(json!("a")),
            live: AttrValue::Value(json!("b")),
        }
    }

    fn changed(t: &str, id: &str, specs: &[&str]) -> Drift {
        Drift::Changed {
            key: key(t, id),
            address: address(t, "x"),
            changes: specs.iter().map(|s| change(s)).collect(),
        }
    }

    fn unmanaged(t: &str, id: &str) -> Drift {
        Drift::Unmanaged { key: key(t, id) }
    }

    fn missing(t: &str, id: &str) -> Drift {
        Drift::Missing {
            key: key(t, id),
            address: address(t, "x"),
        }
    }

    fn di(text: &str) -> DriftIgnore {
        DriftIgnore::parse(text, ".driftignore").unwrap()
    }

    fn ignored(d: &DriftIgnore, t: &str, id: &str) -> bool {
        d.ignores_resource(&key(t, id)).is_some()
    }

    fn field_ignored(d: &DriftIgnore, t: &str, id: &str, spec: &str) -> bool {
        d.ignores_attribute(&key(t, id), &path(spec)).is_some()
    }

    fn rule(label: &str, resource_type: &str) -> IgnoreRule {
        IgnoreRule {
            label: label.into(),
            target: None,
            resource_type: Glob::new(resource_type).unwrap(),
            id: Glob::new("*").unwrap(),
            attribute: None,
            tags: BTreeMap::new(),
            reason: "because".into(),
            owner: "team-net".into(),
            expires: None,
        }
    }

    fn no_tags(_: &ResourceKey) -> Option<&'static Map<String, Value>> {
        None
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn globs_match_like_go_filepath_match_without_separators() {
        let cases = [
            ("*", "aws_s3_bucket.logs", true),
            ("aws_s3_bucket.*", "aws_s3_bucket.a.b/c", true),
            ("aws_s3_bucket.*", "aws_s3_bucketx", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*2**.**d1*", "type2.id11", true),
            ("*2**.**d1*", "type2.id2", false),
            ("type3.id1***0", "type3.id100", true),
            ("type3.id1***0", "type3.id101", false),
            ("my\\.bucket", "my.bucket", true),
            ("my\\.bucket", "myxbucket", false),
            ("idwith\\\\", "idwith\\", true),
            ("id[0-9]", "id7", true),
            ("id[0-9]", "idx", false),
            ("id[^0-9]", "idx", true),
            ("id[^0-9]", "id7", false),
            ("id[!x]", "id!", true),
            ("id[\\]]", "id]", true),
            ("", "", true),
            ("", "a", false),
            ("*a*b*", "xxaxxbxx", true),
            ("*a*b", "xxaxxbxx", false),
            ("é*", "école", true),
        ];
        for (glob, text, want) in cases {
            assert_eq!(
                Glob::new(glob).unwrap().matches(text),
                want,
                "{glob} ~ {text}"
            );
        }
        // driftctl's wildcard test: `*.id\\WithBa*slas*\\**\\`.
        let g = Glob::new(r"*.id\\WithBa*slas*\\**\\").unwrap();
        assert!(g.matches(r"type4.id\WithBac*slash***\*\"));
        for bad in ["id[0-9", "id\\", "[]", "[-a]", "[z-a]", "a[^"] {
            assert!(Glob::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Glob::new("[z-a]").unwrap_err().hint,
            "write it low to high: a-z"
        );
        assert!(Glob::literal("a*[b]\\").matches("a*[b]\\"));
        assert!(!Glob::literal("a*").matches("ab"));
    }

    #[test]
    fn driftctl_valid_file_and_its_expectations() {
        // pkg/filter/testdata/drift_ignore_valid/.driftignore and the test's expectations.
        let d = di(r"ignored_resource.id2
wildcard_resource.*
resource_type.id\.with\.dots
resource_type.idwith\\
resource_type.idwith\\backslashes
resource_type.idwith/slashes

# this is a comment
");
        assert!(!ignored(&d, "type1", "id1"));
        assert!(ignored(&d, "wildcard_resource", "id1/with/slash"));
        assert!(ignored(&d, "wildcard_resource", "id1"));
        assert!(ignored(&d, "ignored_resource", "id2"));
        assert!(ignored(&d, "resource_type", "id.with.dots"));
        assert!(ignored(&d, "resource_type", "idwith\\"));
        assert!(ignored(&d, "resource_type", "idwith\\backslashes"));
        assert!(ignored(&d, "resource_type", "idwith/slashes"));
        assert!(!ignored(&d, "resource_type", "other"));
        assert_eq!(d.entries().len(), 6);
    }

    #[test]
    fn driftctl_negation_last_match_wins() {
        // testdata/drift_ignore_all_exclude/.driftignore.
        let d = di("*\n!iam_user.*\n!some_type.idwith/slash\n");
        assert!(ignored(&d, "type1", "id1"));
        assert!(ignored(&d, "type3", "id101"));
        assert!(!ignored(&d, "iam_user", r"id\WithBac*slash***\*\"));
        assert!(!ignored(&d, "some_type", "idwith/slash"));
        assert!(ignored(&d, "some_type", "idwith/slash/"));
        // The docs' "everything but IAM", and the order reversed.
        let d = di("*\n!aws_iam_*\n");
        assert!(!ignored(&d, "aws_iam_role", "deploy"));
        assert!(ignored(&d, "aws_s3_bucket", "logs"));
        let d = di("!aws_iam_*\n*\n");
        assert!(ignored(&d, "aws_iam_role", "deploy"));
        // `!*` ignores nothing.
        assert!(!ignored(&di("!*"), "aws_s3_access_point", "x"));
    }

    #[test]
    fn driftctl_type_lines_and_the_implicit_dot_star() {
        // testdata/drift_ignore_type: a bare type ignores the whole type.
        let d = di("type\ntype_2\ntype_3.*\n");
        assert!(ignored(&d, "type", "a"));
        assert!(ignored(&d, "type_2", "b"));
        assert!(ignored(&d, "type_3", "c"));
        assert!(!ignored(&d, "type_4", "d"));
        assert!(!ignored(&d, "typex", "d"));
        // A resource line also covers the resource's attributes, and ids that
        // continue after a dot (driftctl: the pattern `line.*`).
        let d = di("aws_s3_bucket.my\n");
        assert!(ignored(&d, "aws_s3_bucket", "my"));
        assert!(ignored(&d, "aws_s3_bucket", "my.bucket"));
        assert!(!ignored(&d, "aws_s3_bucket", "my-bucket"));
        assert!(field_ignored(&d, "aws_s3_bucket", "my", "tags.[Name]"));
    }

    #[test]
    fn driftctl_field_lines() {
        // testdata/drift_ignore_fields/.driftignore and the v0.39.0 expectations.
        let d = di(r"res_type.full_drift_ignored.json
res_type.full_drift_ignored.foobar
res_type.partial_drift_ignored.foobar
res_type.wildcard_drift_ignored.*.baz
res_type.endofpath_drift_ignored.struct
resource_type.id\.with\.dots.json
resource_type.idwith\\.json
resource_type.idwith\\backslashes.foobar
");
        let t = "res_type";
        assert!(field_ignored(&d, t, "full_drift_ignored", "json"));
        assert!(field_ignored(&d, t, "full_drift_ignored", "foobar"));
        assert!(!field_ignored(&d, t, "partial_drift_ignored", "json"));
        assert!(field_ignored(&d, t, "partial_drift_ignored", "foobar"));
        assert!(field_ignored(&d, "resource_type", "id.with.dots", "json"));
        assert!(field_ignored(&d, "resource_type", "idwith\\", "json"));
        assert!(!field_ignored(
            &d,
            "resource_type",
            "idwith\\backslashes",
            "json"
        ));
        assert!(field_ignored(
            &d,
            "resource_type",
            "idwith\\backslashes",
            "foobar"
        ));
        assert!(field_ignored(&d, t, "wildcard_drift_ignored", "struct.baz"));
        assert!(!field_ignored(
            &d,
            t,
            "wildcard_drift_ignored",
            "struct.bar"
        ));
        assert!(field_ignored(
            &d,
            t,
            "endofpath_drift_ignored",
            "struct.baz"
        ));
        assert!(field_ignored(
            &d,
            t,
            "endofpath_drift_ignored",
            "struct.bar"
        ));
        // None of these lines ignores a whole resource.
        assert!(!ignored(&d, t, "full_drift_ignored"));
        // Indices are numbers, map keys as written.
        let d = di(
            "aws_security_group.*.ingress.0.cidr_blocks\naws_instance.*.tags.kubernetes.io/role\n",
        );
        assert!(field_ignored(
            &d,
            "aws_security_group",
            "sg-1",
            "ingress.#0.cidr_blocks.#1"
        ));
        assert!(!field_ignored(
            &d,
            "aws_security_group",
            "sg-1",
            "ingress.#1.cidr_blocks"
        ));
        assert!(field_ignored(
            &d,
            "aws_instance",
            "i-1",
            "tags.[kubernetes.io/role]"
        ));
        // Case-sensitive, as go-git's matcher.
        assert!(!field_ignored(
            &d,
            "aws_instance",
            "i-1",
            "Tags.[kubernetes.io/role]"
        ));
    }

    #[test]
    fn driftctl_all_exclude_field() {
        // testdata/drift_ignore_all_exclude_field: `*` then `!*.bar`.
        let d = di("*\n!*.bar\n");
        let t = "res_type";
        assert!(field_ignored(&d, t, "full_drift_ignored", "json"));
        assert!(field_ignored(&d, t, "wildcard_drift_ignored", "struct.baz"));
        assert!(!field_ignored(
            &d,
            t,
            "wildcard_drift_ignored",
            "struct.bar"
        ));
        assert!(!field_ignored(
            &d,
            t,
            "endofpath_drift_ignored",
            "struct.bar"
        ));
    }

    #[test]
    fn comments_blanks_and_trailing_spaces() {
        let d = di(
            "\u{feff}# header\n\n   \n  # indented comment\naws_s3_bucket.logs   \naws_s3_bucket.with\\ \r\n",
        );
        assert_eq!(d.entries().len(), 2);
        assert_eq!(d.entries()[0].line, 5);
        assert!(ignored(&d, "aws_s3_bucket", "logs"));
        assert!(ignored(&d, "aws_s3_bucket", "with "));
        // `\#` and `\!` are literal.
        let d = di("\\#x.y\n\\!x.y\n");
        assert!(ignored(&d, "#x", "y"));
        assert!(ignored(&d, "!x", "y"));
        assert!(!d.entries()[1].negated);
    }

    #[test]
    fn lines_driftctl_could_never_match_are_errors_with_file_and_line() {
        let text = "aws_s3_bucket.ok\naws_iam_role.baz # created by hand\n aws_s3_bucket.indented\n!\nid[0-9\naws_iam_role.a aws_iam_role.b\nend\\\n";
        let error = DriftIgnore::parse(text, "/etc/driftd/prod.driftignore").unwrap_err();
        let IgnoreError::Invalid { problems, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(
            problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6, 7]
        );
        let rendered = error.to_string();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(
            lines[0],
            "/etc/driftd/prod.driftignore:2: `aws_iam_role.baz # created by hand` contains \
             whitespace: driftctl matched this line against nothing (driftctl has no inline \
             comments: put the comment on its own line starting with #)"
        );
        assert_eq!(
            lines[1],
            "/etc/driftd/prod.driftignore:3: the line starts with whitespace: driftctl matched \
             it against nothing (remove the leading whitespace)"
        );
        assert!(lines[2].starts_with("/etc/driftd/prod.driftignore:4: `!` with nothing"));
        assert!(
            lines[3].contains(":5: `id[0-9` has a `[` without its `]`"),
            "{}",
            lines[3]
        );
        assert!(lines[4].contains(":6: ") && lines[4].contains("one entry per line"));
        assert!(
            lines[5].contains(":7: `end\\` ends with a lone `\\`"),
            "{}",
            lines[5]
        );
    }

    #[test]
    fn load_names_the_file_when_it_cannot_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.driftignore");
        let error = load_driftignore(&missing).unwrap_err();
        assert!(matches!(error, IgnoreError::Read { .. }));
        assert!(
            error.to_string().starts_with(&format!(
                "cannot read driftignore file {}: ",
                missing.display()
            )),
            "{error}"
        );
        let path = dir.path().join(".driftignore");
        std::fs::write(&path, "aws_s3_bucket.*\n").unwrap();
        let d = load_driftignore(&path).unwrap();
        assert_eq!(d.origin(), path.display().to_string());
    }

    #[test]
    fn attribute_patterns() {
        let m =
            |pattern: &str, spec: &str| AttrPattern::parse(pattern).unwrap().matches(&path(spec));
        assert!(m("tags", "tags"));
        assert!(m("tags", "tags.[Name]"));
        assert!(!m("tags", "tags_all.[Name]"));
        assert!(!m("tags.Name", "tags"));
        assert!(m("tags.Name", "tags.[Name]"));
        assert!(m("tags[\"Name\"]", "tags.[Name]"));
        assert!(m(
            "tags[\"kubernetes.io/role\"]",
            "tags.[kubernetes.io/role]"
        ));
        assert!(m("tags.kubernetes\\.io/role", "tags.[kubernetes.io/role]"));
        assert!(!m("tags.kubernetes.io/role", "tags.[kubernetes.io/role]"));
        assert!(m("tags[\"a*\"]", "tags.[a*]"));
        assert!(!m("tags[\"a*\"]", "tags.[ab]"));
        assert!(m("tags.a*", "tags.[ab]"));
        assert!(m("ingress[0].cidr_blocks", "ingress.#0.cidr_blocks.#2"));
        assert!(m("ingress.0.cidr_blocks", "ingress.#0.cidr_blocks"));
        assert!(m("ingress[*].cidr_blocks", "ingress.#3.cidr_blocks"));
        assert!(!m("ingress[*].cidr_blocks", "ingress.#3.description"));
        assert!(!m("*", "")); // an empty path has no step to match
        assert!(m("*.password", "settings.password"));
        assert!(!m("*.password", "settings.#0.password"));
        assert!(m("**.password", "settings.#0.password"));
        assert!(m("**.password", "password"));
        assert!(m("settings.**", "settings"));
        for bad in [
            "", "a..b", ".a", "a.", "a[0", "a[]", "a[0]b", "a[\"x]", "a[\"x\"", "a[x\\]",
        ] {
            assert!(AttrPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            AttrPattern::parse("tags[\"Name\"]").unwrap().to_string(),
            "tags[\"Name\"]"
        );
    }

    #[test]
    fn filter_counts_every_hidden_drift() {
        let set = IgnoreSet {
            driftignore: Some(di(
                "# legacy\naws_iam_role.*\naws_instance.*.tags\n!aws_instance.i-keep.tags\n",
            )),
            rules: vec![
                IgnoreRule {
                    attribute: Some(AttrPattern::parse("description").unwrap()),
                    ..rule("sg-descriptions", "aws_security_group")
                },
                rule("ignore[1]", "aws_cloudwatch_log_group"),
            ],
        };
        let drifts = vec![
            unmanaged("aws_iam_role", "ci"),
            missing("aws_iam_role", "gone"),
            changed("aws_instance", "i-1", &["tags.[Name]", "tags.[Owner]"]),
            changed("aws_instance", "i-2", &["instance_type", "tags.[Name]"]),
            changed("aws_instance", "i-keep", &["tags.[Name]"]),
            changed("aws_security_group", "sg-1", &["description", "ingress"]),
            unmanaged("aws_security_group", "sg-2"),
            unmanaged("aws_cloudwatch_log_group", "/aws/lambda/x"),
            unmanaged("aws_s3_bucket", "logs"),
        ];
        let f = filter(drifts, &set, at(2026, 1, 1, 0), no_tags);
        assert_eq!(
            f.kept,
            vec![
                changed("aws_instance", "i-2", &["instance_type"]),
                changed("aws_instance", "i-keep", &["tags.[Name]"]),
                changed("aws_security_group", "sg-1", &["ingress"]),
                unmanaged("aws_security_group", "sg-2"),
                unmanaged("aws_s3_bucket", "logs"),
            ]
        );
        assert_eq!(
            f.counts,
            IgnoredCounts {
                drifts: 4,
                changed: 1,
                unmanaged: 2,
                missing: 1,
                changes: 4,
                by_rule: BTreeMap::from([
                    (
                        ".driftignore:2".into(),
                        RuleHits {
                            drifts: 2,
                            changes: 0
                        }
                    ),
                    (
                        ".driftignore:3".into(),
                        RuleHits {
                            drifts: 0,
                            changes: 3
                        }
                    ),
                    (
                        "ignore[1]".into(),
                        RuleHits {
                            drifts: 1,
                            changes: 0
                        }
                    ),
                    (
                        "sg-descriptions".into(),
                        RuleHits {
                            drifts: 0,
                            changes: 1
                        }
                    ),
                ]),
            }
        );
        assert_eq!(f.ignored.len(), 6);
        assert_eq!(
            f.ignored[2],
            IgnoredDrift {
                drift: changed("aws_instance", "i-1", &["tags.[Name]", "tags.[Owner]"]),
                rules: BTreeSet::from([".driftignore:3".to_string()]),
            }
        );
        assert_eq!(
            f.ignored[3].drift,
            changed("aws_instance", "i-2", &["tags.[Name]"])
        );
        assert!(f.diagnostics.is_empty());
    }

    #[test]
    fn a_config_rule_wins_over_a_driftignore_negation_and_is_counted_first() {
        let set = IgnoreSet {
            driftignore: Some(di("aws_s3_bucket.*\n!aws_s3_bucket.logs\n")),
            rules: vec![rule("buckets", "aws_s3_bucket")],
        };
        let f = filter(
            vec![
                unmanaged("aws_s3_bucket", "logs"),
                unmanaged("aws_s3_bucket", "data"),
            ],
            &set,
            at(2026, 1, 1, 0),
            no_tags,
        );
        assert!(f.kept.is_empty());
        assert_eq!(
            f.counts.by_rule,
            BTreeMap::from([(
                "buckets".into(),
                RuleHits {
                    drifts: 2,
                    changes: 0
                }
            )])
        );
    }

    #[test]
    fn attribute_rules_never_hide_unmanaged_or_missing_resources() {
        let set = IgnoreSet {
            driftignore: Some(di("aws_instance.*.tags\n")),
            rules: vec![IgnoreRule {
                attribute: Some(AttrPattern::parse("tags").unwrap()),
                ..rule("tags", "*")
            }],
        };
        let drifts = vec![
            unmanaged("aws_instance", "i-1"),
            missing("aws_instance", "i-2"),
        ];
        let f = filter(drifts.clone(), &set, at(2026, 1, 1, 0), no_tags);
        assert_eq!(f.kept, drifts);
        assert_eq!(f.counts, IgnoredCounts::default());
    }

    #[test]
    fn tag_rules_need_every_tag_and_known_tags() {
        let tagged = Map::from_iter([
            ("team".to_string(), json!("data")),
            ("env".to_string(), json!("sandbox-3")),
            ("count".to_string(), json!(3)),
        ]);
        let tags_of = |k: &ResourceKey| (k.id == "tagged").then_some(&tagged);
        let with_tags = |pairs: &[(&str, &str)]| IgnoreRule {
            tags: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Glob::new(v).unwrap()))
                .collect(),
            ..rule("t", "*")
        };
        let hides = |r: IgnoreRule, id: &str| {
            let set = IgnoreSet {
                driftignore: None,
                rules: vec![r],
            };
            filter(
                vec![unmanaged("aws_s3_bucket", id)],
                &set,
                at(2026, 1, 1, 0),
                tags_of,
            )
            .kept
            .is_empty()
        };
        assert!(hides(with_tags(&[("team", "data")]), "tagged"));
        assert!(hides(
            with_tags(&[("team", "data"), ("env", "sandbox-*")]),
            "tagged"
        ));
        assert!(!hides(
            with_tags(&[("team", "data"), ("env", "prod")]),
            "tagged"
        ));
        assert!(!hides(with_tags(&[("owner", "*")]), "tagged"));
        assert!(
            !hides(with_tags(&[("count", "3")]), "tagged"),
            "non-string value"
        );
        assert!(
            !hides(with_tags(&[("team", "data")]), "untagged"),
            "unknown tags"
        );
        assert!(hides(with_tags(&[]), "untagged"));
    }

    #[test]
    fn expired_rules_stop_applying_and_say_so() {
        let expiring = IgnoreRule {
            expires: Some(at(2027, 2, 1, 0)),
            reason: "migration to the new VPC, JIRA-123".into(),
            owner: "team-net".into(),
            ..rule("legacy-sgs", "aws_security_group")
        };
        let set = IgnoreSet::for_target("prod", None, &[expiring]);
        let drifts = || {
            vec![
                unmanaged("aws_security_group", "sg-1"),
                unmanaged("aws_security_group", "sg-2"),
            ]
        };

        // The last second before expiry: hidden, no warning.
        let before = filter(
            drifts(),
            &set,
            at(2027, 1, 31, 23) + chrono::Duration::seconds(3599),
            no_tags,
        );
        assert!(before.kept.is_empty());
        assert_eq!(before.counts.unmanaged, 2);
        assert!(before.diagnostics.is_empty());
        assert!(set.expired(at(2027, 1, 31, 23)).is_empty());

        // At the expiry instant: reported again, with a warning naming the rule.
        let after = filter(drifts(), &set, at(2027, 2, 1, 0), no_tags);
        assert_eq!(after.kept, drifts());
        assert_eq!(after.counts, IgnoredCounts::default());
        assert_eq!(set.expired(at(2027, 2, 1, 0)).len(), 1);
        assert_eq!(
            after.diagnostics,
            vec![Diagnostic::warning(
                "ignore rule legacy-sgs",
                "expired at 2027-02-01T00:00:00Z (owner: team-net; reason: migration to the new \
                 VPC, JIRA-123): what it hid is reported again, 2 drifts it would hide in this \
                 scan; extend `expires` or remove the rule"
            )]
        );
    }

    #[test]
    fn an_expired_attribute_rule_counts_the_changes_it_gave_back() {
        let set = IgnoreSet {
            driftignore: None,
            rules: vec![IgnoreRule {
                attribute: Some(AttrPattern::parse("tags").unwrap()),
                expires: Some(at(2026, 6, 1, 0)),
                ..rule("tags", "*")
            }],
        };
        let f = filter(
            vec![changed(
                "aws_instance",
                "i-1",
                &["tags.[a]", "tags.[b]", "ami"],
            )],
            &set,
            at(2026, 7, 1, 0),
            no_tags,
        );
        assert_eq!(f.kept.len(), 1);
        assert!(
            f.diagnostics[0]
                .message
                .contains("2 attribute changes it would hide")
        );
    }

    #[test]
    fn rules_are_selected_by_target() {
        let rules = [
            IgnoreRule {
                target: Some(Glob::new("prod-*").unwrap()),
                ..rule("prod-only", "*")
            },
            rule("everywhere", "*"),
        ];
        let labels = |t: &str| {
            IgnoreSet::for_target(t, None, &rules)
                .rules
                .iter()
                .map(|r| r.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(labels("prod-network"), ["prod-only", "everywhere"]);
        assert_eq!(labels("staging"), ["everywhere"]);
        assert!(IgnoreSet::for_target("x", Some(di("# only comments\n")), &[]).is_empty());
    }
}
