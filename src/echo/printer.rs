//! Printing behind a bounded queue, so that a slow or blocked stdout never slows the echo nor
//! delays a stop.
//!
//! Workers hand whole batches of lines to [`Printer::push`], which never blocks: when the
//! queue already holds [`QUEUE_BYTES`], the batch is not printed and its lines are counted
//! (`unprinted`). A dedicated thread writes the queue to fd 1, waiting for the descriptor to
//! be writable at most one [`TICK`] at a time and writing at most `PIPE_BUF` bytes per call
//! to a pipe or terminal, so that it can always be told to stop. [`Printer::finish`] gives it
//! a deadline to drain the rest; what is left then is counted too.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cancel::TICK;
use crate::sys::{self, is_regular_file};

/// The most bytes waiting to be printed.
pub(super) const QUEUE_BYTES: usize = 4 << 20;
/// Bytes per write to a pipe or terminal (`PIPE_BUF`: a writable pipe takes them whole).
const CHUNK: usize = 4096;

#[derive(Default)]
struct Queue {
    chunks: VecDeque<(Vec<u8>, u64)>,
    bytes: usize,
    deadline: Option<Instant>,
}

struct Inner {
    queue: Mutex<Queue>,
    ready: Condvar,
    unprinted: AtomicU64,
    broken: AtomicBool,
    fd: i32,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The stdout writer of one run.
pub(super) struct Printer {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Printer")
    }
}

impl Printer {
    /// A printer to file descriptor 1.
    #[must_use]
    pub(super) fn stdout() -> Self {
        Self::to_fd(1)
    }

    /// A printer to `fd` (which must outlive it).
    #[must_use]
    pub(super) fn to_fd(fd: i32) -> Self {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            unprinted: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            fd,
        });
        let worker = Arc::clone(&inner);
        let thread = std::thread::Builder::new()
            .name("udpeco-stdout".into())
            .spawn(move || writer(&worker))
            .ok();
        if thread.is_none() {
            inner.broken.store(true, Ordering::Relaxed);
        }
        Printer { inner, thread }
    }

    /// Queues `bytes` (`lines` lines) for printing, or counts them as unprinted when the
    /// queue is full or stdout is gone. Never blocks on stdout.
    pub(super) fn push(&self, bytes: &[u8], lines: u64) {
        if bytes.is_empty() {
            return;
        }
        if self.inner.broken.load(Ordering::Relaxed) {
            self.inner.unprinted.fetch_add(lines, Ordering::Relaxed);
            return;
        }
        let mut q = self.inner.lock();
        if q.bytes + bytes.len() > QUEUE_BYTES || q.deadline.is_some() {
            drop(q);
            self.inner.unprinted.fetch_add(lines, Ordering::Relaxed);
            return;
        }
        q.bytes += bytes.len();
        q.chunks.push_back((bytes.to_vec(), lines));
        drop(q);
        self.inner.ready.notify_one();
    }

    /// Lines that could not be printed so far.
    #[must_use]
    pub(super) fn unprinted(&self) -> u64 {
        self.inner.unprinted.load(Ordering::Relaxed)
    }

    /// Lets the writer drain the queue for at most `grace`, then stops it; returns the lines
    /// that were never printed.
    #[must_use]
    pub(super) fn finish(mut self, grace: Duration) -> u64 {
        self.inner.lock().deadline = Some(Instant::now() + grace);
        self.inner.ready.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.unprinted()
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.inner.lock().deadline = Some(Instant::now());
            self.inner.ready.notify_one();
            let _ = t.join();
        }
    }
}

/// The writer thread: prints chunks until told to finish and the deadline passes.
fn writer(inner: &Inner) {
    let whole = is_regular_file(inner.fd);
    loop {
        let (chunk, lines, deadline) = {
            let mut q = inner.lock();
            loop {
                if let Some((c, n)) = q.chunks.pop_front() {
                    q.bytes -= c.len();
                    break (c, n, q.deadline);
                }
                if q.deadline.is_some() {
                    return;
                }
                q = inner
                    .ready
                    .wait_timeout(q, TICK)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        };
        if !write_all(inner, &chunk, whole, deadline) {
            inner.unprinted.fetch_add(lines, Ordering::Relaxed);
            let mut q = inner.lock();
            let left: u64 = q.chunks.iter().map(|c| c.1).sum();
            q.chunks.clear();
            q.bytes = 0;
            inner.unprinted.fetch_add(left, Ordering::Relaxed);
            if inner.broken.load(Ordering::Relaxed) || q.deadline.is_some() {
                return;
            }
        }
    }
}

/// Writes `data` to the printer's fd; false when it could not (stdout gone, or the deadline
/// passed while stdout was not writable).
fn write_all(inner: &Inner, mut data: &[u8], whole: bool, mut deadline: Option<Instant>) -> bool {
    while !data.is_empty() {
        if deadline.is_none() {
            deadline = inner.lock().deadline;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        let mut pfd = libc::pollfd {
            fd: inner.fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        let wait = i32::try_from(TICK.as_millis()).unwrap_or(50);
        match sys::poll(std::slice::from_mut(&mut pfd), wait) {
            Ok(0) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(_) if pfd.revents & (libc::POLLERR | libc::POLLNVAL) == 0 => {}
            _ => {
                inner.broken.store(true, Ordering::Relaxed);
                return false;
            }
        }
        let n = if whole {
            data.len()
        } else {
            data.len().min(CHUNK)
        };
        let w = sys::write(inner.fd, &data[..n]);
        if let Err(e) = &w {
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) {
                continue;
            }
            inner.broken.store(true, Ordering::Relaxed);
            return false;
        }
        data = &data[w.unwrap_or(0)..];
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_pipe_nobody_reads_never_blocks_and_losses_are_counted() {
        let (rx, tx) = sys::pipe().unwrap();
        let p = Printer::to_fd(tx.as_raw_fd());
        let line = [b'x'; 1023];
        let t = Instant::now();
        for _ in 0..10_000 {
            p.push(&line, 1);
        }
        assert!(t.elapsed() < Duration::from_secs(1), "push never waits");
        let t = Instant::now();
        let lost = p.finish(Duration::from_millis(100));
        assert!(t.elapsed() < Duration::from_millis(400));
        // The pipe holds 64 KiB: the rest was not printed, and counted.
        assert!((9_900..=10_000).contains(&lost), "{lost}");
        drop((rx, tx));
    }

    #[test]
    fn everything_is_printed_when_stdout_keeps_up() {
        let path = std::env::temp_dir().join(format!("udpeco-printer-{}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let p = Printer::to_fd(std::os::fd::AsRawFd::as_raw_fd(&f));
        for i in 0..1000 {
            p.push(format!("{i}\n").as_bytes(), 1);
        }
        assert_eq!(p.finish(Duration::from_secs(5)), 0);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1000);
        std::fs::remove_file(&path).unwrap();
    }
}
