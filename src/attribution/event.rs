//! CloudTrail records as driftd reads them (pure): the fields attribution
//! needs, the actor, and the raw record with secrets stripped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One CloudTrail management event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailEvent {
    /// `eventID`: unique per event, the cache key.
    pub event_id: String,
    pub time: DateTime<Utc>,
    /// `eventSource`, e.g. `ec2.amazonaws.com`.
    pub source: String,
    /// `eventName`, e.g. `AuthorizeSecurityGroupIngress`.
    pub name: String,
    /// `awsRegion`.
    pub region: String,
    /// `recipientAccountId`: the account whose trail holds it.
    pub account: String,
    /// `readOnly` when the record has it.
    pub read_only: Option<bool>,
    /// `errorCode`: the call failed; evidence of an attempt, not of the change.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The record, secrets stripped (`strip_secrets`).
    pub raw: Value,
}

/// Why a record could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the record has no {0}")]
    Missing(&'static str),
    #[error("the record's eventTime {0:?} is not an RFC 3339 time")]
    BadTime(String),
}

impl TrailEvent {
    /// Reads one CloudTrail record (the JSON object of a trail file's
    /// `Records[]`, or a LookupEvents `CloudTrailEvent`). Secrets in it are
    /// stripped before anything else sees it.
    pub fn from_record(mut raw: Value) -> Result<TrailEvent, EventError> {
        strip_secrets(&mut raw);
        let text = |field: &'static str| -> Option<String> {
            raw.get(field).and_then(Value::as_str).map(str::to_string)
        };
        let event_id = text("eventID").ok_or(EventError::Missing("eventID"))?;
        let time_text = text("eventTime").ok_or(EventError::Missing("eventTime"))?;
        let time = DateTime::parse_from_rfc3339(&time_text)
            .map_err(|_| EventError::BadTime(time_text.clone()))?
            .with_timezone(&Utc);
        let source = text("eventSource").ok_or(EventError::Missing("eventSource"))?;
        let name = text("eventName").ok_or(EventError::Missing("eventName"))?;
        let region = text("awsRegion").unwrap_or_default();
        let account = text("recipientAccountId")
            .or_else(|| {
                raw.pointer("/userIdentity/accountId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let read_only = match raw.get("readOnly") {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        let error_code = text("errorCode").filter(|s| !s.is_empty());
        let error_message = text("errorMessage");
        Ok(TrailEvent {
            event_id,
            time,
            source,
            name,
            region,
            account,
            read_only,
            error_code,
            error_message,
            raw,
        })
    }

    /// Whether it can have changed something: `readOnly: false`, or, in
    /// records without the field, a name that is not a read by convention.
    pub fn is_write(&self) -> bool {
        is_write(self.read_only, &self.name)
    }

    /// Whether the call succeeded.
    pub fn succeeded(&self) -> bool {
        self.error_code.is_none()
    }

    /// The strings (and numbers, as text) at `path` in the record (see
    /// `table`'s path syntax).
    pub fn values_at(&self, path: &str) -> Vec<String> {
        values_at(&self.raw, path)
    }

    /// Who made the call.
    pub fn actor(&self) -> Actor {
        Actor::from_record(&self.raw)
    }
}

/// Whether a record with this `readOnly` and `eventName` can have changed
/// something (see [`TrailEvent::is_write`]); for readers that decide before
/// building the event.
pub fn is_write(read_only: Option<bool>, name: &str) -> bool {
    match read_only {
        Some(read_only) => !read_only,
        None => !is_read_name(name),
    }
}

/// Event names that only read, for records that predate `readOnly`.
fn is_read_name(name: &str) -> bool {
    [
        "Get", "Describe", "List", "Head", "Lookup", "Search", "Check", "Select",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The strings at a dotted path (`requestParameters.groupId`,
/// `responseElements.instancesSet.items[].instanceId`, `resources[].ARN`).
pub fn values_at(root: &Value, path: &str) -> Vec<String> {
    let mut current: Vec<&Value> = vec![root];
    for step in path.split('.') {
        let (name, each) = match step.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (step, false),
        };
        let mut next = Vec::new();
        for v in current {
            let Some(child) = v.get(name) else { continue };
            match (each, child) {
                (true, Value::Array(items)) => next.extend(items.iter()),
                // CloudTrail writes a one-element list as the element itself
                // in some services' records: take it as a list of one.
                (true, other) => next.push(other),
                (false, child) => next.push(child),
            }
        }
        current = next;
    }
    current
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

/// What replaces a stripped value.
pub const STRIPPED: &str = "[stripped by driftd]";

/// Replaces, anywhere in a record, the values of keys that name secrets
/// (`sessionToken`, `secretAccessKey`, `password`, `userData`, Lambda
/// environment `variables`, ...). CloudTrail itself hides most secrets, but
/// STS responses carry session tokens, and driftd keeps no secret whatever
/// the source did (invariant 4).
pub fn strip_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret_key(key) {
                    if !v.is_null() {
                        *v = Value::String(STRIPPED.to_string());
                    }
                } else {
                    strip_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_secrets),
        _ => {}
    }
}

fn is_secret_key(key: &str) -> bool {
    let snake = snake_case(key);
    crate::secrets::is_secret_attribute(&snake)
        || matches!(
            snake.as_str(),
            "user_data" | "variables" | "secret_value" | "plaintext" | "private_key_material"
        )
}

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}

/// Through what the call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The AWS Management Console (a browser session).
    Console,
    /// The AWS CLI or AWS Tools for PowerShell.
    Cli,
    /// Terraform (or OpenTofu), from its user agent.
    Terraform,
    /// CloudFormation acting for a stack.
    Cloudformation,
    /// Another AWS service acting on its own or for a principal.
    AwsService,
    /// Any other programmatic client: an AWS SDK or a tool built on one.
    Sdk,
    /// The record says nothing usable about the client.
    Unknown,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Console => "console",
            Channel::Cli => "cli",
            Channel::Terraform => "terraform",
            Channel::Cloudformation => "cloudformation",
            Channel::AwsService => "aws_service",
            Channel::Sdk => "sdk",
            Channel::Unknown => "unknown",
        }
    }

    /// Reads the channel from the record's client fields.
    pub fn classify(
        user_agent: Option<&str>,
        invoked_by: Option<&str>,
        identity_type: Option<&str>,
        from_console: bool,
    ) -> Channel {
        let ua = user_agent.unwrap_or("").trim();
        let service = |s: &str| s.ends_with(".amazonaws.com") || s == "AWS Internal";
        if invoked_by == Some("cloudformation.amazonaws.com")
            || ua.starts_with("cloudformation.amazonaws.com")
        {
            return Channel::Cloudformation;
        }
        if ua.contains("Terraform/") || ua.contains("OpenTofu/") {
            return Channel::Terraform;
        }
        if identity_type == Some("AWSService") || invoked_by.is_some_and(service) {
            return Channel::AwsService;
        }
        if from_console
            || ua.starts_with("console.")
            || ua.starts_with("signin.")
            || ua.starts_with("Mozilla/")
            || ua == "AWS Internal"
            || ua.starts_with("aws-internal/")
        {
            return Channel::Console;
        }
        if ua.ends_with(".amazonaws.com") {
            return Channel::AwsService;
        }
        if ua.starts_with("aws-cli/")
            || ua.contains("AWSPowerShell")
            || ua.contains("aws-powershell")
        {
            return Channel::Cli;
        }
        if ua.is_empty() {
            return Channel::Unknown;
        }
        Channel::Sdk
    }
}

