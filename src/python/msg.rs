//! `sendmsg`, `recvmsg`, `recvmsg_into` with the stdlib's arguments, results and exceptions,
//! and the batch calls `recv_many`/`send_many`, as module functions that take the Python
//! socket first (`sock_recvmsg(sock, bufsize, ...)`): the socket class's methods call them.
//!
//! Each function converts its arguments in the stdlib's order and with its messages, reads
//! the descriptor and timeout through [`fd_and_mode`] only after that (a closed socket fails
//! with `EBADF` where the stdlib's system call would), and does the I/O without the GIL
//! through [`crate::msg`].

use std::cell::RefCell;
use std::io::{IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::RawFd;

use pyo3::exceptions::{
    PyMemoryError, PyOverflowError, PyRuntimeWarning, PyTypeError, PyValueError,
};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PySequence, PyTuple};

use super::address::{to_socket_addr, to_tuple};
use super::buffer::{ReadableBuffer, WritableBuffer};
use super::interrupt::{detach_watching, Gone};
use super::sockref::fd_and_mode;
use crate::addr::AddrKey;
use crate::mmsg::Batch;
use crate::msg::many::{self, Outgoing, RecvPlan};
use crate::msg::{self, Control, Dir, CONTROL_MAX};

/// An `int` argument converted as `CPython`'s `i` format converts it: `PyLong_AsLong`, then
/// the format's own range messages.
#[derive(Clone, Copy)]
struct CInt(i32);

impl<'a, 'py> FromPyObject<'a, 'py> for CInt {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let v: i64 = obj.extract()?;
        i32::try_from(v).map(CInt).map_err(|_| {
            PyOverflowError::new_err(if v > 0 {
                "signed integer is greater than maximum"
            } else {
                "signed integer is less than minimum"
            })
        })
    }
}

/// A size argument converted as `CPython`'s `n` format converts it: `__index__`, then
/// `PyLong_AsSsize_t` (so its overflow message names `ssize_t`).
#[derive(Clone, Copy)]
struct CSize(isize);

impl<'a, 'py> FromPyObject<'a, 'py> for CSize {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        // SAFETY: `obj` is a live object; PyNumber_Index returns a new reference or NULL.
        let index = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyNumber_Index(obj.as_ptr()))? };
        // SAFETY: `index` is a live int.
        let v = unsafe { ffi::PyLong_AsSsize_t(index.as_ptr()) };
        if v == -1 {
            if let Some(err) = PyErr::take(py) {
                return Err(err);
            }
        }
        Ok(CSize(v))
    }
}

/// Whether `sock`'s descriptor is no longer `fd` (checked between wait slices), so that a
/// wait ends when another thread closes the socket.
fn watch(sock: &Bound<'_, PyAny>, fd: RawFd) -> Gone {
    let sock = sock.clone().unbind();
    Box::new(move |py| !matches!(fd_and_mode(sock.bind(py)), Ok((now, _)) if now == fd))
}

/// The socket's address family (`sock.family`), which decides how addresses are read.
fn family(sock: &Bound<'_, PyAny>) -> PyResult<i32> {
    sock.getattr("family")?.extract()
}

/// Materialises an iterable argument as `PySequence_Fast` does, with the stdlib's message
/// when it is not iterable.
fn items<'py>(obj: &Bound<'py, PyAny>, message: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let Ok(iter) = obj.try_iter() else {
        return Err(PyTypeError::new_err(message.to_owned()));
    };
    iter.collect()
}

/// A zeroed receive buffer of `size` bytes, or `MemoryError` (the stdlib's result for an
/// absurd `bufsize`; `vec!` would abort instead). `alloc_zeroed` leaves large buffers to
/// the kernel's zero pages.
fn zeroed(size: usize) -> PyResult<Vec<u8>> {
    if size == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(size).map_err(|_| PyMemoryError::new_err(()))?;
    // SAFETY: `layout` has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return Err(PyMemoryError::new_err(()));
    }
    // SAFETY: `ptr` holds `size` zeroed bytes allocated with the layout a boxed slice of that
    // length frees with.
    Ok(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, size)) }.into_vec())
}

