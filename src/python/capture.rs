//! Binding of the packet capture: `udpeco.Capture` (an open capture, read datagram by
//! datagram) and `udpeco.capture(...)` (capture until a count or a time, as a list).
//!
//! Each datagram is a dict with the keys of `udpeco.CapturedDatagram`. Waiting releases the
//! GIL and answers Ctrl+C within one tick ([`detach_interruptible`]).

use std::time::{Duration, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::convert;
use super::interrupt::detach_interruptible;
use crate::capture::{Capture, Datagram, Options, MAX_COUNT};
use crate::error::Error;

/// The capture options, with a port checked to be 1-65535.
fn options(iface: Option<String>, port: Option<i64>) -> PyResult<Options> {
    let port = port.map(|p| convert::port(p, false)).transpose()?;
    Ok(Options { iface, port })
}

/// One datagram as the dict `udpeco.CapturedDatagram` describes.
fn to_dict<'py>(py: Python<'py>, d: &Datagram) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    let time = d
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |t| t.as_secs_f64());
    out.set_item("time", time)?;
    out.set_item("iface", &d.iface)?;
    out.set_item("direction", if d.outgoing { "out" } else { "in" })?;
    out.set_item("src", d.udp.src.to_string())?;
    out.set_item("dst", d.udp.dst.to_string())?;
    out.set_item("sport", d.udp.sport)?;
    out.set_item("dport", d.udp.dport)?;
    out.set_item("length", d.udp.length)?;
    out.set_item("checksum", d.udp.checksum)?;
    out.set_item("checksum_status", d.udp.checksum_status.as_str())?;
    out.set_item("payload_len", d.udp.payload.len())?;
    out.set_item("payload", d.payload_text())?;
    out.set_item("data", PyBytes::new(py, &d.udp.payload))?;
    out.set_item("fragment", d.udp.fragment)?;
    Ok(out)
}

/// An open capture of UDP datagrams on one interface (every interface when `iface` is None),
/// only those with `port` as source or destination port when given. Needs `CAP_NET_RAW`
/// (`PermissionError` otherwise).
#[pyclass(name = "Capture", module = "udpeco._udpeco")]
pub struct PyCapture {
    inner: Option<Capture>,
    iface: Option<String>,
    port: Option<u16>,
}

impl PyCapture {
    fn open_inner(&mut self) -> PyResult<&mut Capture> {
        self.inner
            .as_mut()
            .ok_or_else(|| Error::from_errno(libc::EBADF).into())
    }

    fn next_datagram<'py>(
        &mut self,
        py: Python<'py>,
        timeout: Option<Duration>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let cap = self.open_inner()?;
        let got = detach_interruptible(py, |cancel| cap.next(timeout, cancel))?;
        got.map(|d| to_dict(py, &d)).transpose()
    }
}

#[pymethods]
impl PyCapture {
    #[new]
    #[pyo3(signature = (iface = None, port = None))]
    fn new(py: Python<'_>, iface: Option<String>, port: Option<i64>) -> PyResult<Self> {
        let opts = options(iface, port)?;
        let inner = detach_interruptible(py, |_| Capture::open(&opts))?;
        Ok(PyCapture {
            inner: Some(inner),
            iface: opts.iface,
            port: opts.port,
        })
    }

    /// The next datagram, waiting at most `timeout` seconds (None: forever); None when the
    /// time passes first.
    #[pyo3(signature = (timeout = None))]
    fn recv<'py>(
        &mut self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let timeout = convert::optional_seconds(timeout, "timeout", true)?;
        self.next_datagram(py, timeout)
    }

    /// The interface captured on, or None for every interface.
    #[getter]
    fn iface(&self) -> Option<String> {
        self.iface.clone()
    }

    /// The port filtered on, or None.
    #[getter]
    fn port(&self) -> Option<u16> {
        self.port
    }

    /// True once closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// The packet socket's descriptor (e.g. for `select`).
    fn fileno(&mut self) -> PyResult<i32> {
        Ok(self.open_inner()?.fd())
    }

    /// Closes the socket; later calls raise `OSError(EBADF)`.
    fn close(&mut self) {
        self.inner = None;
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, _args: &Bound<'_, PyTuple>) -> bool {
        self.close();
        false
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        if self.inner.is_none() {
            return Ok(None);
        }
        self.next_datagram(py, None)
    }

    fn __repr__(&self) -> String {
        let iface = self.iface.as_deref().unwrap_or("any");
        let port = self
            .port
            .map_or_else(|| "None".to_owned(), |p| p.to_string());
        let state = if self.inner.is_none() { ", closed" } else { "" };
        format!("Capture(iface='{iface}', port={port}{state})")
    }
}

/// Captures UDP datagrams until `count` were seen or `timeout` seconds passed (give at least
/// one of the two) and returns them as a list of dicts (`udpeco.CapturedDatagram`).
#[pyfunction]
#[pyo3(signature = (iface = None, port = None, count = None, timeout = None))]
fn capture(
    py: Python<'_>,
    iface: Option<String>,
    port: Option<i64>,
    count: Option<i64>,
    timeout: Option<f64>,
) -> PyResult<Vec<Bound<'_, PyDict>>> {
    if count.is_none() && timeout.is_none() {
        return Err(PyValueError::new_err(
            "capture() needs count or timeout (or both), or it would never return",
        ));
    }
    let count = count
        .map(|n| {
            usize::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_COUNT).contains(n))
                .ok_or_else(|| {
                    PyValueError::new_err(format!("count must be 1 to {MAX_COUNT}, not {n}"))
                })
        })
        .transpose()?;
    let timeout = convert::optional_seconds(timeout, "timeout", true)?;
    let opts = options(iface, port)?;
    let got = detach_interruptible(py, |cancel| {
        crate::capture::capture(&opts, count, timeout, cancel)
    })?;
    got.iter().map(|d| to_dict(py, d)).collect()
}

/// Adds `Capture` and `capture` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyCapture>()?;
    m.add_function(wrap_pyfunction!(capture, m)?)?;
    Ok(())
}
