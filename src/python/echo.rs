//! `udpeco.EchoServer`: the echo server engine for Python.
//!
//! The constructor binds (so `.ports` is known at once and bind errors are the stdlib's
//! `OSError`s). `run()` serves in the foreground with the GIL released and ends with
//! `KeyboardInterrupt` on Ctrl+C within one tick; `start()`/`stop()` (and `with`) serve in a
//! background Rust thread. Counters are read from atomics without stopping the server.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::convert;
use super::interrupt::detach_with_token;
use crate::cancel::Cancel;
use crate::echo::config::{DEFAULT_BUFSIZE, DEFAULT_DELAY_QUEUE, MAX_BUFSIZE};
use crate::echo::guard::{Cidr, GuardConfig, RateLimit, Reason, DEFAULT_BURST, DEFAULT_RATE};
use crate::echo::output::LogMode;
use crate::echo::text::escape as escape_bytes;
use crate::echo::{EchoConfig, EchoServer, End, PortChoice, Stats};
use crate::error::Error;
use crate::portspec::parse_ports;

/// The `stop` argument: not given (the práctica's `b"."`), `None` (off), or a sentinel.
enum StopArg {
    Default,
    Off,
    Sentinel(Vec<u8>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for StopArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_none() {
            return Ok(StopArg::Off);
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(StopArg::Sentinel(b.as_bytes().to_vec()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(StopArg::Sentinel(s.to_str()?.as_bytes().to_vec()));
        }
        Err(PyTypeError::new_err("stop must be bytes, str or None"))
    }
}

/// A port number from Python, with the stdlib's `OverflowError` when out of range.
fn port_number(n: i64) -> PyResult<u16> {
    u16::try_from(n).map_err(|_| PyOverflowError::new_err("bind(): port must be 0-65535."))
}

/// The counters as the dict `{datagrams, bytes, clients, drops, <guard reasons>,
/// unprinted}`.
fn stats_dict(py: Python<'_>, s: Stats) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("datagrams", s.datagrams)?;
    d.set_item("bytes", s.bytes)?;
    d.set_item("clients", s.clients)?;
    d.set_item("drops", s.drops)?;
    for (r, n) in Reason::ALL.iter().zip(s.guarded) {
        d.set_item(r.name(), n)?;
    }
    d.set_item("unprinted", s.unprinted)?;
    Ok(d)
}

/// An allow/deny argument: a comma-separated string or an iterable of strings.
fn cidr_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<Cidr>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Cidr::parse_list(s.to_str()?)?);
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.extend(Cidr::parse_list(&item?.extract::<String>()?)?);
    }
    Ok(out)
}

/// The guard from the constructor's arguments: `guard=False` turns off the loop checks and
/// the default rate limit; an explicit `rate_limit` (0 = off) and allow/deny lists apply
/// either way.
fn guard_arg(
    guard: bool,
    rate_limit: Option<f64>,
    burst: Option<f64>,
    allow: Option<&Bound<'_, PyAny>>,
    deny: Option<&Bound<'_, PyAny>>,
) -> PyResult<GuardConfig> {
    let rate = match rate_limit {
        Some(0.0) => None,
        Some(r) => Some(RateLimit::new(r, burst.unwrap_or(DEFAULT_BURST.max(r)))?),
        None if guard => Some(RateLimit::new(
            DEFAULT_RATE,
            burst.unwrap_or(DEFAULT_BURST),
        )?),
        None => None,
    };
    Ok(GuardConfig {
        loop_checks: guard,
        rate,
        allow: cidr_arg(allow)?,
        deny: cidr_arg(deny)?,
    })
}

/// `escape(data)`: received bytes as one line of text, by udpeco's one escaping rule
/// (printable UTF-8 kept; `\\`, `\n`, `\r`, `\t` and `\xNN` for control characters and
/// bytes that are not UTF-8).
#[pyfunction]
#[allow(clippy::needless_pass_by_value)]
fn escape(data: Vec<u8>) -> String {
    escape_bytes(&data)
}

/// `parse_ports(spec, allow_zero=True)`: a port specification (`"7,9,20000-20100"`) as a
/// list, or `ValueError` with a one-line reason.
#[pyfunction]
#[pyo3(signature = (spec, allow_zero=true))]
fn parse_port_spec(spec: &str, allow_zero: bool) -> PyResult<Vec<u16>> {
    Ok(parse_ports(spec, allow_zero)?)
}

