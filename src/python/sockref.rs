//! Reading a Python `socket.socket`'s descriptor, family and timeout from Rust.
//!
//! `udpeco.socket` is a subclass of `socket.socket`: the stdlib object owns the descriptor and
//! the timeout. Every I/O call needs both, so they are read here, cheaply: `CPython`'s
//! `PySocketSockObject` starts with `sock_fd`, `sock_family`, `sock_type`, `sock_proto`, the
//! error handler and `sock_timeout` (nanoseconds, -1 for blocking). That layout is not a
//! public API, so [`register`] checks it once, on a real socket, against what `fileno()`,
//! `family`, `type`, `proto` and `gettimeout()` return in all three modes; only when every field
//! matches are the fields read directly (no Python call at all). Otherwise (another
//! interpreter) the values come from those methods, slower but always right.
//!
//! The fast path also lets a waiting call see a `close()` from another thread: the descriptor
//! field is read again before every attempt ([`FdCell::Shared`]), as `CPython`'s own calls do.

use std::os::fd::RawFd;
use std::sync::atomic::AtomicI32;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::error::Error;
use crate::socket::{FdCell, Mode};

/// The head of `CPython`'s `PySocketSockObject` (Modules/socketmodule.h, POSIX).
#[repr(C)]
struct RawSock {
    ob_base: ffi::PyObject,
    fd: libc::c_int,
    family: libc::c_int,
    kind: libc::c_int,
    proto: libc::c_int,
    errorhandler: *mut libc::c_void,
    timeout_ns: i64,
}

/// `_socket.socket`, and whether its layout was verified.
struct SocketType {
    tp: Py<PyType>,
    verified: bool,
}

static SOCKET_TYPE: OnceLock<SocketType> = OnceLock::new();

/// A socket's state for one call.
pub(crate) struct SockView<'a> {
    /// Where the descriptor is (read again before each attempt).
    pub fd: FdCell<'a>,
    /// The address family.
    pub family: i32,
    /// The timeout mode.
    pub mode: Mode,
}

/// The mode for `CPython`'s `sock_timeout` (nanoseconds; negative is blocking).
fn mode_from_ns(ns: i64) -> Mode {
    match u64::try_from(ns) {
        Err(_) => Mode::Blocking,
        Ok(0) => Mode::NonBlocking,
        Ok(ns) => Mode::Timeout(Duration::from_nanos(ns)),
    }
}

/// The mode for `gettimeout()`'s value.
fn mode_from_py(value: &Bound<'_, PyAny>) -> PyResult<Mode> {
    if value.is_none() {
        return Ok(Mode::Blocking);
    }
    let secs: f64 = value.extract()?;
    Ok(Mode::from_timeout(Some(
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
    )))
}

/// The fields of `sock` when the layout was verified (`None`: use the methods); a
/// `TypeError` when `sock` is not a `socket.socket` at all.
fn raw(sock: &Bound<'_, PyAny>) -> PyResult<Option<*mut RawSock>> {
    let Some(st) = SOCKET_TYPE.get() else {
        return Ok(None);
    };
    let obj = sock.as_ptr();
    // SAFETY: both pointers are live objects; the check reads type objects only.
    if unsafe { ffi::PyObject_TypeCheck(obj, st.tp.as_ptr().cast()) } == 0 {
        return Err(PyTypeError::new_err(format!(
            "a socket.socket is required, not '{}'",
            sock.get_type().name()?
        )));
    }
    Ok(st.verified.then_some(obj.cast()))
}

/// The socket's descriptor cell, family and mode; `OSError(EBADF)` when it is closed.
///
/// # Errors
/// `TypeError` for an object that is not a `socket.socket`, `EBADF` for a closed socket; whatever `fileno()`/`gettimeout()` raise on the slow path.
pub(crate) fn view<'a>(sock: &'a Bound<'_, PyAny>) -> PyResult<SockView<'a>> {
    let v = if let Some(p) = raw(sock)? {
        // SAFETY: `p` is a live `PySocketSockObject` (type checked, layout verified), borrowed
        // for 'a; the descriptor is an aligned int that `close()` in another thread may store
        // -1 into, so it is read atomically.
        unsafe {
            SockView {
                fd: FdCell::Shared(AtomicI32::from_ptr(&raw mut (*p).fd)),
                family: (*p).family,
                mode: mode_from_ns((*p).timeout_ns),
            }
        }
    } else {
        let py = sock.py();
        let fd: RawFd = sock.call_method0(intern!(py, "fileno"))?.extract()?;
        let family: i32 = sock.getattr(intern!(py, "family"))?.extract()?;
        let mode = mode_from_py(&sock.call_method0(intern!(py, "gettimeout"))?)?;
        SockView {
            fd: FdCell::Fixed(fd),
            family,
            mode,
        }
    };
    if v.fd.get() < 0 {
        return Err(Error::from_errno(libc::EBADF).into());
    }
    Ok(v)
}

/// The descriptor and timeout mode of a Python socket object (`udpeco.socket` or any
/// `socket.socket`), raising the stdlib's `OSError(EBADF)` when it is closed.
///
/// # Errors
/// As [`view`].
pub(crate) fn fd_and_mode(sock: &Bound<'_, PyAny>) -> PyResult<(RawFd, Mode)> {
    let v = view(sock)?;
    Ok((v.fd.get(), v.mode))
}

/// Checks the layout on a real socket in every mode; true when all fields match.
fn verify(py: Python<'_>, tp: &Bound<'_, PyType>) -> PyResult<bool> {
    // SAFETY: reading the type's instance size.
    let basic = unsafe { (*tp.as_ptr().cast::<ffi::PyTypeObject>()).tp_basicsize };
    if usize::try_from(basic).unwrap_or(0) < std::mem::size_of::<RawSock>() {
        return Ok(false);
    }
    let sock = tp
        .call1((libc::AF_INET6, libc::SOCK_DGRAM, libc::IPPROTO_UDP))
        .or_else(|_| tp.call1((libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_UDP)))?;
    let p = sock.as_ptr().cast::<RawSock>();
    let mut ok = true;
    for timeout in [Some(2.5), None, Some(0.0), Some(1e-9)] {
        sock.call_method1("settimeout", (timeout,))?;
        let fd: i32 = sock.call_method0("fileno")?.extract()?;
        let family: i32 = sock.getattr("family")?.extract()?;
        let kind: i32 = sock.getattr("type")?.extract()?;
        let proto: i32 = sock.getattr("proto")?.extract()?;
        let mode = mode_from_py(&sock.call_method0("gettimeout")?)?;
        // SAFETY: `p` is a live `_socket.socket` at least `size_of::<RawSock>()` bytes long.
        let fields = unsafe { ((*p).fd, (*p).family, (*p).kind, (*p).proto, (*p).timeout_ns) };
        ok &= fields.0 == fd
            && fields.1 == family
            && fields.2 == kind
            && fields.3 == proto
            && mode_from_ns(fields.4) == mode;
    }
    sock.call_method0("close")?;
    // SAFETY: as above; close() stored -1.
    ok &= unsafe { (*p).fd } == -1;
    let _ = py;
    Ok(ok)
}

/// Verifies the layout of `_socket.socket` (once, at import).
///
/// # Errors
/// When `_socket` cannot be imported or a socket cannot be made.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let tp = py
        .import("_socket")?
        .getattr("socket")?
        .cast_into::<PyType>()?;
    let verified = verify(py, &tp)?;
    let _ = SOCKET_TYPE.set(SocketType {
        tp: tp.clone().unbind(),
        verified,
    });
    m.add("_FAST_SOCKET_LAYOUT", verified)?;
    Ok(())
}
