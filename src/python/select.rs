//! `udpeco.select`: drop-in for `select.select`, over `poll(2)` (no 1024-descriptor limit).
//!
//! Accepts udpeco sockets, stdlib sockets, files such as `sys.stdin`, integers and any object
//! with `fileno()`, in any iterable, and returns lists of the same objects in input order.

use std::os::fd::RawFd;
use std::time::Duration;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyFloat, PyInt, PyList};

use super::interrupt::detach_interruptible;

/// Seconds (a float or an int) to nanoseconds, exactly as the interpreter's
/// `_PyTime_FromSecondsObject(..., _PyTime_ROUND_TIMEOUT)` converts a timeout: floats are
/// rounded away from zero, ints must be integers (`__index__`), and the two overflow cases
/// keep the interpreter's two different messages. `settimeout` and `select` both use it,
/// as the stdlib's do, so their errors match (`inf` is "timestamp out of range for platform
/// `time_t`"; an object with only `__float__` is refused).
fn seconds_to_ns(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    const TOO_LARGE: &str = "timestamp too large to convert to C _PyTime_t";
    if let Ok(f) = value.cast::<PyFloat>() {
        let secs = f.value();
        if secs.is_nan() {
            return Err(PyValueError::new_err("Invalid value NaN (not a number)"));
        }
        let ns = secs * 1e9;
        let ns = if ns >= 0.0 { ns.ceil() } else { ns.floor() };
        // i64::MIN as f64 is exact (-2**63); the valid range is [-2**63, 2**63).
        #[allow(clippy::cast_precision_loss)]
        let limit = -(i64::MIN as f64);
        if !(-limit..limit).contains(&ns) {
            return Err(PyOverflowError::new_err(
                "timestamp out of range for platform time_t",
            ));
        }
        #[allow(clippy::cast_possible_truncation)]
        return Ok(ns as i64);
    }
    let secs: i64 = value.extract().map_err(|e: PyErr| {
        if e.is_instance_of::<PyOverflowError>(value.py()) {
            PyOverflowError::new_err(TOO_LARGE)
        } else {
            e
        }
    })?;
    secs.checked_mul(1_000_000_000)
        .ok_or_else(|| PyOverflowError::new_err(TOO_LARGE))
}

/// `_PyLong_AsInt` (the stdlib's C code) for a descriptor: any value outside the C `int` range is an
/// `OverflowError` with its message.
fn c_int(value: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    const TOO_LARGE: &str = "Python int too large to convert to C int";
    let wide: i64 = value.extract().map_err(|e: PyErr| {
        if e.is_instance_of::<PyOverflowError>(value.py()) {
            PyOverflowError::new_err(TOO_LARGE)
        } else {
            e
        }
    })?;
    RawFd::try_from(wide).map_err(|_| PyOverflowError::new_err(TOO_LARGE))
}

/// The descriptor of one object, found as `select.select` finds it
/// (`PyObject_AsFileDescriptor` in the stdlib's C code): a descriptor beyond the C `int`
/// range is an `OverflowError`, checked before the sign.
fn descriptor(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let fd = if obj.is_instance_of::<PyInt>() {
        c_int(obj)?
    } else if let Ok(method) = obj.getattr(intern!(obj.py(), "fileno")) {
        let value = method.call0()?;
        if !value.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err("fileno() returned a non-integer"));
        }
        c_int(&value)?
    } else {
        return Err(PyTypeError::new_err(
            "argument must be an int, or have a fileno() method.",
        ));
    };
    if fd < 0 {
        return Err(PyValueError::new_err(format!(
            "file descriptor cannot be a negative integer ({fd})"
        )));
    }
    Ok(fd)
}

/// The objects of one argument and their descriptors.
fn gather<'py>(arg: &Bound<'py, PyAny>) -> PyResult<(Vec<Bound<'py, PyAny>>, Vec<RawFd>)> {
    let iter = arg
        .try_iter()
        .map_err(|_| PyTypeError::new_err("arguments 1-3 must be sequences"))?;
    let mut objs = Vec::new();
    let mut fds = Vec::new();
    for item in iter {
        let item = item?;
        fds.push(descriptor(&item)?);
        objs.push(item);
    }
    Ok((objs, fds))
}

/// Converts the timeout argument, with the stdlib's checks: seconds to nanoseconds as
/// the stdlib does (see [`seconds_to_ns`]), a `TypeError` there becoming "timeout must be a
/// float or None", then the sign check. A huge timeout (`1e100`) is the stdlib's
/// `OverflowError`.
fn timeout_from_py(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(t) = timeout.filter(|t| !t.is_none()) else {
        return Ok(None);
    };
    let ns = seconds_to_ns(t).map_err(|e| {
        if e.is_instance_of::<PyTypeError>(t.py()) {
            PyTypeError::new_err("timeout must be a float or None")
        } else {
            e
        }
    })?;
    let ns =
        u64::try_from(ns).map_err(|_| PyValueError::new_err("timeout must be non-negative"))?;
    Ok(Some(Duration::from_nanos(ns)))
}

/// Waits until some of the objects are ready for reading, writing or an exceptional
/// condition, or until `timeout` seconds pass (`None`: forever). Returns three lists: the
/// ready objects of each argument, in the order given.
#[pyfunction]
#[pyo3(signature = (rlist, wlist, xlist, timeout = None))]
fn select<'py>(
    py: Python<'py>,
    rlist: &Bound<'py, PyAny>,
    wlist: &Bound<'py, PyAny>,
    xlist: &Bound<'py, PyAny>,
    timeout: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>, Bound<'py, PyList>)> {
    let timeout = timeout_from_py(timeout)?;
    let (r_objs, r_fds) = gather(rlist)?;
    let (w_objs, w_fds) = gather(wlist)?;
    let (x_objs, x_fds) = gather(xlist)?;
    let ready = detach_interruptible(py, |c| {
        crate::select::select(&r_fds, &w_fds, &x_fds, timeout, c)
    })?;
    let pick =
        |objs: &[Bound<'py, PyAny>], idx: &[usize]| PyList::new(py, idx.iter().map(|&i| &objs[i]));
    Ok((
        pick(&r_objs, &ready.read)?,
        pick(&w_objs, &ready.write)?,
        pick(&x_objs, &ready.except)?,
    ))
}

/// Adds `select` to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(select, m)?)
}
