//! The POSIX calls every Unix has, each one [`syscall!`] with its pointers derived from
//! safe arguments.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;

use super::{count, unit, INT_LEN, STORAGE_LEN};
use crate::addr::RawAddr;

/// `poll(2)` on `fds` for up to `timeout_ms` (negative: forever); the number of descriptors
/// with events.
///
/// # Errors
/// The system call's error (`EINTR` included), `EINVAL` for too many descriptors.
#[inline]
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    let nfds = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `fds` is a valid, exclusively borrowed slice of `nfds` pollfd structs.
    let n = syscall!(poll(fds.as_mut_ptr(), nfds, timeout_ms))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// `recvfrom(2)` into `buf`, the sender into `name`; the bytes received (the datagram's
/// length with `MSG_TRUNC`) and the sender's address length.
///
/// # Errors
/// The system call's error.
#[inline]
pub(crate) fn recv_from(
    fd: RawFd,
    buf: &mut [u8],
    flags: libc::c_int,
    name: &mut RawAddr,
) -> io::Result<(usize, libc::socklen_t)> {
    let mut len = STORAGE_LEN;
    // SAFETY: `buf` and `name` are valid for writes of the lengths given.
    let n = syscall!(recvfrom(
        fd,
        buf.as_mut_ptr().cast(),
        buf.len(),
        flags,
        std::ptr::from_mut(name).cast(),
        &raw mut len,
    ))?;
    Ok((count(n), len))
}

/// `recv(2)` into `buf` (no sender).
///
/// # Errors
/// The system call's error.
#[inline]
pub(crate) fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of its length.
    syscall!(recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags)).map(count)
}

/// `sendto(2)` of `data` to the raw address `name` of `len` bytes (`len` 0: to the connected
/// peer); the bytes sent.
///
/// # Errors
/// The system call's error.
#[inline]
pub(crate) fn send_to(
    fd: RawFd,
    data: &[u8],
    name: &RawAddr,
    len: libc::socklen_t,
    flags: libc::c_int,
) -> io::Result<usize> {
    let name: *const libc::sockaddr = if len == 0 {
        std::ptr::null()
    } else {
        std::ptr::from_ref(name).cast()
    };
    // SAFETY: `data` and `name` are valid for reads of the lengths given.
    syscall!(sendto(
        fd,
        data.as_ptr().cast(),
        data.len(),
        flags,
        name,
        len
    ))
    .map(count)
}

/// `send(2)` of `data` to the connected peer.
///
/// # Errors
/// The system call's error.
#[inline]
pub(crate) fn send(fd: RawFd, data: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of its length.
    syscall!(send(fd, data.as_ptr().cast(), data.len(), flags)).map(count)
}

/// `recvmsg(2)`; the bytes received.
///
/// # Errors
/// The system call's error.
///
/// # Safety
/// Every pointer in `msg` (name, iovecs, control) must be valid for writes of the length
/// given beside it, for the call.
#[inline]
pub(crate) unsafe fn recvmsg(
    fd: RawFd,
    msg: &mut libc::msghdr,
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: the caller vouches for `msg`'s pointers.
    syscall!(recvmsg(fd, msg, flags)).map(count)
}

/// `sendmsg(2)`; the bytes sent.
///
/// # Errors
/// The system call's error.
///
/// # Safety
/// Every pointer in `msg` must be valid for reads of the length given beside it, for the call.
#[inline]
pub(crate) unsafe fn sendmsg(
    fd: RawFd,
    msg: &libc::msghdr,
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: the caller vouches for `msg`'s pointers.
    syscall!(sendmsg(fd, msg, flags)).map(count)
}

/// An integer socket option.
///
/// # Errors
/// The system call's error (`ENOPROTOOPT` for an option the kernel does not know).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // used by the Linux calls
pub(crate) fn getsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = INT_LEN;
    // SAFETY: `value` is valid for writes of `len` bytes.
    syscall!(getsockopt(
        fd,
        level,
        name,
        (&raw mut value).cast(),
        &raw mut len
    ))?;
    Ok(value)
}

/// Sets an integer socket option.
///
/// # Errors
/// The system call's error.
pub(crate) fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is valid for reads of its size.
    unit(syscall!(setsockopt(
        fd,
        level,
        name,
        (&raw const value).cast(),
        INT_LEN
    )))
}

/// Turns on `SO_REUSEPORT` (`socket2`'s call) where the system has it; nothing elsewhere.
///
/// # Errors
/// The system call's error.
pub(crate) fn set_reuse_port(sock: &socket2::Socket) -> io::Result<()> {
    #[cfg(not(any(target_os = "solaris", target_os = "illumos")))]
    sock.set_reuse_port(true)?;
    #[cfg(any(target_os = "solaris", target_os = "illumos"))]
    let _ = sock;
    Ok(())
}

