//! Handing freed memory back to the system between the stages of a command.
//!
//! `plan` and `apply` free the typed configuration and its source map (on 50,000
//! members, millions of small pieces, a third of the heap) before they fetch the
//! account. glibc keeps what is freed in the arena of the thread that allocated it,
//! and the loader and the rules ran on threads of their own, while the fetch and the
//! diff run on the runtime's workers, which allocate from other arenas: the freed
//! memory stays resident beside the new. Trimming between the stages (in `plan` and
//! `apply` after the configuration is freed, and in [`crate::pipeline`] after the
//! fetch of every command, whose reading leaves its buffers behind) returns it: on
//! 50,000 members with teams, `plan`'s peak went from 277 MB to 225 MB, that of
//! `validate` (BENCHMARKS.md, "## plan memory after trimming"), and `apply`'s from
//! 331 MB to 257-260 MB.

/// Returns the free memory of every allocator arena to the system (glibc only; a
/// no-op elsewhere, where allocators differ).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory no allocation holds; it is safe to
    // call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
