//! The one place where the engines' Python arguments become core values: hosts, seconds,
//! port lists, and the error a Python callback raised while the GIL was released. The bounds
//! are the core's own constants, exposed once as `LIMITS` for the command line's messages.
//!
//! (The drop-in socket keeps the stdlib's conversions, in `address.rs` and `select.rs`.)

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::error::Error;
use crate::portspec::parse_ports;
use crate::{bench, capture, client, echo, host, proxy, scan, wait};

/// A `host` argument of an engine: a `str` that is text. A `str` holding surrogates (a
/// command-line word whose bytes are not UTF-8) is `host`'s one `ValueError`; the rest of
/// the rule (brackets, `''`, `'<broadcast>'`, lookups) is [`crate::host`]'s.
pub(super) fn host(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let Ok(text) = obj.cast::<PyString>() else {
        return Err(PyTypeError::new_err(format!(
            "host must be str, not {}",
            obj.get_type().name()?
        )));
    };
    if let Ok(s) = text.to_str() {
        return Ok(s.to_owned());
    }
    let raw = text.call_method1("encode", ("utf-8", "surrogateescape"))?;
    Err(host::not_text(raw.cast::<PyBytes>()?.as_bytes()).into())
}

/// A `"host:port"` argument as text; one that is not (surrogates) is the host's one
/// `ValueError`, naming the host part only.
pub(super) fn endpoint_text(text: &Bound<'_, PyString>) -> PyResult<String> {
    if let Ok(s) = text.to_str() {
        return Ok(s.to_owned());
    }
    let raw = text.call_method1("encode", ("utf-8", "surrogateescape"))?;
    let bytes = raw.cast::<PyBytes>()?.as_bytes();
    let host = match bytes.iter().rposition(|&b| b == b':') {
        Some(colon) => &bytes[..colon],
        None => bytes,
    };
    let host = host.strip_prefix(b"[").unwrap_or(host);
    let host = host.strip_suffix(b"]").unwrap_or(host);
    Err(host::not_text(host).into())
}

/// Seconds given for `what` as a `Duration`, within the core's one bound
/// ([`crate::wait::seconds`]).
pub(super) fn seconds(value: f64, what: &str, zero_ok: bool) -> PyResult<Duration> {
    Ok(wait::seconds(what, value, zero_ok)?)
}

/// Optional seconds (`None`: no limit).
pub(super) fn optional_seconds(
    value: Option<f64>,
    what: &str,
    zero_ok: bool,
) -> PyResult<Option<Duration>> {
    value.map(|v| seconds(v, what, zero_ok)).transpose()
}

/// A `ports` argument: a spec string (`"7,9,20000-20100"`) or an iterable of ints; 0 (an
/// ephemeral port) only when `allow_zero`. Both forms give the same message for a bad port.
pub(super) fn ports(obj: &Bound<'_, PyAny>, allow_zero: bool) -> PyResult<Vec<u16>> {
    if let Ok(spec) = obj.cast::<PyString>() {
        return Ok(parse_ports(spec.to_str()?, allow_zero)?);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "ports must be a spec string or an iterable of ints, not bytes",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        out.push(port(item?.extract()?, allow_zero)?);
    }
    Ok(out)
}

/// One port number: 1-65535, or 0 too when `allow_zero`.
pub(super) fn port(n: i64, allow_zero: bool) -> PyResult<u16> {
    let low = u16::from(!allow_zero);
    u16::try_from(n).ok().filter(|p| *p >= low).ok_or_else(|| {
        PyValueError::new_err(format!("invalid port {n}: out of range {low}-{}", u16::MAX))
    })
}

/// Carries the exception a Python callback raised while the engine ran without the GIL: the
/// engine is told to stop ([`CallbackError::failed`] returns true, [`CallbackError::call`]
/// `Err(Interrupted)`), and [`CallbackError::result`] raises the callback's exception instead
/// of the engine's own outcome.
#[derive(Default)]
pub(super) struct CallbackError(Mutex<Option<PyErr>>);

impl CallbackError {
    /// Keeps the first error of `outcome`; true when there was one (the engine must stop).
    pub(super) fn failed(&self, outcome: PyResult<()>) -> bool {
        match outcome {
            Ok(()) => false,
            Err(e) => {
                let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
                slot.get_or_insert(e);
                true
            }
        }
    }

    /// [`CallbackError::failed`] as the core's `Result` (`Interrupted` stops the engine).
    ///
    /// # Errors
    /// [`Error::Interrupted`] when `outcome` is an error.
    pub(super) fn call(&self, outcome: PyResult<()>) -> crate::Result<()> {
        if self.failed(outcome) {
            Err(Error::Interrupted)
        } else {
            Ok(())
        }
    }

    /// The engine's result, or the callback's exception when one stopped it.
    pub(super) fn result<T>(self, result: PyResult<T>) -> PyResult<T> {
        match self.0.into_inner().unwrap_or_else(PoisonError::into_inner) {
            Some(e) => Err(e),
            None => result,
        }
    }
}

