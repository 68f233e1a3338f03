//! Creating and binding an echo server's sockets.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::config::{EchoConfig, PortChoice};
use crate::error::{Error, Result};
use crate::host::{self, Family, Purpose};
use crate::sys;

/// `SO_RCVBUF` asked for when a server has few sockets: room for a burst of tens of
/// thousands of small datagrams (the kernel doubles it and counts per-packet overhead).
const RCVBUF_FEW: usize = 16 << 20;
/// `SO_RCVBUF` per socket when a server has many (a limit, not an allocation).
const RCVBUF_MANY: usize = 256 << 10;
/// Up to this many sockets count as "few".
const FEW_SOCKETS: usize = 64;

/// Sets the receive buffer, past `rmem_max` when allowed (`SO_RCVBUFFORCE`).
fn size_rcvbuf(sock: &Socket, bytes: usize) {
    use std::os::fd::AsRawFd;
    if sys::set_rcvbuf_force(sock.as_raw_fd(), bytes).is_err() {
        let _ = sock.set_recv_buffer_size(bytes);
    }
}

/// Creates one UDP socket bound to `addr`.
fn bind_one(addr: SocketAddr, reuse_port: bool, rcvbuf: usize) -> Result<UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if reuse_port {
        sys::set_reuse_port(&sock)?;
    }
    size_rcvbuf(&sock, rcvbuf);
    sock.bind(&SockAddr::from(addr))?;
    Ok(sock.into())
}

/// Lets this process open `needed` descriptors if the hard limit allows (10,000 ports need
/// more than the usual soft limit of 1,024).
fn raise_fd_limit(needed: usize) {
    sys::raise_nofile_limit(needed + 64);
}

/// The sockets of a server: `sockets[worker][i]` all bound to `ports[i]`.
#[derive(Debug)]
pub(super) struct Bound {
    /// One list of sockets per worker, in the order of `ports`.
    pub sockets: Vec<Vec<UdpSocket>>,
    /// The bound ports, as the system reports them (ephemeral ports resolved).
    pub ports: Vec<u16>,
    /// The bound address.
    pub ip: IpAddr,
}

/// Binds every socket a configuration asks for.
///
/// # Errors
/// [`Error::Io`] with the system's errno (98 for a port in use, 13 for a privileged port),
/// [`Error::Gai`] for a host name that does not resolve.
pub(super) fn bind_all(cfg: &EchoConfig) -> Result<Bound> {
    let ip = host::resolve(&cfg.host, Family::Any, Purpose::Bind)?;
    let workers = cfg.workers;
    let reuse = workers > 1;
    let wanted: Vec<u16> = match &cfg.ports {
        PortChoice::List(p) => p.clone(),
        PortChoice::Random(..) => vec![0],
    };
    let total = wanted.len() * workers;
    raise_fd_limit(total);
    let rcvbuf = cfg.rcvbuf.unwrap_or(if total <= FEW_SOCKETS {
        RCVBUF_FEW
    } else {
        RCVBUF_MANY
    });
    let mut first = Vec::with_capacity(wanted.len());
    match cfg.ports {
        PortChoice::Random(lo, hi) => first.push(bind_random(ip, lo, hi, reuse, rcvbuf)?),
        PortChoice::List(_) => {
            for &p in &wanted {
                first.push(bind_one(SocketAddr::new(ip, p), reuse, rcvbuf)?);
            }
        }
    }
    let ports = first
        .iter()
        .map(|s| s.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<u16>>>()?;
    let mut sockets = vec![first];
    for _ in 1..workers {
        let mut set = Vec::with_capacity(ports.len());
        for &p in &ports {
            set.push(bind_one(SocketAddr::new(ip, p), true, rcvbuf)?);
        }
        sockets.push(set);
    }
    Ok(Bound { sockets, ports, ip })
}

/// Binds a port picked at random in `lo..=hi` (final exercise 1), trying other picks while
/// the picked port is busy.
fn bind_random(ip: IpAddr, lo: u16, hi: u16, reuse: bool, rcvbuf: usize) -> Result<UdpSocket> {
    let span = usize::from(hi - lo) + 1;
    let mut tried = vec![false; span];
    let mut left = span;
    while left > 0 {
        let p: u16 = rand::random_range(lo..=hi);
        let slot = &mut tried[usize::from(p - lo)];
        if *slot {
            continue;
        }
        *slot = true;
        left -= 1;
        match bind_one(SocketAddr::new(ip, p), reuse, rcvbuf) {
            Ok(s) => return Ok(s),
            Err(e) if e.errno() == Some(libc::EADDRINUSE) => {}
            Err(e) => return Err(e),
        }
    }
    Err(Error::from_errno(libc::EADDRINUSE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_port_is_errno_98_and_random_skips_it() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let cfg = EchoConfig {
            host: "127.0.0.1".into(),
            ports: PortChoice::List(vec![port]),
            ..EchoConfig::default()
        };
        assert_eq!(bind_all(&cfg).unwrap_err().errno(), Some(libc::EADDRINUSE));
        let cfg = EchoConfig {
            ports: PortChoice::Random(port, port),
            ..cfg
        };
        assert_eq!(bind_all(&cfg).unwrap_err().errno(), Some(libc::EADDRINUSE));
    }

    #[test]
    fn workers_share_each_port() {
        let cfg = EchoConfig {
            host: "127.0.0.1".into(),
            ports: PortChoice::List(vec![0, 0]),
            workers: 3,
            ..EchoConfig::default()
        };
        let b = bind_all(&cfg).unwrap();
        assert_eq!(b.sockets.len(), 3);
        assert_eq!(b.ports.len(), 2);
        assert_ne!(b.ports[0], b.ports[1]);
        for set in &b.sockets {
            let got: Vec<u16> = set.iter().map(|s| s.local_addr().unwrap().port()).collect();
            assert_eq!(got, b.ports);
        }
    }
}
