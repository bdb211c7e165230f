//! Giving freed memory back to the kernel once the daemon is idle.
//!
//! A scan allocates tens of megabytes (SDK responses, the live inventory,
//! the diff) and frees them when it ends. glibc's allocator keeps freed
//! pages in its per-thread arenas for reuse, so without a trim a daemon
//! that scanned once an hour ago still holds the scan's peak. Measured in
//! `benches/daemon.rs` (BENCHMARKS.md, "Daemon").

/// Returns the allocator's free pages to the kernel (`malloc_trim(0)`).
/// Cheap when there is nothing to give back; a no-op off glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own
    // arenas, each under its own lock; it is safe to call from any thread
    // at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
