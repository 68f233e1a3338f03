//! `udpeco.socket`: the core [`UdpSocket`] with the stdlib socket's methods, arguments,
//! results and exceptions. Blocking work runs without the GIL and answers Ctrl+C.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use pyo3::exceptions::{PyMemoryError, PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyFloat, PyTuple};

use super::address::{to_socket_addr, to_tuple, unbound_tuple};
use super::buffer::{with_bytes, WritableBuffer};
use super::interrupt::detach_interruptible;
use crate::addr::{AF_INET, AF_INET6};
use crate::error::Error;
use crate::socket::{is_supported_family, Mode, OptValue, UdpSocket};

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

/// Seconds (a float or an int) to nanoseconds, exactly as the interpreter's
/// `_PyTime_FromSecondsObject(..., _PyTime_ROUND_TIMEOUT)` converts a timeout: floats are
/// rounded away from zero, ints must be integers (`__index__`), and the two overflow cases
/// keep the interpreter's two different messages. `settimeout` and `select` both use it,
/// as the stdlib's do, so their errors match (`inf` is "timestamp out of range for platform
/// `time_t`"; an object with only `__float__` is refused).
pub(crate) fn seconds_to_ns(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    const TOO_LARGE: &str = "timestamp too large to convert to C _PyTime_t";
    if let Ok(f) = value.cast::<PyFloat>() {
        let secs = f.value();
        if secs.is_nan() {
            return Err(PyValueError::new_err("Invalid value NaN (not a number)"));
        }
        let ns = secs * 1e9;
        let ns = if ns >= 0.0 { ns.ceil() } else { ns.floor() };
        // i64::MIN as f64 is exact (-2**63); the valid range is [-2**63, 2**63).
        #[allow(clippy::cast_precision_loss)]
        let limit = -(i64::MIN as f64);
        if !(-limit..limit).contains(&ns) {
            return Err(PyOverflowError::new_err(
                "timestamp out of range for platform time_t",
            ));
        }
        #[allow(clippy::cast_possible_truncation)]
        return Ok(ns as i64);
    }
    let secs: i64 = value.extract().map_err(|e: PyErr| {
        if e.is_instance_of::<PyOverflowError>(value.py()) {
            PyOverflowError::new_err(TOO_LARGE)
        } else {
            e
        }
    })?;
    secs.checked_mul(1_000_000_000)
        .ok_or_else(|| PyOverflowError::new_err(TOO_LARGE))
}

/// `_PyTime_AsSecondsDouble` (the interpreter's): the float `gettimeout()` returns.
fn ns_to_seconds(ns: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    if ns % 1_000_000_000 == 0 {
        (ns / 1_000_000_000) as f64
    } else {
        ns as f64 / 1e9
    }
}

/// Converts a Python timeout (`None` or seconds) into a mode, with the stdlib's checks.
fn mode_from_py(value: Option<&Bound<'_, PyAny>>) -> PyResult<Mode> {
    let Some(value) = value else {
        return Ok(Mode::Blocking);
    };
    let ns = seconds_to_ns(value)?;
    let ns = u64::try_from(ns).map_err(|_| PyValueError::new_err("Timeout value out of range"))?;
    Ok(Mode::from_timeout(Some(Duration::from_nanos(ns))))
}

/// `socket.getdefaulttimeout()`, applied to new sockets as the stdlib does.
fn default_mode(py: Python<'_>) -> PyResult<Mode> {
    static GET_DEFAULT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let get = GET_DEFAULT.import(py, "socket", "getdefaulttimeout")?;
    let value = get.call0()?;
    mode_from_py(if value.is_none() { None } else { Some(&value) })
}

/// The stdlib enum member for a constant (`AddressFamily.AF_INET`, `SocketKind.SOCK_DGRAM`).
fn stdlib_enum<'py>(
    py: Python<'py>,
    cell: &PyOnceLock<Py<PyAny>>,
    name: &str,
    value: i32,
) -> PyResult<Bound<'py, PyAny>> {
    cell.import(py, "socket", name)?.call1((value,))
}

/// A UDP socket with the stdlib's interface, backed by Rust.
#[pyclass(frozen, subclass, weakref, module = "udpeco", name = "socket")]
pub struct PySocket {
    inner: UdpSocket,
}

impl PySocket {
    /// The core socket (used by `select` to read the descriptor without a method call).
    pub fn core(&self) -> &UdpSocket {
        &self.inner
    }

    fn address(
        &self,
        py: Python<'_>,
        address: &Bound<'_, PyAny>,
        caller: &str,
    ) -> PyResult<SocketAddr> {
        to_socket_addr(py, address, self.inner.family(), caller)
    }