/// Who made a call, read from the record's `userIdentity` and client fields.
/// Nothing here is inferred beyond what the record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `userIdentity.type` (`IAMUser`, `AssumedRole`, `Root`, `AWSService`,
    /// `FederatedUser`, `IdentityCenterUser`, `AWSAccount`, ...); `None` when
    /// the record has no identity.
    pub identity_type: Option<String>,
    /// The principal's ARN, or the service for `AWSService`, or the
    /// principal id when there is no ARN.
    pub principal: Option<String>,
    /// For assumed roles and federated users: the issuer (role or user ARN).
    pub issuer: Option<String>,
    /// For assumed roles and federated users: the session name.
    pub session_name: Option<String>,
    /// The person behind it, when the record names one: the session name of
    /// an IAM Identity Center (`AWSReservedSSO_*`) role, an Identity Center
    /// user's id, an IAM user's name.
    pub person: Option<String>,
    /// The principal's account.
    pub account: Option<String>,
    /// `userIdentity.invokedBy`: the service that made the call for it.
    pub invoked_by: Option<String>,
    pub access_key_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub channel: Channel,
    /// The call was a Terraform apply or came from a principal listed as the
    /// deployment pipeline's: applied from code, not made by hand.
    #[serde(default)]
    pub iac: bool,
}

