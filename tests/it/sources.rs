//! State sources against real things: temp files, moto for S3, a local
//! Terraform-http-backend server and a local HCP Terraform API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use driftd::config::{HcpSource, HttpSource, S3Source, SecretOrPlain, SecretRef, StateSourceSpec};
use driftd::sources::{
    FetchOptions, Fetcher, SourceError, SourceVersion, StateObject, resolve_secret,
};

use crate::support::corpus_dir;
use crate::support::hcp::HcpEmulator;
use crate::support::http_backend::{HttpBackend, base64};
use crate::support::moto::{MotoServer, REGION, free_port};

// ---------------------------------------------------------------------------
// helpers

fn corpus_state(name: &str) -> Vec<u8> {
    let path = corpus_dir().join("terraform-state").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The top-level serial and lineage as a full JSON parse sees them.
fn identity_by_full_parse(content: &[u8]) -> (Option<u64>, Option<String>) {
    match serde_json::from_slice::<serde_json::Value>(content) {
        Ok(value) => (
            value.get("serial").and_then(|s| s.as_u64()),
            value
                .get("lineage")
                .and_then(|l| l.as_str())
                .map(str::to_owned),
        ),
        Err(_) => (None, None),
    }
}

fn known_from(objects: &[StateObject]) -> HashMap<String, SourceVersion> {
    objects
        .iter()
        .map(|o| (o.origin.clone(), o.version.clone()))
        .collect()
}

fn known_of(object: &StateObject) -> HashMap<String, SourceVersion> {
    known_from(std::slice::from_ref(object))
}

fn none() -> HashMap<String, SourceVersion> {
    HashMap::new()
}

async fn fetch_one(
    fetcher: &Fetcher,
    spec: &StateSourceSpec,
    known: &HashMap<String, SourceVersion>,
) -> Result<StateObject, SourceError> {
    let mut objects = fetcher.fetch(spec, known).await?;
    assert_eq!(objects.len(), 1, "one state expected from {spec:?}");
    Ok(objects.remove(0))
}

/// Sets an environment variable for this test process. Each test uses its
/// own variable names, so no test reads a variable another one writes.
fn set_env(name: &str, value: &str) {
    // SAFETY: Rust's own env functions are serialised by std's lock; this
    // test binary calls no C code that reads the environment concurrently
    // (loopback IP addresses only, so no resolver).
    unsafe { std::env::set_var(name, value) };
}

/// Asserts that no message, debug form or origin of an error shows `secret`.
fn assert_no_secret(error: &SourceError, secret: &str) {
    let shown = format!("{error} {error:?} {:?}", error.origin());
    assert!(
        !shown.contains(secret),
        "the secret leaked into an error: {shown}"
    );
}

fn set_mtime(path: &Path, time: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

// ---------------------------------------------------------------------------
// files and globs

#[tokio::test]
async fn file_is_read_then_unchanged_then_read_again_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terraform.tfstate");
    let first = corpus_state("aws/aws-s3-versioning-sse-tf111.tfstate");
    std::fs::write(&path, &first).unwrap();
    let fetcher = Fetcher::new(FetchOptions::default());
    let spec = StateSourceSpec::File { path: path.clone() };

    let read = fetch_one(&fetcher, &spec, &none()).await.unwrap();
    assert_eq!(read.origin, path.display().to_string());
    assert_eq!(read.content.as_deref(), Some(&first[..]));
    let SourceVersion::File {
        len,
        serial,
        lineage,
        ..
    } = &read.version
    else {
        panic!("a file version, got {:?}", read.version);
    };
    assert_eq!(*len, first.len() as u64);
    assert_eq!(serial, &Some(5));
    assert_eq!(
        lineage.as_deref(),
        Some("9d417764-dbb3-482b-2a49-e82cd6255950")
    );

    let again = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(again.content, None, "an unchanged file is not read again");
    assert_eq!(again.version, read.version);

    // Another state (another length).
    let second = corpus_state("aws/aws-iam-role-tf012.tfstate");
    std::fs::write(&path, &second).unwrap();
    let changed = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(changed.content.as_deref(), Some(&second[..]));
    assert!(matches!(
        changed.version,
        SourceVersion::File {
            serial: Some(22),
            ..
        }
    ));

    // Same length, new mtime: read again (the length alone proves nothing).
    let mut same_len = second.clone();
    let at = same_len.iter().position(|&b| b == b'2').unwrap();
    same_len[at] = b'3';
    std::fs::write(&path, &same_len).unwrap();
    set_mtime(&path, SystemTime::now() + Duration::from_secs(5));
    let rewritten = fetch_one(&fetcher, &spec, &known_of(&changed))
        .await
        .unwrap();
    assert_eq!(rewritten.content.as_deref(), Some(&same_len[..]));
    assert_ne!(rewritten.version, changed.version);
}

#[tokio::test]
async fn missing_file_is_not_found_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope/terraform.tfstate");
    let fetcher = Fetcher::new(FetchOptions::default());
    let error = fetcher
        .fetch(&StateSourceSpec::File { path: path.clone() }, &none())
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");
    assert!(!error.is_transient());
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    let rest = message.replace(&path.display().to_string(), "");
    assert_eq!(rest, rest.to_lowercase(), "messages are lowercase");
}