    fn addr_or_none(py: Python<'_>, addr: Option<SocketAddr>) -> PyResult<Bound<'_, PyAny>> {
        match addr {
            Some(a) => Ok(to_tuple(py, &a)?.into_any()),
            None => Ok(py.None().into_bound(py)),
        }
    }
}

#[pymethods]
impl PySocket {
    /// Creates a UDP socket: `socket(family=AF_INET, type=SOCK_DGRAM, proto=0)`.
    #[new]
    #[pyo3(signature = (family = AF_INET, r#type = libc::SOCK_DGRAM, proto = 0))]
    fn new(py: Python<'_>, family: i32, r#type: i32, proto: i32) -> PyResult<Self> {
        let base = r#type & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
        if base != libc::SOCK_DGRAM {
            return Err(PyValueError::new_err(
                "udpeco.socket supports only SOCK_DGRAM (UDP) sockets",
            ));
        }
        if !is_supported_family(family) {
            return Err(Error::from_errno(libc::EAFNOSUPPORT).into());
        }
        let mode = if r#type & libc::SOCK_NONBLOCK != 0 {
            Mode::NonBlocking
        } else {
            default_mode(py)?
        };
        Ok(PySocket {
            inner: UdpSocket::new(family, proto, mode)?,
        })
    }

    /// The address family, as the stdlib's `AddressFamily` enum.
    #[getter]
    fn family<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        stdlib_enum(py, &CELL, "AddressFamily", self.inner.family())
    }

    /// The socket type, as the stdlib's `SocketKind` enum (always `SOCK_DGRAM`).
    #[getter]
    #[allow(clippy::unused_self)] // a Python property: it needs the receiver
    fn r#type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        static CELL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        stdlib_enum(py, &CELL, "SocketKind", libc::SOCK_DGRAM)
    }

    /// The protocol number given at creation.
    #[getter]
    fn proto(&self) -> i32 {
        self.inner.proto()
    }

    /// The timeout in seconds, or `None` (same as `gettimeout()`).
    #[getter]
    fn timeout(&self) -> Option<f64> {
        self.gettimeout()
    }

    /// Binds the socket to a local address `(host, port)`.
    #[pyo3(signature = (address, /))]
    fn bind(&self, py: Python<'_>, address: &Bound<'_, PyAny>) -> PyResult<()> {
        let addr = self.address(py, address, "bind")?;
        Ok(self.inner.bind(&addr)?)
    }

    /// Connects the socket to a remote address (fixes the peer of `send`/`recv`).
    #[pyo3(signature = (address, /))]
    fn connect(&self, py: Python<'_>, address: &Bound<'_, PyAny>) -> PyResult<()> {
        let addr = self.address(py, address, "connect")?;
        Ok(self.inner.connect(&addr)?)
    }

    /// Like `connect()`, but returns the errno (0 on success) instead of raising.
    #[pyo3(signature = (address, /))]
    fn connect_ex(&self, py: Python<'_>, address: &Bound<'_, PyAny>) -> PyResult<i32> {
        let addr = self.address(py, address, "connect_ex")?;
        match self.inner.connect(&addr) {
            Ok(()) => Ok(0),
            Err(e) => match e.errno() {
                Some(errno) => Ok(errno),
                None => Err(e.into()),
            },
        }
    }

    /// Sends `data` to `address`: `sendto(data, address)` or `sendto(data, flags, address)`.
    #[pyo3(signature = (data, /, *args))]
    fn sendto(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<usize> {
        let (flags, address) = match args.len() {
            1 => (0, args.get_item(0)?),
            2 => (args.get_item(0)?.extract::<i32>()?, args.get_item(1)?),
            n => {
                return Err(PyTypeError::new_err(format!(
                    "sendto() takes 2 or 3 arguments ({} given)",
                    n + 1
                )))
            }
        };
        with_bytes(data, |bytes| {
            let addr = self.address(py, &address, "sendto")?;
            let inner = &self.inner;
            detach_interruptible(py, |c| inner.send_to(bytes, &addr, flags, c))
        })
    }

    /// Sends `data` to the connected peer.
    #[pyo3(signature = (data, flags = 0, /))]
    fn send(&self, py: Python<'_>, data: &Bound<'_, PyAny>, flags: i32) -> PyResult<usize> {
        let inner = &self.inner;
        with_bytes(data, |bytes| {
            detach_interruptible(py, |c| inner.send(bytes, flags, c))
        })
    }

    /// Sends all of `data` to the connected peer (one datagram for UDP); returns `None`.
    #[pyo3(signature = (data, flags = 0, /))]
    fn sendall(&self, py: Python<'_>, data: &Bound<'_, PyAny>, flags: i32) -> PyResult<()> {
        self.send(py, data, flags).map(|_| ())
    }

    /// Receives one datagram of at most `bufsize` bytes: returns `(data, address)`.
    #[pyo3(signature = (bufsize, flags = 0, /))]
    fn recvfrom<'py>(
        &self,
        py: Python<'py>,
        bufsize: isize,
        flags: i32,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let size = usize::try_from(bufsize)
            .map_err(|_| PyValueError::new_err("negative buffersize in recvfrom"))?;
        let inner = &self.inner;
        let (data, addr) = with_scratch(size, |buf| {
            let (n, addr) = detach_interruptible(py, |c| inner.recv_from(buf, flags, c))?;
            Ok::<_, PyErr>((PyBytes::new(py, received(buf, n)), addr))
        })?;
        (data, Self::addr_or_none(py, addr)?).into_pyobject(py)
    }

    /// Receives one datagram of at most `bufsize` bytes from the connected peer.
    #[pyo3(signature = (bufsize, flags = 0, /))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        bufsize: isize,
        flags: i32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let size = usize::try_from(bufsize)
            .map_err(|_| PyValueError::new_err("negative buffersize in recv"))?;
        let inner = &self.inner;
        with_scratch(size, |buf| {
            let n = detach_interruptible(py, |c| inner.recv(buf, flags, c))?;
            Ok(PyBytes::new(py, received(buf, n)))
        })
    }

    /// Receives one datagram into `buffer`: returns `(nbytes, address)`.
    #[pyo3(signature = (buffer, nbytes = 0, flags = 0))]
    fn recvfrom_into<'py>(
        &self,
        py: Python<'py>,
        buffer: &Bound<'py, PyAny>,
        nbytes: isize,
        flags: i32,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let mut target = WritableBuffer::new(buffer, "recvfrom_into")?;
        let size = Self::into_size(&target, nbytes, "recvfrom_into")?;
        let inner = &self.inner;
        let slice = target.slice_mut(size);
        let (n, addr) = detach_interruptible(py, |c| inner.recv_from(slice, flags, c))?;
        (n, Self::addr_or_none(py, addr)?).into_pyobject(py)
    }

    /// Receives one datagram from the connected peer into `buffer`: returns its size.
    #[pyo3(signature = (buffer, nbytes = 0, flags = 0))]
    fn recv_into(
        &self,
        py: Python<'_>,
        buffer: &Bound<'_, PyAny>,
        nbytes: isize,
        flags: i32,
    ) -> PyResult<usize> {
        let mut target = WritableBuffer::new(buffer, "recv_into")?;
        let size = Self::into_size(&target, nbytes, "recv_into")?;
        let inner = &self.inner;
        let slice = target.slice_mut(size);
        detach_interruptible(py, |c| inner.recv(slice, flags, c))
    }

    /// Sets the timeout: `None` blocks, `0.0` never blocks, a positive float waits that long.
    #[pyo3(signature = (value, /))]
    fn settimeout(&self, value: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner.set_mode(mode_from_py(value)?);
        self.ebadf_if_closed()
    }

    /// The timeout in seconds, or `None` when blocking.
    fn gettimeout(&self) -> Option<f64> {
        self.inner
            .mode()
            .timeout()
            .map(|d| ns_to_seconds(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
    }

    /// `setblocking(True)` is `settimeout(None)`; `setblocking(False)` is `settimeout(0.0)`.
    #[pyo3(signature = (flag, /))]
    fn setblocking(&self, flag: &Bound<'_, PyAny>) -> PyResult<()> {
        let blocking = flag.extract::<i64>()? != 0;
        self.inner.set_mode(if blocking {
            Mode::Blocking
        } else {
            Mode::NonBlocking
        });
        self.ebadf_if_closed()
    }

    /// False only when the socket is non-blocking (timeout `0.0`).
    fn getblocking(&self) -> bool {
        self.inner.mode() != Mode::NonBlocking
    }

    /// Sets a socket option: `setsockopt(level, optname, int | bytes)` or
    /// `setsockopt(level, optname, None, optlen)`.
    #[pyo3(signature = (level, optname, value, optlen = None, /))]
    fn setsockopt(
        &self,
        level: i32,
        optname: i32,
        value: &Bound<'_, PyAny>,
        optlen: Option<u32>,
    ) -> PyResult<()> {
        if value.is_none() {
            // The stdlib parses a 3-argument call's value as a buffer, so a lone None is
            // "a bytes-like object is required, not 'NoneType'".
            let Some(len) = optlen else {
                return Err(PyTypeError::new_err(
                    "a bytes-like object is required, not 'NoneType'",
                ));
            };
            return Ok(self.inner.set_option(level, optname, OptValue::Null(len))?);
        }
        if let Ok(v) = value.extract::<i32>() {
            return Ok(self.inner.set_option(level, optname, OptValue::Int(v))?);
        }
        with_bytes(value, |b| {
            Ok(self.inner.set_option(level, optname, OptValue::Bytes(b))?)
        })
    }

    /// Reads a socket option: an int, or `buflen` raw bytes.
    #[pyo3(signature = (level, optname, buflen = None, /))]
    fn getsockopt<'py>(
        &self,
        py: Python<'py>,
        level: i32,
        optname: i32,
        buflen: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // CPython treats `buflen == 0` like no buflen (an int result).
        match buflen.filter(|&n| n != 0) {
            None => Ok(self
                .inner
                .option_int(level, optname)?
                .into_pyobject(py)?
                .into_any()),
            Some(n) => {
                Ok(PyBytes::new(py, &self.inner.option_bytes(level, optname, n)?).into_any())
            }
        }
    }

    /// The local address.
    fn getsockname<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Self::addr_or_none(py, self.inner.local_addr()?)
    }

    /// The connected peer's address (`OSError` ENOTCONN when not connected).
    fn getpeername<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Self::addr_or_none(py, self.inner.peer_addr()?)
    }

    /// The file descriptor, or -1 once closed.
    fn fileno(&self) -> i32 {
        self.inner.fd()
    }

    /// Closes the socket; later operations raise `OSError` EBADF. Closing twice is allowed.
    fn close(&self) -> PyResult<()> {
        Ok(self.inner.close()?)
    }

    /// Gives up the descriptor without closing it and returns it.
    fn detach(&self) -> i32 {
        self.inner.detach()
    }

    /// Shuts down reading (`SHUT_RD`), writing (`SHUT_WR`) or both (`SHUT_RDWR`).
    #[pyo3(signature = (how, /))]
    fn shutdown(&self, how: i32) -> PyResult<()> {
        Ok(self.inner.shutdown(how)?)
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.close()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let s = &self.inner;
        let family = s.family();
        let ty = libc::SOCK_DGRAM;
        let proto = s.proto();
        if s.is_closed() {
            return Ok(format!(
                "<udpeco.socket [closed] fd=-1, family={family}, type={ty}, proto={proto}>"
            ));
        }
        let mut text = format!(
            "<udpeco.socket fd={}, family={family}, type={ty}, proto={proto}",
            s.fd()
        );
        let laddr = match s.local_addr() {
            Ok(Some(a)) => Some(to_tuple(py, &a)?),
            Ok(None) => Some(unbound_tuple(py, family)?),
            Err(_) => None,
        };
        if let Some(l) = laddr {
            let _ = write!(text, ", laddr={}", l.repr()?);
        }
        if let Ok(Some(r)) = s.peer_addr() {
            let _ = write!(text, ", raddr={}", to_tuple(py, &r)?.repr()?);
        }
        text.push('>');
        Ok(text)
    }
}

impl PySocket {
    /// `EBADF` once closed: the stdlib's `settimeout`/`setblocking` record the new timeout and
    /// then set `O_NONBLOCK` with `fcntl`, which fails with `EBADF` on a closed socket.
    fn ebadf_if_closed(&self) -> PyResult<()> {
        if self.inner.is_closed() {
            return Err(Error::from_errno(libc::EBADF).into());
        }
        Ok(())
    }

    /// How many bytes a `*_into` call may write: `nbytes`, or the whole buffer when 0.
    fn into_size(target: &WritableBuffer, nbytes: isize, caller: &str) -> PyResult<usize> {
        let n = usize::try_from(nbytes)
            .map_err(|_| PyValueError::new_err(format!("negative buffersize in {caller}")))?;
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
}

/// Integer constants the lab uses, with the platform's values (same as the stdlib's).
const CONSTANTS: &[(&str, i32)] = &[
    ("AF_INET", AF_INET),
    ("AF_INET6", AF_INET6),
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

/// Adds `socket` and the constants to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySocket>()?;
    for (name, value) in CONSTANTS {
        m.add(*name, *value)?;
    }
    Ok(())
}