impl Actor {
    pub fn from_record(raw: &Value) -> Actor {
        let s = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let id = raw.get("userIdentity").unwrap_or(&Value::Null);
        let identity_type = s(id.get("type"));
        let arn = s(id.get("arn"));
        let principal_id = s(id.get("principalId"));
        let invoked_by = s(id.get("invokedBy"));
        let issuer_value = id.pointer("/sessionContext/sessionIssuer");
        let issuer = s(issuer_value.and_then(|i| i.get("arn")));
        let issuer_name = s(issuer_value.and_then(|i| i.get("userName")));
        let kind = identity_type.as_deref();
        let session_name = match kind {
            Some("AssumedRole") => principal_id
                .as_deref()
                .and_then(|p| p.split_once(':'))
                .map(|(_, session)| session.to_string())
                .or_else(|| {
                    arn.as_deref()
                        .and_then(|a| a.rsplit('/').next())
                        .map(str::to_string)
                }),
            Some("FederatedUser") => arn
                .as_deref()
                .and_then(|a| a.rsplit('/').next())
                .map(str::to_string),
            _ => None,
        };
        let sso = issuer_name
            .as_deref()
            .or(issuer.as_deref().and_then(|a| a.rsplit('/').next()))
            .is_some_and(|n| n.starts_with("AWSReservedSSO_"));
        let person = match kind {
            Some("AssumedRole") if sso => session_name.clone(),
            Some("IdentityCenterUser") => s(id.pointer("/onBehalfOf/userId")),
            Some("IAMUser") => s(id.get("userName")),
            _ => None,
        };
        let principal = match kind {
            Some("AWSService") => invoked_by.clone(),
            _ => arn.clone().or(principal_id),
        };
        let user_agent = s(raw.get("userAgent"));
        let from_console = raw
            .get("sessionCredentialFromConsole")
            .is_some_and(|v| v == "true" || v == true);
        let channel = Channel::classify(
            user_agent.as_deref(),
            invoked_by.as_deref(),
            kind,
            from_console,
        );
        Actor {
            identity_type,
            principal,
            issuer,
            session_name,
            person,
            account: s(id.get("accountId")),
            invoked_by,
            access_key_id: s(id.get("accessKeyId")),
            source_ip: s(raw.get("sourceIPAddress")),
            iac: channel == Channel::Terraform || channel == Channel::Cloudformation,
            user_agent,
            channel,
        }
    }

    /// One line for people: `alice@corp (SSO via AWSReservedSSO_admin_1234)`,
    /// `user/deploy`, `ec2.amazonaws.com`.
    pub fn display(&self) -> String {
        // The role: the issuer's name, or the `assumed-role/<role>/…` of the
        // principal's ARN when the record has no issuer.
        let issuer_name = self
            .issuer
            .as_deref()
            .and_then(|a| a.rsplit('/').next())
            .or_else(|| {
                self.principal
                    .as_deref()
                    .and_then(|p| p.split_once(":assumed-role/"))
                    .and_then(|(_, rest)| rest.split('/').next())
            })
            .filter(|n| !n.is_empty());
        match (
            self.identity_type.as_deref(),
            &self.person,
            &self.session_name,
        ) {
            (Some("AssumedRole"), Some(person), _) => {
                format!("{person} (SSO, {})", issuer_name.unwrap_or("a role"))
            }
            (Some("AssumedRole"), None, Some(session)) => match issuer_name {
                Some(role) => format!("{session} (role {role})"),
                None => format!("{session} (an assumed role)"),
            },
            (Some("FederatedUser"), _, Some(session)) => match issuer_name {
                Some(user) => format!("{session} (federated through {user})"),
                None => format!("{session} (federated user)"),
            },
            (Some("IdentityCenterUser"), Some(person), _) => {
                format!("{person} (Identity Center user)")
            }
            (Some("IAMUser"), Some(person), _) => format!("{person} (IAM user)"),
            (Some("Root"), _, _) => format!(
                "root of account {}",
                self.account.as_deref().unwrap_or("(unknown)")
            ),
            (Some("AWSService"), _, _) => self.principal.clone().unwrap_or_default(),
            _ => self
                .principal
                .clone()
                .unwrap_or_else(|| "(no identity in the record)".to_string()),
        }
    }

    /// Marks the call as an IaC apply when its principal (or, for assumed
    /// roles, the issuer role) matches one of the pipeline's principals:
    /// exact ARNs, or globs (`arn:aws:iam::*:role/ci-*`).
    pub fn mark_pipeline(&mut self, pipeline: &[glob::Pattern]) {
        let hit = |v: &Option<String>| {
            v.as_deref()
                .is_some_and(|s| pipeline.iter().any(|p| p.matches(s)))
        };
        if hit(&self.principal) || hit(&self.issuer) {
            self.iac = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Records of an assumed role without `sessionContext.sessionIssuer`
    /// (seen in the corpus' panther records) still name the role, from the
    /// principal's ARN; found by the report benchmark as "alan (role )".
    #[test]
    fn an_assumed_role_without_its_issuer_is_named_from_the_arn() {
        let actor = Actor::from_record(&json!({"userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alan",
            "arn": "arn:aws:sts::123456789012:assumed-role/DeployRole/alan",
            "accountId": "123456789012"
        }}));
        assert_eq!(actor.display(), "alan (role DeployRole)");
        let bare = Actor::from_record(&json!({"userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alan"
        }}));
        assert_eq!(bare.display(), "alan (an assumed role)");
    }