/// The práctica's echo server, run by the Rust engine: echoes every datagram to its sender
/// from the socket that received it and prints `Message[ip:port] - data` for each (the
/// output of `servidor_eco_v1.py`). It binds when constructed (errors are `OSError`, bad
/// arguments `ValueError`/`TypeError`/`OverflowError`); `run()` serves in the foreground,
/// `start()`/`stop()` (or `with EchoServer(...) as server:`) in a background thread.
///
/// Where to listen:
///
/// - `port`: the port (default 44444, the práctica's; 0 = an ephemeral one).
/// - `ports`: several ports instead, as a spec string (`"8888,9999"`, `"30000-39999"`) or
///   an iterable of ints (0 = an ephemeral port, may repeat); each reply leaves from the
///   port its datagram arrived on (`servidor_eco_v3`).
/// - `host`: the address to bind: `''` (all IPv4 interfaces), `'::'` (all IPv6), an
///   address or a name (the one rule of docs/hosts.md).
/// - `random_port`: `(first, last)`: one random free port of that range (final exercise 1);
///   `ports` then holds it.
/// - `workers`: threads sharing the ports with `SO_REUSEPORT` (see `LIMITS`).
///
/// What it does with each datagram:
///
/// - `bufsize`: the longest datagram read; longer ones are truncated, as `recvfrom(1024)`
///   (default 1024; 65535 with `log`, so that the log keeps whole datagrams).
/// - `stop`: the sentinel that ends `run()`, compared after stripping whitespace (default
///   `b"."`; `None`: never stop on a datagram; `str` is encoded as UTF-8). It is not echoed.
/// - `reply_stop`: answer the sentinel to its sender before stopping (exercise 4).
/// - `delay`: seconds each reply waits (exercise 10); other clients are not held up.
/// - `delay_queue`: most bytes of replies waiting for `delay` (default 64 MiB); datagrams
///   beyond it are dropped (counted in `drops`).
/// - `idle_timeout`: end `run()` after this many seconds without a datagram (exercise 9).
/// - `silence`: print `Han pasado S seg sin recibir nada...` after each S seconds of silence
///   (`servidor_eco_v3`).
/// - `log`: a file that gets one line per datagram (UTF-8, `\xNN` for other bytes; final
///   exercise 2). A write error does not stop the echo: see `log_error` (the lines lost
///   count in `drops`).
/// - `overwrite`: empty an existing `log` first (default: append to it; a symlink is never
///   followed).
/// - `quiet`: do not print a line per datagram.
///
/// The guard (on by default; docs/echo.md):
///
/// - `guard`: drop datagrams from the server's own ports, from port 0 and from reflector
///   ports (`LIMITS["reflector_ports"]`: 1-1023, SSDP, NFS, mDNS...), so that two echo
///   servers never ping-pong; `False` turns
///   these checks and the default rate limit off.
/// - `rate_limit`: datagrams a second answered per source address (default 1000 with the
///   guard; 0 = no limit).
/// - `burst`: datagrams one source may send at once before the limit applies (default 2000).
/// - `allow`, `deny`: addresses or networks (`"10.0.0.0/8,192.168.1.5"` or an iterable of
///   such strings) to answer only / never to answer.
///
/// The counters (`stats`, also returned by `run()`) are a dict: `datagrams`, `bytes`,
/// `clients` (distinct senders), `drops` (datagrams not answered or lines not logged), the
/// guard's reasons (`self`, `port0`, `reflector_port`, `denied`, `not_allowed`,
/// `rate_limited`, `table_full`) and `unprinted` (lines not printed: stdout too slow).
#[pyclass(module = "udpeco._udpeco", name = "EchoServer", frozen)]
pub struct PyEchoServer {
    /// The engine; `None` once `close()` released its sockets.
    server: Mutex<Option<Arc<EchoServer>>>,
    /// The bound ports and address, kept for `repr` and the getters after `close()`.
    ports: Vec<u16>,
    ip: std::net::IpAddr,
    /// The counters as they were when `close()` ran.
    final_stats: Mutex<Stats>,
    /// The log's write error as it was when `close()` ran.
    final_log_error: Mutex<Option<String>>,
    token: Cancel,
    stop_requested: AtomicBool,
    thread: Mutex<Option<JoinHandle<crate::Result<End>>>>,
}