#[tokio::test]
async fn a_file_that_is_not_a_json_object_still_returns_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(FetchOptions::default());
    for (name, content) in [
        ("garbage.tfstate", &b"this is { not json"[..]),
        ("array.tfstate", b"[1, 2, 3]"),
        (
            "wrong-types.tfstate",
            br#"{"serial": "7", "lineage": 12, "version": 4}"#,
        ),
        ("empty.tfstate", b""),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let read = fetch_one(&fetcher, &StateSourceSpec::File { path }, &none())
            .await
            .unwrap();
        assert_eq!(read.content.as_deref(), Some(content), "{name}");
        assert!(
            matches!(
                read.version,
                SourceVersion::File {
                    serial: None,
                    lineage: None,
                    ..
                }
            ),
            "{name}: {:?}",
            read.version
        );
    }
}

/// Every state in the corpus: the cheap top-level read agrees with a full parse.
#[tokio::test]
async fn serial_and_lineage_agree_with_a_full_parse_for_every_corpus_state() {
    let pattern = corpus_dir().join("terraform-state/**/*.tfstate*");
    let fetcher = Fetcher::new(FetchOptions::default());
    let objects = fetcher
        .fetch(
            &StateSourceSpec::Glob {
                pattern: pattern.display().to_string(),
            },
            &none(),
        )
        .await
        .unwrap();
    assert!(objects.len() >= 30, "only {} corpus states", objects.len());
    let mut with_serial = 0;
    for object in &objects {
        let content = object.content.as_ref().unwrap();
        let SourceVersion::File {
            serial, lineage, ..
        } = &object.version
        else {
            panic!("{}: {:?}", object.origin, object.version)
        };
        assert_eq!(
            (*serial, lineage.clone()),
            identity_by_full_parse(content),
            "{}",
            object.origin
        );
        with_serial += usize::from(serial.is_some());
    }
    assert!(with_serial >= 25, "only {with_serial} states with a serial");
}

#[tokio::test]
async fn glob_returns_every_regular_file_sorted_each_with_its_own_version() {
    let dir = tempfile::tempdir().unwrap();
    let states = dir.path().join("states");
    std::fs::create_dir_all(states.join("dir.tfstate")).unwrap(); // a directory that matches
    std::fs::write(
        states.join("b.tfstate"),
        corpus_state("aws/aws-iam-role-tf012.tfstate"),
    )
    .unwrap();
    std::fs::write(
        states.join("a.tfstate"),
        corpus_state("aws/aws-s3-versioning-sse-tf111.tfstate"),
    )
    .unwrap();
    std::fs::write(states.join("c.tfstate"), b"{}").unwrap();
    std::fs::write(states.join("notes.txt"), b"not a state").unwrap();
    let spec = StateSourceSpec::Glob {
        pattern: states.join("*.tfstate").display().to_string(),
    };
    let fetcher = Fetcher::new(FetchOptions::default());

    let objects = fetcher.fetch(&spec, &none()).await.unwrap();
    let names: Vec<PathBuf> = objects
        .iter()
        .map(|o| PathBuf::from(&o.origin).file_name().unwrap().into())
        .collect();
    assert_eq!(
        names,
        [
            Path::new("a.tfstate"),
            Path::new("b.tfstate"),
            Path::new("c.tfstate")
        ]
    );
    assert!(objects.iter().all(|o| o.content.is_some()));

    // Only b changes: a and c come back unchanged.
    std::fs::write(
        states.join("b.tfstate"),
        corpus_state("aws/aws-kong-vpc-sg-tf012.tfstate"),
    )
    .unwrap();
    let again = fetcher.fetch(&spec, &known_from(&objects)).await.unwrap();
    let read: Vec<bool> = again.iter().map(|o| o.content.is_some()).collect();
    assert_eq!(read, [false, true, false]);
}

