//! The log file of final exercise 2, opened safely and with every write error reported.
//!
//! Workers format into their own byte buffers and hand a whole batch over at once (one write
//! per batch, not per datagram); the lines are written in large blocks. The file is opened
//! with `O_NOFOLLOW` (a symbolic link as the last component is refused, so a link planted in
//! a shared directory cannot redirect a root-run server's writes) and must be a regular file
//! or a character device (`/dev/null`). An existing file is appended to unless asked to
//! overwrite. A write error (`ENOSPC`, `EIO`...) never stops the server: the lines that could
//! not be written are counted as drops and the first error is kept for the final report.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{strerror, Error, Result};

/// Bytes buffered before a write.
const LOG_BUFFER: usize = 256 * 1024;

/// How an existing log file is treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogMode {
    /// Append to it (the default: nothing is ever destroyed).
    #[default]
    Append,
    /// Empty it first (`--overwrite`).
    Overwrite,
}

/// Opens `path` for writing without following a symbolic link as its last component.
///
/// # Errors
/// [`Error::File`] with the path and a one-line reason.
pub(crate) fn open_log(path: &Path, mode: LogMode, truncate: bool) -> Result<File> {
    let shown = path.display().to_string();
    let fail = |errno: i32, message: String| Error::File {
        errno,
        message,
        path: shown.clone(),
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    if truncate && mode == LogMode::Overwrite {
        opts.truncate(true);
    } else {
        opts.append(true);
    }
    let file = opts.open(path).map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        let message = match errno {
            libc::ELOOP => "is a symbolic link (refused for safety; give the real path)".into(),
            libc::ENXIO => "is a FIFO with no reader".into(),
            _ => strerror(errno),
        };
        fail(errno, message)
    })?;
    let kind = file
        .metadata()
        .map_err(|e| fail(e.raw_os_error().unwrap_or(libc::EIO), strerror(libc::EIO)))?;
    let ft = kind.file_type();
    if !(ft.is_file() || ft.is_char_device()) {
        return Err(fail(
            libc::EINVAL,
            "is not a regular file or a character device".into(),
        ));
    }
    // Back to blocking writes (O_NONBLOCK only kept a FIFO from blocking the open).
    let _ = crate::sys::set_blocking(std::os::fd::AsRawFd::as_raw_fd(&file));
    Ok(file)
}

/// The writer's state.
#[derive(Debug, Default)]
struct State {
    file: Option<File>,
    buf: Vec<u8>,
    lines: u64,
    lost: u64,
    error: Option<i32>,
}

impl State {
    /// Writes the buffer; on error counts its lines as lost and keeps the first error.
    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let r = match self.file.as_mut() {
            Some(f) => f.write_all(&self.buf),
            None => Ok(()),
        };
        if let Err(e) = r {
            self.lost += self.lines;
            self.error
                .get_or_insert(e.raw_os_error().unwrap_or(libc::EIO));
        }
        self.buf.clear();
        self.lines = 0;
    }
}

/// The log file of final exercise 2, shared by the workers.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    mode: LogMode,
    state: Mutex<State>,
}

impl LogFile {
    /// Opens the file at `path` (see [`open_log`]).
    ///
    /// # Errors
    /// [`Error::File`].
    pub(crate) fn create(path: &Path, mode: LogMode) -> Result<Self> {
        let file = open_log(path, mode, true)?;
        Ok(LogFile {
            path: path.to_owned(),
            mode,
            state: Mutex::new(State {
                file: Some(file),
                ..State::default()
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reopens a closed log for appending (a server run again continues its log).
    ///
    /// # Errors
    /// [`Error::File`].
    pub(crate) fn reopen(&self) -> Result<()> {
        let mut st = self.lock();
        if st.file.is_none() {
            st.file = Some(open_log(&self.path, self.mode, false)?);
        }
        Ok(())
    }

    /// Appends `lines` already formatted lines (`bytes`).
    pub(crate) fn write(&self, bytes: &[u8], lines: u64) {
        if bytes.is_empty() {
            return;
        }
        let mut st = self.lock();
        if st.file.is_none() {
            return;
        }
        st.buf.extend_from_slice(bytes);
        st.lines += lines;
        if st.buf.len() >= LOG_BUFFER {
            st.flush();
        }
    }

    /// Pushes buffered lines to the file.
    pub(crate) fn flush(&self) {
        self.lock().flush();
    }

    /// Flushes and closes the file.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.flush();
        st.file = None;
    }

    /// Lines that could not be written, and drains that count (the caller adds it to the
    /// drops).
    pub(crate) fn take_lost(&self) -> u64 {
        std::mem::take(&mut self.lock().lost)
    }

    /// The first write error, as `[Errno N] message`.
    #[must_use]
    pub(crate) fn error(&self) -> Option<String> {
        self.lock()
            .error
            .map(|e| format!("[Errno {e}] {}", strerror(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_the_file_on_flush_and_close_and_append_after_reopen() {
        let path = std::env::temp_dir().join(format!("udpeco-log-{}.txt", std::process::id()));
        let log = LogFile::create(&path, LogMode::Overwrite).unwrap();
        log.write(b"uno\n", 1);
        log.flush();
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\n");
        log.write(b"dos\n", 1);
        log.close();
        log.write(b"lost\n", 1);
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\ndos\n");
        log.reopen().unwrap();
        log.write(b"tres\n", 1);
        log.close();
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\ndos\ntres\n");
        assert!(log.error().is_none());
        // Appending is the default: the old lines stay.
        let again = LogFile::create(&path, LogMode::Append).unwrap();
        again.write(b"cuatro\n", 1);
        again.close();
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\ndos\ntres\ncuatro\n");
        let link = path.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = LogFile::create(&link, LogMode::Overwrite).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(
            std::fs::read(&path).unwrap().len(),
            20,
            "the target is untouched"
        );
        let dir = std::env::temp_dir();
        assert!(LogFile::create(&dir, LogMode::Append).is_err());
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn write_errors_are_counted_and_kept() {
        let log = LogFile::create(Path::new("/dev/full"), LogMode::Append).unwrap();
        log.write(b"a\nb\n", 2);
        log.flush();
        log.write(b"c\n", 1);
        log.close();
        assert_eq!(log.take_lost(), 3);
        assert_eq!(log.error().unwrap(), "[Errno 28] No space left on device");
    }
}
