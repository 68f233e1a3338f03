//! Binding of the load generator: `udpeco.bench(...)`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::convert::{self, CallbackError};
use super::interrupt::detach_interruptible;
use crate::bench::{self, BenchConfig, BenchReport, Counts, Interval, Latency, Progress};
use crate::host::{self, Family, Purpose};

/// Nanoseconds to microseconds, as Python floats.
#[allow(clippy::cast_precision_loss)]
fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Percentiles as `p50_us` ... `max_us`, `mean_us` items of `d`.
fn set_latency(d: &Bound<'_, PyDict>, l: &Latency) -> PyResult<()> {
    d.set_item("p50_us", us(l.p50))?;
    d.set_item("p90_us", us(l.p90))?;
    d.set_item("p99_us", us(l.p99))?;
    d.set_item("p999_us", us(l.p999))?;
    d.set_item("p9999_us", us(l.p9999))?;
    d.set_item("min_us", us(l.min))?;
    d.set_item("max_us", us(l.max))?;
    d.set_item("mean_us", l.mean / 1000.0)?;
    Ok(())
}

/// Percentiles as their own dict.
fn latency_dict<'py>(py: Python<'py>, l: &Latency) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    set_latency(&d, l)?;
    Ok(d)
}

/// The counts every report and interval share.
fn set_counts(d: &Bound<'_, PyDict>, c: &Counts) -> PyResult<()> {
    d.set_item("sent", c.sent)?;
    d.set_item("received", c.received)?;
    d.set_item("late", c.late)?;
    d.set_item("duplicates", c.duplicates)?;
    d.set_item("out_of_order", c.out_of_order)?;
    d.set_item("stray", c.stray)?;
    Ok(())
}

/// One interval as a dict.
fn interval_dict<'py>(py: Python<'py>, i: &Interval) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("start", i.start.as_secs_f64())?;
    d.set_item("end", i.end.as_secs_f64())?;
    set_counts(&d, &i.counts)?;
    d.set_item("lost", i.counts.given_up)?;
    d.set_item("rate", i.rate())?;
    d.set_item("jitter_us", i.jitter_ns / 1000.0)?;
    set_latency(&d, &i.latency)?;
    d.set_item("uncorrected", latency_dict(py, &i.uncorrected)?)?;
    Ok(d)
}

/// The report as the dict of the API contract (docs/bench.md lists every key).
fn report_dict<'py>(py: Python<'py>, r: &BenchReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    set_counts(
        &d,
        &Counts {
            sent: r.sent,
            received: r.received,
            given_up: 0,
            late: r.late,
            duplicates: r.duplicates,
            out_of_order: r.out_of_order,
            stray: r.stray,
        },
    )?;
    d.set_item("lost", r.lost)?;
    d.set_item("rate", r.rate)?;
    d.set_item("jitter_us", r.jitter_ns / 1000.0)?;
    set_latency(&d, &r.latency)?;
    d.set_item("uncorrected", latency_dict(py, &r.uncorrected)?)?;
    d.set_item("elapsed", r.elapsed.as_secs_f64())?;
    d.set_item("warmup", r.warmup.as_secs_f64())?;
    d.set_item("cpu", r.cpu.as_secs_f64())?;
    let intervals = PyList::empty(py);
    for i in &r.intervals {
        intervals.append(interval_dict(py, i)?)?;
    }
    d.set_item("intervals", intervals)?;
    d.set_item("gso", r.gso)?;
    d.set_item("gro", r.gro)?;
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
    d.set_item("interval", interval_dict(py, &p.interval)?)?;
    Ok(d)
}

/// Runs a load against the UDP echo server at `host:port` and returns its figures: closed
/// loop with `window` datagrams in flight (64 when `None`), or open loop at `rate`
/// datagrams per second (at most `window` in flight when given). `progress`, if given, is
/// called about once a second (every `interval` when given) with a dict (`elapsed`, `sent`,
/// `received`, `lost`, `rate`, `interval`).
#[pyfunction(name = "bench")]
#[pyo3(signature = (
    host, port, duration = 3.0, window = None, size = 64, rate = None, *,
    progress = None, warmup = 0.0, interval = None, gso = true
))]
#[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
fn run_bench<'py>(
    py: Python<'py>,
    host: &Bound<'py, PyAny>,
    port: u16,
    duration: f64,
    window: Option<usize>,
    size: usize,
    rate: Option<f64>,
    progress: Option<Py<PyAny>>,
    warmup: f64,
    interval: Option<f64>,
    gso: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = BenchConfig {
        duration: convert::seconds(duration, "duration", false)?,
        window,
        size,
        rate,
        warmup: convert::seconds(warmup, "warmup", true)?,
        interval: convert::optional_seconds(interval, "interval", false)?,
        gso,
        ..BenchConfig::default()
    };
    cfg.validate()?;
    let host = convert::host(host)?;
    let failed = CallbackError::default();
    let result = detach_interruptible(py, |cancel| {
        let target = host::resolve_addr(&host, port, Family::Any, Purpose::Reach)?;
        let mut report_progress = |p: &Progress| -> crate::Result<()> {
            let Some(cb) = &progress else { return Ok(()) };
            Python::attach(|py| {
                failed.call(
                    progress_dict(py, p)
                        .and_then(|d| cb.call1(py, (d,)))
                        .map(drop),
                )
            })
        };
        bench::run(target, &cfg, cancel, &mut report_progress)
    });
    let result = failed.result(result)?;
    report_dict(py, &result)
}

/// Adds `bench` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_bench, m)?)
}
