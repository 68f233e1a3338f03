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
use crate::scan::probes::parse_nmap_payloads;
use crate::scan::{scan as run_scan, Options, PortResult, Progress, DEFAULT_CONCURRENCY};

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

/// The source addresses: `"ADDR[,ADDR...]"` or an iterable of address strings (IP literals).
fn sources_arg(source: &Bound<'_, PyAny>) -> PyResult<Vec<std::net::IpAddr>> {
    let texts: Vec<String> = if let Ok(spec) = source.cast::<PyString>() {
        spec.to_str()?
            .split(',')
            .map(|t| t.trim().to_owned())
            .collect()
    } else {
        let mut out = Vec::new();
        for item in source.try_iter()? {
            out.push(item?.extract::<String>()?);
        }
        out
    };
    let mut addrs = Vec::with_capacity(texts.len());
    for text in texts {
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse().map_err(|_| {
            PyValueError::new_err(format!(
                "invalid source address {text:?}: an IPv4 or IPv6 address of this host"
            ))
        })?;
        if !addrs.contains(&ip) {
            addrs.push(ip);
        }
    }
    if addrs.is_empty() {
        return Err(PyValueError::new_err("source: no address given"));
    }
    Ok(addrs)
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
#[pyfunction]
#[pyo3(
    signature = (host, ports, timeout=0.5, probe=None, retries=1,
                 concurrency=DEFAULT_CONCURRENCY, rate=None, *, progress=None, found=None,
                 nmap_payloads=None, source=None),
    text_signature = "(host, ports, timeout=0.5, probe=None, retries=1, \
                      concurrency=4096, rate=None, *, progress=None, found=None, \
                      nmap_payloads=None, source=None)"
)]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn scan(
    py: Python<'_>,
    host: &str,
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
) -> PyResult<Vec<ScanResult>> {
    let ports = ports_arg(ports)?;
    let sources = match source {
        None => Vec::new(),
        Some(s) => sources_arg(s)?,
    };
    let timeout = Duration::try_from_secs_f64(timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| PyValueError::new_err("timeout must be a positive number of seconds"))?;
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
    let host = host.to_owned();
    let failed: Mutex<Option<PyErr>> = Mutex::new(None);
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
            match calls.into_iter().find_map(Result::err) {
                None => false,
                Some(e) => {
                    *failed
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
                    true
                }
            }
        })
    };
    let wanted = progress.is_some() || found.is_some();
    let callback: Option<Progress<'_>> = wanted.then_some(&report as _);
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
