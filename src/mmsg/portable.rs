//! The portable path of [`Batch`]: one `recvfrom` or `sendto` per datagram, with the same
//! contract as the batched calls (an error after the first datagram ends the batch).

use std::io;
use std::ops::Range;
use std::os::fd::RawFd;

use super::{send_to_raw, Batch, Recv, STORAGE_LEN};

impl Batch {
    /// A `recvfrom` loop into slots `0..max`.
    pub(super) fn recv_each(&mut self, fd: RawFd, max: usize, mode: Recv) -> io::Result<usize> {
        if mode == Recv::ErrQueue {
            return Err(io::Error::from(io::ErrorKind::Unsupported));
        }
        let mut n = 0;
        while n < max {
            let flags = if mode == Recv::Wait && n == 0 {
                0
            } else {
                libc::MSG_DONTWAIT
            };
            let mut alen = STORAGE_LEN;
            let (name, name_len): (*mut libc::sockaddr, *mut libc::socklen_t) = if self.named {
                (std::ptr::from_mut(&mut self.names[n]).cast(), &raw mut alen)
            } else {
                (std::ptr::null_mut(), std::ptr::null_mut())
            };
            let start = n * self.stride;
            // SAFETY: the buffer slot (slot_len bytes from `start`) and the address slot are
            // valid for writes of the sizes given.
            let r = unsafe {
                libc::recvfrom(
                    fd,
                    self.bufs[start..].as_mut_ptr().cast(),
                    self.slot_len,
                    flags,
                    name,
                    name_len,
                )
            };
            if r < 0 {
                let err = io::Error::last_os_error();
                if n == 0 {
                    return Err(err);
                }
                break;
            }
            self.lens[n] = usize::try_from(r).unwrap_or(0).min(self.slot_len);
            if self.named {
                self.name_lens[n] = alen;
            }
            n += 1;
        }
        Ok(n)
    }

    /// A `sendto` loop over `slots`.
    pub(super) fn send_each(
        &mut self,
        fd: RawFd,
        slots: Range<usize>,
        flags: libc::c_int,
    ) -> io::Result<usize> {
        let mut sent = 0;
        for i in slots {
            if let Err(err) =
                send_to_raw(fd, self.data(i), &self.names[i], self.name_lens[i], flags)
            {
                if sent == 0 {
                    return Err(err);
                }
                break;
            }
            sent += 1;
        }
        Ok(sent)
    }
}
