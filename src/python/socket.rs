//! The datagram I/O calls of `udpeco.socket` (a `socket.socket` subclass): module functions
//! taking the socket first (`sock_recv(sock, bufsize, flags=0)`), installed as the class's
//! `recv`, `recvfrom`, `recv_into`, `recvfrom_into`, `send`, `sendall` and `sendto`
//! ([`super::methods`]). Arguments, results and exceptions are the stdlib's; the work runs in
//! [`crate::socket`] without the GIL and answers Ctrl+C.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyMemoryError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::address::{to_socket_addr, to_tuple};
use super::buffer::{with_bytes, WritableBuffer};
use super::interrupt::detach_interruptible;
use super::sockref::view;
use crate::addr::AF_INET6;
use crate::error::Error;
use crate::socket::{self as io, Mode};

/// Receive buffers up to this size are reused per thread; larger ones are allocated per call.
const REUSED_BUFFER_MAX: usize = 256 * 1024;

thread_local! {
    /// Scratch buffer for `recv`/`recvfrom`, so the hot path allocates nothing but the result.
    static RECV_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A zeroed buffer of `size` bytes, or `None` when the allocator refuses (an absurd `bufsize`
/// must raise `MemoryError`, as the stdlib does, not abort the process as `vec!` would).
/// Allocated with `alloc_zeroed`, so a large buffer costs no more than the pages touched.
fn try_zeroed(size: usize) -> Option<Vec<u8>> {
    if size == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(size).ok()?;
    // SAFETY: `layout` has a non-zero size (checked above).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` comes from the global allocator with the layout of `[u8; size]`, which is
    // the layout a `Box<[u8]>` of `size` bytes frees with, and all its bytes are initialised
    // (zeroed).
    let boxed = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, size)) };
    Some(boxed.into_vec())
}

/// Runs `f` with a scratch buffer of `size` bytes (reused when possible); `MemoryError` when
/// a buffer that large cannot be allocated.
fn with_scratch<R>(size: usize, f: impl FnOnce(&mut [u8]) -> PyResult<R>) -> PyResult<R> {
    if size <= REUSED_BUFFER_MAX {
        let reused = RECV_BUF.with(|cell| {
            // A signal handler that calls recvfrom re-enters here: it gets a fresh buffer.
            cell.try_borrow_mut().ok().map(|mut v| {
                if v.len() < size {
                    v.resize(size, 0);
                }
                std::mem::take(&mut *v)
            })
        });
        if let Some(mut v) = reused {
            let r = f(&mut v[..size]);
            RECV_BUF.with(|cell| {
                if let Ok(mut slot) = cell.try_borrow_mut() {
                    *slot = v;
                }
            });
            return r;
        }
    }
    let mut buf = try_zeroed(size).ok_or_else(|| PyMemoryError::new_err(()))?;
    f(&mut buf)
}

/// The bytes a receive of `n` wrote into `buf`. With `MSG_TRUNC` the kernel returns the
/// datagram's real length, which can exceed the buffer; only what was written is returned.
fn received(buf: &[u8], n: usize) -> &[u8] {
    &buf[..n.min(buf.len())]
}

/// `(data, address)` or `(nbytes, address)`, the address `None` when the kernel gave none.
fn with_addr<'py>(
    py: Python<'py>,
    first: Bound<'py, PyAny>,
    addr: Option<SocketAddr>,
) -> PyResult<Bound<'py, PyTuple>> {
    let addr = match addr {
        Some(a) => to_tuple(py, &a)?.into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(py, [first, addr])
}

/// An optional integer argument (0 when absent), converted after the arguments before it, in
/// the stdlib's order (a buffer is exported before the flags are read).
fn int_arg<T: Default + TryFrom<i64>>(value: Option<&Bound<'_, PyAny>>) -> PyResult<T> {
    let Some(value) = value else {
        return Ok(T::default());
    };
    let wide: i64 = value.extract()?;
    T::try_from(wide)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("signed integer is out of range"))
}