#[tokio::test]
async fn glob_matching_nothing_is_an_error_naming_the_pattern() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("only-a-dir.tfstate")).unwrap();
    let pattern = dir.path().join("*.tfstate").display().to_string();
    let fetcher = Fetcher::new(FetchOptions::default());
    let error = fetcher
        .fetch(
            &StateSourceSpec::Glob {
                pattern: pattern.clone(),
            },
            &none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::GlobNoMatch { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(error.to_string().contains(&pattern), "{error}");

    let error = fetcher
        .fetch(
            &StateSourceSpec::Glob {
                pattern: "states/[oops".into(),
            },
            &none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::InvalidSource { .. }),
        "{error:?}"
    );
}

/// Versions are stored between scans: their serialised form is a format.
#[test]
fn versions_serialise_to_a_stable_tagged_form() {
    let versions = [
        (
            SourceVersion::File {
                len: 4464,
                mtime_ns: 1_700_000_000_123_456_789,
                serial: Some(5),
                lineage: Some("9d417764".into()),
            },
            r#"{"kind":"file","len":4464,"mtime_ns":1700000000123456789,"serial":5,"lineage":"9d417764"}"#,
        ),
        (
            SourceVersion::S3 {
                etag: Some("\"0f343b0931126a20f133d67c2b018a3b\"".into()),
                version_id: None,
            },
            r#"{"kind":"s3","etag":"\"0f343b0931126a20f133d67c2b018a3b\"","version_id":null}"#,
        ),
        (
            SourceVersion::Http {
                etag: None,
                sha256: "ab".repeat(32),
            },
            &format!(
                r#"{{"kind":"http","etag":null,"sha256":"{}"}}"#,
                "ab".repeat(32)
            ),
        ),
        (
            SourceVersion::Hcp {
                state_version_id: "sv-g4rqST72reoHMM5a".into(),
                serial: Some(9),
            },
            r#"{"kind":"hcp","state_version_id":"sv-g4rqST72reoHMM5a","serial":9}"#,
        ),
    ];
    for (version, json) in versions {
        assert_eq!(serde_json::to_string(&version).unwrap(), json);
        assert_eq!(
            serde_json::from_str::<SourceVersion>(json).unwrap(),
            version
        );
    }
}

// ---------------------------------------------------------------------------
// secrets

#[test]
fn secrets_come_from_env_files_and_systemd_credentials() {
    set_env("DRIFTD_TEST_SECRET_ENV", "env-secret-1");
    assert_eq!(
        resolve_secret(&SecretRef::Env("DRIFTD_TEST_SECRET_ENV".into())).unwrap(),
        "env-secret-1"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "file-secret-2\r\n\n").unwrap();
    assert_eq!(
        resolve_secret(&SecretRef::File(file)).unwrap(),
        "file-secret-2"
    );

    std::fs::write(dir.path().join("hcp-token"), "credential-secret-3\n").unwrap();
    set_env("CREDENTIALS_DIRECTORY", &dir.path().display().to_string());
    assert_eq!(
        resolve_secret(&SecretRef::Credential("hcp-token".into())).unwrap(),
        "credential-secret-3"
    );
    // One file name, never a path out of the directory.
    let error = resolve_secret(&SecretRef::Credential("../hcp-token".into())).unwrap_err();
    assert!(
        matches!(error, SourceError::MissingSecret { .. }),
        "{error:?}"
    );
}

#[test]
fn missing_secrets_name_where_they_were_looked_for_never_a_value() {
    let error = resolve_secret(&SecretRef::Env("DRIFTD_TEST_UNSET_VARIABLE".into())).unwrap_err();
    assert!(matches!(error, SourceError::MissingSecret { .. }));
    assert!(!error.is_transient());
    assert!(
        error.to_string().contains("DRIFTD_TEST_UNSET_VARIABLE"),
        "{error}"
    );
    assert!(error.to_string().contains("not set"), "{error}");

    set_env("DRIFTD_TEST_EMPTY_VARIABLE", "");
    let error = resolve_secret(&SecretRef::Env("DRIFTD_TEST_EMPTY_VARIABLE".into())).unwrap_err();
    assert!(error.to_string().contains("is empty"), "{error}");

    let error = resolve_secret(&SecretRef::File("/nonexistent/driftd/token".into())).unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/driftd/token"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// s3 (moto)

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, content: &[u8]) -> String {
    let output = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(content.to_vec().into())
        .send()
        .await
        .unwrap();
    output.version_id.unwrap_or_default()
}

