//! The echo server engine: the práctica's echo servers (v1, v3, exercises 4, 9, 10, finals
//! 1 and 2) as one Rust loop.
//!
//! [`EchoServer::bind`] binds one or many ports (`SO_REUSEPORT` sockets per worker thread),
//! and [`EchoServer::run`] serves until the stop sentinel, the idle timeout or a
//! [`Cancel`](crate::Cancel): batched receive and send (`recvmmsg`/`sendmmsg`, see `crate::mmsg`), replies from the
//! socket that received, in the order received. Counters are shared atomics.
//!
//! Files: `config` (options), `bind` (sockets), `server` (runs the workers),
//! `worker` (the loop), `gso` (replies with UDP GSO), `delay` (held replies),
//! `stats` (counters), `text` (formatting and escaping), `output` (the log file),
//! `printer` (stdout behind a bounded queue), `guard` (loop and reflection guard),
//! `shared` (per-run shared state).

mod bind;
pub(crate) mod config;
mod delay;
mod gso;
pub(crate) mod guard;
pub(crate) mod output;
mod printer;
mod server;
mod shared;
mod stats;
pub(crate) mod text;
mod worker;

pub use config::{EchoConfig, PortChoice};
pub use server::EchoServer;
pub use shared::End;
pub use stats::Stats;

#[cfg(test)]
mod tests;
