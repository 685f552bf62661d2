fn main() -> std::process::ExitCode {
    portico::cli::main()
}