/// The arguments of `recv_into`/`recvfrom_into` (`buffer[, nbytes[, flags]]`, also by
/// keyword), parsed by hand so that an explicit `None` is refused as the stdlib refuses it.
fn into_args<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
    caller: &str,
) -> PyResult<[Option<Bound<'py, PyAny>>; 3]> {
    const NAMES: [&str; 3] = ["buffer", "nbytes", "flags"];
    if args.len() > 3 {
        return Err(PyTypeError::new_err(format!(
            "{caller}() takes at most 3 arguments ({} given)",
            args.len()
        )));
    }
    let mut slots: [Option<Bound<'py, PyAny>>; 3] = [None, None, None];
    for (i, v) in args.iter().enumerate() {
        slots[i] = Some(v);
    }
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            let name: String = k.extract()?;
            let Some(i) = NAMES.iter().position(|n| *n == name) else {
                return Err(PyTypeError::new_err(format!(
                    "'{name}' is an invalid keyword argument for {caller}()"
                )));
            };
            if slots[i].is_some() {
                return Err(PyTypeError::new_err(format!(
                    "argument for {caller}() given by name ('{name}') and position ({})",
                    i + 1
                )));
            }
            slots[i] = Some(v);
        }
    }
    if slots[0].is_none() {
        return Err(PyTypeError::new_err(format!(
            "{caller}() missing required argument 'buffer' (pos 1)"
        )));
    }
    Ok(slots)
}

/// The optional `flags` of `send`/`sendall` (positional only).
fn send_flags<'py>(
    args: &Bound<'py, PyTuple>,
    caller: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    match args.len() {
        0 => Ok(None),
        1 => Ok(Some(args.get_item(0)?)),
        n => Err(PyTypeError::new_err(format!(
            "{caller}() takes at most 2 arguments ({} given)",
            n + 1
        ))),
    }
}

/// A buffer size argument: `ValueError('negative buffersize in <caller>')` below zero.
fn buffer_size(bufsize: isize, caller: &str) -> PyResult<usize> {
    usize::try_from(bufsize)
        .map_err(|_| PyValueError::new_err(format!("negative buffersize in {caller}")))
}

/// How many bytes a `*_into` call may write: `nbytes`, or the whole buffer when 0.
fn into_size(target: &WritableBuffer, nbytes: isize, caller: &str) -> PyResult<usize> {
    let n = buffer_size(nbytes, caller)?;
    if n == 0 {
        return Ok(target.len());
    }
    if n > target.len() {
        return Err(PyValueError::new_err(
            "nbytes is greater than the length of the buffer",
        ));
    }
    Ok(n)
}

/// `recvfrom(bufsize[, flags])`: one datagram of at most `bufsize` bytes and its sender.
#[pyfunction]
#[pyo3(signature = (sock, bufsize, flags = 0, /))]
fn sock_recvfrom<'py>(
    sock: &Bound<'py, PyAny>,
    bufsize: isize,
    flags: i32,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = sock.py();
    let size = buffer_size(bufsize, "recvfrom")?;
    let s = view(sock)?;
    let (data, addr) = with_scratch(size, |buf| {
        let (n, addr) = detach_interruptible(py, |c| io::recv_from(s.fd, s.mode, buf, flags, c))?;
        Ok::<_, PyErr>((PyBytes::new(py, received(buf, n)), addr))
    })?;
    with_addr(py, data.into_any(), addr)
}

