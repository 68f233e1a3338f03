//! Where an echo server writes: its per-datagram lines on stdout and the log file.
//!
//! Workers format into their own byte buffers and hand a whole batch over at once (one write
//! per batch, not per datagram). Write errors (a closed pipe, a full disk) never stop the
//! server; the log remembers that one happened.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error::Result;

/// The log buffer: large enough that a burst is written in few system calls.
const LOG_BUFFER: usize = 256 * 1024;

/// Writes bytes to the process's stdout (fd 1) and flushes them, ignoring errors.
pub fn write_stdout(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// The log file of final exercise 2, shared by the workers.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    writer: Mutex<Option<BufWriter<File>>>,
    failed: AtomicBool,
}

impl LogFile {
    /// Creates (or truncates) the file at `path`.
    ///
    /// # Errors
    /// The error of opening the file.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path)?;
        Ok(LogFile {
            path: path.to_owned(),
            writer: Mutex::new(Some(BufWriter::with_capacity(LOG_BUFFER, file))),
            failed: AtomicBool::new(false),
        })
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reopens a closed log for appending (a server run again continues its log).
    ///
    /// # Errors
    /// The error of opening the file.
    pub fn reopen(&self) -> Result<()> {
        let mut w = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if w.is_none() {
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&self.path)?;
            *w = Some(BufWriter::with_capacity(LOG_BUFFER, file));
        }
        Ok(())
    }

    /// Appends already formatted lines.
    pub fn write(&self, lines: &[u8]) {
        if lines.is_empty() {
            return;
        }
        let mut w = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(w) = w.as_mut() {
            if w.write_all(lines).is_err() {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Pushes buffered lines to the file.
    pub fn flush(&self) {
        let mut w = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(w) = w.as_mut() {
            if w.flush().is_err() {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Flushes and closes the file.
    pub fn close(&self) {
        let mut w = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(mut w) = w.take() {
            if w.flush().is_err() {
                self.failed.store(true, Ordering::Relaxed);
            }
        }
    }

    /// True once a write to the file failed.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_the_file_on_flush_and_close_and_append_after_reopen() {
        let path = std::env::temp_dir().join(format!("udpeco-log-{}.txt", std::process::id()));
        let log = LogFile::create(&path).unwrap();
        log.write(b"uno\n");
        log.flush();
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\n");
        log.write(b"dos\n");
        log.close();
        log.write(b"lost\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\ndos\n");
        log.reopen().unwrap();
        log.write(b"tres\n");
        log.close();
        assert_eq!(std::fs::read(&path).unwrap(), b"uno\ndos\ntres\n");
        assert!(!log.failed());
        std::fs::remove_file(&path).unwrap();
    }
}
