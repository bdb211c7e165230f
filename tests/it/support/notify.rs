//! Messages for sink tests: the Invictus drift (an IAM user opened port 22 on
//! sg-04cfb7a4712d75b00 to the world, corpus/MANIFEST.md), with what makes
//! sinks fail: a sensitive value, a tag that is an XSS payload, a long policy.

use chrono::{DateTime, TimeZone, Utc};
use driftd::notify::{
    ActorLine, Change, ChannelFailure, Digest, DigestLine, Message, MessageKind, Subject, TierLine,
};
use serde_json::json;

/// A secret's hash as the state reader writes it; a message must show
/// "(sensitive)" and never this text.
pub const SECRET_HASH: &str =
    "sensitive:hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 1, 11, 12, 15, 0).unwrap()
}

/// A finding message of `kind` (not a digest or a channel failure).
pub fn finding_message(kind: MessageKind) -> Message {
    let changes = vec![
        Change::new(
            "ingress",
            Some(&json!([])),
            Some(
                &json!([{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}]),
            ),
        ),
        Change::new(
            "tags.Owner",
            Some(&json!("platform")),
            Some(&json!("<script>alert(1)</script>")),
        ),
        Change::new(
            "description",
            Some(&json!(SECRET_HASH)),
            Some(&json!(SECRET_HASH)),
        ),
        Change::new(
            "policy",
            None,
            Some(
                &json!({"Statement": vec![json!({"Effect": "Allow", "Action": "*", "Resource": "*"}); 40]}),
            ),
        ),
    ];
    Message {
        kind,
        at: at(),
        title: "[tier 3] changed aws_security_group sg-04cfb7a4712d75b00 (ingress) in prod-network"
            .into(),
        dedup_key: "driftd/3f9a0c1d2e4b5a69".into(),
        url: Some("https://driftd.example.com/findings/3f9a0c1d2e4b5a69".into()),
        subject: Some(Subject {
            finding_id: "3f9a0c1d2e4b5a69".into(),
            drift: "changed".into(),
            target: "prod-network".into(),
            environment: "prod".into(),
            account: Some("218007301253".into()),
            region: Some("eu-west-1".into()),
            resource_type: "aws_security_group".into(),
            resource_id: "sg-04cfb7a4712d75b00".into(),
            address: Some("module.net.aws_security_group.open[\"ssh\"]".into()),
            changes,
            more_changes: 2,
            tier: TierLine {
                tier: 3,
                name: "advise".into(),
                rule: Some("world-open-ports".into()),
                why:
                    "rule world-open-ports: security open_to_world (ingress 22/tcp from 0.0.0.0/0)"
                        .into(),
            },
            actor: ActorLine {
                status: "found".into(),
                summary: "bert-jan (IAMUser, cli, from 84.86.117.172)".into(),
                principal: Some("arn:aws:iam::123837392027:user/bert-jan".into()),
                person: Some("bert-jan".into()),
                identity_type: Some("IAMUser".into()),
                channel: Some("cli".into()),
                source_ip: Some("84.86.117.172".into()),
                iac: false,
                event_name: Some("AuthorizeSecurityGroupIngress".into()),
                event_time: Some(Utc.with_ymd_and_hms(2022, 1, 11, 12, 10, 8).unwrap()),
                event_id: Some("74bd84b4-9bc4-4a5b-9bd4-2e7b7fd0a9e6".into()),
            },
            blast_radius: 14,
            dependents: vec!["aws_instance.bastion".into(), "aws_lb.public".into()],
            first_seen: at(),
            state: "open".into(),
            state_by: None,
            state_reason: None,
            commands: vec![
                "driftd ack 3f9a0c1d2e4b5a69".into(),
                "driftd accept 3f9a0c1d2e4b5a69 --reason \"...\"".into(),
            ],
        }),
        digest: None,
        failure: None,
    }
}

/// A digest of `n` open findings.
pub fn digest_message(n: usize) -> Message {
    let lines = (0..n)
        .map(|i| DigestLine {
            finding_id: format!("{i:016x}"),
            tier: (i % 3) as u8 + 1,
            drift: "changed".into(),
            target: "prod-network".into(),
            resource_type: "aws_security_group".into(),
            resource_id: format!("sg-{i:017x}"),
            address: Some(format!("aws_security_group.sg[{i}]")),
            state: "open".into(),
            first_seen: at(),
            actor: "unknown — still looking".into(),
            url: None,
        })
        .collect();
    let (findings, by_tier) = driftd::notify::message::digest_lines(lines);
    Message {
        kind: MessageKind::Digest,
        at: at(),
        title: format!("driftd digest: {n} open findings"),
        dedup_key: "driftd/digest/prod/2022-01-11T12:00:00Z".into(),
        url: None,
        subject: None,
        digest: Some(Digest {
            route: "prod".into(),
            period: "2022-01-11T12:00:00Z/PT1H".into(),
            findings,
            by_tier,
        }),
        failure: None,
    }
}

/// A channel failure message.
pub fn failure_message() -> Message {
    Message {
        kind: MessageKind::ChannelFailed,
        at: at(),
        title: "driftd: channel slack-platform is failing".into(),
        dedup_key: "driftd/channel/slack-platform".into(),
        url: None,
        subject: None,
        digest: None,
        failure: Some(ChannelFailure {
            channel: "slack-platform".into(),
            dead: 3,
            last_error: "slack slack-platform: HTTP 404: no_service".into(),
        }),
    }
}
