//! The one error type of the core.
//!
//! Every fallible function in the core returns [`Result`]. The Python binding converts an
//! [`Error`] into the exception the stdlib would raise in the same situation (see
//! `python/errors.rs`); nothing else in the core knows about Python.

use std::fmt;
use std::io;

/// Result alias used throughout the core.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in udpeco's core.
#[derive(Debug)]
pub enum Error {
    /// A system call failed; carries the OS error (errno) untouched.
    Io(io::Error),
    /// A timeout expired before the operation could complete (`socket.timeout`).
    Timeout,
    /// Name resolution failed (`socket.gaierror`): the `EAI_*` code and its message.
    Gai {
        /// The `getaddrinfo` error code, negative on Linux (e.g. `EAI_NONAME` = -2).
        code: i32,
        /// The text of `gai_strerror(code)`.
        message: String,
    },
    /// An `OSError` that carries only a message, no errno (the stdlib raises a few, e.g.
    /// "address family mismatched" or "getsockopt buflen out of range").
    Os(String),
    /// A number was out of range (`OverflowError`), e.g. a port above 65535.
    Overflow(String),
    /// A value was of the right type but not acceptable (`ValueError`).
    Value(String),
    /// The operation was cancelled: a stop was requested or a signal arrived.
    Interrupted,
    /// A file could not be opened or written (`OSError(errno, strerror, filename)`, as
    /// Python's `open()` raises): the errno, the message to show and the path.
    File {
        /// The system's error number.
        errno: i32,
        /// What to show (the system's message, or a clearer one such as for a symlink).
        message: String,
        /// The file.
        path: String,
    },
}

impl Error {
    /// An [`Error::Io`] built from a raw errno value.
    #[must_use]
    pub fn from_errno(errno: i32) -> Self {
        Error::Io(io::Error::from_raw_os_error(errno))
    }

    /// An [`Error::Io`] from the calling thread's current `errno`.
    #[must_use]
    pub fn last_os_error() -> Self {
        Error::Io(io::Error::last_os_error())
    }

    /// The errno carried by an I/O error, if any.
    #[must_use]
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io(e) => e.raw_os_error(),
            Error::File { errno, .. } => Some(*errno),
            _ => None,
        }
    }

    /// True for "try again" errors of a non-blocking socket (`EAGAIN`/`EWOULDBLOCK`).
    #[must_use]
    pub fn is_would_block(&self) -> bool {
        matches!(self, Error::Io(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// The C library's message for an errno, without Rust's " (os error N)" suffix, exactly as
/// Python's `OSError.strerror` shows it.
#[must_use]
pub fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => match e.raw_os_error() {
                Some(errno) => write!(f, "[Errno {errno}] {}", strerror(errno)),
                None => write!(f, "{e}"),
            },
            Error::Timeout => f.write_str("timed out"),
            Error::Gai { code, message } => write!(f, "[Errno {code}] {message}"),
            Error::Os(m) | Error::Overflow(m) | Error::Value(m) => f.write_str(m),
            Error::Interrupted => f.write_str("interrupted"),
            Error::File {
                errno,
                message,
                path,
            } => write!(f, "[Errno {errno}] {message}: {path:?}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_matches_libc_text() {
        assert_eq!(strerror(libc::EADDRINUSE), "Address already in use");
        assert_eq!(strerror(libc::EBADF), "Bad file descriptor");
        assert_eq!(strerror(libc::EMSGSIZE), "Message too long");
    }

    #[test]
    fn display_shows_errno_like_python() {
        let e = Error::from_errno(libc::EACCES);
        assert_eq!(e.to_string(), "[Errno 13] Permission denied");
        assert_eq!(e.errno(), Some(13));
        assert!(Error::from_errno(libc::EAGAIN).is_would_block());
        assert_eq!(Error::Timeout.to_string(), "timed out");
    }
}
