//! `driftd generate`: the man pages and shell completions, rendered from the
//! clap definition itself so they always say what `--help` says. Hidden from
//! help: scripts/build-deb runs it to put them in the Debian package.

use super::Cli;
use anyhow::Context;
use clap::{CommandFactory, Subcommand};
use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write driftd.1 and one page per subcommand (driftd-validate.1,
    /// driftd-findings-list.1, ...) into DIR.
    Man {
        /// The directory to write into (created if missing).
        dir: PathBuf,
    },
    /// Write bash (driftd.bash), zsh (_driftd) and fish (driftd.fish)
    /// completions into DIR.
    Completions {
        /// The directory to write into (created if missing).
        dir: PathBuf,
    },
}

/// The shells completions are written for, each file named as the shell's
/// convention wants (clap_complete's `file_name`).
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

pub fn run(command: GenerateCommand) -> anyhow::Result<ExitCode> {
    let written = match command {
        GenerateCommand::Man { dir } => man(&dir)?,
        GenerateCommand::Completions { dir } => completions(&dir)?,
    };
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Renders every page (hidden subcommands get none) and returns the pages in `dir`.
fn man(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create_dir(dir)?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    // clap_mangen does not say what it wrote: list the pages in DIR (which
    // scripts/build-deb empties first, so no stale page is packaged).
    pages_in(dir)
}

fn pages_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    let mut pages = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "1") {
            pages.push(path);
        }
    }
    pages.sort();
    Ok(pages)
}

fn completions(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let mut command = without_hidden_subcommands(Cli::command());
    SHELLS
        .into_iter()
        .map(|shell| {
            clap_complete::generate_to(shell, &mut command, "driftd", dir).with_context(|| {
                format!(
                    "cannot write the {shell} completions into {}",
                    dir.display()
                )
            })
        })
        .collect()
}

/// The command line less its hidden subcommands (`generate` itself), which
/// clap_complete would otherwise offer for completion; clap_mangen already
/// leaves them out.
fn without_hidden_subcommands(full: clap::Command) -> clap::Command {
    clap::Command::new("driftd")
        .version(env!("CARGO_PKG_VERSION"))
        .args(full.get_arguments().cloned())
        .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
        .subcommand_required(full.is_subcommand_required_set())
}
