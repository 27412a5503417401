use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    // A .env file fills in what the real environment does not set.
    let _ = dotenvy::dotenv();
    trellis::telemetry::init();
    trellis::cli::main(trellis::cli::Cli::parse()).await
}
