//! Binding for the scanner: `udpeco.scan(...)` and `udpeco.ScanResult`.
//!
//! The scan runs with the GIL released ([`detach_interruptible`]), so other threads run and
//! Ctrl+C raises `KeyboardInterrupt` within one tick.

use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::interrupt::detach_interruptible;
use crate::portspec::parse_ports;
use crate::scan::{scan as run_scan, Options, PortResult, Progress, DEFAULT_CONCURRENCY};

/// The verdict for one port: `port`, `state` (`"open"`, `"closed"`, `"open|filtered"`,
/// `"filtered"`), `reply` (the bytes an open port sent, else None) and `rtt` (seconds, open
/// ports only).
#[pyclass(frozen, eq, module = "udpeco", name = "ScanResult")]
#[derive(Clone, PartialEq)]
pub struct ScanResult {
    port: u16,
    state: &'static str,
    reply: Option<Vec<u8>>,
    rtt: Option<f64>,
}

#[pymethods]
impl ScanResult {
    /// The port number.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// The verdict, in nmap's words.
    #[getter]
    fn state(&self) -> &'static str {
        self.state
    }

    /// The datagram the port answered with (open ports), else None.
    #[getter]
    fn reply<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.reply.as_deref().map(|r| PyBytes::new(py, r))
    }

    /// Round-trip time of the answer in seconds (open ports), else None.
    #[getter]
    fn rtt(&self) -> Option<f64> {
        self.rtt
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let reply = match self.reply(py) {
            Some(b) => b.repr()?.to_string(),
            None => "None".to_owned(),
        };
        let rtt = self
            .rtt
            .map_or_else(|| "None".to_owned(), |r| format!("{r:.6}"));
        Ok(format!(
            "ScanResult(port={}, state='{}', reply={reply}, rtt={rtt})",
            self.port, self.state
        ))
    }
}

impl From<PortResult> for ScanResult {
    fn from(r: PortResult) -> Self {
        ScanResult {
            port: r.port,
            state: r.state.as_str(),
            reply: r.reply,
            rtt: r.rtt.map(|d| d.as_secs_f64()),
        }
    }
}

/// The ports to scan: a spec string (`"7,9,20000-20100"`) or an iterable of ints.
fn ports_arg(ports: &Bound<'_, PyAny>) -> PyResult<Vec<u16>> {
    if let Ok(spec) = ports.cast::<PyString>() {
        return Ok(parse_ports(spec.to_str()?, false)?);
    }
    if ports.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "ports must be a spec string or an iterable of ints, not bytes",
        ));
    }
    let mut out = Vec::new();
    for item in ports.try_iter()? {
        let n: i64 = item?.extract()?;
        match u16::try_from(n) {
            Ok(p) if p > 0 => out.push(p),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid port {n}: out of range 1-65535"
                )))
            }
        }
    }
    Ok(out)
}

/// Scans UDP `ports` of `host` and returns one `ScanResult` per port, in the order given.
///
/// Many ports are probed at once; ICMP port unreachable means `closed`, other ICMP
/// unreachable codes `filtered`, an answer `open`, and silence after `retries + 1` probes
/// `open|filtered`. When the host rate-limits its ICMP errors the scan slows down instead of
/// calling closed ports silent. `progress(done, total)` is called about every 50 ms.
#[pyfunction]
#[pyo3(
    signature = (host, ports, timeout=0.5, probe=b"udpeco".to_vec(), retries=1,
                 concurrency=DEFAULT_CONCURRENCY, rate=None, *, progress=None),
    text_signature = "(host, ports, timeout=0.5, probe=b'udpeco', retries=1, \
                      concurrency=2048, rate=None, *, progress=None)"
)]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn scan(
    py: Python<'_>,
    host: &str,
    ports: &Bound<'_, PyAny>,
    timeout: f64,
    probe: Vec<u8>,
    retries: u32,
    concurrency: usize,
    rate: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<ScanResult>> {
    let ports = ports_arg(ports)?;
    let timeout = Duration::try_from_secs_f64(timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| PyValueError::new_err("timeout must be a positive number of seconds"))?;
    let opts = Options {
        timeout,
        probe,
        retries,
        concurrency,
        rate,
    };
    opts.validate()?;
    let host = host.to_owned();
    let failed: Mutex<Option<PyErr>> = Mutex::new(None);
    let report = |done: usize, total: usize| -> bool {
        let Some(cb) = &progress else { return false };
        Python::attach(|py| match cb.call1(py, (done, total)) {
            Ok(_) => false,
            Err(e) => {
                *failed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                true
            }
        })
    };
    let callback: Option<Progress<'_>> = progress.is_some().then_some(&report as _);
    let result = detach_interruptible(py, |cancel| {
        run_scan(&host, &ports, &opts, cancel, callback)
    });
    if let Some(e) = failed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        return Err(e);
    }
    Ok(result?.into_iter().map(ScanResult::from).collect())
}

/// Adds `scan` and `ScanResult` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ScanResult>()?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add("SCAN_DEFAULT_CONCURRENCY", DEFAULT_CONCURRENCY)?;
    Ok(())
}