/// Clears `O_NONBLOCK` on `fd` (a file, a FIFO, ...).
///
/// # Errors
/// The system call's error.
pub(crate) fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with integer arguments only.
    let flags = syscall!(fcntl(fd, libc::F_GETFL))?;
    // SAFETY: as above.
    unit(syscall!(fcntl(
        fd,
        libc::F_SETFL,
        flags & !libc::O_NONBLOCK
    )))
}

/// `write(2)` of `data`; the bytes written.
///
/// # Errors
/// The system call's error.
pub(crate) fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: `data` is valid for reads of its length.
    syscall!(write(fd, data.as_ptr().cast(), data.len())).map(count)
}

/// Whether `fd` is a regular file.
#[must_use]
pub(crate) fn is_regular_file(fd: RawFd) -> bool {
    // SAFETY: all-zero is a valid `stat` to fill.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is valid for writes.
    syscall!(fstat(fd, &raw mut st)).is_ok() && (st.st_mode & libc::S_IFMT) == libc::S_IFREG
}

/// A pipe: its read end and its write end (for tests).
#[cfg(test)]
///
/// # Errors
/// The system call's error (`EMFILE`, ...).
pub(crate) fn pipe() -> io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` holds the two ints pipe(2) writes.
    syscall!(pipe(fds.as_mut_ptr()))?;
    // SAFETY: both descriptors are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Raises this process's soft limit on open descriptors to at least `want` (up to the hard
/// limit); best effort.
pub(crate) fn raise_nofile_limit(want: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill.
    if syscall!(getrlimit(libc::RLIMIT_NOFILE, &raw mut lim)).is_err() {
        return;
    }
    let want = libc::rlim_t::try_from(want).unwrap_or(libc::rlim_t::MAX);
    if lim.rlim_cur >= want {
        return;
    }
    lim.rlim_cur = want.min(lim.rlim_max);
    // SAFETY: raising the soft limit up to the hard limit is always allowed.
    let _ = syscall!(setrlimit(libc::RLIMIT_NOFILE, &raw const lim));
}

/// CPU time this thread has used, in nanoseconds (0 where the clock is missing).
#[must_use]
pub(crate) fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write.
    if syscall!(clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts)).is_err() {
        return 0;
    }
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// The index of the network interface `name`; `None` when there is no such interface.
#[must_use]
pub(crate) fn if_nametoindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (index > 0).then_some(index)
}

/// The name of the network interface `index`; `None` when there is none.
#[must_use]
pub(crate) fn if_indextoname(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `buf` has room for IF_NAMESIZE bytes, as if_indextoname requires.
    let r = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if r.is_null() {
        return None;
    }
    // SAFETY: on success if_indextoname wrote a NUL-terminated name into `buf`.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// A failed `getaddrinfo(3)`: `EAI_SYSTEM` carries the OS error, any other code
/// `gai_strerror`'s text.
#[derive(Debug)]
pub(crate) enum GaiError {
    /// `EAI_SYSTEM`: the error is in `errno`.
    Os(io::Error),
    /// Any other `EAI_*` code, with `gai_strerror`'s message.
    Code(libc::c_int, String),
}

/// `getaddrinfo(3)` for `host` restricted to `family` (`AF_UNSPEC` for either): the first
/// answer that carries an address, `None` when no answer does. Blocks.
///
/// # Errors
/// [`GaiError`] with the resolver's code and message.
pub(crate) fn getaddrinfo_first(
    host: &CStr,
    family: libc::c_int,
) -> Result<Option<std::net::SocketAddr>, GaiError> {
    // SAFETY: an all-zero addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, valid hints, and `res` receives a list freed below. Not
    // `syscall!`: getaddrinfo returns an `EAI_*` code, not -1 and errno.
    let rc = unsafe {
        libc::getaddrinfo(
            host.as_ptr(),
            std::ptr::null(),
            &raw const hints,
            &raw mut res,
        )
    };
    if rc != 0 {
        if rc == libc::EAI_SYSTEM {
            return Err(GaiError::Os(io::Error::last_os_error()));
        }
        // SAFETY: gai_strerror returns a static, NUL-terminated string.
        let message = unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
            .to_string_lossy()
            .into_owned();
        return Err(GaiError::Code(rc, message));
    }
    let mut found = None;
    let mut cur = res;
    while !cur.is_null() && found.is_none() {
        // SAFETY: `cur` walks the list getaddrinfo returned; each entry is valid until freed.
        let ai = unsafe { &*cur };
        if !ai.ai_addr.is_null() {
            // SAFETY: ai_addr points at ai_addrlen bytes of a sockaddr of the entry's family.
            found = unsafe { crate::addr::from_raw(ai.ai_addr.cast(), ai.ai_addrlen) };
        }
        cur = ai.ai_next;
    }
    // SAFETY: `res` came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(res) };
    Ok(found)
}