/// The ancillary-data buffer for `ancbufsize`, checked as `CPython` checks it.
fn control_buffer(ancbufsize: isize) -> PyResult<Control> {
    let len = usize::try_from(ancbufsize)
        .ok()
        .filter(|n| *n <= CONTROL_MAX)
        .ok_or_else(|| PyValueError::new_err("invalid ancillary data buffer length"))?;
    Control::zeroed(len).ok_or_else(|| PyMemoryError::new_err(()))
}

/// The address part of a result: the stdlib's tuple, or `None` when the kernel gave none.
fn address<'py>(py: Python<'py>, addr: Option<&SocketAddr>) -> PyResult<Bound<'py, PyAny>> {
    match addr {
        Some(a) => Ok(to_tuple(py, a)?.into_any()),
        None => Ok(py.None().into_bound(py)),
    }
}

/// `recvmsg`'s result tail: the ancillary-data list (warning as `CPython` does when an item
/// was truncated), the flags and the address.
fn finish_recv<'py>(
    py: Python<'py>,
    head: Bound<'py, PyAny>,
    control: &Control,
    rec: &msg::Received,
) -> PyResult<Bound<'py, PyTuple>> {
    let anc = msg::parse_control(control.bytes(), rec.control_len);
    if anc.malformed {
        PyErr::warn(
            py,
            &py.get_type::<PyRuntimeWarning>(),
            c"received malformed or improperly-truncated ancillary data",
            1,
        )?;
    }
    let list = PyList::empty(py);
    for (level, kind, data) in &anc.items {
        list.append((*level, *kind, PyBytes::new(py, data)))?;
    }
    (head, list, rec.flags, address(py, rec.addr.as_ref())?).into_pyobject(py)
}

/// `recvmsg(bufsize[, ancbufsize[, flags]])` -> `(data, ancdata, msg_flags, address)`.
#[pyfunction]
#[pyo3(
    signature = (sock, bufsize, ancbufsize = CSize(0), flags = CInt(0), /),
    text_signature = "(sock, bufsize, ancbufsize=0, flags=0, /)"
)]
fn sock_recvmsg<'py>(
    py: Python<'py>,
    sock: &Bound<'py, PyAny>,
    bufsize: CSize,
    ancbufsize: CSize,
    flags: CInt,
) -> PyResult<Bound<'py, PyTuple>> {
    let (bufsize, ancbufsize, flags) = (bufsize.0, ancbufsize.0, flags.0);
    let size = usize::try_from(bufsize)
        .map_err(|_| PyValueError::new_err("negative buffer size in recvmsg()"))?;
    let mut buf = zeroed(size)?;
    let mut control = control_buffer(ancbufsize)?;
    let (fd, mode) = fd_and_mode(sock)?;
    let rec = detach_watching(py, watch(sock, fd), |c| {
        msg::run(fd, mode, Dir::Recv, flags, c, |f| {
            msg::recvmsg(fd, &mut [IoSliceMut::new(&mut buf)], &mut control, f)
        })
    })?;
    let data = PyBytes::new(py, &buf[..rec.len.min(size)]).into_any();
    finish_recv(py, data, &control, &rec)
}

