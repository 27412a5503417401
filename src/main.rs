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
    ignore_file_size_signal();
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

/// A write past the process's file-size limit (`ulimit -f`, a container's
/// quota) raises SIGXFSZ, whose default is to kill the process with a core
/// dump. Ignored, the write fails with EFBIG instead: the database reports
/// it like a full disk, the member hears "nothing was saved", and Trellis
/// goes on and heals once the limit allows writes again.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN, before any other
    // thread exists; no handler runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
