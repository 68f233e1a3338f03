//! `udpeco.select`: drop-in for `select.select`, over `poll(2)` (no 1024-descriptor limit).
//!
//! Accepts udpeco sockets, stdlib sockets, files such as `sys.stdin`, integers and any object
//! with `fileno()`, in any iterable, and returns lists of the same objects in input order.

use std::os::fd::RawFd;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyList};

use super::interrupt::detach_interruptible;
use super::socket::PySocket;

/// The descriptor of one object, found as `select.select` finds it.
fn descriptor(obj: &Bound<'_, PyAny>) -> PyResult<RawFd> {
    let fd: i64 = if let Ok(s) = obj.cast::<PySocket>() {
        i64::from(s.get().core().fd())
    } else if obj.is_instance_of::<PyInt>() {
        obj.extract()?
    } else if let Ok(method) = obj.getattr(intern!(obj.py(), "fileno")) {
        let value = method.call0()?;
        if !value.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err("fileno() returned a non-integer"));
        }
        value.extract()?
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
    RawFd::try_from(fd)
        .map_err(|_| PyValueError::new_err("filedescriptor out of range in select()"))
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

/// Converts the timeout argument, with the stdlib's checks.
fn timeout_from_py(timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    let Some(t) = timeout.filter(|t| !t.is_none()) else {
        return Ok(None);
    };
    let secs: f64 = t
        .extract()
        .map_err(|_| PyTypeError::new_err("timeout must be a float or None"))?;
    if secs.is_nan() {
        return Err(PyValueError::new_err("Invalid value NaN (not a number)"));
    }
    if secs < 0.0 {
        return Err(PyValueError::new_err("timeout must be non-negative"));
    }
    Ok(Some(
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
    ))
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
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(select, m)?)
}