/// `check_host(host)`: `host` if the engines would accept it, as far as that is known
/// without a lookup; otherwise their `ValueError`/`TypeError`. The command line checks its
/// words with it, so that its messages are the engines'.
#[pyfunction]
fn check_host(host: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = self::host(host)?;
    host::check(&text)?;
    Ok(text)
}

/// `resolve_host(host, family=0, *, bind=False)`: the address the engines use for `host`
/// (`family`: 0 for either, `AF_INET` or `AF_INET6`; `bind`: an address to serve on rather
/// than a peer to reach), as text. May block on a name lookup (without the GIL).
#[pyfunction]
#[pyo3(signature = (host, family = 0, *, bind = false))]
fn resolve_host(
    py: Python<'_>,
    host: &Bound<'_, PyAny>,
    family: i32,
    bind: bool,
) -> PyResult<String> {
    let text = self::host(host)?;
    let family = match family {
        0 => host::Family::Any,
        crate::addr::AF_INET => host::Family::V4,
        crate::addr::AF_INET6 => host::Family::V6,
        other => {
            return Err(PyValueError::new_err(format!(
                "family must be 0, AF_INET or AF_INET6, not {other}"
            )))
        }
    };
    let purpose = if bind {
        host::Purpose::Bind
    } else {
        host::Purpose::Reach
    };
    let ip = py.detach(|| host::resolve(&text, family, purpose))?;
    Ok(ip.to_string())
}

/// `check_seconds(value, what, zero_ok=False)`: `value` if it is a number of seconds the
/// engines accept for `what`, otherwise their `ValueError`.
#[pyfunction]
#[pyo3(signature = (value, what, zero_ok = false))]
fn check_seconds(value: f64, what: &str, zero_ok: bool) -> PyResult<f64> {
    seconds(value, what, zero_ok).map(|_| value)
}

/// The bounds and defaults the command line mentions, each defined once in the core module
/// that owns it: `(low, high)` pairs and single values. The one table of them (`LIMITS`).
fn limits(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seconds", (wait::MIN_SECONDS, wait::MAX_SECONDS))?;
    d.set_item("port", (1, u16::MAX))?;
    d.set_item("bufsize", (1, echo::config::MAX_BUFSIZE))?;
    d.set_item("client_retries", (0, client::MAX_RETRIES))?;
    d.set_item("capture_count", (1, capture::MAX_COUNT))?;
    d.set_item("bench_size", (bench::SEQ_BYTES, bench::MAX_SIZE))?;
    d.set_item("bench_window", (1, bench::MAX_WINDOW))?;
    d.set_item("bench_rate", (0.0, bench::MAX_RATE))?;
    d.set_item(
        "bench_interval",
        (bench::MIN_INTERVAL.as_secs_f64(), wait::MAX_SECONDS),
    )?;
    d.set_item("scan_rate", (0.0, scan::MAX_RATE))?;
    d.set_item("scan_retries", (1, scan::MAX_RETRIES))?;
    d.set_item("proxy_delay", (0.0, proxy::MAX_DELAY_SECS))?;
    d.set_item("proxy_queue_bytes", (1, proxy::MAX_QUEUE_BYTES))?;
    d.set_item("proxy_clients", (1, proxy::MAX_CLIENTS))?;
    d.set_item("proxy_default_clients", proxy::DEFAULT_MAX_CLIENTS)?;
    d.set_item("proxy_default_queue_bytes", proxy::DEFAULT_QUEUE_BYTES)?;
    d.set_item("default_bufsize", echo::config::DEFAULT_BUFSIZE)?;
    d.set_item("workers", (1, echo::config::MAX_WORKERS))?;
    d.set_item("echo_rate", (0.0, echo::guard::MAX_RATE))?;
    d.set_item("echo_burst", (1.0, echo::guard::MAX_RATE))?;
    d.set_item("default_echo_rate", echo::guard::DEFAULT_RATE)?;
    d.set_item("default_echo_burst", echo::guard::DEFAULT_BURST)?;
    d.set_item("delay_queue", echo::config::DELAY_QUEUE_RANGE)?;
    d.set_item("default_delay_queue", echo::config::DEFAULT_DELAY_QUEUE)?;
    d.set_item("reflector_ports", echo::guard::REFLECTOR_PORTS)?;
    Ok(d)
}

/// Adds `LIMITS`, `check_host`, `check_seconds` and `resolve_host` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("LIMITS", limits(m.py())?)?;
    m.add_function(wrap_pyfunction!(check_host, m)?)?;
    m.add_function(wrap_pyfunction!(check_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_host, m)?)?;
    Ok(())
}

/// The scanner's source addresses (`source=`): `"ADDR[,ADDR...]"` or an iterable of address strings (IP literals).
pub(super) fn sources(source: &Bound<'_, PyAny>) -> PyResult<Vec<std::net::IpAddr>> {
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
        // The one host rule's literals (brackets around IPv6 only); a name is not a source.
        let ip = host::check(&text)?.ok_or_else(|| {
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
