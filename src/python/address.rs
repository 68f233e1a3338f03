//! Python address tuples to and from socket addresses, with the stdlib's checks and messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString, PyTuple};

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
pub fn to_socket_addr(
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
    let host = tuple.get_item(0)?;
    // The stdlib maps every overflow, even beyond the C `long` range (`2**70`), to its port
    // message.
    let port_overflow = || PyOverflowError::new_err(format!("{caller}(): port must be 0-65535."));
    let port: i64 = tuple.get_item(1)?.extract().map_err(|e: PyErr| {
        if e.is_instance_of::<PyOverflowError>(py) {
            port_overflow()
        } else {
            e
        }
    })?;
    let port = u16::try_from(port).map_err(|_| port_overflow())?;
    let flowinfo: u32 = if len > 2 {
        let f: i64 = tuple.get_item(2)?.extract()?;
        u32::try_from(f)
            .ok()
            .filter(|f| *f <= 0xfffff)
            .ok_or_else(|| {
                PyOverflowError::new_err(format!("{caller}(): flowinfo must be 0-1048575."))
            })?
    } else {
        0
    };
    let scope_id: u32 = if len > 3 {
        tuple.get_item(3)?.extract()?
    } else {
        0
    };
    // Fast path: numeric hosts and the special names need no lookup and keep the GIL.
    if let Ok(s) = host.cast::<PyString>() {
        if let Ok(text) = s.to_str() {
            if let Some(ip) = addr::parse_host(text, family)? {
                return Ok(addr::socket_addr(ip, port, flowinfo, scope_id));
            }
        }
    }
    let text = host_text(&host)?;
    if let Some(ip) = addr::parse_host(&text, family)? {
        return Ok(addr::socket_addr(ip, port, flowinfo, scope_id));
    }
    let ip = py.detach(|| addr::lookup(&text, family))?;
    Ok(addr::socket_addr(ip, port, flowinfo, scope_id))
}

/// The Python tuple for a socket address: `(host, port)` for IPv4 and
/// `(host, port, flowinfo, scope_id)` for IPv6, as `recvfrom` and `getsockname` return.
pub fn to_tuple<'py>(py: Python<'py>, addr: &SocketAddr) -> PyResult<Bound<'py, PyTuple>> {
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

/// The unspecified address of a family as Python shows it for an unbound socket.
pub fn unbound_tuple(py: Python<'_>, family: i32) -> PyResult<Bound<'_, PyTuple>> {
    let any: IpAddr = if family == AF_INET6 {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    to_tuple(py, &SocketAddr::new(any, 0))
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
