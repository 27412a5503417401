use std::process::ExitCode;

use clap::Parser;

/// The bot waits on Discord and SQLite (which runs on its own connection
/// threads), so two workers are plenty; tokio's default of one per core would
/// add threads and allocator arenas on a large host for nothing.
const WORKER_THREADS: usize = 2;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(WORKER_THREADS).enable_all().build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // A .env file fills in what the real environment does not set.
        let _ = dotenvy::dotenv();
        trellis::telemetry::init();
        trellis::cli::main(trellis::cli::Cli::parse()).await
    })
}