/// `recvmsg_into(buffers[, ancbufsize[, flags]])` -> `(nbytes, ancdata, msg_flags, address)`.
#[pyfunction]
#[pyo3(
    signature = (sock, buffers, ancbufsize = CSize(0), flags = CInt(0), /),
    text_signature = "(sock, buffers, ancbufsize=0, flags=0, /)"
)]
fn sock_recvmsg_into<'py>(
    py: Python<'py>,
    sock: &Bound<'py, PyAny>,
    buffers: &Bound<'py, PyAny>,
    ancbufsize: CSize,
    flags: CInt,
) -> PyResult<Bound<'py, PyTuple>> {
    let (ancbufsize, flags) = (ancbufsize.0, flags.0);
    let mut targets = items(buffers, "recvmsg_into() argument 1 must be an iterable")?
        .iter()
        .map(|b| {
            WritableBuffer::new(b, "recvmsg_into").map_err(|_| {
                PyTypeError::new_err(
                    "recvmsg_into() argument 1 must be an iterable of single-segment \
                     read-write buffers",
                )
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let mut control = control_buffer(ancbufsize)?;
    let (fd, mode) = fd_and_mode(sock)?;
    let mut slices: Vec<IoSliceMut<'_>> = targets
        .iter_mut()
        .map(|t| {
            let n = t.len();
            IoSliceMut::new(t.slice_mut(n))
        })
        .collect();
    let rec = detach_watching(py, watch(sock, fd), |c| {
        msg::run(fd, mode, Dir::Recv, flags, c, |f| {
            msg::recvmsg(fd, &mut slices, &mut control, f)
        })
    })?;
    let head = rec.len.into_pyobject(py)?.into_any();
    finish_recv(py, head, &control, &rec)
}

/// The message `PyArg_Parse(item, "(iiy*):[sendmsg() ancillary data items]")` gives.
fn anc_item_error(detail: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "[sendmsg() ancillary data items]() argument must be {detail}"
    ))
}

/// One ancillary-data item `(level, type, data)`, checked as `CPython` checks it.
fn anc_item(item: &Bound<'_, PyAny>) -> PyResult<(i32, i32, ReadableBuffer)> {
    if item.is_instance_of::<PyBytes>() || item.cast::<PySequence>().is_err() {
        let name = if item.is_none() {
            "None".to_owned()
        } else {
            item.get_type().name()?.to_string()
        };
        return Err(anc_item_error(&format!("3-item sequence, not {name}")));
    }
    let seq = item.cast::<PySequence>()?;
    let len = seq.len()?;
    if len != 3 {
        return Err(anc_item_error(&format!("sequence of length 3, not {len}")));
    }
    let CInt(level) = seq.get_item(0)?.extract()?;
    let CInt(kind) = seq.get_item(1)?.extract()?;
    let data = ReadableBuffer::new(&seq.get_item(2)?)?;
    Ok((level, kind, data))
}

/// `sendmsg(buffers[, ancdata[, flags[, address]]])` -> bytes sent.
#[pyfunction]
#[pyo3(signature = (sock, buffers, /, *args))]
fn sock_sendmsg(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    buffers: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
) -> PyResult<usize> {
    if args.len() > 3 {
        return Err(PyTypeError::new_err(format!(
            "sendmsg() takes at most 4 arguments ({} given)",
            args.len() + 1
        )));
    }
    let ancdata = args.get_item(0).ok();
    let flags = match args.get_item(1) {
        Ok(f) => f.extract::<CInt>()?.0,
        Err(_) => 0,
    };
    let to = match args.get_item(2) {
        Ok(a) if !a.is_none() => Some(to_socket_addr(py, &a, family(sock)?, "sendmsg")?),
        _ => None,
    };
    let data = items(buffers, "sendmsg() argument 1 must be an iterable")?
        .iter()
        .map(ReadableBuffer::new)
        .collect::<PyResult<Vec<_>>>()?;
    let anc = match &ancdata {
        Some(a) => items(a, "sendmsg() argument 2 must be an iterable")?
            .iter()
            .map(anc_item)
            .collect::<PyResult<Vec<_>>>()?,
        None => Vec::new(),
    };
    let layout: Vec<(i32, i32, &[u8])> = anc.iter().map(|(l, k, d)| (*l, *k, d.bytes())).collect();
    let control = msg::build_control(&layout)?;
    let (fd, mode) = fd_and_mode(sock)?;
    let slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(d.bytes())).collect();
    detach_watching(py, watch(sock, fd), |c| {
        msg::run(fd, mode, Dir::Send, flags, c, |f| {
            msg::sendmsg(fd, &slices, &control, to.as_ref(), f)
        })
    })
}

