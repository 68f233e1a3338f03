//! The packet socket: `AF_PACKET`/`SOCK_DGRAM`, filtered in the kernel, read with `recvmsg`
//! for the link-level address (interface, direction, link type), the checksum state
//! (`PACKET_AUXDATA`) and the kernel's receive time (`SO_TIMESTAMPNS`).

use std::collections::HashMap;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, SystemTime};

use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, SockFilter, Socket, Type};

use super::decode::decode;
use super::filter::{program, ARPHRD_LOOPBACK, PACKET_OUTGOING};
use super::Datagram;
use crate::error::{Error, Result};
use crate::sys;

/// `PACKET_AUXDATA` (`linux/if_packet.h`): a `tpacket_auxdata` with every packet.
const PACKET_AUXDATA: libc::c_int = 8;
/// `tp_status` bit: the checksum is left to the device (`CHECKSUM_PARTIAL`).
const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
/// Receive buffer asked for: bursts of full-size datagrams are not dropped.
const RCVBUF: usize = 8 << 20;
/// Larger than any IP packet.
const BUF_LEN: usize = 1 << 16;

/// `struct tpacket_auxdata` from `linux/if_packet.h`.
#[allow(clippy::struct_field_names)]
#[repr(C)]
#[derive(Clone, Copy)]
struct AuxData {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}

/// A packet socket that yields decoded UDP datagrams.
#[derive(Debug)]
pub struct PacketSocket {
    sock: Socket,
    buf: Vec<u8>,
    names: HashMap<i32, String>,
}

/// The index of interface `name`.
fn index_of(name: &str) -> Result<libc::c_int> {
    sys::if_nametoindex(name)
        .and_then(|i| libc::c_int::try_from(i).ok())
        .ok_or_else(|| Error::Value(format!("no such network interface: {name:?}")))
}

/// The name of interface `index` (its number if it has gone).
fn name_of(index: libc::c_int) -> String {
    u32::try_from(index)
        .ok()
        .and_then(sys::if_indextoname)
        .unwrap_or_else(|| index.to_string())
}

/// The link-level address that binds a packet socket to `ETH_P_ALL` on interface `ifindex`
/// (all interfaces when 0).
fn link_addr(ifindex: libc::c_int) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: a sockaddr_storage is larger than, and aligned for, a sockaddr_ll.
    let sll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    sll.sll_family = u16::try_from(libc::AF_PACKET).unwrap_or_default();
    sll.sll_protocol = u16::try_from(libc::ETH_P_ALL).unwrap_or_default().to_be();
    sll.sll_ifindex = ifindex;
    let len = libc::socklen_t::try_from(size_of::<libc::sockaddr_ll>()).unwrap_or_default();
    // SAFETY: the storage holds a sockaddr_ll of `len` bytes.
    unsafe { SockAddr::new(storage, len) }
}