/// `recv(bufsize[, flags])`: one datagram of at most `bufsize` bytes. `recv(0)` returns `b''`
/// without touching the socket, as the stdlib does (a queued datagram stays queued).
#[pyfunction]
#[pyo3(signature = (sock, bufsize, flags = 0, /))]
fn sock_recv<'py>(
    sock: &Bound<'py, PyAny>,
    bufsize: isize,
    flags: i32,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = sock.py();
    let size = buffer_size(bufsize, "recv")?;
    if size == 0 {
        return Ok(PyBytes::new(py, b""));
    }
    let s = view(sock)?;
    with_scratch(size, |buf| {
        let n = detach_interruptible(py, |c| io::recv(s.fd, s.mode, buf, flags, c))?;
        Ok(PyBytes::new(py, received(buf, n)))
    })
}

/// `recvfrom_into(buffer[, nbytes[, flags]])`: `(nbytes, address)`.
#[pyfunction]
#[pyo3(signature = (sock, /, *args, **kwargs))]
fn sock_recvfrom_into<'py>(
    sock: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let py = sock.py();
    let [buffer, nbytes, flags] = into_args(args, kwargs, "recvfrom_into")?;
    let buffer = buffer.unwrap_or_else(|| py.None().into_bound(py));
    let mut target = WritableBuffer::new(&buffer, "recvfrom_into")?;
    let (nbytes, flags) = (int_arg(nbytes.as_ref())?, int_arg(flags.as_ref())?);
    let size = into_size(&target, nbytes, "recvfrom_into")?;
    let s = view(sock)?;
    let slice = target.slice_mut(size);
    let (n, addr) = detach_interruptible(py, |c| io::recv_from(s.fd, s.mode, slice, flags, c))?;
    with_addr(py, n.into_pyobject(py)?.into_any(), addr)
}

