//! `ferryctl`: the operator CLI of the Ferry mesh.

fn main() -> std::process::ExitCode {
    ferry::cli::main()
}