fn s3_source(moto: &MotoServer, bucket: &str, key: &str) -> S3Source {
    S3Source {
        bucket: bucket.into(),
        key: key.into(),
        region: REGION.into(),
        version_id: None,
        endpoint_url: Some(moto.endpoint_url()),
        force_path_style: true,
        profile: None,
        role_arn: None,
    }
}

fn moto_fetcher() -> Fetcher {
    Fetcher::new(FetchOptions {
        aws_credentials: Some(MotoServer::credentials_provider()),
        ..FetchOptions::default()
    })
}

#[tokio::test]
async fn s3_state_is_read_then_unchanged_then_read_again_after_an_overwrite() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client().await;
    s3.create_bucket().bucket("tf-state").send().await.unwrap();
    let first = corpus_state("aws/aws-s3-versioning-sse-tf111.tfstate");
    put(&s3, "tf-state", "prod/network/terraform.tfstate", &first).await;
    let fetcher = moto_fetcher();
    let spec = StateSourceSpec::S3(s3_source(
        &moto,
        "tf-state",
        "prod/network/terraform.tfstate",
    ));

    let read = fetch_one(&fetcher, &spec, &none()).await.unwrap();
    assert_eq!(read.origin, "s3://tf-state/prod/network/terraform.tfstate");
    assert_eq!(read.content.as_deref(), Some(&first[..]));
    let SourceVersion::S3 {
        etag: Some(etag), ..
    } = &read.version
    else {
        panic!("an s3 version with an etag: {:?}", read.version);
    };
    assert!(!etag.is_empty());

    let again = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(again.content, None, "an unchanged object is not downloaded");
    assert_eq!(again.version, read.version);

    let second = corpus_state("aws/aws-kong-vpc-sg-tf012.tfstate");
    put(&s3, "tf-state", "prod/network/terraform.tfstate", &second).await;
    let changed = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(changed.content.as_deref(), Some(&second[..]));
    assert_ne!(changed.version, read.version);
}

#[tokio::test]
async fn s3_version_id_reads_that_version_of_a_versioned_bucket() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client().await;
    s3.create_bucket().bucket("versioned").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("versioned")
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let old = corpus_state("aws/aws-iam-role-tf012.tfstate");
    let new = corpus_state("aws/aws-rds-sensitive-tf19.tfstate");
    let old_version = put(&s3, "versioned", "terraform.tfstate", &old).await;
    let new_version = put(&s3, "versioned", "terraform.tfstate", &new).await;
    assert_ne!(old_version, new_version);
    let fetcher = moto_fetcher();

    let mut source = s3_source(&moto, "versioned", "terraform.tfstate");
    let latest = fetch_one(&fetcher, &StateSourceSpec::S3(source.clone()), &none())
        .await
        .unwrap();
    assert_eq!(latest.content.as_deref(), Some(&new[..]));

    source.version_id = Some(old_version.clone());
    let pinned = fetch_one(&fetcher, &StateSourceSpec::S3(source.clone()), &none())
        .await
        .unwrap();
    assert_eq!(
        pinned.origin,
        format!("s3://versioned/terraform.tfstate?versionId={old_version}")
    );
    assert_eq!(pinned.content.as_deref(), Some(&old[..]));
    assert!(matches!(
        &pinned.version,
        SourceVersion::S3 { version_id: Some(v), .. } if *v == old_version
    ));
    let again = fetch_one(&fetcher, &StateSourceSpec::S3(source), &known_of(&pinned))
        .await
        .unwrap();
    assert_eq!(again.content, None);
}

