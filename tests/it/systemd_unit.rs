//! The systemd unit, systemd/driftd.service, as systemd itself judges it:
//! `systemd-analyze verify` has nothing to say about it, and
//! `systemd-analyze security` rates its exposure 2.0 or lower ("OK"), with
//! exactly the exposures the unit accepts on purpose.
//!
//! Both run on a copy whose /usr/bin/driftd is this build's binary: verify
//! checks that every Exec*= binary exists. No systemd needs to be running.

use std::path::{Path, PathBuf};
use std::process::Command;

const UNIT: &str = "systemd/driftd.service";
const INSTALLED_BINARY: &str = "/usr/bin/driftd";

/// What README.md's "Running as a service" section says; the test keeps it true.
const README_FIGURE: &str = "1.1";

/// What `systemd-analyze security` still counts against the unit, and why
/// each stays. Anything else it flags is a hardening directive lost.
const ACCEPTED_EXPOSURES: &[(&str, &str)] = &[
    (
        "RootDirectory=/RootImage=",
        "runs in the host's root: it is one static binary, but a chroot image is the packager's job",
    ),
    (
        "RestrictAddressFamilies=~AF_UNIX",
        "sd_notify and the journal are AF_UNIX sockets",
    ),
    (
        "RestrictAddressFamilies=~AF_(INET|INET6)",
        "it calls cloud APIs and serves HTTP on localhost",
    ),
    (
        "PrivateNetwork=",
        "it needs the host's network to reach AWS",
    ),
    (
        "IPAddressDeny=",
        "cloud endpoints can be anywhere: no address allow-list fits",
    ),
    (
        "DeviceAllow=",
        "ProtectClock= itself adds a read-only rtc rule; there is nothing to remove",
    ),
];

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The unit with `extra` appended to [Service], and this build's binary
/// in place of /usr/bin/driftd, written into `dir`.
fn unit_copy(dir: &Path, extra: &str) -> PathBuf {
    let unit = std::fs::read_to_string(repo_file(UNIT)).unwrap();
    assert_eq!(
        unit.matches(INSTALLED_BINARY).count(),
        3,
        "ExecStartPre, ExecStart and the first ExecReload run {INSTALLED_BINARY}"
    );
    let unit = unit
        .replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_driftd"))
        .replace("[Install]", &format!("{extra}\n[Install]"));
    let path = dir.join("driftd.service");
    std::fs::write(&path, unit).unwrap();
    path
}

fn systemd_analyze(args: &[&str], manpath: Option<&Path>) -> std::process::Output {
    let mut command = Command::new("systemd-analyze");
    command
        .args(args)
        .env("SYSTEMD_PAGER", "")
        .env("LC_ALL", "C.UTF-8");
    if let Some(manpath) = manpath {
        command.env("MANPATH", manpath);
    }
    command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run systemd-analyze ({e}): install systemd (Debian: apt-get install systemd)"
        )
    })
}

/// Everything `systemd-analyze verify` says about the unit with `extra`
/// added: empty when it is clean. verify exits 0 on unknown keys and bad
/// values, which it only warns about on stderr, so any output at all is a
/// problem.
///
/// Documentation=man:driftd(1) is checked for real: MANPATH points at the
/// man pages this build renders (`driftd generate man`), which the package
/// installs into /usr/share/man/man1.
fn verify(extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path(), extra);
    let man1 = dir.path().join("man/man1");
    let generated = Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["generate", "man"])
        .arg(&man1)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");

    let out = systemd_analyze(
        &["verify", unit.to_str().unwrap()],
        Some(&dir.path().join("man")),
    );
    let mut said = String::from_utf8_lossy(&out.stderr).into_owned();
    said.push_str(&String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        said.push_str(&format!("\n(exit status {})", out.status));
    }
    said
}

#[test]
fn systemd_analyze_verify_has_nothing_to_say() {
    let said = verify("");
    assert!(
        said.trim().is_empty(),
        "systemd-analyze verify {UNIT}:\n{said}"
    );
}

/// The check above can fail: a typo'd key, which verify exits 0 on, and a
/// bad mode are both reported.
#[test]
fn systemd_analyze_verify_catches_what_it_only_warns_about() {
    let said = verify("ProtectHomes=yes\nUMask=0999\n");
    assert!(
        said.contains("Unknown key 'ProtectHomes'") && said.contains("0999"),
        "{said}"
    );
}

#[test]
fn systemd_analyze_security_rates_the_unit_ok() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_copy(dir.path(), "");
    let out = systemd_analyze(
        &[
            "security",
            "--offline=yes",
            "--no-pager",
            unit.to_str().unwrap(),
        ],
        None,
    );
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "systemd-analyze security: {out:?}\n{report}"
    );

    // "→ Overall exposure level for driftd.service: 1.1 OK 🙂"
    let overall = report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for driftd.service: "))
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{report}"));
    let mut words = overall.split_whitespace();
    let figure = words.next().unwrap_or_default().to_owned();
    let level: f64 = figure
        .parse()
        .unwrap_or_else(|e| panic!("exposure level {figure:?}: {e}\n{report}"));
    assert!(
        level <= 2.0 && words.next() == Some("OK"),
        "exposure {overall} is above 2.0 (OK):\n{report}"
    );

    // Every ✗ line is an exposure the unit accepts on purpose.
    let flagged: Vec<&str> = report
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('✗'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let unexpected: Vec<&&str> = flagged
        .iter()
        .filter(|name| {
            !ACCEPTED_EXPOSURES
                .iter()
                .any(|(accepted, _)| accepted == *name)
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "systemd-analyze security flags {unexpected:?}, which the unit should set (or \
         ACCEPTED_EXPOSURES should explain):\n{report}"
    );

    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    assert!(
        figure == README_FIGURE && readme.contains(&format!("exposure level {figure} (OK)")),
        "measured {figure}, README_FIGURE is {README_FIGURE}: put the measured figure in \
         README.md (\"Running as a service\") and here"
    );
}
