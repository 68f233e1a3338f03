//! udpeco: a fast, correct UDP toolkit with a pure Rust core and a thin Python binding.
//!
//! The core (every module below except `python`) never touches Python and is tested with
//! `cargo test`. The `python` feature adds the `PyO3` binding (`udpeco._udpeco`), which maps the
//! core to Python, releases the GIL around every blocking call, and converts [`Error`] into
//! the exceptions the stdlib raises.
//!
//! Map of the core:
//! - [`error`]: the one error enum; [`cancel`]: stop tokens; `wait`: cancellable `poll`.
//! - [`host`]: the one rule for every engine's `host`; `addr`: the drop-in socket's
//!   addresses, with the stdlib's rules; `socket`: the drop-in UDP socket;
//!   `select`: `select.select` semantics over `poll`, without `FD_SETSIZE`.
//! - [`client`]: the timed request/response client; [`bench`](mod@bench): the load generator (`udpeco bench`).
//! - [`proxy`]: the UDP impairment proxy (loss, delay, jitter, duplicates, reordering).
//! - [`scan`]: the UDP port scanner (ICMP errors from the error queue, nmap's verdicts).
//! - [`echo`]: the echo server engine; `mmsg`: batched `recvmmsg`/`sendmmsg` I/O.
//! - [`capture`]: a packet capture that decodes UDP headers (`udpeco capture`).
//! - `sys`: the seam to the operating system, every raw system call (`syscall!`) and the
//!   Linux/elsewhere choice, made once.
//! - `msg`: `sendmsg`/`recvmsg` with ancillary data and batch I/O with UDP GSO/GRO on a
//!   borrowed descriptor (the drop-in socket's `sendmsg`, `recvmsg`, `recv_many`, ...).

#![warn(missing_docs)]
#![warn(unreachable_pub)]
// Internals are `pub(crate)` (`unreachable_pub`), so the compiler finds dead code. Some of them
// exist for the binding only: without the `python` feature they are unused, and dead code is
// judged with the feature on (as `cargo clippy --features python` does).
#![cfg_attr(not(feature = "python"), allow(dead_code, unused_imports))]

pub(crate) mod addr;
pub mod bench;
pub mod cancel;
pub mod capture;
pub mod client;
pub mod echo;
pub mod error;
pub mod host;
pub(crate) mod mmsg;
pub(crate) mod msg;
pub(crate) mod portspec;
pub mod proxy;
pub mod scan;
pub(crate) mod select;
pub(crate) mod socket;
mod sys;
pub(crate) mod wait;

#[cfg(feature = "python")]
mod python;

pub use cancel::Cancel;
pub use error::{Error, Result};