#[tokio::test]
async fn s3_missing_key_bucket_or_version_is_not_found() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client().await;
    s3.create_bucket().bucket("tf-state").send().await.unwrap();
    put(&s3, "tf-state", "present.tfstate", b"{}").await;
    let fetcher = moto_fetcher();

    let missing_key = StateSourceSpec::S3(s3_source(&moto, "tf-state", "absent.tfstate"));
    let error = fetcher.fetch(&missing_key, &none()).await.unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");
    assert!(!error.is_transient());
    let message = error.to_string();
    assert!(
        message.contains("s3://tf-state/absent.tfstate"),
        "{message}"
    );
    assert!(message.contains("NoSuchKey"), "{message}");

    let missing_bucket = StateSourceSpec::S3(s3_source(&moto, "no-such-bucket", "x.tfstate"));
    let error = fetcher.fetch(&missing_bucket, &none()).await.unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");
    assert!(
        error.to_string().contains("no bucket no-such-bucket"),
        "{error}"
    );

    let mut missing_version = s3_source(&moto, "tf-state", "present.tfstate");
    missing_version.version_id = Some("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY".into());
    let error = fetcher
        .fetch(&StateSourceSpec::S3(missing_version), &none())
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn s3_unknown_access_key_is_access_denied() {
    // moto checks credentials when told to; its first two requests (the
    // setup below) are let through unauthenticated.
    let moto = MotoServer::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "2")]);
    let s3 = moto.s3_client().await;
    s3.create_bucket().bucket("locked").send().await.unwrap();
    put(&s3, "locked", "terraform.tfstate", b"{}").await;
    let fetcher = moto_fetcher();
    let error = fetcher
        .fetch(
            &StateSourceSpec::S3(s3_source(&moto, "locked", "terraform.tfstate")),
            &none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::AccessDenied { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(error.to_string().contains("InvalidAccessKeyId"), "{error}");
    assert!(
        error.to_string().contains("credentials were rejected"),
        "{error}"
    );
}

#[tokio::test]
async fn s3_profile_and_role_are_used() {
    let moto = MotoServer::start();
    let s3 = moto.s3_client().await;
    s3.create_bucket().bucket("tf-state").send().await.unwrap();
    let state = corpus_state("aws/aws-iam-role-tf012.tfstate");
    put(&s3, "tf-state", "terraform.tfstate", &state).await;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[profile driftd-reader]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    #[allow(deprecated)]
    let files = aws_config::profile::profile_file::ProfileFiles::builder()
        .with_file(
            aws_config::profile::profile_file::ProfileFileKind::Config,
            &config,
        )
        .build();
    // No base credentials: only the profile can make this work.
    let fetcher = Fetcher::new(FetchOptions {
        aws_profile_files: Some(files),
        ..FetchOptions::default()
    });
    let mut source = s3_source(&moto, "tf-state", "terraform.tfstate");
    source.profile = Some("driftd-reader".into());
    let read = fetch_one(&fetcher, &StateSourceSpec::S3(source.clone()), &none())
        .await
        .unwrap();
    assert_eq!(read.content.as_deref(), Some(&state[..]));

    // The role is assumed through STS (moto's) with the profile as the base,
    // once: the credentials are cached with the config for later fetches.
    let role = format!(
        "arn:aws:iam::{}:role/driftd-read",
        crate::support::moto::ACCOUNT_ID
    );
    source.role_arn = Some(role.clone());
    for _ in 0..2 {
        let read = fetch_one(&fetcher, &StateSourceSpec::S3(source.clone()), &none())
            .await
            .unwrap();
        assert_eq!(read.content.as_deref(), Some(&state[..]));
    }
    let data = moto.backend_data().await;
    let assumed = data["sts"]["AssumedRole"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert_eq!(assumed[0]["role_arn"], role.as_str());
    assert_eq!(assumed[0]["session_name"], "driftd");

    source.role_arn = None;
    source.profile = Some("no-such-profile".into());
    let error = fetcher
        .fetch(&StateSourceSpec::S3(source), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::AwsCredentials { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(error.to_string().contains("no-such-profile"), "{error}");
}

// ---------------------------------------------------------------------------
// terraform's http backend

fn http_source(url: String) -> HttpSource {
    HttpSource {
        url,
        username: None,
        password: None,
        headers: Vec::new(),
        skip_tls_verify: false,
    }
}

#[tokio::test]
async fn http_backend_with_basic_auth_and_header_then_unchanged_by_etag() {
    let server = HttpBackend::start().await;
    let state = corpus_state("aws/aws-ec2-sg-vpc-module.tfstate");
    server.set_state(Some(state.clone()));
    server.require_basic_auth("terraform", "pa55-HTTP-secret-9f3");
    server.require_header("x-tenant", "platform");
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "pa55-HTTP-secret-9f3\n").unwrap();
    let mut source = http_source(server.url("/state/prod"));
    source.username = Some("terraform".into());
    source.password = Some(SecretRef::File(password_file));
    source.headers = vec![("X-Tenant".into(), SecretOrPlain::Plain("platform".into()))];
    let spec = StateSourceSpec::Http(source);
    let fetcher = Fetcher::new(FetchOptions::default());

    let read = fetch_one(&fetcher, &spec, &none()).await.unwrap();
    assert_eq!(read.origin, server.url("/state/prod"));
    assert_eq!(read.content.as_deref(), Some(&state[..]));
    let etag = HttpBackend::etag_of(&state);
    assert!(matches!(&read.version, SourceVersion::Http { etag: Some(e), .. } if *e == etag));

    let again = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(again.content, None);
    assert_eq!(again.version, read.version);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/state/prod");
    let basic = format!("Basic {}", base64(b"terraform:pa55-HTTP-secret-9f3"));
    assert_eq!(seen[0].authorization.as_deref(), Some(basic.as_str()));
    assert_eq!(seen[0].if_none_match, None);
    assert_eq!(seen[1].if_none_match.as_deref(), Some(etag.as_str()));

    // A new state behind the same URL.
    let new = corpus_state("aws/aws-kong-vpc-sg-tf012.tfstate");
    server.set_state(Some(new.clone()));
    let changed = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(changed.content.as_deref(), Some(&new[..]));
}

#[tokio::test]
async fn http_backend_rejecting_the_credentials_is_access_denied_without_the_secret() {
    let secret = "wrong-PASSWORD-7c1e-do-not-print";
    set_env("DRIFTD_TEST_HTTP_PASSWORD", secret);
    set_env("DRIFTD_TEST_HTTP_HEADER", "header-SECRET-value-44ab");
    let server = HttpBackend::start().await;
    server.set_state(Some(b"{}".to_vec()));
    server.require_basic_auth("terraform", "the-right-one");
    let mut source = http_source(server.url("/state"));
    source.username = Some("terraform".into());
    source.password = Some(SecretRef::Env("DRIFTD_TEST_HTTP_PASSWORD".into()));
    source.headers = vec![(
        "X-Api-Key".into(),
        SecretOrPlain::Secret(SecretRef::Env("DRIFTD_TEST_HTTP_HEADER".into())),
    )];
    let fetcher = Fetcher::new(FetchOptions::default());
    let error = fetcher
        .fetch(&StateSourceSpec::Http(source.clone()), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::AccessDenied { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_no_secret(&error, secret);
    assert_no_secret(&error, "header-SECRET-value-44ab");
    // The secret header was sent as configured.
    let seen = server.seen();
    assert_eq!(
        seen[0].headers.get("x-api-key").unwrap(),
        "header-SECRET-value-44ab"
    );

    // Right password, required header missing: refused too.
    server.require_header("x-tenant", "platform");
    set_env("DRIFTD_TEST_HTTP_PASSWORD", "the-right-one");
    let error = fetcher
        .fetch(&StateSourceSpec::Http(source.clone()), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::AccessDenied { .. }),
        "{error:?}"
    );

    // An unset variable: named, and nothing is sent.
    let requests = server.seen().len();
    source.password = Some(SecretRef::Env("DRIFTD_TEST_HTTP_UNSET".into()));
    let error = fetcher
        .fetch(&StateSourceSpec::Http(source), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::MissingSecret { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("DRIFTD_TEST_HTTP_UNSET"), "{message}");
    assert!(message.contains(&server.url("/state")), "{message}");
    assert_eq!(server.seen().len(), requests);
}

#[tokio::test]
async fn http_backend_without_etag_is_unchanged_by_content_hash() {
    let server = HttpBackend::start().await;
    server.set_send_etag(false);
    let state = corpus_state("aws/aws-rds-modules-tf012.tfstate");
    server.set_state(Some(state.clone()));
    let spec = StateSourceSpec::Http(http_source(server.url("/tfstate")));
    let fetcher = Fetcher::new(FetchOptions::default());

    let read = fetch_one(&fetcher, &spec, &none()).await.unwrap();
    assert_eq!(read.content.as_deref(), Some(&state[..]));
    let SourceVersion::Http { etag: None, sha256 } = &read.version else {
        panic!("{:?}", read.version)
    };
    assert_eq!(sha256.len(), 64);

    let again = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(again.content, None);
    assert_eq!(again.version, read.version);
    assert!(server.seen().iter().all(|r| r.if_none_match.is_none()));

    server.set_state(Some(b"{\"version\": 4, \"serial\": 99}".to_vec()));
    let changed = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert!(changed.content.is_some());
}

#[tokio::test]
async fn http_backend_statuses_map_to_error_kinds() {
    let server = HttpBackend::start().await;
    let spec = StateSourceSpec::Http(http_source(server.url("/none")));
    let fetcher = Fetcher::new(FetchOptions::default());

    let error = fetcher.fetch(&spec, &none()).await.unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");
    assert!(!error.is_transient());

    server.fail_with(StatusCode::SERVICE_UNAVAILABLE);
    let error = fetcher.fetch(&spec, &none()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::HttpStatus { status: 503, .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert!(error.to_string().contains("bad day"), "{error}");

    server.fail_with(StatusCode::IM_A_TEAPOT);
    let error = fetcher.fetch(&spec, &none()).await.unwrap_err();
    assert!(!error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn http_unreachable_port_is_transient() {
    let port = free_port();
    let fetcher = Fetcher::new(FetchOptions::default());
    let error = fetcher
        .fetch(
            &StateSourceSpec::Http(http_source(format!("http://127.0.0.1:{port}/state"))),
            &none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[tokio::test]
async fn http_server_slower_than_the_timeout_times_out() {
    let server = HttpBackend::start().await;
    server.set_state(Some(b"{}".to_vec()));
    server.set_delay(Duration::from_secs(3));
    let fetcher = Fetcher::new(FetchOptions {
        timeout: Duration::from_millis(300),
        ..FetchOptions::default()
    });
    let started = Instant::now();
    let error = fetcher
        .fetch(
            &StateSourceSpec::Http(http_source(server.url("/slow"))),
            &none(),
        )
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, SourceError::Timeout { .. }), "{error:?}");
    assert!(error.is_transient());
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn credentials_in_a_url_stay_out_of_the_origin_and_errors() {
    let server = HttpBackend::start().await;
    server.require_basic_auth("ops", "url-PASSWORD-31f");
    server.set_state(Some(b"{}".to_vec()));
    let url = server
        .url("/state?workspace=prod&access_token=query-TOKEN-77")
        .replace("http://", "http://ops:url-PASSWORD-31f@");
    let fetcher = Fetcher::new(FetchOptions::default());
    let read = fetch_one(
        &fetcher,
        &StateSourceSpec::Http(http_source(url.clone())),
        &none(),
    )
    .await
    .unwrap();
    assert!(!read.origin.contains("url-PASSWORD-31f"), "{}", read.origin);
    assert!(!read.origin.contains("query-TOKEN-77"), "{}", read.origin);
    assert!(read.origin.contains("workspace=prod"), "{}", read.origin);

    server.fail_with(StatusCode::INTERNAL_SERVER_ERROR);
    let error = fetcher
        .fetch(&StateSourceSpec::Http(http_source(url)), &none())
        .await
        .unwrap_err();
    assert_no_secret(&error, "url-PASSWORD-31f");
    assert_no_secret(&error, "query-TOKEN-77");
}

#[tokio::test]
async fn http_redirect_to_another_origin_is_not_followed() {
    let elsewhere = HttpBackend::start().await;
    elsewhere.set_state(Some(b"{}".to_vec()));
    let server = HttpBackend::start().await;
    server.redirect_to(&elsewhere.url("/stolen"));
    set_env("DRIFTD_TEST_REDIRECT_HEADER", "redirect-SECRET-5d");
    let mut source = http_source(server.url("/state"));
    source.headers = vec![(
        "X-Api-Key".into(),
        SecretOrPlain::Secret(SecretRef::Env("DRIFTD_TEST_REDIRECT_HEADER".into())),
    )];
    let fetcher = Fetcher::new(FetchOptions::default());
    let error = fetcher
        .fetch(&StateSourceSpec::Http(source), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::InvalidResponse { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("not followed"), "{error}");
    assert!(
        elsewhere.seen().is_empty(),
        "the other origin got a request"
    );
}

// ---------------------------------------------------------------------------
// hcp terraform / terraform enterprise

const HCP_TOKEN: &str = "hcp-TOKEN-a9b8c7.atlasv1.do-not-print";

fn hcp_source(hcp: &HcpEmulator, workspace: &str, token_variable: &str) -> HcpSource {
    HcpSource {
        address: hcp.address(),
        organization: "acme".into(),
        workspace: workspace.into(),
        token: SecretRef::Env(token_variable.into()),
    }
}

#[tokio::test]
async fn hcp_current_state_version_is_read_then_unchanged_then_read_again() {
    set_env("DRIFTD_TEST_HCP_TOKEN", HCP_TOKEN);
    let hcp = HcpEmulator::start("acme", HCP_TOKEN).await;
    hcp.add_workspace("prod-network");
    let first = corpus_state("aws/aws-ec2-sg-vpc-module.tfstate");
    let first_id = hcp.push_state("prod-network", 4, first.clone());
    let spec = StateSourceSpec::Hcp(hcp_source(&hcp, "prod-network", "DRIFTD_TEST_HCP_TOKEN"));
    let fetcher = Fetcher::new(FetchOptions::default());

    let read = fetch_one(&fetcher, &spec, &none()).await.unwrap();
    let host = hcp.address().trim_start_matches("http://").to_owned();
    assert_eq!(read.origin, format!("hcp://{host}/acme/prod-network"));
    assert_eq!(read.content.as_deref(), Some(&first[..]));
    assert_eq!(
        read.version,
        SourceVersion::Hcp {
            state_version_id: first_id,
            serial: Some(4)
        }
    );
    assert_eq!(hcp.downloads(), 1);
    // The token went with every request to the API's own host.
    assert!(
        hcp.seen()
            .iter()
            .all(|r| r.authorization.as_deref() == Some(&format!("Bearer {HCP_TOKEN}")[..]))
    );

    let again = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(again.content, None);
    assert_eq!(again.version, read.version);
    assert_eq!(
        hcp.downloads(),
        1,
        "an unchanged state version is not downloaded"
    );

    let second = corpus_state("aws/aws-kong-vpc-sg-tf012.tfstate");
    let second_id = hcp.push_state("prod-network", 5, second.clone());
    let changed = fetch_one(&fetcher, &spec, &known_of(&read)).await.unwrap();
    assert_eq!(changed.content.as_deref(), Some(&second[..]));
    assert_eq!(
        changed.version,
        SourceVersion::Hcp {
            state_version_id: second_id,
            serial: Some(5)
        }
    );
}

#[tokio::test]
async fn hcp_wrong_token_unknown_workspace_and_no_state_are_told_apart() {
    set_env("DRIFTD_TEST_HCP_TOKEN_GOOD", HCP_TOKEN);
    set_env(
        "DRIFTD_TEST_HCP_TOKEN_BAD",
        "hcp-WRONG-token-5e6f.atlasv1.x",
    );
    let hcp = HcpEmulator::start("acme", HCP_TOKEN).await;
    hcp.add_workspace("prod-network");
    hcp.push_state("prod-network", 1, b"{}".to_vec());
    hcp.add_workspace("fresh");
    let fetcher = Fetcher::new(FetchOptions::default());

    let wrong = StateSourceSpec::Hcp(hcp_source(
        &hcp,
        "prod-network",
        "DRIFTD_TEST_HCP_TOKEN_BAD",
    ));
    let error = fetcher.fetch(&wrong, &none()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::AccessDenied { .. }),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert_no_secret(&error, "hcp-WRONG-token-5e6f");
    assert_no_secret(&error, HCP_TOKEN);

    let unknown = StateSourceSpec::Hcp(hcp_source(&hcp, "nope", "DRIFTD_TEST_HCP_TOKEN_GOOD"));
    let error = fetcher.fetch(&unknown, &none()).await.unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("\"nope\"") && message.contains("\"acme\""),
        "{message}"
    );
    assert!(message.contains("no access"), "{message}");
    assert_no_secret(&error, HCP_TOKEN);

    let mut other_org = hcp_source(&hcp, "prod-network", "DRIFTD_TEST_HCP_TOKEN_GOOD");
    other_org.organization = "globex".into();
    let error = fetcher
        .fetch(&StateSourceSpec::Hcp(other_org), &none())
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::NotFound { .. }), "{error:?}");

    let fresh = StateSourceSpec::Hcp(hcp_source(&hcp, "fresh", "DRIFTD_TEST_HCP_TOKEN_GOOD"));
    let error = fetcher.fetch(&fresh, &none()).await.unwrap_err();
    assert!(matches!(error, SourceError::HcpNoState { .. }), "{error:?}");
    assert!(!error.is_transient());
    assert!(error.to_string().contains("/acme/fresh"), "{error}");
}

#[tokio::test]
async fn hcp_token_is_not_sent_to_a_download_host_of_another_origin() {
    set_env("DRIFTD_TEST_HCP_TOKEN_ARCHIVIST", HCP_TOKEN);
    let hcp = HcpEmulator::start_with_external_archivist("acme", HCP_TOKEN).await;
    hcp.add_workspace("prod");
    let state = corpus_state("aws/aws-s3-cloudfront-tf111.tfstate");
    hcp.push_state("prod", 12, state.clone());
    let fetcher = Fetcher::new(FetchOptions::default());
    let read = fetch_one(
        &fetcher,
        &StateSourceSpec::Hcp(hcp_source(&hcp, "prod", "DRIFTD_TEST_HCP_TOKEN_ARCHIVIST")),
        &none(),
    )
    .await
    .unwrap();
    assert_eq!(read.content.as_deref(), Some(&state[..]));
    let seen = hcp.seen();
    let download = seen
        .iter()
        .find(|r| r.path.starts_with("/_archivist/"))
        .expect("a download");
    assert_ne!(download.host, hcp.address().trim_start_matches("http://"));
    assert_eq!(download.authorization, None, "the token left its origin");
}