/// `recv_into(buffer[, nbytes[, flags]])`: the datagram's size. Asking for 0 bytes returns 0
/// without touching the socket, as the stdlib does.
#[pyfunction]
#[pyo3(signature = (sock, /, *args, **kwargs))]
fn sock_recv_into(
    sock: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<usize> {
    let py = sock.py();
    let [buffer, nbytes, flags] = into_args(args, kwargs, "recv_into")?;
    let buffer = buffer.unwrap_or_else(|| py.None().into_bound(py));
    let mut target = WritableBuffer::new(&buffer, "recv_into")?;
    let (nbytes, flags) = (int_arg(nbytes.as_ref())?, int_arg(flags.as_ref())?);
    let size = into_size(&target, nbytes, "recv_into")?;
    if size == 0 {
        return Ok(0);
    }
    let s = view(sock)?;
    let slice = target.slice_mut(size);
    detach_interruptible(sock.py(), |c| io::recv(s.fd, s.mode, slice, flags, c))
}

/// `sendto(data, address)` or `sendto(data, flags, address)`.
#[pyfunction]
#[pyo3(signature = (sock, data, /, *args))]
fn sock_sendto(
    sock: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<usize> {
    let py = sock.py();
    let (flags, address) = match args.len() {
        1 => (None, args.get_item(0)?),
        2 => (Some(args.get_item(0)?), args.get_item(1)?),
        n => {
            return Err(PyTypeError::new_err(format!(
                "sendto() takes 2 or 3 arguments ({} given)",
                n + 1
            )))
        }
    };
    with_bytes(data, |bytes| {
        let flags: i32 = int_arg(flags.as_ref())?;
        let s = view(sock)?;
        let family = if s.family == AF_INET6 {
            AF_INET6
        } else {
            libc::AF_INET
        };
        let addr: SocketAddr = to_socket_addr(py, &address, family, "sendto")?;
        detach_interruptible(py, |c| io::send_to(s.fd, s.mode, bytes, &addr, flags, c))
    })
}

/// `send(data[, flags])` to the connected peer.
#[pyfunction]
#[pyo3(signature = (sock, data, /, *args))]
fn sock_send(
    sock: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<usize> {
    let flags = send_flags(args, "send")?;
    with_bytes(data, |bytes| {
        let flags: i32 = int_arg(flags.as_ref())?;
        let s = view(sock)?;
        detach_interruptible(sock.py(), |c| io::send(s.fd, s.mode, bytes, flags, c))
    })
}

/// `sendall(data[, flags])`: sends until all of `data` is sent (one datagram for UDP); the
/// timeout bounds the whole call, as in the stdlib. Returns `None`.
#[pyfunction]
#[pyo3(signature = (sock, data, /, *args))]
fn sock_sendall(
    sock: &Bound<'_, PyAny>,
    data: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<()> {
    let flags = send_flags(args, "sendall")?;
    with_bytes(data, |bytes| {
        let flags: i32 = int_arg(flags.as_ref())?;
        let s = view(sock)?;
        let deadline = match s.mode {
            Mode::Timeout(d) => crate::wait::deadline_after(d),
            _ => None,
        };
        let mut sent = 0;
        loop {
            let mode = match (s.mode, deadline) {
                (Mode::Timeout(_), Some(d)) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Error::Timeout.into());
                    }
                    Mode::Timeout(left.max(Duration::from_nanos(1)))
                }
                (m, _) => m,
            };
            let rest = &bytes[sent..];
            sent += detach_interruptible(sock.py(), |c| io::send(s.fd, mode, rest, flags, c))?;
            if sent >= bytes.len() {
                return Ok(());
            }
            sock.py().check_signals()?;
        }
    })
}

/// Integer constants a UDP program uses, with the platform's values (same as the stdlib's).
const CONSTANTS: &[(&str, i32)] = &[
    ("AF_INET", libc::AF_INET),
    ("AF_INET6", libc::AF_INET6),
    ("SOCK_DGRAM", libc::SOCK_DGRAM),
    ("SOCK_NONBLOCK", libc::SOCK_NONBLOCK),
    ("SOCK_CLOEXEC", libc::SOCK_CLOEXEC),
    ("SOL_SOCKET", libc::SOL_SOCKET),
    ("SO_REUSEADDR", libc::SO_REUSEADDR),
    ("SO_REUSEPORT", libc::SO_REUSEPORT),
    ("SO_RCVBUF", libc::SO_RCVBUF),
    ("SO_SNDBUF", libc::SO_SNDBUF),
    ("SO_BROADCAST", libc::SO_BROADCAST),
    ("SO_ERROR", libc::SO_ERROR),
    ("SO_TYPE", libc::SO_TYPE),
    ("SO_RCVTIMEO", libc::SO_RCVTIMEO),
    ("SO_SNDTIMEO", libc::SO_SNDTIMEO),
    ("IPPROTO_IP", libc::IPPROTO_IP),
    ("IPPROTO_IPV6", libc::IPPROTO_IPV6),
    ("IPPROTO_UDP", libc::IPPROTO_UDP),
    ("IP_TTL", libc::IP_TTL),
    ("IP_TOS", libc::IP_TOS),
    ("IP_MULTICAST_TTL", libc::IP_MULTICAST_TTL),
    ("IP_MULTICAST_LOOP", libc::IP_MULTICAST_LOOP),
    ("IPV6_V6ONLY", libc::IPV6_V6ONLY),
    ("MSG_PEEK", libc::MSG_PEEK),
    ("MSG_DONTWAIT", libc::MSG_DONTWAIT),
    ("MSG_TRUNC", libc::MSG_TRUNC),
    ("SHUT_RD", libc::SHUT_RD),
    ("SHUT_WR", libc::SHUT_WR),
    ("SHUT_RDWR", libc::SHUT_RDWR),
];

/// Adds the I/O functions and the constants to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sock_recvfrom, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recv, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recvfrom_into, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recv_into, m)?)?;
    m.add_function(wrap_pyfunction!(sock_sendto, m)?)?;
    m.add_function(wrap_pyfunction!(sock_send, m)?)?;
    m.add_function(wrap_pyfunction!(sock_sendall, m)?)?;
    for (name, value) in CONSTANTS {
        m.add(*name, *value)?;
    }
    Ok(())
}