/// Receive batches at most this large are kept per thread between calls.
const CACHED_BATCH_MAX: usize = 8 << 20;

thread_local! {
    /// The last receive batch of this thread and the plan it was made for.
    static RECV_BATCH: RefCell<Option<(RecvPlan, Batch)>> = const { RefCell::new(None) };
}

/// A batch for `plan`: this thread's cached one when it fits, else a new one.
fn batch_for(plan: RecvPlan) -> Batch {
    let cached = RECV_BATCH.with(|cell| cell.try_borrow_mut().ok().and_then(|mut c| c.take()));
    match cached {
        Some((p, b)) if p == plan => b,
        _ => {
            let batch = Batch::named(plan.slots, plan.slot_len, false);
            if plan.gro {
                batch.with_control(crate::mmsg::gso::GRO_CONTROL_LEN)
            } else {
                batch
            }
        }
    }
}

/// Keeps `batch` for the next call of this thread, if it is not too large.
fn keep(plan: RecvPlan, batch: Batch) {
    if plan.slots * plan.slot_len <= CACHED_BATCH_MAX {
        RECV_BATCH.with(|cell| {
            if let Ok(mut c) = cell.try_borrow_mut() {
                *c = Some((plan, batch));
            }
        });
    }
}

/// `recv_many(max_count, bufsize)` -> `[(data, address), ...]`: waits for one datagram as
/// the socket's timeout says, then takes up to `max_count` queued ones in one `recvmmsg`.
#[pyfunction]
#[pyo3(signature = (sock, max_count, bufsize, /))]
fn sock_recv_many<'py>(
    py: Python<'py>,
    sock: &Bound<'py, PyAny>,
    max_count: CSize,
    bufsize: CSize,
) -> PyResult<Bound<'py, PyList>> {
    let (max_count, bufsize) = (max_count.0, bufsize.0);
    let count = usize::try_from(max_count)
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PyValueError::new_err("recv_many() max_count must be positive"))?;
    let size = usize::try_from(bufsize)
        .map_err(|_| PyValueError::new_err("negative buffersize in recv_many"))?;
    let (fd, mode) = fd_and_mode(sock)?;
    let gro = many::gro_enabled(fd);
    // No datagram exceeds 64 KiB: larger slots would only waste memory.
    let plan = many::recv_plan(count, size.min(many::GRO_SLOT), gro);
    let mut batch = batch_for(plan);
    let result = detach_watching(py, watch(sock, fd), |c| {
        many::recv_batch(fd, &mut batch, plan, mode, c)
    });
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            keep(plan, batch);
            return Err(e);
        }
    };
    let mut out: Vec<Bound<'py, PyTuple>> = Vec::with_capacity(n);
    let mut last: Option<(AddrKey, Bound<'py, PyAny>)> = None;
    for i in 0..n {
        let key = batch.key(i);
        let from = match &last {
            Some((k, obj)) if *k == key => obj.clone(),
            _ => {
                let obj = address(py, batch.addr(i).as_ref())?;
                last = Some((key, obj.clone()));
                obj
            }
        };
        for seg in batch.segments(i, plan.gro) {
            let data = PyBytes::new(py, &seg[..seg.len().min(size)]);
            out.push(PyTuple::new(py, [data.into_any(), from.clone()])?);
        }
    }
    keep(plan, batch);
    PyList::new(py, out)
}

/// A destination as `sendmmsg` takes it.
type RawName = (crate::addr::RawAddr, libc::socklen_t);