impl PacketSocket {
    /// Opens a socket on `iface` (all interfaces when `None`) for UDP on `port` (any when
    /// `None`): created with protocol 0 so that it receives nothing until the filter is in
    /// place, then bound to `ETH_P_ALL` on the interface.
    ///
    /// # Errors
    /// `EPERM` without `CAP_NET_RAW`, [`Error::Value`] for an unknown interface.
    pub fn open(iface: Option<&str>, port: Option<u16>) -> Result<Self> {
        let sock = Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(0)))?;
        let ifindex = iface.map_or(Ok(0), index_of)?;
        let filter: Vec<SockFilter> = program(port)
            .into_iter()
            .map(|(code, jt, jf, k)| SockFilter::new(code, jt, jf, k))
            .collect();
        sock.attach_filter(&filter)?;
        sock.set_nonblocking(true)?;
        let fd = sock.as_raw_fd();
        sys::setsockopt_int(fd, libc::SOL_PACKET, PACKET_AUXDATA, 1)?;
        sys::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        // Root may exceed rmem_max; anyone else gets up to rmem_max (best effort).
        if sys::set_rcvbuf_force(fd, RCVBUF).is_err() {
            let _ = sock.set_recv_buffer_size(RCVBUF);
        }
        sock.bind(&link_addr(ifindex))?;
        let mut names = HashMap::new();
        if let Some(name) = iface {
            names.insert(ifindex, name.to_owned());
        }
        Ok(PacketSocket {
            sock,
            buf: vec![0; BUF_LEN],
            names,
        })
    }

    /// The socket's descriptor.
    #[must_use]
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The next queued UDP datagram without waiting; `Ok(None)` when none is queued.
    /// Packets that are not UDP, and the outgoing copies on loopback, are skipped.
    ///
    /// # Errors
    /// [`Error::Io`] when `recvmsg` fails (other than "nothing queued").
    pub fn try_recv(&mut self) -> Result<Option<Datagram>> {
        loop {
            // SAFETY: all-zero is a valid sockaddr_ll.
            let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
            let mut control = [0u64; 32];
            let mut iov = libc::iovec {
                iov_base: self.buf.as_mut_ptr().cast(),
                iov_len: self.buf.len(),
            };
            // SAFETY: all-zero is a valid msghdr; the pointers set below outlive the call.
            let mut msg: libc::msghdr = unsafe { zeroed() };
            msg.msg_name = std::ptr::addr_of_mut!(sll).cast();
            msg.msg_namelen =
                libc::socklen_t::try_from(size_of::<libc::sockaddr_ll>()).unwrap_or_default();
            msg.msg_iov = &raw mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = size_of::<[u64; 32]>();
            // SAFETY: `msg` describes valid buffers owned by this frame and by `self.buf`.
            let n = unsafe { sys::recvmsg(self.fd(), &mut msg, libc::MSG_DONTWAIT) };
            let n = match n {
                Ok(n) => n,
                Err(err) => {
                    let err = Error::Io(err);
                    if err.is_would_block() {
                        return Ok(None);
                    }
                    if err.errno() == Some(libc::EINTR) {
                        continue;
                    }
                    return Err(err);
                }
            };
            let outgoing = u32::from(sll.sll_pkttype) == PACKET_OUTGOING;
            if outgoing && u32::from(sll.sll_hatype) == ARPHRD_LOOPBACK {
                continue; // the arriving copy of this loopback packet follows
            }
            let (offloaded, time) = read_control(&msg);
            let Some(udp) = decode(&self.buf[..n.min(self.buf.len())], offloaded) else {
                continue;
            };
            let iface = self
                .names
                .entry(sll.sll_ifindex)
                .or_insert_with(|| name_of(sll.sll_ifindex))
                .clone();
            return Ok(Some(Datagram {
                time: time.unwrap_or_else(SystemTime::now),
                iface,
                outgoing,
                udp,
            }));
        }
    }
}

/// From the control messages: whether the checksum is left to the device, and the kernel's
/// receive time.
fn read_control(msg: &libc::msghdr) -> (bool, Option<SystemTime>) {
    let (mut offloaded, mut time) = (false, None);
    // SAFETY: `msg` was filled by a successful recvmsg; the CMSG macros stay within
    // msg_control/msg_controllen, and each payload is read unaligned at its declared type.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let (level, kind) = ((*c).cmsg_level, (*c).cmsg_type);
            let data = libc::CMSG_DATA(c);
            if level == libc::SOL_PACKET && kind == PACKET_AUXDATA {
                let aux = std::ptr::read_unaligned(data.cast::<AuxData>());
                offloaded = aux.tp_status & TP_STATUS_CSUMNOTREADY != 0;
            } else if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
                let ts = std::ptr::read_unaligned(data.cast::<libc::timespec>());
                if let (Ok(s), Ok(ns)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                    time = SystemTime::UNIX_EPOCH.checked_add(Duration::new(s, ns));
                }
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    (offloaded, time)
}
