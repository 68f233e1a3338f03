//! The batched path of [`Batch`]: one `recvmmsg` or `sendmmsg` for the whole batch, over
//! headers linked to the slots once, at construction ([`crate::sys::Mmsg`]).

use std::io;
use std::os::fd::RawFd;

use super::{Batch, Recv};
use crate::sys;

impl Batch {
    /// `recvmmsg` into slots `0..max`.
    pub(super) fn recv_mmsg(&mut self, fd: RawFd, max: usize, mode: Recv) -> io::Result<usize> {
        let flags = match mode {
            Recv::Wait => sys::MSG_WAITFORONE,
            Recv::NoWait => libc::MSG_DONTWAIT,
            Recv::ErrQueue => sys::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        };
        let control = self.control.as_mut_ptr().cast::<u8>();
        // SAFETY: the headers point at this batch's storage, which never moves and is
        // exclusively borrowed for the call; `control` holds capacity * control_len bytes.
        let n = unsafe {
            self.mm
                .recv(fd, max, self.slot_len, control, self.control_len, flags)
        }?;
        for i in 0..n {
            // The kernel truncates (MSG_TRUNC) to slot_len; the min only guards.
            self.lens[i] = self.mm.msg_len(i).min(self.slot_len);
            self.name_lens[i] = self.mm.name_len(i);
        }
        Ok(n)
    }

    /// One `sendmmsg` of slots `from..to`.
    pub(super) fn send_mmsg(
        &mut self,
        fd: RawFd,
        from: usize,
        to: usize,
        flags: libc::c_int,
    ) -> io::Result<usize> {
        // SAFETY: the headers point at this batch's storage, which never moves and is
        // exclusively borrowed for the call.
        unsafe {
            self.mm
                .send(fd, from, to, &self.lens, &self.name_lens, flags)
        }
    }
}
