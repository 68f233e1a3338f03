//! The portable path of [`Batch`]: one `recvfrom` or `sendto` per datagram, with the same
//! contract as the batched calls (an error after the first datagram ends the batch).

use std::io;
use std::ops::Range;
use std::os::fd::RawFd;

use super::{send_to_raw, Batch, Recv};
use crate::sys;

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
            let start = n * self.stride;
            let buf = &mut self.bufs[start..start + self.slot_len];
            let r = if self.named {
                sys::recv_from(fd, buf, flags, &mut self.names[n])
            } else {
                sys::recv(fd, buf, flags).map(|k| (k, 0))
            };
            let (k, alen) = match r {
                Ok(got) => got,
                Err(err) if n == 0 => return Err(err),
                Err(_) => break,
            };
            self.lens[n] = k.min(self.slot_len);
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
