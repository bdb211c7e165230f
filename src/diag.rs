//! Diagnostics: what pure analyses return beside their result instead of failing.

use serde::Serialize;
use std::fmt;

/// How bad a diagnostic is. Warnings never stop a scan; errors mean part of
/// the input could not be used (and say which part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    /// `warning` or `error`, as JSON output and the report pages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem found while reading or analysing input, tied to the thing it is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// What the diagnostic is about: a file, a source, a resource address.
    pub subject: String,
    /// A sentence (lowercase, no trailing period) that says what is wrong and what to do.
    pub message: String,
}

impl Diagnostic {
    pub fn warning(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            subject: subject.into(),
            message: message.into(),
        }
    }

    pub fn error(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            subject: subject.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{level}: {}: {}", self.subject, self.message)
    }
}
