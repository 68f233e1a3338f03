//! Python address tuples to and from socket addresses, with the stdlib's checks and messages.

use std::net::SocketAddr;

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyString, PyTuple};

use crate::addr::{self, AF_INET6};

/// Extracts the host part of an address tuple: `str`, `bytes` or `bytearray`, refusing a NUL
/// inside as the stdlib does (`TypeError('host name must not contain null character')`,
/// before any lookup).
fn host_text(host: &Bound<'_, PyAny>) -> PyResult<String> {
    let text = host_text_any(host)?;
    if text.contains('\0') {
        return Err(PyTypeError::new_err(
            "host name must not contain null character",
        ));
    }
    Ok(text)
}

/// The host as text, whatever its type among `str`, `bytes` and `bytearray`.
fn host_text_any(host: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = host.cast::<PyString>() {
        // A str that is not valid text (surrogates: a command-line word whose bytes are not
        // UTF-8) fails as in the stdlib, whose IDNA encoding of the name fails.
        return s
            .to_str()
            .map(str::to_owned)
            .map_err(|_| PyTypeError::new_err("encoding of hostname failed"));
    }
    if let Ok(b) = host.cast::<PyBytes>() {
        return Ok(String::from_utf8_lossy(b.as_bytes()).into_owned());
    }
    if let Ok(b) = host.cast::<PyByteArray>() {
        return Ok(String::from_utf8_lossy(&b.to_vec()).into_owned());
    }
    Err(PyTypeError::new_err(format!(
        "str, bytes or bytearray expected, not {}",
        host.get_type().name()?
    )))
}

/// Converts a Python address (`(host, port)` for IPv4, `(host, port[, flowinfo[, scope_id]])`
/// for IPv6) into a socket address, resolving the host as the stdlib does (releasing the GIL
/// for a name lookup). `caller` names the method in error messages, as `CPython` does.
pub(super) fn to_socket_addr(
    py: Python<'_>,
    address: &Bound<'_, PyAny>,
    family: i32,
    caller: &str,
) -> PyResult<SocketAddr> {
    let v6 = family == AF_INET6;
    let family_name = if v6 { "AF_INET6" } else { "AF_INET" };
    let Ok(tuple) = address.cast::<PyTuple>() else {
        return Err(PyTypeError::new_err(format!(
            "{caller}(): {family_name} address must be tuple, not {}",
            address.get_type().name()?
        )));
    };
    let len = tuple.len();
    let arity_ok = if v6 { (2..=4).contains(&len) } else { len == 2 };
    if !arity_ok {
        return Err(PyTypeError::new_err(if v6 {
            "AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])"
        } else {
            "AF_INET address must be a pair (host, port)"
        }));
    }
    // The stdlib's order (`getsockaddrarg`): the host's type, the port's type (and C `int`
    // range), the host's lookup, then the port's range and the flow label's.
    let host = tuple.get_item(0)?;
    let host_str = host.cast::<PyString>().ok();
    let text = match host_str {
        Some(_) => None,
        None => Some(host_text(&host)?),
    };
    // Every overflow, even beyond the C `long` range (`2**70`), is the port message.
    let port_overflow = || PyOverflowError::new_err(format!("{caller}(): port must be 0-65535."));
    let port: i64 = tuple.get_item(1)?.extract().map_err(|e: PyErr| {
        if e.is_instance_of::<PyOverflowError>(py) {
            port_overflow()
        } else {
            e
        }
    })?;
    if i32::try_from(port).is_err() {
        return Err(port_overflow());
    }
    // Flow label and scope id are C `unsigned int`s taken modulo 2**32, as the stdlib's `I`
    // format does (a scope id of -1 is 4294967295).
    let flowinfo = if len > 2 {
        masked_u32(&tuple.get_item(2)?)?
    } else {
        0
    };
    let scope_id = if len > 3 {
        masked_u32(&tuple.get_item(3)?)?
    } else {
        0
    };
    let ip = match (host_str, text) {
        (Some(s), _) => {
            let text = s
                .to_str()
                .map_err(|_| PyTypeError::new_err("encoding of hostname failed"))?;
            if let Some(ip) = addr::parse_host(text, family)? {
                ip
            } else {
                let text = host_text(&host)?;
                py.detach(|| addr::lookup(&text, family))?
            }
        }
        (None, Some(text)) => match addr::parse_host(&text, family)? {
            Some(ip) => ip,
            None => py.detach(|| addr::lookup(&text, family))?,
        },
        (None, None) => unreachable!("a host is either a str or converted text"),
    };
    let port = u16::try_from(port).map_err(|_| port_overflow())?;
    if flowinfo > 0xfffff {
        return Err(PyOverflowError::new_err(format!(
            "{caller}(): flowinfo must be 0-1048575."
        )));
    }
    Ok(addr::socket_addr(ip, port, flowinfo, scope_id))
}

/// An integer taken modulo 2**32 (`PyLong_AsUnsignedLongMask`); a non-integer is the
/// interpreter's `TypeError`.
fn masked_u32(value: &Bound<'_, PyAny>) -> PyResult<u32> {
    if value.is_instance_of::<PyInt>() {
        return value.bitand(0xFFFF_FFFF_u32)?.extract();
    }
    let v: i64 = value.extract()?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(v as u32)
}

/// The Python tuple for a socket address: `(host, port)` for IPv4 and
/// `(host, port, flowinfo, scope_id)` for IPv6, as `recvfrom` and `getsockname` return.
pub(super) fn to_tuple<'py>(py: Python<'py>, addr: &SocketAddr) -> PyResult<Bound<'py, PyTuple>> {
    match addr {
        SocketAddr::V4(a) => {
            let mut buf = [0u8; 15];
            let host = format_ipv4(a.ip().octets(), &mut buf);
            (PyString::new(py, host), a.port()).into_pyobject(py)
        }
        SocketAddr::V6(a) => {
            (a.ip().to_string(), a.port(), a.flowinfo(), a.scope_id()).into_pyobject(py)
        }
    }
}

/// Dotted-quad text of an IPv4 address, without the formatting machinery (hot path of
/// `recvfrom`).
fn format_ipv4(octets: [u8; 4], buf: &mut [u8; 15]) -> &str {
    let mut n = 0;
    for (i, o) in octets.iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if *o >= 100 {
            buf[n] = b'0' + o / 100;
            n += 1;
        }
        if *o >= 10 {
            buf[n] = b'0' + (o / 10) % 10;
            n += 1;
        }
        buf[n] = b'0' + o % 10;
        n += 1;
    }
    // Only ASCII digits and dots were written.
    std::str::from_utf8(&buf[..n]).unwrap_or("0.0.0.0")
}
