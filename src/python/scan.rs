//! Binding for the scanner: `udpeco.scan(...)` and `udpeco.ScanResult`.
//!
//! The scan runs with the GIL released ([`detach_interruptible`]), so other threads run and
//! Ctrl+C raises `KeyboardInterrupt` within one tick.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::convert::{self, CallbackError};
use super::interrupt::detach_interruptible;
use crate::scan::probes::parse_nmap_payloads;
use crate::scan::{scan as run_scan, Options, PortResult, Progress, State, DEFAULT_CONCURRENCY};

/// The verdict for one port: `port`, `state` (`"open"`, `"closed"`, `"open|filtered"`,
/// `"filtered"`), `reply` (the bytes an open port sent, else None), `rtt` (seconds, open
/// ports only), `service` (named by a reply to a protocol probe, else None) and `reason`
/// (nmap's `--reason` word).
#[pyclass(frozen, eq, module = "udpeco", name = "ScanResult")]
#[derive(Clone, PartialEq)]
pub struct ScanResult {
    port: u16,
    state: &'static str,
    reply: Option<Vec<u8>>,
    rtt: Option<f64>,
    service: Option<&'static str>,
    reason: &'static str,
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

    /// The service a reply to one of the port's protocol probes named (`"domain"`, `"ntp"`,
    /// `"echo"`...), else None.
    #[getter]
    fn service(&self) -> Option<&'static str> {
        self.service
    }

    /// Why the verdict, in nmap's words: `udp-response`, `port-unreach`, `no-response`,
    /// `admin-prohibited`...
    #[getter]
    fn reason(&self) -> &'static str {
        self.reason
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let reply = match self.reply(py) {
            Some(b) => b.repr()?.to_string(),
            None => "None".to_owned(),
        };
        let rtt = self
            .rtt
            .map_or_else(|| "None".to_owned(), |r| format!("{r:.6}"));
        let service = self
            .service
            .map_or_else(|| "None".to_owned(), |s| format!("'{s}'"));
        Ok(format!(
            "ScanResult(port={}, state='{}', reply={reply}, rtt={rtt}, service={service}, \
             reason='{}')",
            self.port, self.state, self.reason
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
            service: r.service,
            reason: r.reason,
        }
    }
}

/// Scans UDP `ports` of `host` and returns one `ScanResult` per port, in the order given.
///
/// Many ports are probed at once; ICMP port unreachable means `closed`, other ICMP
/// unreachable codes `filtered`, an answer `open`, and silence after `retries + 1` probes
/// `open|filtered`. When the host rate-limits its ICMP errors the scan slows down instead of
/// calling closed ports silent. Well-known ports get their protocol's probes unless `probe`
/// is given (then every port gets it); `nmap_payloads` names an nmap-payloads file whose
/// payloads are added. `progress(done, total)` is called about every 50 ms, `found(result)`
/// for each open port as soon as it is known. `source` (`"ADDR[,ADDR...]"` or a list) probes
/// from those local addresses, the ports shared out between them: a target limits its ICMP
/// errors per source address, so N addresses decide closed ports about N times faster.
/// `closed=False` leaves closed ports out of the list (nmap's "Not shown: N closed ports"):
/// a scan of many ports then builds only the few results worth reading.
#[pyfunction]
#[pyo3(
    signature = (host, ports, timeout=0.5, probe=None, retries=1,
                 concurrency=DEFAULT_CONCURRENCY, rate=None, *, progress=None, found=None,
                 nmap_payloads=None, source=None, closed=true),
    text_signature = "(host, ports, timeout=0.5, probe=None, retries=1, \
                      concurrency=4096, rate=None, *, progress=None, found=None, \
                      nmap_payloads=None, source=None, closed=True)"
)]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn scan(
    py: Python<'_>,
    host: &Bound<'_, PyAny>,
    ports: &Bound<'_, PyAny>,
    timeout: f64,
    probe: Option<Vec<u8>>,
    retries: u32,
    concurrency: usize,
    rate: Option<f64>,
    progress: Option<Py<PyAny>>,
    found: Option<Py<PyAny>>,
    nmap_payloads: Option<std::path::PathBuf>,
    source: Option<&Bound<'_, PyAny>>,
    closed: bool,
) -> PyResult<Vec<ScanResult>> {
    let host = convert::host(host)?;
    let ports = convert::ports(ports, false)?;
    let timeout = convert::seconds(timeout, "timeout", false)?;
    let sources = match source {
        None => Vec::new(),
        Some(s) => convert::sources(s)?,
    };
    let extra_payloads = match &nmap_payloads {
        Some(path) => {
            let text = std::fs::read(path).map_err(crate::error::Error::Io)?;
            parse_nmap_payloads(&String::from_utf8_lossy(&text))?
        }
        None => Vec::new(),
    };
    let opts = Options {
        timeout,
        protocols: probe.is_none(),
        probe: probe.unwrap_or_else(|| b"udpeco".to_vec()),
        extra_payloads,
        retries,
        concurrency,
        rate,
        sources,
    };
    opts.validate()?;
    let failed = CallbackError::default();
    let report = |done: usize, total: usize, open: &[PortResult]| -> bool {
        Python::attach(|py| {
            let mut calls = Vec::new();
            if let Some(cb) = &found {
                for r in open {
                    calls.push(cb.call1(py, (ScanResult::from(r.clone()),)));
                }
            }
            if let Some(cb) = &progress {
                calls.push(cb.call1(py, (done, total)));
            }
            failed.failed(calls.into_iter().try_for_each(|c| c.map(drop)))
        })
    };
    let wanted = progress.is_some() || found.is_some();
    let callback: Option<Progress<'_>> = wanted.then_some(&report as _);
    let result = detach_interruptible(py, |cancel| {
        run_scan(&host, &ports, &opts, cancel, callback)
    });
    Ok(failed
        .result(result)?
        .into_iter()
        .filter(|r| closed || r.state != State::Closed)
        .map(ScanResult::from)
        .collect())
}

/// Adds `scan` and `ScanResult` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ScanResult>()?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add("SCAN_DEFAULT_CONCURRENCY", DEFAULT_CONCURRENCY)?;
    Ok(())
}
