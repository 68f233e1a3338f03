//! A UDP impairment proxy: `udpeco proxy LISTEN TARGET --loss P --delay MS ...`.
//!
//! The proxy listens on one UDP address and forwards every datagram to a target, and the
//! target's replies back, losing, duplicating, delaying and reordering them on purpose, with
//! no root and no `netem`: everything happens in user space, in one thread.
//!
//! - **Like a NAT**: each client (source address) gets its own upstream socket connected to
//!   the target, so the target sees one address per client and its replies, arriving on that
//!   socket, go back to the right client.
//! - **Both directions** (`up`: clients to target; `down`: target to clients) are impaired,
//!   each with its own [`Impairment`]; by default the same one, so a request and its reply
//!   each cross the loss once (a round trip loses `1 - (1 - p)^2`).
//! - **Reproducible**: decisions come from a seeded generator per client and direction
//!   (`impair`), so the same seed and the same datagrams in the same order give the same
//!   decisions.
//! - **Bounded**: delayed and held datagrams wait in one timer heap bounded in bytes
//!   ([`ProxyConfig::queue_bytes`]); a datagram that does not fit is dropped and counted
//!   (`overflow`). The client table is bounded too ([`ProxyConfig::max_clients`]); idle
//!   clients are forgotten after [`ProxyConfig::client_idle`].

mod engine;
mod impair;
mod stats;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::time::Duration;

pub use engine::Proxy;
pub use impair::{Decision, Impairment, Rng};
pub use stats::{DirStats, Stats};

use crate::error::{Error, Result};

/// The longest `delay` or `jitter` accepted, in seconds.
pub const MAX_DELAY_SECS: f64 = 3600.0;
/// The default bound of the delay queue, in bytes (16 MiB).
pub const DEFAULT_QUEUE_BYTES: usize = 16 << 20;
/// The largest queue bound accepted, in bytes (1 GiB).
pub const MAX_QUEUE_BYTES: usize = 1 << 30;
/// The default bound of the client table.
pub const DEFAULT_MAX_CLIENTS: usize = 1024;
/// The largest client table accepted (each client holds a socket).
pub const MAX_CLIENTS: usize = 65536;
/// A client not heard from (either way) for this long is forgotten and its socket closed.
pub const DEFAULT_CLIENT_IDLE: Duration = Duration::from_secs(60);

/// Which directions the impairments apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Directions {
    /// Clients to target and target to clients.
    Both,
    /// Clients to target only.
    Up,
    /// Target to clients only.
    Down,
}

impl Directions {
    /// Parses `both`, `up` or `down`.
    ///
    /// # Errors
    /// [`Error::Value`] for anything else.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "both" => Ok(Directions::Both),
            "up" => Ok(Directions::Up),
            "down" => Ok(Directions::Down),
            other => Err(Error::Value(format!(
                "direction must be 'both', 'up' or 'down', not {other:?}"
            ))),
        }
    }
}

/// What a proxy does: where it listens, where it forwards, and how it impairs.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// The address to listen on (port 0: an ephemeral port).
    pub listen: SocketAddr,
    /// The target every datagram is forwarded to.
    pub target: SocketAddr,
    /// Impairment of clients-to-target datagrams.
    pub up: Impairment,
    /// Impairment of target-to-clients datagrams.
    pub down: Impairment,
    /// The seed of every decision.
    pub seed: u64,
    /// The most bytes waiting in the queue (delayed or held datagrams).
    pub queue_bytes: usize,
    /// The most clients at once; datagrams from further clients are refused (counted).
    pub max_clients: usize,
    /// A client idle this long is forgotten.
    pub client_idle: Duration,
}

impl ProxyConfig {
    /// A proxy from `listen` to `target` that changes nothing (seed 0).
    #[must_use]
    pub fn new(listen: SocketAddr, target: SocketAddr) -> Self {
        ProxyConfig {
            listen,
            target,
            up: Impairment::default(),
            down: Impairment::default(),
            seed: 0,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            max_clients: DEFAULT_MAX_CLIENTS,
            client_idle: DEFAULT_CLIENT_IDLE,
        }
    }

    /// Sets `imp` on the chosen directions (the others change nothing).
    #[must_use]
    pub fn impair(mut self, imp: Impairment, directions: Directions) -> Self {
        self.up = if directions == Directions::Down {
            Impairment::default()
        } else {
            imp
        };
        self.down = if directions == Directions::Up {
            Impairment::default()
        } else {
            imp
        };
        self
    }

    /// Checks the limits.
    ///
    /// # Errors
    /// [`Error::Value`] naming the setting and its limit.
    pub fn validate(&self) -> Result<()> {
        if self.queue_bytes == 0 || self.queue_bytes > MAX_QUEUE_BYTES {
            return Err(Error::Value(format!(
                "queue_bytes must be 1-{MAX_QUEUE_BYTES}, not {}",
                self.queue_bytes
            )));
        }
        if self.max_clients == 0 || self.max_clients > MAX_CLIENTS {
            return Err(Error::Value(format!(
                "max_clients must be 1-{MAX_CLIENTS}, not {}",
                self.max_clients
            )));
        }
        Ok(())
    }
}

/// A probability from a user, named `what` in the error.
///
/// # Errors
/// [`Error::Value`] unless `0 <= p <= 1`.
pub fn probability(what: &str, p: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(Error::Value(format!(
            "{what} must be a probability from 0 to 1, not {p}"
        )))
    }
}

/// A delay from a user in seconds, named `what` in the error: the one seconds converter
/// (`wait::seconds_within`), up to [`MAX_DELAY_SECS`].
///
/// # Errors
/// [`Error::Value`] unless `secs` is 0 or from 1e-9 to [`MAX_DELAY_SECS`].
pub fn delay_secs(what: &str, secs: f64) -> Result<Duration> {
    crate::wait::seconds_within(what, secs, true, MAX_DELAY_SECS)
}

/// Splits `HOST:PORT`, `[IPV6]:PORT` or (when `default_host` is given) a bare `PORT`. A
/// bracketed host keeps its brackets: [`crate::host`]'s rule checks what is inside.
///
/// # Errors
/// [`Error::Value`] with a one-line reason.
pub fn split_endpoint(text: &str, default_host: Option<&str>) -> Result<(String, u16)> {
    let bad = |why: &str| Error::Value(format!("invalid address {text:?}: {why}"));
    let port_of = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| bad("the port must be a number 0-65535"))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, port) = rest
            .split_once("]:")
            .ok_or_else(|| bad("expected [IPV6]:PORT"))?;
        return Ok((format!("[{host}]"), port_of(port)?));
    }
    match text.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Err(bad("write an IPv6 address as [ADDR]:PORT")),
        Some((host, port)) => Ok((host.to_owned(), port_of(port)?)),
        None => match default_host {
            Some(h) => Ok((h.to_owned(), port_of(text)?)),
            None => Err(bad("expected HOST:PORT")),
        },
    }
}
