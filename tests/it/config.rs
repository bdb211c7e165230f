//! The config file: parsing, validation (every problem at once, with positions
//! and hints), defaults, path resolution, and the example file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use driftd::config::{
    AwsAccount, AwsScope, AwsSettings, Config, ConfigError, DEFAULT_STORE_PATH, FindingsSettings,
    HcpSource, HttpSource, Problem, S3Source, SecretOrPlain, SecretRef, StateSourceSpec,
    StoreConfig, Target,
};

const CONFIG_PATH: &str = "/etc/driftd/driftd.toml";

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new(CONFIG_PATH), text)
}

fn problems(text: &str) -> Vec<Problem> {
    match parse(text) {
        Ok(config) => panic!("expected problems, got a valid config: {config:#?}"),
        Err(error) => error.problems().to_vec(),
    }
}

fn p(line: usize, column: usize, field: &str, message: &str, hint: &str) -> Problem {
    Problem {
        line,
        column,
        field: field.into(),
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// A valid target to which tests add their own mistakes.
const MINIMAL: &str = r#"
[[target]]
name = "prod-network"
environment = "prod"

  [[target.state]]
  type = "file"
  path = "states/network.tfstate"

  [target.aws]
  regions = ["eu-west-1"]

  [[target.aws.account]]
  id = "111111111111"
"#;

#[test]
fn minimal_config_gets_defaults() {
    let config = parse(MINIMAL).unwrap();
    assert_eq!(
        config,
        Config {
            source: PathBuf::from(CONFIG_PATH),
            store: StoreConfig {
                path: PathBuf::from(DEFAULT_STORE_PATH),
                key_path: PathBuf::from("/var/lib/driftd/hmac.key"),
            },
            targets: vec![Target {
                name: "prod-network".into(),
                environment: "prod".into(),
                states: vec![StateSourceSpec::File {
                    path: PathBuf::from("/etc/driftd/states/network.tfstate"),
                }],
                aws: Some(AwsScope {
                    regions: vec!["eu-west-1".into()],
                    accounts: vec![AwsAccount {
                        id: "111111111111".into(),
                        role_arn: None,
                        external_id: None,
                    }],
                    profile: None,
                    endpoint_url: None,
                    cloudtrail: Default::default(),
                }),
                driftignore: None,
                schedule: None,
            }],
            aws: AwsSettings::default(),
            findings: FindingsSettings::default(),
            ignore: vec![],
            retention: driftd::store::RetentionPolicy::default(),
            attribution: driftd::config::AttributionSettings::default(),
            policy: driftd::config::PolicyConfig::default(),
            channels: vec![],
            routes: vec![],
            notify: driftd::config::NotifySettings::default(),
            daemon: driftd::config::DaemonSettings::default(),
        }
    );
    assert_eq!(
        config
            .target("prod-network")
            .map(|t| t.environment.as_str()),
        Some("prod")
    );
    assert!(config.target("staging").is_none());
}

#[test]
fn full_config_sets_every_field() {
    let text = r#"
[store]
path = "/data/driftd.db"
key_path = "/etc/driftd/hmac.key"

[[target]]
name = "prod-network"
environment = "prod"
driftignore = "ignores/prod-network.driftignore"

  [[target.state]]
  type = "s3"
  bucket = "acme-tfstate"
  key = "network/terraform.tfstate"
  region = "eu-west-1"
  version_id = "v1"
  endpoint_url = "http://127.0.0.1:9000"
  force_path_style = true
  profile = "tfstate"
  role_arn = "arn:aws:iam::999999999999:role/tfstate-read"

  [[target.state]]
  type = "http"
  url = "https://tfstate.internal/network"
  username = "driftd"
  password = { env = "TF_HTTP_PASSWORD" }
  headers = { "X-Team" = "net", "Authorization" = { credential = "tfstate-auth" }, "A-First" = "1" }
  skip_tls_verify = true

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "network-prod"
  token = { file = "/run/secrets/tfe-token" }

  [[target.state]]
  type = "hcp"
  address = "https://tfe.example.com/"
  organization = "acme"
  workspace = "network-dr"
  token = { env = "TFE_TOKEN" }

  [[target.state]]
  type = "glob"
  pattern = "/srv/tf/*/terraform.tfstate"

  [target.aws]
  regions = ["eu-west-1", "us-east-1", "us-gov-west-1"]
  profile = "driftd"
  endpoint_url = "http://127.0.0.1:5000"

  [[target.aws.account]]
  id = "111111111111"
  role_arn = "arn:aws:iam::111111111111:role/driftd-read"
  external_id = "ext-1"

  [[target.aws.account]]
  id = "012345678901"
"#;
    let config = parse(text).unwrap();
    assert_eq!(
        config.store,
        StoreConfig {
            path: PathBuf::from("/data/driftd.db"),
            key_path: PathBuf::from("/etc/driftd/hmac.key"),
        }
    );
    assert_eq!(
        config.targets,
        vec![Target {
            name: "prod-network".into(),
            environment: "prod".into(),
            states: vec![
                StateSourceSpec::S3(S3Source {
                    bucket: "acme-tfstate".into(),
                    key: "network/terraform.tfstate".into(),
                    region: "eu-west-1".into(),
                    version_id: Some("v1".into()),
                    endpoint_url: Some("http://127.0.0.1:9000".into()),
                    force_path_style: true,
                    profile: Some("tfstate".into()),
                    role_arn: Some("arn:aws:iam::999999999999:role/tfstate-read".into()),
                }),
                StateSourceSpec::Http(HttpSource {
                    url: "https://tfstate.internal/network".into(),
                    username: Some("driftd".into()),
                    password: Some(SecretRef::Env("TF_HTTP_PASSWORD".into())),
                    // In the order written, not sorted.
                    headers: vec![
                        ("X-Team".into(), SecretOrPlain::Plain("net".into())),
                        (
                            "Authorization".into(),
                            SecretOrPlain::Secret(SecretRef::Credential("tfstate-auth".into())),
                        ),
                        ("A-First".into(), SecretOrPlain::Plain("1".into())),
                    ],
                    skip_tls_verify: true,
                }),
                StateSourceSpec::Hcp(HcpSource {
                    address: "https://app.terraform.io".into(),
                    organization: "acme".into(),
                    workspace: "network-prod".into(),
                    token: SecretRef::File(PathBuf::from("/run/secrets/tfe-token")),
                }),
                StateSourceSpec::Hcp(HcpSource {
                    address: "https://tfe.example.com".into(),
                    organization: "acme".into(),
                    workspace: "network-dr".into(),
                    token: SecretRef::Env("TFE_TOKEN".into()),
                }),
                StateSourceSpec::Glob {
                    pattern: "/srv/tf/*/terraform.tfstate".into(),
                },
            ],
            aws: Some(AwsScope {
                regions: vec![
                    "eu-west-1".into(),
                    "us-east-1".into(),
                    "us-gov-west-1".into()
                ],
                accounts: vec![
                    AwsAccount {
                        id: "111111111111".into(),
                        role_arn: Some("arn:aws:iam::111111111111:role/driftd-read".into()),
                        external_id: Some("ext-1".into()),
                    },
                    AwsAccount {
                        id: "012345678901".into(),
                        role_arn: None,
                        external_id: None,
                    },
                ],
                profile: Some("driftd".into()),
                endpoint_url: Some("http://127.0.0.1:5000".into()),
                cloudtrail: Default::default(),
            }),
            driftignore: Some(PathBuf::from(
                "/etc/driftd/ignores/prod-network.driftignore"
            )),
            schedule: None,
        }]
    );
}

#[test]
fn every_problem_is_reported_at_once_in_file_order() {
    let text = r#"[store]
path = "db/driftd.db"
colour = "blue"

[[target]]
name = "prod-network"
environment = ""

  [[target.state]]
  type = "s3"
  bucket = "acme-tfstate"
  key = "network/terraform.tfstate"
  region = "eu-west"
  path = "x"

  [[target.state]]
  type = "http"
  url = "ftp://tfstate.internal/net"
  username = "driftd"
  password = "hunter2"

  [[target.state]]
  typ = "file"
  path = "a.tfstate"

  [target.aws]
  regoins = ["eu-west-1"]
  regions = ["eu-west-1", 5]

  [[target.aws.account]]
  id = "111111111111"
  role_arn = "arn:aws:iam::222222222222:role/driftd-read"

  [[target.aws.account]]
  id = 2222

[[target]]
name = "prod-network"
environment = "prod"
state = [{ type = "file", path = "b.tfstate" }]
[target.aws]
regions = []
[[target.aws.account]]
id = "222222222222"

[[target]]
name = "Prod Network"
[target.aws]
regions = ["eu-west-1"]
[[target.aws.account]]
id = "333333333333"
"#;
    let expected = vec![
        p(
            3,
            1,
            "store.colour",
            "unknown field `colour`",
            "remove it; allowed here: `path`, `key_path`",
        ),
        p(
            7,
            15,
            "target[0].environment",
            "`environment` is empty",
            "write a value, e.g. environment = \"prod\"",
        ),
        p(
            13,
            12,
            "target[0].state[0].region",
            "\"eu-west\" is not an AWS region code",
            "write a region code such as \"eu-west-1\"",
        ),
        p(
            14,
            10,
            "target[0].state[0].path",
            "`path` does not apply to type \"s3\"",
            "remove it, or change the source to type = \"file\"",
        ),
        p(
            18,
            9,
            "target[0].state[1].url",
            "\"ftp://tfstate.internal/net\" is not an http or https URL",
            "write an http or https URL, e.g. url = \"https://tfstate.internal/network\"",
        ),
        p(
            20,
            14,
            "target[0].state[1].password",
            "secret written as plain text in the config file",
            "write password = { env = \"TF_HTTP_PASSWORD\" } and set TF_HTTP_PASSWORD in driftd's \
             EnvironmentFile, or use { file = \"/path\" } or { credential = \"name\" }",
        ),
        // The misspelled `type` is reported once: not again as a missing `type`.
        p(
            23,
            3,
            "target[0].state[2].typ",
            "unknown field `typ`",
            "did you mean `type`?",
        ),
        p(
            27,
            3,
            "target[0].aws.regoins",
            "unknown field `regoins`",
            "did you mean `regions`?",
        ),
        p(
            28,
            27,
            "target[0].aws.regions[1]",
            "expected a string, found an integer",
            "put it in quotes: \"5\"",
        ),
        p(
            32,
            14,
            "target[0].aws.account[0].role_arn",
            "role is in account 222222222222, but this is account 111111111111",
            "use a role in account 111111111111, e.g. \"arn:aws:iam::111111111111:role/driftd-read\"",
        ),
        p(
            35,
            8,
            "target[0].aws.account[1].id",
            "expected a string, found an integer",
            "put it in quotes: id = \"2222\"",
        ),
        p(
            38,
            8,
            "target[1].name",
            "target name \"prod-network\" is already used by target[0]",
            "give every target a unique name",
        ),
        p(
            42,
            11,
            "target[1].aws.regions",
            "`regions` is empty",
            "list at least one region, e.g. regions = [\"eu-west-1\"]",
        ),
        p(
            46,
            1,
            "target[2].environment",
            "missing required field `environment`",
            "add environment = \"prod\"",
        ),
        p(
            46,
            1,
            "target[2].state",
            "target has no state source",
            "add a [[target.state]] table, e.g. type = \"file\" and path = \"terraform.tfstate\"",
        ),
        p(
            47,
            8,
            "target[2].name",
            "\"Prod Network\" is not a valid target name",
            "use lowercase letters, digits, '_', '.' and '-', starting with a letter or digit, \
             e.g. \"prod-network\"",
        ),
    ];
    assert_eq!(problems(text), expected);
}

#[test]
fn problems_render_one_per_line_for_humans() {
    let text = MINIMAL.replace(
        r#"regions = ["eu-west-1"]"#,
        r#"regions = ["eu-west-1", "eu-west"]"#,
    ) + "\n[store]\nkey_path = \"\"\n";
    let error = parse(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "config file /etc/driftd/driftd.toml has 2 problem(s)"
    );
    assert_eq!(
        error.render(),
        "/etc/driftd/driftd.toml:11:27: target[0].aws.regions[1]: \"eu-west\" is not an AWS region code \
         (write a region code such as \"eu-west-1\")\n\
         /etc/driftd/driftd.toml:17:12: store.key_path: `key_path` is empty \
         (write a value, e.g. key_path = \"/var/lib/driftd/hmac.key\", or remove the line to use the default)"
    );
}

#[test]
fn unknown_fields_get_a_suggestion_or_the_allowed_list() {
    let text = MINIMAL.replace(
        "  [target.aws]\n",
        "  [target.aws]\n  region = \"eu-west-1\"\n  colour = 1\n",
    );
    assert_eq!(
        problems(&text),
        vec![
            p(
                11,
                3,
                "target[0].aws.region",
                "unknown field `region`",
                "did you mean `regions`?"
            ),
            p(
                12,
                3,
                "target[0].aws.colour",
                "unknown field `colour`",
                "remove it; allowed here: `regions`, `account`, `profile`, `endpoint_url`, `cloudtrail`",
            ),
        ]
    );
    // A misspelled table, and a misspelled state source type.
    let text = MINIMAL
        .replace("[[target.aws.account]]", "[[target.aws.acount]]")
        .replace("type = \"file\"", "type = \"fiel\"");
    assert_eq!(
        problems(&text),
        vec![
            p(
                7,
                10,
                "target[0].state[0].type",
                "unknown state source type \"fiel\"",
                "did you mean type = \"file\"?"
            ),
            p(
                13,
                16,
                "target[0].aws.acount",
                "unknown field `acount`",
                "did you mean `account`?"
            ),
        ]
    );
}

#[test]
fn literal_secrets_are_refused_and_never_echoed() {
    let text = r#"
[[target]]
name = "net"
environment = "prod"

  [[target.state]]
  type = "http"
  url = "https://tfstate.internal/net"
  username = "driftd"
  password = "hunter2"
  headers = { "X-Team" = "net", "Authorization" = "Bearer s3cr3t", "X-Api-Key" = "k3y" }

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "net"
  token = "t0k3n"

  [target.aws]
  regions = ["eu-west-1"]
  [[target.aws.account]]
  id = "111111111111"
"#;
    let hint = |key: &str, env: &str| {
        format!(
            "write {key} = {{ env = \"{env}\" }} and set {env} in driftd's EnvironmentFile, \
             or use {{ file = \"/path\" }} or {{ credential = \"name\" }}"
        )
    };
    let error = parse(text).unwrap_err();
    assert_eq!(
        error.problems(),
        [
            p(
                10,
                14,
                "target[0].state[0].password",
                "secret written as plain text in the config file",
                &hint("password", "TF_HTTP_PASSWORD"),
            ),
            p(
                11,
                51,
                "target[0].state[0].headers.Authorization",
                "header \"Authorization\" carries a secret, written here as plain text",
                &hint("Authorization", "TFSTATE_AUTHORIZATION"),
            ),
            p(
                11,
                82,
                "target[0].state[0].headers.X-Api-Key",
                "header \"X-Api-Key\" carries a secret, written here as plain text",
                &hint("X-Api-Key", "TFSTATE_X_API_KEY"),
            ),
            p(
                17,
                11,
                "target[0].state[1].token",
                "secret written as plain text in the config file",
                &hint("token", "TFE_TOKEN"),
            ),
        ]
    );
    let rendered = error.render();
    for secret in ["hunter2", "s3cr3t", "k3y", "t0k3n"] {
        assert!(
            !rendered.contains(secret),
            "{secret} leaked into: {rendered}"
        );
        assert!(
            !format!("{error:?}").contains(secret),
            "{secret} leaked into the Debug output"
        );
    }
}

#[test]
fn secret_references_must_name_exactly_one_valid_source() {
    let text = MINIMAL.replace(
        "  [target.aws]",
        r#"  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "a"
  token = { env = "TFE_TOKEN", file = "/t" }

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "b"
  token = {}

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "c"
  token = { env = "1TOKEN" }

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "d"
  token = { enviroment = "TFE_TOKEN" }

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "e"
  token = 42

  [target.aws]"#,
    );
    assert_eq!(
        problems(&text),
        vec![
            p(
                14,
                11,
                "target[0].state[1].token",
                "secret reference names more than one source (`env`, `file`)",
                "keep exactly one of env, file or credential",
            ),
            p(
                20,
                11,
                "target[0].state[2].token",
                "empty secret reference",
                "write token = { env = \"TFE_TOKEN\" } and set TFE_TOKEN in driftd's EnvironmentFile, \
                 or use { file = \"/path\" } or { credential = \"name\" }",
            ),
            p(
                26,
                19,
                "target[0].state[3].token.env",
                "\"1TOKEN\" is not an environment variable name",
                "use letters, digits and '_', e.g. env = \"TFE_TOKEN\"",
            ),
            p(
                32,
                13,
                "target[0].state[4].token.enviroment",
                "unknown field `enviroment`",
                "did you mean `env`?",
            ),
            p(
                38,
                11,
                "target[0].state[5].token",
                "expected a secret reference such as { env = \"NAME\" }, found an integer",
                "write token = { env = \"TFE_TOKEN\" } and set TFE_TOKEN in driftd's EnvironmentFile, \
                 or use { file = \"/path\" } or { credential = \"name\" }",
            ),
        ]
    );
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let text = MINIMAL.replace(
        "  [target.aws]",
        r#"  [[target.state]]
  type = "glob"
  pattern = "states/*/terraform.tfstate"

  [[target.state]]
  type = "glob"
  pattern = "/abs/*.tfstate"

  [[target.state]]
  type = "hcp"
  organization = "acme"
  workspace = "w"
  token = { file = "secrets/tfe-token" }

  [target.aws]"#,
    ) + "\n[store]\npath = \"data/driftd.db\"\n";
    // `[1]` in the directory must stay literal in the glob.
    let config = Config::parse(Path::new("/srv/cfg[1]/driftd.toml"), &text).unwrap();
    assert_eq!(
        config.store,
        StoreConfig {
            path: PathBuf::from("/srv/cfg[1]/data/driftd.db"),
            key_path: PathBuf::from("/srv/cfg[1]/data/hmac.key"),
        }
    );
    let states = &config.targets[0].states;
    assert_eq!(
        states[0],
        StateSourceSpec::File {
            path: PathBuf::from("/srv/cfg[1]/states/network.tfstate")
        }
    );
    assert_eq!(
        states[1],
        StateSourceSpec::Glob {
            pattern: "/srv/cfg[[]1[]]/states/*/terraform.tfstate".into()
        }
    );
    assert!(
        glob::Pattern::new("/srv/cfg[[]1[]]/states/*/terraform.tfstate")
            .unwrap()
            .matches("/srv/cfg[1]/states/net/terraform.tfstate")
    );
    assert_eq!(
        states[2],
        StateSourceSpec::Glob {
            pattern: "/abs/*.tfstate".into()
        }
    );
    let StateSourceSpec::Hcp(hcp) = &states[3] else {
        panic!("{:?}", states[3])
    };
    assert_eq!(
        hcp.token,
        SecretRef::File(PathBuf::from("/srv/cfg[1]/secrets/tfe-token"))
    );

    // A bare file name: paths stay relative (to the working directory).
    let text =
        MINIMAL.to_string() + "\n[store]\npath = \"driftd.db\"\nkey_path = \"keys/hmac.key\"\n";
    let config = Config::parse(Path::new("driftd.toml"), &text).unwrap();
    assert_eq!(config.store.path, PathBuf::from("driftd.db"));
    assert_eq!(config.store.key_path, PathBuf::from("keys/hmac.key"));
    assert_eq!(
        config.targets[0].states[0],
        StateSourceSpec::File {
            path: PathBuf::from("states/network.tfstate")
        }
    );
}

#[test]
fn syntax_errors_point_at_the_mistake() {
    let text = "[[target]]\nname = \"a\"\nenvironment = prod # the environment\n";
    assert_eq!(
        problems(text),
        vec![p(
            3,
            15,
            "",
            "invalid TOML: string values must be quoted, expected literal string",
            "put the value in double quotes: environment = \"prod\"",
        )]
    );
    let text = "[store]\npath = \"a\"\n[store]\n";
    assert_eq!(
        problems(text),
        vec![p(
            3,
            2,
            "",
            "invalid TOML: duplicate key",
            "define each key and each [table] once; merge the two",
        )]
    );
}

#[test]
fn wrong_shapes_say_which_brackets_to_write() {
    let text = r#"
[target]
name = "a"
"#;
    assert_eq!(
        problems(text),
        vec![p(
            2,
            1,
            "target",
            "expected a list, found a table",
            "write [[target]] with double brackets: each one adds an entry",
        )]
    );
    let text = MINIMAL
        .replace("[target.aws]", "[[target.aws]]")
        .replace("[[target.state]]", "[target.state]");
    assert_eq!(
        problems(&text),
        vec![
            p(
                6,
                3,
                "target[0].state",
                "expected a list, found a table",
                "write [[target.state]] with double brackets: each one adds an entry",
            ),
            p(
                10,
                3,
                "target[0].aws",
                "expected a table, found a list of [[tables]]",
                "write [target.aws] with single brackets: there is one",
            ),
        ]
    );
    let text = MINIMAL.replace(
        "  path = \"states/network.tfstate\"",
        "  path = \"states/network.tfstate\"\n\n  [[target.state]]\n  type = \"s3\"\n  bucket = \"b-1\"\n  key = \"k\"\n  region = \"eu-west-1\"\n  force_path_style = \"true\"",
    ).replace("regions = [\"eu-west-1\"]", "regions = \"eu-west-1\"");
    assert_eq!(
        problems(&text),
        vec![
            p(
                15,
                22,
                "target[0].state[1].force_path_style",
                "expected a boolean, found a string",
                "write force_path_style = true without quotes"
            ),
            p(
                18,
                13,
                "target[0].aws.regions",
                "expected a list, found a string",
                "write a list: regions = [\"eu-west-1\"]"
            ),
        ]
    );
}

#[test]
fn state_sources_need_a_type_and_only_its_fields() {
    let text = MINIMAL.replace(
        "  [target.aws]",
        r#"  [[target.state]]
  bucket = "acme-tfstate"
  key = "k"

  [[target.state]]
  type = "hcp"
  organization = "acme"

  [[target.state]]
  type = "glob"
  pattern = "states/[a-"

  [target.aws]"#,
    );
    assert_eq!(
        problems(&text),
        vec![
            p(
                10,
                3,
                "target[0].state[1].type",
                "state source has no `type`",
                "add type = \"s3\""
            ),
            p(
                14,
                3,
                "target[0].state[2].workspace",
                "missing required field `workspace`",
                "add workspace = \"network-prod\""
            ),
            p(
                14,
                3,
                "target[0].state[2].token",
                "missing required field `token`",
                "add token = { env = \"TFE_TOKEN\" } and set TFE_TOKEN in driftd's EnvironmentFile",
            ),
            p(
                20,
                13,
                "target[0].state[3].pattern",
                "invalid glob pattern \"states/[a-\": invalid range pattern at character 8",
                "write a glob such as \"/srv/tf/*/terraform.tfstate\"; match a literal [ or ] as [[] or []]",
            ),
        ]
    );
}

#[test]
fn aws_scope_values_are_checked() {
    let text = r#"
[[target]]
name = "prod"
environment = "prod"
state = [{ type = "s3", bucket = "s3://acme-tfstate/net/terraform.tfstate", key = "k", region = "EU-WEST-1" }]

  [target.aws]
  regions = ["eu-west-1a", "eu-west-1", "eu-west-1"]
  endpoint_url = "localhost:5000"

  [[target.aws.account]]
  id = "12345678901"
  role_arn = "arn:aws:iam::123456789012:user/driftd"
  external_id = "x"

  [[target.aws.account]]
  id = "123456789012"
  external_id = "x"

  [[target.aws.account]]
  id = "123456789012"
"#;
    assert_eq!(
        problems(text),
        vec![
            p(
                5,
                34,
                "target[0].state[0].bucket",
                "\"s3://acme-tfstate/net/terraform.tfstate\" is not a valid S3 bucket name: write the bucket name alone, not an s3:// URL",
                "write bucket = \"acme-tfstate\" and key = \"net/terraform.tfstate\"",
            ),
            p(
                5,
                97,
                "target[0].state[0].region",
                "\"EU-WEST-1\" is not an AWS region code",
                "write \"eu-west-1\": region codes are lowercase"
            ),
            p(
                8,
                14,
                "target[0].aws.regions[0]",
                "\"eu-west-1a\" is not an AWS region code",
                "write the region \"eu-west-1\", not the availability zone"
            ),
            p(
                8,
                41,
                "target[0].aws.regions[2]",
                "region \"eu-west-1\" is listed twice",
                "list each region once"
            ),
            p(
                9,
                18,
                "target[0].aws.endpoint_url",
                "\"localhost:5000\" is not an http or https URL",
                "write an http or https URL, e.g. endpoint_url = \"http://127.0.0.1:9000\"",
            ),
            p(
                12,
                8,
                "target[0].aws.account[0].id",
                "\"12345678901\" is not a 12-digit AWS account id",
                "write all 12 digits in quotes; if leading zeros were lost: id = \"012345678901\"",
            ),
            p(
                13,
                14,
                "target[0].aws.account[0].role_arn",
                "\"arn:aws:iam::123456789012:user/driftd\" is not an IAM role ARN",
                "write a role ARN such as \"arn:aws:iam::111111111111:role/driftd-read\"",
            ),
            p(
                18,
                17,
                "target[0].aws.account[1].external_id",
                "`external_id` is given without `role_arn`",
                "add the role_arn whose trust policy requires this external id, or remove external_id",
            ),
            p(
                21,
                8,
                "target[0].aws.account[2].id",
                "account 123456789012 is listed twice in this target",
                "list each account once"
            ),
        ]
    );
}

#[test]
fn a_target_needs_a_cloud_scope_and_a_file_needs_a_target() {
    assert_eq!(
        problems("# nothing yet\n"),
        vec![p(
            1,
            1,
            "target",
            "no target is configured",
            "add a [[target]] table with name, environment, [[target.state]] and [target.aws]; \
             see config.example.toml",
        )]
    );
    let text = "[[target]]\nname = \"a\"\nenvironment = \"dev\"\nstate = [{ type = \"file\", path = \"a\" }]\n";
    assert_eq!(
        problems(text),
        vec![p(
            1,
            1,
            "target[0].aws",
            "target has no cloud scope",
            "add a [target.aws] table with regions = [\"eu-west-1\"] and a [[target.aws.account]] \
             with id = \"111111111111\"",
        )]
    );
}

#[test]
fn load_reads_the_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("driftd.toml");
    std::fs::write(&path, MINIMAL).unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.source, path);
    assert_eq!(
        config.targets[0].states[0],
        StateSourceSpec::File {
            path: dir.path().join("states/network.tfstate")
        }
    );

    let missing = dir.path().join("absent.toml");
    let error = Config::load(&missing).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error:?}");
    assert!(error.problems().is_empty());
    assert!(
        error
            .render()
            .starts_with(&format!("cannot read config file {}: ", missing.display())),
        "{}",
        error.render()
    );
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

