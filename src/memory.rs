//! Giving memory back to the operating system after a burst.
//!
//! glibc's allocator keeps what a burst freed (connection buffers, decoded
//! events, chart bitmaps) in its arenas for reuse: the bot's resident memory
//! stayed at its peak long after a burst of 1,000 submits
//! (docs/benchmarks.md). `malloc_trim` returns the free pages of every arena
//! to the kernel; it is cheap when there is little to return, so it simply
//! runs every [`TRIM_EVERY`].

use std::time::Duration;

/// How often free memory is returned. After a burst, idle HTTP connections
/// close within 10 s (`startup::IDLE_TIMEOUT`); the next trim returns their
/// memory.
pub const TRIM_EVERY: Duration = Duration::from_secs(15);

/// Runs [`trim`] every [`TRIM_EVERY`] on the blocking pool, until the
/// runtime stops.
pub fn spawn_trimmer() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut every = tokio::time::interval(TRIM_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        loop {
            every.tick().await;
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    })
}

/// Returns the allocator's free memory to the kernel. True when some was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn trim() -> bool {
    unsafe extern "C" {
        /// glibc, <malloc.h>: `int malloc_trim(size_t pad)`; 1 if memory was released.
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks each arena).
    unsafe { malloc_trim(0) == 1 }
}

/// Other allocators (musl, macOS) have no such call; nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// Free chunks between live ones: what a burst leaves behind, and what
    /// glibc keeps unless it is trimmed.
    #[test]
    fn freed_memory_between_live_allocations_is_returned() {
        let mut chunks: Vec<Option<Vec<u8>>> = (0..512).map(|i| Some(vec![i as u8; 64 * 1024])).collect();
        for chunk in chunks.iter_mut().step_by(2) {
            *chunk = None;
        }
        assert!(super::trim(), "16 MB freed in 64 KB holes: some pages go back");
        assert_eq!(chunks.iter().flatten().count(), 256);
    }
}
