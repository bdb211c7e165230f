//! `driftd generate` (hidden): the man pages and shell completions the
//! Debian package ships, rendered from the CLI definition.

use std::path::Path;
use std::process::Command;

fn generate(what: &str, dir: &Path) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_driftd"))
        .args(["generate", what])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "driftd generate {what}: {out:?}");
    // It prints the path of every file it wrote, one a line.
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn read(path: &Path) -> String {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
    assert!(!text.is_empty(), "{} is empty", path.display());
    text
}

#[test]
fn man_pages_for_driftd_and_each_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let printed = generate("man", dir.path());

    let main = read(&dir.path().join("driftd.1"));
    assert!(main.contains(".TH driftd 1"), "{main}");
    for sub in ["validate", "scan", "findings", "outbox"] {
        assert!(
            main.contains(&format!("driftd\\-{sub}(1)")),
            "driftd.1 lists {sub}:\n{main}"
        );
    }
    for page in [
        "driftd-validate.1",
        "driftd-findings-list.1",
        "driftd-outbox-retry.1",
    ] {
        read(&dir.path().join(page));
        assert!(printed.iter().any(|p| p.ends_with(page)), "{printed:?}");
    }
    let validate = read(&dir.path().join("driftd-validate.1"));
    assert!(validate.contains("\\-\\-config"), "{validate}");

    // The hidden command documents nobody.
    assert!(!main.contains("generate"), "{main}");
    assert!(!dir.path().join("driftd-generate.1").exists());
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let printed = generate("completions", dir.path());
    assert_eq!(printed.len(), 3, "{printed:?}");

    // (file, what marks that shell's script, how it spells the --config option)
    for (file, shell_marker, config_option) in [
        ("driftd.bash", "complete -F", "--config"),
        ("_driftd", "#compdef driftd", "'--config=["),
        ("driftd.fish", "complete -c driftd", "-l config"),
    ] {
        let text = read(&dir.path().join(file));
        assert!(
            text.contains(shell_marker),
            "{file} is not a {shell_marker} script"
        );
        for word in ["validate", "findings", "snooze", config_option] {
            assert!(text.contains(word), "{file} does not complete {word}");
        }
        assert!(
            !text.contains("generate"),
            "{file} offers the hidden generate command"
        );
    }
}
