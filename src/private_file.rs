//! Files only their owner may read: the database and exports hold members'
//! answers.

use std::fs::File;
use std::io;
use std::path::Path;

/// Create `path` for writing with mode 0600 (owner only, on Unix).
///
/// # Errors
/// `AlreadyExists` when a file is there (it is never truncated), or whatever
/// else opening for writing fails with.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    open.open(path)
}
