use std::process::ExitCode;

fn main() -> ExitCode {
    flawprobe::cli::main()
}
