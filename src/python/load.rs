//! Binding of the load generator: `udpeco.bench(...)`.

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::interrupt::detach_interruptible;
use crate::error::Error;
use crate::load::{self, LoadConfig, LoadReport, Progress};

/// Nanoseconds to microseconds, as Python floats.
#[allow(clippy::cast_precision_loss)]
fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// The report as the dict of the API contract (plus `late`, `min_us`, `max_us`, `mean_us`).
fn report_dict<'py>(py: Python<'py>, r: &LoadReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("sent", r.sent)?;
    d.set_item("received", r.received)?;
    d.set_item("lost", r.lost)?;
    d.set_item("late", r.late)?;
    d.set_item("rate", r.rate)?;
    d.set_item("p50_us", us(r.p50_ns))?;
    d.set_item("p90_us", us(r.p90_ns))?;
    d.set_item("p99_us", us(r.p99_ns))?;
    d.set_item("p999_us", us(r.p999_ns))?;
    d.set_item("min_us", us(r.min_ns))?;
    d.set_item("max_us", us(r.max_ns))?;
    d.set_item("mean_us", r.mean_ns / 1000.0)?;
    d.set_item("elapsed", r.elapsed.as_secs_f64())?;
    Ok(d)
}

/// A progress snapshot as a dict.
fn progress_dict<'py>(py: Python<'py>, p: &Progress) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("elapsed", p.elapsed.as_secs_f64())?;
    d.set_item("sent", p.sent)?;
    d.set_item("received", p.received)?;
    d.set_item("lost", p.lost)?;
    d.set_item("rate", p.rate)?;
    Ok(d)
}

/// Runs a load against the UDP echo server at `host:port` and returns its figures: closed
/// loop with `window` datagrams in flight, or open loop at `rate` datagrams per second.
/// `progress`, if given, is called about once a second with a dict (`elapsed`, `sent`,
/// `received`, `lost`, `rate`).
#[pyfunction(name = "bench")]
#[pyo3(signature = (host, port, duration = 3.0, window = 64, size = 64, rate = None, *, progress = None))]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn run_bench<'py>(
    py: Python<'py>,
    host: &str,
    port: u16,
    duration: f64,
    window: usize,
    size: usize,
    rate: Option<f64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    if !duration.is_finite() || duration <= 0.0 {
        return Err(PyValueError::new_err(format!(
            "duration must be a positive number of seconds, not {duration}"
        )));
    }
    let cfg = LoadConfig {
        duration: Duration::try_from_secs_f64(duration)
            .map_err(|_| PyValueError::new_err("duration is out of range"))?,
        window,
        size,
        rate,
        ..LoadConfig::default()
    };
    cfg.validate()?;
    let mut callback_error: Option<PyErr> = None;
    let slot = &mut callback_error;
    let result = detach_interruptible(py, |cancel| {
        let target = load::target::resolve(host, port)?;
        let mut report_progress = |p: &Progress| -> crate::Result<()> {
            let Some(cb) = &progress else { return Ok(()) };
            Python::attach(|py| {
                let outcome = progress_dict(py, p).and_then(|d| cb.call1(py, (d,)));
                outcome.map(drop).map_err(|e| {
                    *slot = Some(e);
                    Error::Interrupted
                })
            })
        };
        load::run(target, &cfg, cancel, &mut report_progress)
    });
    if let Some(e) = callback_error {
        return Err(e);
    }
    report_dict(py, &result?)
}

/// Adds `bench` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_bench, m)?)
}
