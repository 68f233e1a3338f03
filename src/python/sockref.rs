//! The descriptor and timeout mode of a Python socket object, read through its methods, so
//! that udpeco's I/O functions work on any socket (the stdlib's, udpeco's, a subclass).

use std::os::fd::RawFd;
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::Error;
use crate::socket::Mode;

/// `sock.fileno()` and the mode of `sock.gettimeout()`: `None` blocks, `0.0` never blocks,
/// `t` waits at most `t` seconds.
///
/// # Errors
/// `OSError(EBADF)` for a closed socket (`fileno() == -1`), as the stdlib's calls raise;
/// whatever `fileno()`/`gettimeout()` raise.
pub fn fd_and_mode(sock: &Bound<'_, PyAny>) -> PyResult<(RawFd, Mode)> {
    let fd: RawFd = sock.call_method0("fileno")?.extract()?;
    if fd == -1 {
        return Err(Error::from_errno(libc::EBADF).into());
    }
    let timeout = sock.call_method0("gettimeout")?;
    let mode = if timeout.is_none() {
        Mode::Blocking
    } else {
        let secs: f64 = timeout.extract()?;
        if secs <= 0.0 {
            Mode::NonBlocking
        } else {
            Mode::Timeout(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        }
    };
    Ok((fd, mode))
}
