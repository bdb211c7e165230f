//! The driftd binary: parses arguments, sets up logging, runs a command,
//! maps the outcome to an exit code. Everything else is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    driftd::cli::main()
}