    #[test]
    fn paths_reach_nested_lists() {
        let v = json!({"responseElements": {"instancesSet": {"items": [
            {"instanceId": "i-1"}, {"instanceId": "i-2"}]}},
            "requestParameters": {"fromPort": 22, "one": {"items": {"x": "y"}}}});
        assert_eq!(
            values_at(&v, "responseElements.instancesSet.items[].instanceId"),
            ["i-1", "i-2"]
        );
        assert_eq!(values_at(&v, "requestParameters.fromPort"), ["22"]);
        assert_eq!(values_at(&v, "requestParameters.one.items[].x"), ["y"]);
        assert!(values_at(&v, "requestParameters.nothing.here").is_empty());
    }

    #[test]
    fn secrets_are_stripped_at_any_depth() {
        let mut v = json!({"responseElements": {"credentials": {
            "accessKeyId": "ASIAX", "sessionToken": "IQoJb3JpZ2lu", "expiration": "x"}},
            "requestParameters": {"masterUserPassword": "hunter2", "userData": "IyEvYmlu",
            "environment": {"variables": {"DB": "x"}}, "groupId": "sg-1"}});
        strip_secrets(&mut v);
        let text = v.to_string();
        for secret in ["IQoJb3JpZ2lu", "hunter2", "IyEvYmlu", "\"DB\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("ASIAX") && text.contains("sg-1"));
    }

    #[test]
    fn channels() {
        let c = |ua: &str| Channel::classify(Some(ua), None, Some("IAMUser"), false);
        assert_eq!(
            c(
                "APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.76.1"
            ),
            Channel::Terraform
        );
        assert_eq!(
            c(
                "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64 prompt/off command/ec2.authorize-security-group-ingress"
            ),
            Channel::Cli
        );
        assert_eq!(
            c("Boto3/1.17.80 Python/3.9.5 Darwin/20.3.0 Botocore/1.20.80"),
            Channel::Sdk
        );
        assert_eq!(c("AWS Internal"), Channel::Console);
        assert_eq!(
            c("Mozilla/5.0 (Macintosh) Chrome/140.0.0.0 Safari/537.36"),
            Channel::Console
        );
        assert_eq!(c("cloudformation.amazonaws.com"), Channel::Cloudformation);
        assert_eq!(
            Channel::classify(
                Some("autoscaling.amazonaws.com"),
                Some("autoscaling.amazonaws.com"),
                Some("Root"),
                false
            ),
            Channel::AwsService
        );
        assert_eq!(Channel::classify(None, None, None, false), Channel::Unknown);
    }

    #[test]
    fn sso_session_names_the_person() {
        let a = Actor::from_record(&json!({"userIdentity": {"type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice@corp.example",
            "arn": "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_admin_0123/alice@corp.example",
            "accountId": "111122223333",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "AWSReservedSSO_admin_0123",
                "arn": "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_admin_0123"}}},
            "sessionCredentialFromConsole": "true", "userAgent": "AWS Internal",
            "sourceIPAddress": "203.0.113.7"}));
        assert_eq!(a.person.as_deref(), Some("alice@corp.example"));
        assert_eq!(a.channel, Channel::Console);
        assert!(!a.iac);
        assert_eq!(
            a.display(),
            "alice@corp.example (SSO, AWSReservedSSO_admin_0123)"
        );
    }

    #[test]
    fn pipeline_principals_are_iac() {
        let mut a = Actor::from_record(&json!({"userIdentity": {"type": "AssumedRole",
            "principalId": "AROAEXAMPLE:gha-run-1",
            "arn": "arn:aws:sts::111122223333:assumed-role/ci-deploy/gha-run-1",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ci-deploy",
                "arn": "arn:aws:iam::111122223333:role/ci-deploy"}}},
            "userAgent": "aws-sdk-go-v2/1.32.3"}));
        assert!(!a.iac);
        a.mark_pipeline(&[glob::Pattern::new("arn:aws:iam::*:role/ci-*").unwrap()]);
        assert!(a.iac);
    }
}
