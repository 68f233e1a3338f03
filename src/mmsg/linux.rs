//! The Linux path of [`Batch`]: one `recvmmsg` or `sendmmsg` for the whole batch, over
//! headers linked to the slots once, at construction.

use std::io;
use std::os::fd::RawFd;

use super::{Batch, Recv, STORAGE_LEN};

impl Batch {
    /// Points every `mmsghdr` at its buffer and (for a named batch) its address slot. The
    /// vectors never grow after this, so the pointers stay valid for the batch's life.
    pub(super) fn link(&mut self) {
        let base = self.bufs.as_mut_ptr();
        for i in 0..self.capacity {
            self.iovs.push(libc::iovec {
                // SAFETY: i * stride is inside `bufs` (capacity * stride bytes).
                iov_base: unsafe { base.add(i * self.stride) }.cast(),
                iov_len: self.slot_len,
            });
        }
        for i in 0..self.capacity {
            // SAFETY: mmsghdr is plain old data; all-zero is valid (no name, no control data).
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            if self.named {
                h.msg_hdr.msg_name = std::ptr::from_mut(&mut self.names[i]).cast();
                h.msg_hdr.msg_namelen = STORAGE_LEN;
            }
            h.msg_hdr.msg_iov = std::ptr::from_mut(&mut self.iovs[i]);
            h.msg_hdr.msg_iovlen = 1;
            self.hdrs.push(h);
        }
    }

    /// `recvmmsg` into slots `0..max`.
    pub(super) fn recv_mmsg(&mut self, fd: RawFd, max: usize, mode: Recv) -> io::Result<usize> {
        // Only the slots a call has changed need resetting (a busy server receives a few
        // datagrams per call into a batch of 64).
        let reset = self.dirty.min(max);
        for h in &mut self.hdrs[..reset] {
            if self.named {
                h.msg_hdr.msg_namelen = STORAGE_LEN;
            }
            h.msg_len = 0;
        }
        for v in &mut self.iovs[..reset] {
            v.iov_len = self.slot_len;
        }
        if self.dirty <= max {
            self.dirty = 0;
        }
        self.link_control(max);
        let flags = match mode {
            Recv::Wait => libc::MSG_WAITFORONE,
            Recv::NoWait => libc::MSG_DONTWAIT,
            Recv::ErrQueue => libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        };
        let vlen = libc::c_uint::try_from(max).unwrap_or(libc::c_uint::MAX);
        // SAFETY: `hdrs[..max]` point at live buffers owned by `self`, which is exclusively
        // borrowed for the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                vlen,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::try_from(n).unwrap_or(0);
        self.dirty = self.dirty.max(n);
        for i in 0..n {
            let h = &self.hdrs[i];
            // msg_len never exceeds iov_len: the kernel truncates (MSG_TRUNC) to slot_len.
            self.lens[i] = (h.msg_len as usize).min(self.slot_len);
            self.name_lens[i] = h.msg_hdr.msg_namelen;
        }
        Ok(n)
    }

    /// Gives slots `0..max` their ancillary-data buffers back at full size (the kernel
    /// shrinks `msg_controllen` to what it wrote).
    fn link_control(&mut self, max: usize) {
        if self.control_len == 0 {
            return;
        }
        let base = self.control.as_mut_ptr().cast::<u8>();
        for (i, h) in self.hdrs[..max].iter_mut().enumerate() {
            // SAFETY: i * control_len is inside `control` (capacity * control_len bytes).
            h.msg_hdr.msg_control = unsafe { base.add(i * self.control_len) }.cast();
            h.msg_hdr.msg_controllen = self.control_len;
        }
    }

    /// One `sendmmsg` of slots `from..to`.
    pub(super) fn send_mmsg(
        &mut self,
        fd: RawFd,
        from: usize,
        to: usize,
        flags: libc::c_int,
    ) -> io::Result<usize> {
        self.dirty = self.dirty.max(to);
        for i in from..to {
            self.iovs[i].iov_len = self.lens[i];
            if self.named {
                self.hdrs[i].msg_hdr.msg_namelen = self.name_lens[i];
            }
        }
        let vlen = libc::c_uint::try_from(to - from).unwrap_or(libc::c_uint::MAX);
        // SAFETY: headers `from..to` are valid and point at live buffers owned by `self`.
        let r = unsafe { libc::sendmmsg(fd, self.hdrs[from..].as_mut_ptr(), vlen, flags) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(usize::try_from(r).unwrap_or(0))
        }
    }
}

/// The `sock_extended_err` in a received header's ancillary data, if any.
pub(super) fn extended_error(hdr: &libc::msghdr) -> Option<libc::sock_extended_err> {
    if hdr.msg_control.is_null() {
        return None;
    }
    // SAFETY: the header's control buffer was filled by the kernel; the CMSG macros walk it
    // within msg_controllen, and IP(V6)_RECVERR data is a sock_extended_err.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_RECVERR)
                || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR)
            {
                return Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<libc::sock_extended_err>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}

/// The `UDP_GRO` segment size in a received header's ancillary data, if any.
pub(super) fn gso_size(hdr: &libc::msghdr) -> Option<usize> {
    if hdr.msg_control.is_null() {
        return None;
    }
    // SAFETY: as in `extended_error`; UDP_GRO data is an int.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_UDP && c.cmsg_type == crate::msg::many::UDP_GRO {
                let size = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                return usize::try_from(size).ok().filter(|&s| s > 0);
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    None
}
