fn main() -> std::process::ExitCode {
    lugc::run()
}
