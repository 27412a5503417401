use std::process::ExitCode;

use clap::Parser;

/// The bot waits on Discord and SQLite (which runs on its own connection
/// threads), so two workers are plenty; tokio's default of one per core would
/// add threads and allocator arenas on a large host for nothing.
const WORKER_THREADS: usize = 2;
/// Chart rendering runs on the blocking pool. tokio allows 512 threads there:
/// a burst of 200 `/progress` drew 200 charts at once, each thread with its
/// own stack and allocator arena, and the memory stayed (benches/load.rs).
const BLOCKING_THREADS: usize = 4;

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        // A .env file fills in what the real environment does not set; before
        // anything reads the environment (RUST_LOG, then config::Sources).
        trellis::config::load_dotenv();
        trellis::telemetry::init();
        trellis::cli::main(trellis::cli::Cli::parse()).await
    })
}
