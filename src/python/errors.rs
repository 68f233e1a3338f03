//! The one place where core errors become Python exceptions.
//!
//! Each [`Error`] becomes the exception the stdlib raises in the same situation:
//! `OSError(errno, strerror)` (so Python picks `BlockingIOError`, `PermissionError`, ... and
//! `e.errno` works, which pyo3's own `From<io::Error>` would not give), `socket.timeout`,
//! `socket.gaierror`, `OverflowError` and `ValueError`.

use pyo3::exceptions::{PyOSError, PyOverflowError, PyValueError};
use pyo3::PyErr;

use crate::error::{strerror, Error};

pyo3::import_exception!(socket, timeout);
pyo3::import_exception!(socket, gaierror);

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        match err {
            Error::Io(e) => match e.raw_os_error() {
                Some(errno) => PyOSError::new_err((errno, strerror(errno))),
                None => PyOSError::new_err(e.to_string()),
            },
            Error::Os(m) => PyOSError::new_err(m),
            Error::Timeout => timeout::new_err("timed out"),
            Error::Gai { code, message } => gaierror::new_err((code, message)),
            Error::Overflow(m) => PyOverflowError::new_err(m),
            Error::Value(m) => PyValueError::new_err(m),
            Error::Interrupted => PyOSError::new_err((libc::EINTR, strerror(libc::EINTR))),
            Error::File {
                errno,
                message,
                path,
            } => PyOSError::new_err((errno, message, path)),
        }
    }
}
