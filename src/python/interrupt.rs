//! Running core work with the GIL released while staying responsive to Ctrl+C.
//!
//! [`detach_interruptible`] releases the GIL and hands the work a [`Cancel`] whose hook
//! re-acquires the GIL for a moment to run `PyErr_CheckSignals`. The core calls the hook only
//! between poll slices (at most every [`crate::cancel::TICK`]) or after `EINTR`, so the fast
//! path never touches the GIL. If a signal handler raised (`KeyboardInterrupt`), the work
//! ends with [`Error::Interrupted`](crate::Error::Interrupted) and that exact Python
//! exception is returned.

use std::cell::RefCell;

use pyo3::prelude::*;

use crate::cancel::Cancel;

thread_local! {
    /// The exception raised by a signal handler during the current detached call.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
    /// One reusable token per thread, so that socket calls allocate nothing.
    static TOKEN: Cancel = Cancel::with_hook(Box::new(check_signals_hook));
}

/// The hook: runs Python's signal handlers; stops the work if one raised.
fn check_signals_hook() -> bool {
    Python::attach(|py| match py.check_signals() {
        Ok(()) => false,
        Err(e) => {
            PENDING.with(|p| *p.borrow_mut() = Some(e));
            true
        }
    })
}

/// The call's outcome: an exception raised by a signal handler during the call wins, as it
/// would in `CPython` (the handler's exception propagates even if the work then finished), so
/// it is neither lost nor left behind to surface from a later, unrelated call.
fn finish<T>(result: crate::Result<T>) -> PyResult<T> {
    if let Some(py_err) = PENDING.with(|p| p.borrow_mut().take()) {
        return Err(py_err);
    }
    result.map_err(PyErr::from)
}

/// Runs `work` without the GIL, giving it this thread's signal-aware [`Cancel`].
///
/// # Errors
/// The work's error as a Python exception, or the exception a signal handler raised.
pub(super) fn detach_interruptible<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Cancel) -> crate::Result<T> + Send,
{
    let token = TOKEN.with(Cancel::clone);
    let result = py.detach(|| work(&token));
    // The hook latches a stop into the shared per-thread flag: clear it for the next call,
    // also when the work finished anyway.
    if result.is_err() || token.is_stopped() {
        token.reset();
    }
    finish(result)
}

/// Like [`detach_interruptible`] but with a caller's token (an engine's stop flag), to which
/// the signal hook is added. A stop requested through the token is not an error for engines;
/// they decide what `Interrupted` means.
///
/// # Errors
/// As [`detach_interruptible`].
pub(super) fn detach_with_token<T, F>(py: Python<'_>, token: &Cancel, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Cancel) -> crate::Result<T> + Send,
{
    let hooked = token.and_hook(Box::new(check_signals_hook));
    let result = py.detach(|| work(&hooked));
    finish(result)
}

/// Asked with the GIL between wait slices: true once the descriptor a call waits on is no
/// longer its socket's (closed, or closed and reused by another socket).
pub(super) type Gone = Box<dyn Fn(Python<'_>) -> bool + Send + Sync>;

/// Like [`detach_interruptible`], and the wait also ends as soon as `gone` says the socket's
/// descriptor changed: the call then fails with `OSError(EBADF)` instead of waiting on a
/// number that may already name another socket (whose datagrams it would steal).
///
/// # Errors
/// As [`detach_interruptible`], plus `EBADF` when the socket was closed meanwhile.
pub(super) fn detach_watching<T, F>(py: Python<'_>, gone: Gone, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Cancel) -> crate::Result<T> + Send,
{
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = std::sync::Arc::clone(&closed);
    let token = Cancel::with_hook(Box::new(move || {
        if check_signals_hook() {
            return true;
        }
        let stop = Python::attach(&gone);
        if stop {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        stop
    }));
    let result = py.detach(|| work(&token));
    let pending = PENDING.with(|p| p.borrow().is_some());
    if !pending
        && closed.load(std::sync::atomic::Ordering::SeqCst)
        && matches!(result, Err(crate::Error::Interrupted))
    {
        return Err(crate::Error::from_errno(libc::EBADF).into());
    }
    finish(result)
}