#[pymethods]
impl PyEchoServer {
    #[new]
    #[pyo3(signature = (
        port=44444, *, ports=None, host=None, bufsize=None, stop=StopArg::Default,
        reply_stop=false, delay=0.0, idle_timeout=None, log=None, quiet=false, workers=1,
        silence=None, random_port=None, guard=true, rate_limit=None, burst=None, allow=None,
        deny=None, delay_queue=None, overwrite=false
    ))]
    #[pyo3(
        text_signature = "(port=44444, *, ports=None, host='', bufsize=None, stop=b'.', \
        reply_stop=False, delay=0.0, idle_timeout=None, log=None, quiet=False, workers=1, \
        silence=None, random_port=None, guard=True, rate_limit=None, burst=None, allow=None, \
        deny=None, delay_queue=None, overwrite=False)"
    )]
    #[allow(
        clippy::too_many_arguments,
        clippy::needless_pass_by_value,
        clippy::fn_params_excessive_bools
    )]
    fn new(
        port: i64,
        ports: Option<Bound<'_, PyAny>>,
        host: Option<&Bound<'_, PyAny>>,
        bufsize: Option<usize>,
        stop: StopArg,
        reply_stop: bool,
        delay: f64,
        idle_timeout: Option<f64>,
        log: Option<PathBuf>,
        quiet: bool,
        workers: usize,
        silence: Option<f64>,
        random_port: Option<(i64, i64)>,
        guard: bool,
        rate_limit: Option<f64>,
        burst: Option<f64>,
        allow: Option<Bound<'_, PyAny>>,
        deny: Option<Bound<'_, PyAny>>,
        delay_queue: Option<usize>,
        overwrite: bool,
    ) -> PyResult<Self> {
        let ports = match (random_port, ports) {
            (Some((a, b)), _) => PortChoice::Random(port_number(a)?, port_number(b)?),
            (None, Some(p)) => PortChoice::List(convert::ports(&p, true)?),
            (None, None) => PortChoice::List(vec![port_number(port)?]),
        };
        // A log keeps whole datagrams (final 2's recvfrom(65535)); the echo alone
        // truncates as the práctica's recvfrom(1024).
        let bufsize = bufsize.unwrap_or(if log.is_some() {
            MAX_BUFSIZE
        } else {
            DEFAULT_BUFSIZE
        });
        let cfg = EchoConfig {
            host: host.map(convert::host).transpose()?.unwrap_or_default(),
            ports,
            bufsize,
            stop: match stop {
                StopArg::Default => Some(b".".to_vec()),
                StopArg::Off => None,
                StopArg::Sentinel(s) => Some(s),
            },
            reply_stop,
            delay: convert::seconds(delay, "delay", true)?,
            idle_timeout: convert::optional_seconds(idle_timeout, "idle_timeout", true)?,
            silence: convert::optional_seconds(silence, "silence", true)?,
            log,
            quiet,
            workers,
            guard: guard_arg(guard, rate_limit, burst, allow.as_ref(), deny.as_ref())?,
            delay_queue: delay_queue.unwrap_or(DEFAULT_DELAY_QUEUE),
            log_mode: if overwrite {
                LogMode::Overwrite
            } else {
                LogMode::Append
            },
            ..EchoConfig::default()
        };
        let server = EchoServer::bind(cfg)?;
        Ok(PyEchoServer {
            ports: server.ports().to_vec(),
            ip: server.ip(),
            final_stats: Mutex::new(server.stats()),
            final_log_error: Mutex::new(None),
            server: Mutex::new(Some(Arc::new(server))),
            token: Cancel::new(),
            stop_requested: AtomicBool::new(false),
            thread: Mutex::new(None),
        })
    }

    /// The bound ports (ephemeral and random ports resolved).
    #[getter]
    fn ports(&self) -> Vec<u16> {
        self.ports.clone()
    }

    /// The bound address.
    #[getter]
    fn host(&self) -> String {
        self.ip.to_string()
    }

    /// The counters: `{datagrams, bytes, clients, drops, self, port0, reflector_port, denied,
    /// not_allowed, rate_limited, table_full, unprinted}` (see the class's help).
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, self.current_stats())
    }

    /// The first error writing the log (`"[Errno 28] No space left on device"`), or `None`;
    /// the lines lost are counted in `drops`.
    #[getter]
    fn log_error(&self) -> Option<String> {
        match self.lock_server().as_ref() {
            Some(server) => server.log_error(),
            None => self
                .final_log_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// True once `close()` released the ports.
    #[getter]
    fn closed(&self) -> bool {
        self.lock_server().is_none()
    }

    /// True while a background thread started by `start()` is serving.
    #[getter]
    fn running(&self) -> bool {
        self.lock_thread()
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// Serves in the foreground until the stop sentinel, the idle timeout or `stop()` from
    /// another thread; returns the counters. Ctrl+C raises `KeyboardInterrupt`.
    fn run<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let server = self.engine()?;
        self.token.reset();
        self.stop_requested.store(false, Ordering::SeqCst);
        // Output the Rust side writes to fd 1 must come after what Python has buffered.
        let _ = py.import("sys")?.getattr("stdout")?.call_method0("flush");
        let result = detach_with_token(py, &self.token, |cancel| server.run(cancel));
        match result {
            Ok(_) => stats_dict(py, server.stats()),
            Err(_) if self.stop_requested.load(Ordering::SeqCst) => stats_dict(py, server.stats()),
            Err(e) => Err(e),
        }
    }

    /// Serves in a background thread until `stop()` (or the sentinel, or the idle timeout).
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        // Flush before taking the lock: Python code may release the GIL, and another thread
        // that then takes the GIL and asks `running` would block on the lock forever.
        let _ = py.import("sys")?.getattr("stdout")?.call_method0("flush");
        let mut slot = self.lock_thread();
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return Err(PyRuntimeError::new_err(
                "the echo server is already running",
            ));
        }
        if let Some(old) = slot.take() {
            let _ = old.join();
        }
        let server = self.engine()?;
        self.token.reset();
        self.stop_requested.store(false, Ordering::SeqCst);
        let token = self.token.clone();
        *slot = Some(std::thread::spawn(move || server.run(&token)));
        Ok(())
    }

    /// Stops the server (background or foreground) and waits for the background thread.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.stop_requested.store(true, Ordering::SeqCst);
        self.token.stop();
        let handle = self.lock_thread().take();
        if let Some(h) = handle {
            let joined = py.detach(move || h.join());
            match joined {
                Ok(Ok(_) | Err(Error::Interrupted)) => {}
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => return Err(PyRuntimeError::new_err("the echo server thread panicked")),
            }
        }
        Ok(())
    }

    /// Stops the server and releases its ports; the counters stay readable. Closing twice is
    /// allowed; `run()`/`start()` after `close()` raise `OSError` (EBADF).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.stop(py)?;
        if let Some(server) = self.lock_server().take() {
            *self
                .final_stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = server.stats();
            *self
                .final_log_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = server.log_error();
        }
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().start(slf.py())?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let s = self.current_stats();
        let ports = &self.ports;
        let shown = if ports.len() <= 4 {
            format!("{ports:?}")
        } else {
            format!("[{}, ... {} ports]", ports[0], ports.len())
        };
        format!(
            "<udpeco.EchoServer host='{}' ports={shown} datagrams={} clients={}>",
            self.ip, s.datagrams, s.clients
        )
    }
}

impl PyEchoServer {
    fn lock_server(&self) -> std::sync::MutexGuard<'_, Option<Arc<EchoServer>>> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine, or `OSError(EBADF)` once closed.
    fn engine(&self) -> PyResult<Arc<EchoServer>> {
        self.lock_server()
            .as_ref()
            .map(Arc::clone)
            .ok_or_else(|| Error::from_errno(libc::EBADF).into())
    }

    /// Live counters, or the final ones after `close()`.
    fn current_stats(&self) -> Stats {
        match self.lock_server().as_ref() {
            Some(server) => server.stats(),
            None => *self
                .final_stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        }
    }

    fn lock_thread(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<crate::Result<End>>>> {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for PyEchoServer {
    fn drop(&mut self) {
        self.token.stop();
        if let Some(h) = self.lock_thread().take() {
            let _ = h.join();
        }
    }
}

/// Adds `EchoServer` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEchoServer>()?;
    m.add_function(wrap_pyfunction!(escape, m)?)?;
    m.add_function(wrap_pyfunction!(parse_port_spec, m)?)?;
    Ok(())
}
