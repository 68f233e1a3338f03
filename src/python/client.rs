//! Binding of the timed client: `udpeco.Client`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use super::convert;
use super::interrupt::detach_interruptible;
use crate::client::Client;

/// A UDP request/response client: `request(data)` sends `data` to the server and returns
/// its reply, raising `socket.timeout` when no try got an answer within `timeout` seconds.
/// A reply to an earlier request is never returned: with `echo=True` (the default) only the
/// request's own bytes count as its reply; see `crate::client` for how.
#[pyclass(name = "Client", module = "udpeco._udpeco")]
pub struct PyClient {
    inner: Client,
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(
        signature = (host, port, timeout = Some(5.0), retries = 0, bufsize = 1024, *, echo = true),
        text_signature = "(host, port, timeout=5.0, retries=0, bufsize=1024, *, echo=True)"
    )]
    fn new(
        py: Python<'_>,
        host: &Bound<'_, PyAny>,
        port: u16,
        timeout: Option<f64>,
        retries: u32,
        bufsize: usize,
        echo: bool,
    ) -> PyResult<Self> {
        let host = convert::host(host)?;
        let timeout = convert::optional_seconds(timeout, "timeout", false)?;
        let mut inner = detach_interruptible(py, |_| {
            Client::connect(&host, port, timeout, retries, bufsize)
        })?;
        inner.set_echo(echo);
        Ok(PyClient { inner })
    }

    /// Replies discarded because they answered an earlier request (or were not an echo).
    #[getter]
    fn stale(&self) -> u64 {
        self.inner.stale()
    }

    /// True when a reply must be the request's own bytes (an echo server).
    #[getter]
    fn echo(&self) -> bool {
        self.inner.echo()
    }

    /// Sends `data` and returns the reply; retries `retries` times on silence.
    fn request<'py>(&mut self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let inner = &mut self.inner;
        let reply =
            detach_interruptible(py, |cancel| inner.request(data, cancel).map(<[u8]>::len))?;
        // The reply stays in the client's buffer; copy it out once, with the GIL.
        let buf = self.inner.request_buffer();
        Ok(PyBytes::new(py, &buf[..reply]))
    }

    /// Closes the socket; later requests raise `OSError(EBADF)`.
    fn close(&mut self) {
        self.inner.close();
    }

    /// True once closed.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Seconds each try waits for the reply, or `None` for no limit.
    #[getter]
    fn timeout(&self) -> Option<f64> {
        self.inner.timeout().map(|d| d.as_secs_f64())
    }

    /// Number of resends after the first try.
    #[getter]
    fn retries(&self) -> u32 {
        self.inner.retries()
    }

    /// The server's `(host, port)`.
    #[getter]
    fn peer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let p = self.inner.peer();
        PyTuple::new(
            py,
            [
                p.ip().to_string().into_pyobject(py)?.into_any(),
                p.port().into_pyobject(py)?.into_any(),
            ],
        )
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, _args: &Bound<'_, PyTuple>) -> bool {
        self.inner.close();
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.inner.is_closed() {
            " [closed]"
        } else {
            ""
        };
        let timeout = match self.inner.timeout() {
            Some(d) => format!("{:?}", d.as_secs_f64()),
            None => "None".to_owned(),
        };
        format!(
            "<udpeco.Client peer={} timeout={timeout} retries={}{state}>",
            self.inner.peer(),
            self.inner.retries()
        )
    }
}

/// Adds `Client` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyClient>()
}