#[test]
fn the_example_config_is_valid() {
    let config = match Config::load(&example_path()) {
        Ok(config) => config,
        Err(error) => panic!("config.example.toml is invalid:\n{}", error.render()),
    };
    let kinds: BTreeSet<&str> = config
        .targets
        .iter()
        .flat_map(|t| &t.states)
        .map(|s| match s {
            StateSourceSpec::File { .. } => "file",
            StateSourceSpec::Glob { .. } => "glob",
            StateSourceSpec::S3(_) => "s3",
            StateSourceSpec::Http(_) => "http",
            StateSourceSpec::Hcp(_) => "hcp",
        })
        .collect();
    assert_eq!(kinds, BTreeSet::from(["file", "glob", "hcp", "http", "s3"]));
}

/// Fails when a field is added to the config and not to the example.
#[test]
fn the_example_config_shows_every_key() {
    fn collect(kind: &str, value: &toml::Value, seen: &mut BTreeMap<String, BTreeSet<String>>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    seen.entry(kind.to_string())
                        .or_default()
                        .insert(key.clone());
                    let child = match (kind, key.as_str()) {
                        ("target.state", "password" | "token") => "secret".to_string(),
                        ("target.state.headers", _) => "secret".to_string(),
                        ("", _) => key.clone(),
                        _ => format!("{kind}.{key}"),
                    };
                    collect(&child, value, seen);
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| collect(kind, v, seen)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(example_path()).unwrap();
    let example: toml::Value = toml::from_str(&text).unwrap();
    let mut seen = BTreeMap::new();
    collect("", &example, &mut seen);

    let accepted = driftd::config::accepted_keys();
    assert!(accepted.len() >= 7, "{accepted:?}");
    // Shown commented out: set, they must resolve when the daemon starts,
    // and the example (installed as /etc/driftd/config.toml) must start.
    let commented = [(
        "daemon",
        "token",
        "# token = { credential = \"http-token\" }",
    )];
    for (_, _, line) in commented {
        assert!(
            text.contains(line),
            "config.example.toml does not show {line:?}"
        );
    }
    let mut missing = Vec::new();
    for (table, keys) in accepted {
        for key in keys {
            if commented.iter().any(|(t, k, _)| *t == table && k == key) {
                continue;
            }
            if !seen.get(table).is_some_and(|s| s.contains(*key)) {
                missing.push(format!("{table}.{key}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "config.example.toml does not show: {missing:?}"
    );
}

#[test]
fn values_of_the_wrong_kind_are_described_by_their_type() {
    // toml hands a date-time to table visitors under a private key: it must
    // read as a wrong type, not as an unknown field.
    let text = r#"store = 1979-05-27
[[target]]
name = "a"
environment = "dev"
state = [{ type = "http", url = "https://driftd:pa55@tfstate.internal/a", username = "driftd", password = 1979-05-27, headers = { "x-team" = "a", "X-Team" = "b", "Bad Name" = "c" } }]
[target.aws]
regions = [["eu-west-1"]]
[[target.aws.account]]
id = "111111111111"
"#;
    let error = parse(text).unwrap_err();
    assert_eq!(
        error.problems(),
        [
            p(
                1,
                9,
                "store",
                "expected a table, found a date-time",
                "write a [store] table"
            ),
            p(
                5,
                33,
                "target[0].state[0].url",
                "URL contains a password",
                "remove the credentials from the URL; for an http state use username and \
                 password = { env = \"TF_HTTP_PASSWORD\" }",
            ),
            p(
                5,
                107,
                "target[0].state[0].password",
                "expected a secret reference such as { env = \"NAME\" }, found a date-time",
                "write password = { env = \"TF_HTTP_PASSWORD\" } and set TF_HTTP_PASSWORD in \
                 driftd's EnvironmentFile, or use { file = \"/path\" } or { credential = \"name\" }",
            ),
            p(
                5,
                147,
                "target[0].state[0].headers.X-Team",
                "header \"X-Team\" is given twice: header names ignore case and it is already at \
                 target[0].state[0].headers.x-team",
                "keep one of them",
            ),
            p(
                5,
                163,
                "target[0].state[0].headers.\"Bad Name\"",
                "\"Bad Name\" is not a valid HTTP header name",
                "use letters, digits and '-', e.g. \"X-Team\"",
            ),
            p(
                7,
                12,
                "target[0].aws.regions[0]",
                "expected a string, found a list",
                "write one quoted string per entry, e.g. \"eu-west-1\"",
            ),
        ]
    );
    assert!(!error.render().contains("pa55"), "{}", error.render());
}

const MINIMAL_TARGET: &str = r#"
[[target]]
name = "net"
environment = "prod"
  [[target.state]]
  type = "file"
  path = "net.tfstate"
  [target.aws]
  regions = ["eu-west-1"]
  [[target.aws.account]]
  id = "111111111111"
"#;

#[test]
fn aws_collector_settings_are_read_and_checked() {
    let config = parse(&format!(
        "[aws]\nconcurrency = 16\nmax_attempts = 3\ncall_timeout_seconds = 10\n{MINIMAL_TARGET}"
    ))
    .unwrap();
    assert_eq!(
        config.aws,
        AwsSettings {
            concurrency: 16,
            max_attempts: 3,
            call_timeout: std::time::Duration::from_secs(10),
        }
    );
    assert_eq!(
        problems(&format!(
            "[aws]\nconcurrency = 0\nmax_attempts = 50\ncall_timeout_seconds = \"30s\"\n{MINIMAL_TARGET}"
        )),
        vec![
            p(
                2,
                15,
                "aws.concurrency",
                "0 is out of range: it must be from 1 to 64",
                "e.g. concurrency = 4"
            ),
            p(
                3,
                16,
                "aws.max_attempts",
                "50 is out of range: it must be from 1 to 20",
                "e.g. max_attempts = 5"
            ),
            p(
                4,
                24,
                "aws.call_timeout_seconds",
                "expected a whole number, found a string",
                "write a whole number without quotes, e.g. call_timeout_seconds = 30"
            ),
        ]
    );
}

#[test]
fn findings_settings_are_read_and_checked() {
    assert_eq!(
        parse(MINIMAL_TARGET).unwrap().findings,
        FindingsSettings::default()
    );
    assert_eq!(
        FindingsSettings::default(),
        FindingsSettings {
            confirm_after: 2,
            reread: true,
            reread_delay: std::time::Duration::from_secs(15),
        }
    );
    let config = parse(&format!(
        "[findings]\nconfirm_after = 1\nreread = false\nreread_delay_seconds = 0\n{MINIMAL_TARGET}"
    ))
    .unwrap();
    assert_eq!(
        config.findings,
        FindingsSettings {
            confirm_after: 1,
            reread: false,
            reread_delay: std::time::Duration::ZERO,
        }
    );
    assert_eq!(
        problems(&format!(
            "[findings]\nconfirm_after = 0\nreread = \"yes\"\nreread_delay_seconds = 301\nconfirm = 3\n{MINIMAL_TARGET}"
        )),
        vec![
            p(
                2,
                17,
                "findings.confirm_after",
                "0 is out of range: it must be from 1 to 100",
                "e.g. confirm_after = 2"
            ),
            p(
                3,
                10,
                "findings.reread",
                "expected a boolean, found a string",
                "write reread = true or reread = false"
            ),
            p(
                4,
                24,
                "findings.reread_delay_seconds",
                "301 is out of range: it must be from 0 to 300",
                "e.g. reread_delay_seconds = 15"
            ),
            p(
                5,
                1,
                "findings.confirm",
                "unknown field `confirm`",
                "did you mean `confirm_after`?"
            ),
        ]
    );
}

/// A config with two targets, to which tests add `[[ignore]]` rules.
fn with_rules(rules: &str) -> String {
    format!(
        "{MINIMAL_TARGET}{}\n{rules}",
        MINIMAL_TARGET
            .replace("name = \"net\"", "name = \"staging-apps\"")
            .replace("net.tfstate", "apps.tfstate")
    )
}

#[test]
fn ignore_rules_are_read() {
    use chrono::{TimeZone, Utc};
    use driftd::ignore::{AttrPattern, Glob, IgnoreRule};
    let config = parse(&with_rules(
        r#"
[[ignore]]
name = "backup-tags"
target = "staging-*"
resource_type = "aws_db_instance"
id = "db-*"
attribute = 'tags["LastBackup"]'
tags = { team = "data", env = "staging*" }
reason = "  set by the nightly backup job  "
owner = "team-data"
expires = 2027-01-31

[[ignore]]
resource_type = "*"
reason = "sandbox"
owner = "platform"
expires = "2027-01-31T18:00:00+01:00"

[[ignore]]
resource_type = "aws_iam_role"
reason = "r"
owner = "o"
expires = 2027-01-31T18:00:00Z

[[ignore]]
resource_type = "aws_iam_role"
reason = "r"
owner = "o"
expires = "2027-01-31"
"#,
    ))
    .unwrap();
    let g = |s: &str| Glob::new(s).unwrap();
    assert_eq!(
        config.ignore[0],
        IgnoreRule {
            label: "backup-tags".into(),
            target: Some(g("staging-*")),
            resource_type: g("aws_db_instance"),
            id: g("db-*"),
            attribute: Some(AttrPattern::parse("tags[\"LastBackup\"]").unwrap()),
            tags: BTreeMap::from([("env".into(), g("staging*")), ("team".into(), g("data"))]),
            reason: "set by the nightly backup job".into(),
            owner: "team-data".into(),
            // A date: the rule applies through that day, UTC.
            expires: Some(Utc.with_ymd_and_hms(2027, 2, 1, 0, 0, 0).unwrap()),
        }
    );
    assert_eq!(
        config.ignore[1],
        IgnoreRule {
            label: "ignore[1]".into(),
            target: None,
            resource_type: g("*"),
            id: g("*"),
            attribute: None,
            tags: BTreeMap::new(),
            reason: "sandbox".into(),
            owner: "platform".into(),
            expires: Some(Utc.with_ymd_and_hms(2027, 1, 31, 17, 0, 0).unwrap()),
        }
    );
    assert_eq!(
        config.ignore[2].expires,
        Some(Utc.with_ymd_and_hms(2027, 1, 31, 18, 0, 0).unwrap())
    );
    assert_eq!(config.ignore[3].expires, config.ignore[0].expires);
    assert_eq!(config.ignore[3].label, "ignore[3]");
}

const EXPIRES_HINT: &str = "write expires = 2027-01-31 (the rule applies through that day, UTC) or a date-time with its offset, e.g. expires = 2027-01-31T18:00:00Z";

#[test]
fn bad_ignore_rules_name_the_field() {
    let text = with_rules(
        r#"
[[ignore]]
name = "dup"
target = "prod-*"
resource = "aws_s3_bucket"
id = "sg-[0-9"
attribute = "tags..Name"
tags = { team = "[" }
owner = " "
expires = 2027-01-31T18:00:00

[[ignore]]
name = "dup"
resource_type = "aws_s3_bucket"
reason = "r"
owner = "o"
expires = "next week"

[[ignore]]
resource_type = ""
reason = "r"
owner = "o"
expires = 5
"#,
    );
    // A misspelled `resource` is not also reported as a missing `resource_type`.
    assert_eq!(
        problems(&text),
        vec![
            p(
                25,
                1,
                "ignore[0].reason",
                "missing required field `reason`",
                "add reason = \"set by the nightly backup job, not Terraform\""
            ),
            p(
                27,
                10,
                "ignore[0].target",
                "`target = \"prod-*\"` matches no [[target]] name",
                "write a target name or a glob matching some: net, staging-apps; or remove \
                 `target` to apply the rule to every target"
            ),
            p(
                28,
                1,
                "ignore[0].resource",
                "unknown field `resource`",
                "did you mean `resource_type`?"
            ),
            p(
                29,
                6,
                "ignore[0].id",
                "`sg-[0-9` has a `[` without its `]`",
                "close the class, e.g. [0-9], or write `\\[` for a literal bracket"
            ),
            p(
                30,
                13,
                "ignore[0].attribute",
                "`tags..Name` has an empty step",
                "write steps separated by dots or in brackets, e.g. tags.Name, \
                 tags[\"kubernetes.io/role\"], ingress[*].cidr_blocks"
            ),
            p(
                31,
                17,
                "ignore[0].tags.team",
                "`[` has a `[` without its `]`",
                "close the class, e.g. [0-9], or write `\\[` for a literal bracket"
            ),
            p(
                32,
                9,
                "ignore[0].owner",
                "`owner` is empty",
                "write a value, e.g. owner = \"team-platform\""
            ),
            p(
                33,
                11,
                "ignore[0].expires",
                "\"2027-01-31T18:00:00\" has no time zone: it would mean a different instant on \
                 every host",
                EXPIRES_HINT
            ),
            p(
                36,
                8,
                "ignore[1].name",
                "ignore rule name \"dup\" is already used by ignore[0]",
                "give every rule a unique name: outputs count hidden drift by it"
            ),
            p(
                40,
                11,
                "ignore[1].expires",
                "\"next week\" is not a date or a date-time",
                EXPIRES_HINT
            ),
            p(
                43,
                17,
                "ignore[2].resource_type",
                "`resource_type` is empty",
                "write a value, e.g. resource_type = \"aws_security_group\""
            ),
            p(
                46,
                11,
                "ignore[2].expires",
                "expected a date such as 2027-01-31 or a date-time such as \
                 2027-01-31T18:00:00Z, found an integer",
                EXPIRES_HINT
            ),
        ]
    );
    assert_eq!(
        problems(&format!(
            "{MINIMAL_TARGET}\n[ignore]\nresource_type = \"*\"\n"
        )),
        vec![p(
            13,
            1,
            "ignore",
            "expected a list, found a table",
            "write [[ignore]] with double brackets: each one adds an entry"
        )]
    );
}

#[test]
fn driftignore_files_are_read_and_checked_by_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("driftd.toml");
    let with = |driftignore: &str| {
        MINIMAL_TARGET.replace(
            "environment = \"prod\"\n",
            &format!("environment = \"prod\"\ndriftignore = \"{driftignore}\"\n"),
        )
    };

    // Named but absent: `parse` does not look, `load` does.
    std::fs::write(&path, with("ignores/net.driftignore")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(Config::parse(&path, &text).is_ok());
    let error = Config::load(&path).unwrap_err();
    let absent = dir.path().join("ignores/net.driftignore");
    assert_eq!(
        error.problems(),
        [p(
            5,
            15,
            "target[0].driftignore",
            &format!("driftignore file {} does not exist", absent.display()),
            "create it (an empty file ignores nothing), fix the path (relative paths are \
             relative to the config file's directory), or remove `driftignore`"
        )]
    );

    // Present but with bad lines: one problem per line, naming the file and line.
    std::fs::create_dir(dir.path().join("ignores")).unwrap();
    let ignore_path = dir.path().join("ignores/net.driftignore");
    std::fs::write(
        &ignore_path,
        "# generated by driftctl gen-driftignore\naws_s3_bucket.logs\naws_iam_role.ci # by hand\naws_instance.i-[0\n",
    )
    .unwrap();
    let error = Config::load(&path).unwrap_err();
    let file = ignore_path.display();
    assert_eq!(
        error.problems(),
        [
            p(
                5,
                15,
                "target[0].driftignore",
                &format!(
                    "{file}:3: `aws_iam_role.ci # by hand` contains whitespace: driftctl matched \
                     this line against nothing"
                ),
                "driftctl has no inline comments: put the comment on its own line starting with #"
            ),
            p(
                5,
                15,
                "target[0].driftignore",
                &format!("{file}:4: `aws_instance.i-[0` has a `[` without its `]`"),
                "close the class, e.g. [0-9], or write `\\[` for a literal bracket"
            ),
        ]
    );

    // Good: the path is resolved beside the config file.
    std::fs::write(&ignore_path, "aws_s3_bucket.logs\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.targets[0].driftignore, Some(ignore_path.clone()));
    let loaded = driftd::ignore::load_driftignore(&ignore_path).unwrap();
    assert_eq!(loaded.entries().len(), 1);

    // Blank is a problem too.
    assert_eq!(
        problems(&with(" ")),
        vec![p(
            5,
            15,
            "target[0].driftignore",
            "`driftignore` is empty",
            "write a value, e.g. driftignore = \"prod-network.driftignore\", or remove the line \
             to use the default"
        )]
    );
}

#[test]
fn retention_defaults_and_range() {
    use driftd::store::RetentionPolicy;
    let config = parse(MINIMAL_TARGET).unwrap();
    assert_eq!(config.retention, RetentionPolicy::default());
    assert_eq!(config.retention.keep_scans, 1000);
    let config = parse(&format!("[retention]\nkeep_scans = 5\n{MINIMAL_TARGET}")).unwrap();
    assert_eq!(config.retention.keep_scans, 5);
    assert_eq!(
        problems(&format!(
            "[retention]\nkeep_scans = 0\nkeep = 3\n{MINIMAL_TARGET}"
        )),
        vec![
            p(
                2,
                14,
                "retention.keep_scans",
                "0 is out of range: it must be from 1 to 1000000",
                "e.g. keep_scans = 1000"
            ),
            p(
                3,
                1,
                "retention.keep",
                "unknown field `keep`",
                "did you mean `keep_scans`?"
            ),
        ]
    );
}

#[test]
fn notification_config_mistakes_are_each_named_with_a_fix() {
    let text = MINIMAL.to_string()
        + r#"
[[policy.rule]]
name = "x"
tier = 4
security = ["open_ports"]

[[channel]]
name = "slack"
type = "slack"
webhook_url = "https://hooks.slack.com/services/T0/B0/secret"
routing_key = { env = "PD_KEY" }

[[channel]]
name = "mail"
type = "email"
host = "smtp.example.com"
tls = "none"
from = "driftd@example.com"
to = ["not-an-address"]

[[route]]
name = "r"
channels = ["slack", "pagerduty"]
quiet_hours = "22-07"
timezone = "Europe/Amsterdm"
escalate_to = ["mail"]
"#;
    let found = problems(&text);
    let messages: Vec<(&str, &str)> = found
        .iter()
        .map(|p| (p.field.as_str(), p.message.as_str()))
        .collect();
    for (field, message) in [
        (
            "policy.rule[0].tier",
            "4 is out of range: it must be from 1 to 3",
        ),
        (
            "policy.rule[0].security[0]",
            "\"open_ports\" is not one of any, open_to_world, wildcard_action, wildcard_principal, encryption_off, versioning_off, logging_stopped, public_access",
        ),
        (
            "channel[0].webhook_url",
            "secret written as plain text in the config file",
        ),
        (
            "channel[0].routing_key",
            "`routing_key` does not apply to a slack channel",
        ),
        (
            "channel[1].tls",
            "tls = \"none\" would send mail and the SMTP password in clear text to smtp.example.com",
        ),
        (
            "channel[1].to[0]",
            "\"not-an-address\" is not an email address",
        ),
        (
            "route[0].channels[1]",
            "no [[channel]] is named \"pagerduty\"",
        ),
        ("route[0].quiet_hours", "\"22-07\" is not a range of hours"),
        (
            "route[0].timezone",
            "\"Europe/Amsterdm\" is not a time zone driftd knows",
        ),
        (
            "route[0].escalate_after_minutes",
            "`escalate_to` needs `escalate_after_minutes`",
        ),
    ] {
        assert!(
            messages.contains(&(field, message)),
            "missing {field}: {message}\nin {messages:#?}"
        );
    }
    // The secret is never echoed.
    assert!(!format!("{found:?}").contains("B0/secret"));
    assert!(found.iter().all(|p| p.hint.is_some()), "{found:#?}");
}

#[test]
fn daemon_and_schedule_mistakes_are_each_named_with_a_fix() {
    let text = MINIMAL.replace(
        "environment = \"prod\"\n",
        "environment = \"prod\"\ninterval_minutes = 5\nschedule = \"*/5 * * * *\"\n",
    ) + r#"
[[target]]
name = "b"
environment = "dev"
schedule = "every morning"
schedule_timezone = "Mars/Olympus"
  [[target.state]]
  type = "file"
  path = "b.tfstate"
  [target.aws]
  regions = ["eu-west-1"]
  [[target.aws.account]]
  id = "111111111111"

[daemon]
listen = "0.0.0.0:9470"
interval_minutes = 0
log_format = "xml"
"#;
    let found = problems(&text);
    let messages: Vec<(&str, &str)> = found
        .iter()
        .map(|p| (p.field.as_str(), p.message.as_str()))
        .collect();
    for (field, message) in [
        (
            "target[0].interval_minutes",
            "a target has either interval_minutes or schedule, not both",
        ),
        (
            "target[1].schedule_timezone",
            "\"Mars/Olympus\" is not a time zone driftd knows",
        ),
        (
            "daemon.listen",
            "listen = \"0.0.0.0:9470\" is reachable from other hosts, and no token is set",
        ),
        (
            "daemon.interval_minutes",
            "0 is out of range: it must be from 1 to 10080",
        ),
        ("daemon.log_format", "log_format \"xml\" is not known"),
    ] {
        assert!(
            messages.contains(&(field, message)),
            "missing {field}: {message}\nin {messages:#?}"
        );
    }
    assert!(
        messages.iter().any(|(f, m)| *f == "target[1].schedule"
            && m.starts_with("\"every morning\" is not a cron expression")),
        "{messages:#?}"
    );
    assert!(found.iter().all(|p| p.hint.is_some()), "{found:#?}");

    // Both forms of a good schedule, and the defaults.
    let good = MINIMAL.replace(
        "environment = \"prod\"\n",
        "environment = \"prod\"\nschedule = \"0 6 * * 1-5\"\nschedule_timezone = \"Europe/Amsterdam\"\n",
    );
    let config = parse(&good).unwrap();
    assert!(matches!(
        config.targets[0].schedule,
        Some(driftd::config::Schedule::Cron { .. })
    ));
    assert_eq!(config.daemon, driftd::config::DaemonSettings::default());
    assert!(config.daemon.listen.ip().is_loopback());
}
