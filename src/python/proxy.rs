//! `udpeco.Proxy`: the UDP impairment proxy for Python (tests put it between a client and a
//! server to get loss, delay, jitter, duplicates and reordering without root).
//!
//! The constructor binds (so `.address` is known at once); `with` (or `start()`) forwards in
//! a background Rust thread, `run()` in the foreground with the GIL released (Ctrl+C raises
//! `KeyboardInterrupt` within one tick). `stats()` reads live counters.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::convert;
use super::interrupt::{detach_interruptible, detach_with_token};
use crate::cancel::Cancel;
use crate::error::Error;
use crate::host::{self, Family, Purpose};
use crate::proxy::{
    delay_secs, probability, split_endpoint, DirStats, Directions, Impairment, Proxy, ProxyConfig,
    Stats, DEFAULT_MAX_CLIENTS, DEFAULT_QUEUE_BYTES,
};

/// An address argument: `"host:port"`, `(host, port)`, or a bare port on 127.0.0.1; the
/// host by the engines' one rule, to bind for `listen` and to reach for `target`.
fn endpoint(
    py: Python<'_>,
    obj: &Bound<'_, PyAny>,
    what: &str,
    purpose: Purpose,
) -> PyResult<SocketAddr> {
    let (host, port) = if let Ok(s) = obj.cast::<PyString>() {
        split_endpoint(&convert::endpoint_text(s)?, Some("127.0.0.1"))?
    } else if let Ok(t) = obj.cast::<PyTuple>() {
        if t.len() != 2 {
            return Err(PyTypeError::new_err(format!(
                "{what} must be a (host, port) tuple"
            )));
        }
        (
            convert::host(&t.get_item(0)?)?,
            t.get_item(1)?.extract::<u16>()?,
        )
    } else if let Ok(port) = obj.extract::<u16>() {
        ("127.0.0.1".to_owned(), port)
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be 'host:port', a (host, port) tuple or a port number"
        )));
    };
    detach_interruptible(py, |_| {
        host::resolve_addr(&host, port, Family::Any, purpose)
    })
}

/// One direction's counters as a dict.
fn dir_dict(py: Python<'_>, d: DirStats) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("received", d.received)?;
    out.set_item("forwarded", d.forwarded)?;
    out.set_item("dropped", d.dropped)?;
    out.set_item("duplicated", d.duplicated)?;
    out.set_item("reordered", d.reordered)?;
    out.set_item("delayed", d.delayed)?;
    out.set_item("overflow", d.overflow)?;
    out.set_item("send_errors", d.send_errors)?;
    Ok(out)
}

