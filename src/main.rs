//! The `bootforge` binary: parse arguments, run, exit with 0 (done), 1 (the
//! work failed) or 2 (bad usage or input).

fn main() -> std::process::ExitCode {
    bootforge::cli::main()
}