/// `send_many(items)` -> how many datagrams were sent: `items` is an iterable of
/// `(data, address)` pairs (`address` `None`: the connected peer).
#[pyfunction]
#[pyo3(signature = (sock, items, /))]
fn sock_send_many(
    py: Python<'_>,
    sock: &Bound<'_, PyAny>,
    items: &Bound<'_, PyAny>,
) -> PyResult<usize> {
    let pairs = self::items(
        items,
        "send_many() argument must be an iterable of (data, address) pairs",
    )?;
    let family = family(sock)?;
    let mut data = Vec::with_capacity(pairs.len());
    let mut names = Vec::with_capacity(pairs.len());
    let mut last: Option<(Bound<'_, PyAny>, Option<RawName>)> = None;
    for pair in &pairs {
        let tuple = pair
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| {
                PyTypeError::new_err(format!(
                    "send_many() items must be (data, address) pairs, not {}",
                    pair.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
        data.push(ReadableBuffer::new(&tuple.get_item(0)?)?);
        let addr_obj = tuple.get_item(1)?;
        let name = match &last {
            // The same address object as the previous item: converted once.
            Some((obj, name)) if obj.is(&addr_obj) => *name,
            _ => {
                let name = if addr_obj.is_none() {
                    None
                } else {
                    let a = to_socket_addr(py, &addr_obj, family, "send_many")?;
                    Some(crate::addr::to_raw(&a))
                };
                last = Some((addr_obj, name));
                name
            }
        };
        names.push(name);
    }
    let (fd, mode) = fd_and_mode(sock)?;
    let outgoing: Vec<Outgoing<'_>> = data
        .iter()
        .zip(names)
        .map(|(d, to)| Outgoing {
            data: d.bytes(),
            to,
        })
        .collect();
    detach_watching(py, watch(sock, fd), |c| {
        many::send_many(fd, &outgoing, mode, c, true, false)
    })
}

/// Constants of the message calls, with the platform's values. `udpeco/__init__.py` exports
/// the stdlib's own objects for those the stdlib has.
const CONSTANTS: &[(&str, i32)] = &[
    ("MSG_CTRUNC", libc::MSG_CTRUNC),
    ("MSG_ERRQUEUE", libc::MSG_ERRQUEUE),
    ("SOL_IP", libc::SOL_IP),
    ("SOL_UDP", libc::SOL_UDP),
    ("IP_PKTINFO", libc::IP_PKTINFO),
    ("IP_RECVTOS", libc::IP_RECVTOS),
    ("IP_RECVTTL", libc::IP_RECVTTL),
    ("IP_RECVERR", libc::IP_RECVERR),
    ("IPV6_PKTINFO", libc::IPV6_PKTINFO),
    ("IPV6_RECVPKTINFO", libc::IPV6_RECVPKTINFO),
    ("IPV6_TCLASS", libc::IPV6_TCLASS),
    ("IPV6_RECVTCLASS", libc::IPV6_RECVTCLASS),
    ("IPV6_HOPLIMIT", libc::IPV6_HOPLIMIT),
    ("IPV6_RECVHOPLIMIT", libc::IPV6_RECVHOPLIMIT),
    ("IPV6_RECVERR", libc::IPV6_RECVERR),
    ("SO_TIMESTAMP", libc::SO_TIMESTAMP),
    ("SO_TIMESTAMPNS", libc::SO_TIMESTAMPNS),
    ("SCM_TIMESTAMP", libc::SCM_TIMESTAMP),
    ("SCM_TIMESTAMPNS", libc::SCM_TIMESTAMPNS),
    ("UDP_SEGMENT", many::UDP_SEGMENT),
    ("UDP_GRO", many::UDP_GRO),
];

/// Adds the functions and constants to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sock_recvmsg, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recvmsg_into, m)?)?;
    m.add_function(wrap_pyfunction!(sock_sendmsg, m)?)?;
    m.add_function(wrap_pyfunction!(sock_recv_many, m)?)?;
    m.add_function(wrap_pyfunction!(sock_send_many, m)?)?;
    for (name, value) in CONSTANTS {
        m.add(*name, *value)?;
    }
    Ok(())
}