/// `(host, port)` of an address.
fn addr_tuple(py: Python<'_>, a: SocketAddr) -> PyResult<Bound<'_, PyTuple>> {
    (a.ip().to_string(), a.port()).into_pyobject(py)
}

/// A UDP impairment proxy between clients and one target.
#[pyclass(module = "udpeco._udpeco", name = "Proxy", frozen)]
pub struct PyProxy {
    proxy: Mutex<Option<Arc<Proxy>>>,
    local: SocketAddr,
    target: SocketAddr,
    seed: u64,
    final_stats: Mutex<Stats>,
    token: Cancel,
    thread: Mutex<Option<JoinHandle<crate::Result<()>>>>,
}

#[pymethods]
impl PyProxy {
    #[new]
    #[pyo3(signature = (
        listen, target, *, loss=0.0, delay=0.0, jitter=0.0, dup=0.0, reorder=0.0, seed=None,
        direction="both", queue_bytes=DEFAULT_QUEUE_BYTES, max_clients=DEFAULT_MAX_CLIENTS
    ))]
    #[pyo3(
        text_signature = "(listen, target, *, loss=0.0, delay=0.0, jitter=0.0, dup=0.0, \
        reorder=0.0, seed=None, direction='both', queue_bytes=16777216, max_clients=1024)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        listen: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
        loss: f64,
        delay: f64,
        jitter: f64,
        dup: f64,
        reorder: f64,
        seed: Option<u64>,
        direction: &str,
        queue_bytes: usize,
        max_clients: usize,
    ) -> PyResult<Self> {
        let imp = Impairment {
            loss: probability("loss", loss)?,
            dup: probability("dup", dup)?,
            reorder: probability("reorder", reorder)?,
            delay: delay_secs("delay", delay)?,
            jitter: delay_secs("jitter", jitter)?,
        };
        let directions = Directions::parse(direction)?;
        let mut cfg = ProxyConfig::new(
            endpoint(py, listen, "listen", Purpose::Bind)?,
            endpoint(py, target, "target", Purpose::Reach)?,
        )
        .impair(imp, directions);
        cfg.seed = seed.unwrap_or_else(rand::random);
        cfg.queue_bytes = queue_bytes;
        cfg.max_clients = max_clients;
        let proxy = Proxy::bind(cfg.clone())?;
        Ok(PyProxy {
            local: proxy.local_addr(),
            target: cfg.target,
            seed: cfg.seed,
            final_stats: Mutex::new(proxy.stats()),
            proxy: Mutex::new(Some(Arc::new(proxy))),
            token: Cancel::new(),
            thread: Mutex::new(None),
        })
    }

    /// The `(host, port)` clients send to.
    #[getter]
    fn address<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        addr_tuple(py, self.local)
    }

    /// The `(host, port)` datagrams are forwarded to.
    #[getter]
    fn target<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        addr_tuple(py, self.target)
    }

    /// The seed of every decision (drawn at random when not given): pass it again to
    /// replay the same decisions.
    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    /// True while the background thread forwards.
    #[getter]
    fn running(&self) -> bool {
        self.lock_thread()
            .as_ref()
            .is_some_and(|h| !h.is_finished())
    }

    /// True once closed.
    #[getter]
    fn closed(&self) -> bool {
        self.lock_proxy().is_none()
    }

    /// The counters: `{"up": {...}, "down": {...}, "clients", "rejected", "queued_bytes"}`;
    /// each direction has received, forwarded, dropped, duplicated, reordered, delayed,
    /// overflow and `send_errors`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = match self.lock_proxy().as_ref() {
            Some(p) => p.stats(),
            None => *self
                .final_stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        };
        let d = PyDict::new(py);
        d.set_item("up", dir_dict(py, s.up)?)?;
        d.set_item("down", dir_dict(py, s.down)?)?;
        d.set_item("clients", s.clients)?;
        d.set_item("rejected", s.rejected)?;
        d.set_item("queued_bytes", s.queued_bytes)?;
        Ok(d)
    }

    /// Forwards in the foreground until `stop()` from another thread (returns) or Ctrl+C
    /// (`KeyboardInterrupt`).
    fn run(&self, py: Python<'_>) -> PyResult<()> {
        let proxy = self.engine()?;
        self.token.reset();
        match detach_with_token(py, &self.token, |cancel| proxy.run(cancel)) {
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) => Err(e),
            Err(_) if self.token.is_stopped() => Ok(()),
            other => other,
        }
    }

    /// Forwards in a background thread until `stop()` or `close()`.
    fn start(&self) -> PyResult<()> {
        let mut slot = self.lock_thread();
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return Err(PyRuntimeError::new_err("the proxy is already running"));
        }
        if let Some(old) = slot.take() {
            let _ = old.join();
        }
        let proxy = self.engine()?;
        self.token.reset();
        let token = self.token.clone();
        *slot = Some(std::thread::spawn(move || proxy.run(&token)));
        Ok(())
    }

    /// Stops forwarding (within one 50 ms tick) and waits for the background thread.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.token.stop();
        let handle = self.lock_thread().take();
        if let Some(h) = handle {
            match py.detach(move || h.join()) {
                Ok(Ok(()) | Err(Error::Interrupted)) => {}
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => return Err(PyRuntimeError::new_err("the proxy thread panicked")),
            }
        }
        Ok(())
    }

    /// Stops and releases the sockets; `stats()` stays readable. Closing twice is allowed.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.stop(py)?;
        if let Some(p) = self.lock_proxy().take() {
            *self
                .final_stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = p.stats();
        }
        Ok(())
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().start()?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { " [closed]" } else { "" };
        format!(
            "<udpeco.Proxy {} -> {} seed={}{state}>",
            self.local, self.target, self.seed
        )
    }
}

impl PyProxy {
    fn lock_proxy(&self) -> std::sync::MutexGuard<'_, Option<Arc<Proxy>>> {
        self.proxy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_thread(&self) -> std::sync::MutexGuard<'_, Option<JoinHandle<crate::Result<()>>>> {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine, or `OSError(EBADF)` once closed.
    fn engine(&self) -> PyResult<Arc<Proxy>> {
        self.lock_proxy()
            .as_ref()
            .map(Arc::clone)
            .ok_or_else(|| Error::from_errno(libc::EBADF).into())
    }
}

impl Drop for PyProxy {
    fn drop(&mut self) {
        self.token.stop();
        if let Some(h) = self.lock_thread().take() {
            let _ = h.join();
        }
    }
}

/// Adds `Proxy` to the module (its limits are in `LIMITS`).
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyProxy>()
}
