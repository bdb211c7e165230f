//! Provider configuration addresses, in every form Terraform and OpenTofu wrote.

use crate::model::ProviderAddress;

/// The registry host Terraform assumes for short and legacy provider addresses.
pub const DEFAULT_REGISTRY: &str = "registry.terraform.io";

/// Parses `provider.aws`, `provider.aws.west`, `provider["registry.terraform.io/hashicorp/aws"]`,
/// `provider["registry.opentofu.org/hashicorp/aws"].west`, `module.x.provider[...]`,
/// `module.x.provider.aws` (0.12 in modules). Returns `None` for anything else.
pub fn parse_provider_address(text: &str) -> Option<ProviderAddress> {
    let (module, rest) = if text.starts_with("provider") {
        (None, text)
    } else {
        // The provider part starts at the last ".provider[" or ".provider." segment.
        let at = text
            .rfind(".provider[")
            .or_else(|| text.rfind(".provider."))?;
        (Some(text[..at].to_string()), &text[at + 1..])
    };
    if let Some(rest) = rest.strip_prefix("provider[\"") {
        let end = rest.find("\"]")?;
        let source = &rest[..end];
        let alias = match &rest[end + 2..] {
            "" => None,
            a => Some(a.strip_prefix('.')?.to_string()),
        };
        let parts: Vec<&str> = source.split('/').collect();
        let (hostname, namespace, name) = match parts.as_slice() {
            [h, ns, n] => (h.to_string(), ns.to_string(), n.to_string()),
            [ns, n] => (DEFAULT_REGISTRY.to_string(), ns.to_string(), n.to_string()),
            [n] => (
                DEFAULT_REGISTRY.to_string(),
                "hashicorp".to_string(),
                n.to_string(),
            ),
            _ => return None,
        };
        if [&hostname, &namespace, &name].iter().any(|p| p.is_empty()) {
            return None;
        }
        Some(ProviderAddress {
            hostname,
            namespace,
            name,
            alias,
            module,
        })
    } else if let Some(rest) = rest.strip_prefix("provider.") {
        // Legacy (Terraform 0.12) form: the namespace was not recorded.
        let mut parts = rest.splitn(2, '.');
        let name = parts.next().filter(|n| !n.is_empty())?.to_string();
        let alias = parts.next().map(str::to_string);
        if alias.as_deref() == Some("") {
            return None;
        }
        Some(ProviderAddress {
            hostname: DEFAULT_REGISTRY.to_string(),
            namespace: "-".to_string(),
            name,
            alias,
            module,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String, String, Option<String>, Option<String>) {
        let a = parse_provider_address(s).unwrap_or_else(|| panic!("{s} did not parse"));
        (a.hostname, a.namespace, a.name, a.alias, a.module)
    }

    #[test]
    fn every_form() {
        let reg = DEFAULT_REGISTRY.to_string();
        assert_eq!(
            p("provider.aws"),
            (reg.clone(), "-".into(), "aws".into(), None, None)
        );
        assert_eq!(
            p("provider.aws.west"),
            (
                reg.clone(),
                "-".into(),
                "aws".into(),
                Some("west".into()),
                None
            )
        );
        assert_eq!(
            p(r#"provider["registry.terraform.io/hashicorp/aws"]"#),
            (reg.clone(), "hashicorp".into(), "aws".into(), None, None)
        );
        assert_eq!(
            p(r#"provider["registry.opentofu.org/hashicorp/aws"].west"#),
            (
                "registry.opentofu.org".into(),
                "hashicorp".into(),
                "aws".into(),
                Some("west".into()),
                None
            )
        );
        assert_eq!(
            p(r#"module.eks.module.node["a"].provider["registry.terraform.io/hashicorp/aws"]"#),
            (
                reg.clone(),
                "hashicorp".into(),
                "aws".into(),
                None,
                Some(r#"module.eks.module.node["a"]"#.into())
            )
        );
        assert_eq!(
            p("module.x.provider.aws"),
            (reg, "-".into(), "aws".into(), None, Some("module.x".into()))
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "aws",
            "provider.",
            r#"provider["a//b"]"#,
            r#"provider["x"]y"#,
            "provider.aws.",
        ] {
            assert!(parse_provider_address(s).is_none(), "{s}");
        }
    }
}
