//! udpeco: a fast, correct UDP toolkit with a pure Rust core and a thin Python binding.
//!
//! The core (every module below except `python`) never touches Python and is tested with
//! `cargo test`. The `python` feature adds the `PyO3` binding (`udpeco._udpeco`), which maps the
//! core to Python, releases the GIL around every blocking call, and converts [`Error`] into
//! the exceptions the stdlib raises.
//!
//! Map of the core:
//! - [`error`]: the one error enum; [`cancel`]: stop tokens; [`wait`]: cancellable `poll`.
//! - [`addr`]: address resolution with the stdlib's rules; [`socket`]: the drop-in UDP socket;
//!   [`select`]: `select.select` semantics over `poll`, without `FD_SETSIZE`.
//! - [`client`]: the timed request/response client; [`bench`]: the load generator (`udpeco bench`).
//! - [`proxy`]: the UDP impairment proxy (loss, delay, jitter, duplicates, reordering).
//! - [`scan`]: the UDP port scanner (ICMP errors from the error queue, nmap's verdicts).
//! - [`echo`]: the echo server engine; [`mmsg`]: batched `recvmmsg`/`sendmmsg` I/O.
//! - [`capture`]: a packet capture that decodes UDP headers (`udpeco capture`).
//! - [`msg`]: `sendmsg`/`recvmsg` with ancillary data and batch I/O with UDP GSO/GRO on a
//!   borrowed descriptor (the drop-in socket's `sendmsg`, `recvmsg`, `recv_many`, ...).

#![warn(missing_docs)]

pub mod addr;
pub mod cancel;
pub mod capture;
pub mod client;
pub mod echo;
pub mod error;
pub mod bench;
pub mod mmsg;
pub mod msg;
pub mod portspec;
pub mod proxy;
pub mod scan;
pub mod select;
pub mod socket;
pub mod wait;

#[cfg(feature = "python")]
mod python;

pub use cancel::Cancel;
pub use error::{Error, Result};
