//! What an echo server is asked to do: [`EchoConfig`], with the práctica's defaults.

use std::path::PathBuf;
use std::time::Duration;

use super::guard::GuardConfig;
use super::output::LogMode;
use crate::error::{Error, Result};

/// The práctica's server port (`servidor_eco_v1.py`).
pub(crate) const DEFAULT_PORT: u16 = 44444;
/// The práctica's `recvfrom(1024)`: longer datagrams are truncated to this.
pub(crate) const DEFAULT_BUFSIZE: usize = 1024;
/// Datagrams received or sent per system call.
pub(crate) const DEFAULT_BATCH: usize = 64;
/// The largest payload of a UDP datagram over IPv4 or IPv6 (jumbograms aside).
pub(crate) const MAX_BUFSIZE: usize = 65535;
/// Default bound of the replies waiting for their `delay`, in bytes (data plus bookkeeping);
/// further datagrams are dropped (counted in `drops`).
pub(crate) const DEFAULT_DELAY_QUEUE: usize = 64 << 20;
/// The smallest and largest delay-queue bounds accepted.
pub(crate) const DELAY_QUEUE_RANGE: (usize, usize) = (64 << 10, 64 << 30);
/// Most worker threads.
pub(crate) const MAX_WORKERS: usize = 256;
/// Datagrams per system call at most.
pub(crate) const MAX_BATCH: usize = 1024;

/// Which ports to bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortChoice {
    /// These ports (0 = one ephemeral port chosen by the system, may repeat).
    List(Vec<u16>),
    /// One port picked at random in `first..=last` (final exercise 1); busy ports are skipped.
    Random(u16, u16),
}

/// The configuration of an echo server. `EchoConfig::default()` is the práctica's v1 server.
#[derive(Clone, Debug)]
pub struct EchoConfig {
    /// The address to bind: `""` (all IPv4 interfaces, like Python's `''`), an IPv4 or IPv6
    /// literal (`"::"` for all IPv6 interfaces), or a host name resolved once.
    pub host: String,
    /// The ports to bind.
    pub ports: PortChoice,
    /// The receive buffer size: longer datagrams are truncated, as `recvfrom(bufsize)` does.
    pub bufsize: usize,
    /// The stop sentinel compared with each datagram after stripping ASCII whitespace, as the
    /// práctica's `data.strip() == '.'`; `None` never stops on a datagram.
    pub stop: Option<Vec<u8>>,
    /// Exercise 4: answer the stop sentinel with the sentinel itself before stopping, so the
    /// client that sent it gets an answer and can end by itself.
    pub reply_stop: bool,
    /// Exercise 10: each reply leaves this long after its datagram arrived.
    pub delay: Duration,
    /// Exercise 9: stop after this long without any datagram on any socket.
    pub idle_timeout: Option<Duration>,
    /// v3: print the silence message after each such period without any datagram.
    pub silence: Option<Duration>,
    /// Final 2: append one line per datagram to this file.
    pub log: Option<PathBuf>,
    /// Do not print `Message[ip:port] - data` per datagram.
    pub quiet: bool,
    /// Threads, each with its own sockets on the same ports (`SO_REUSEPORT`).
    pub workers: usize,
    /// Datagrams per `recvmmsg`/`sendmmsg`.
    pub batch: usize,
    /// `SO_RCVBUF` to ask for, in bytes (`None`: sized from the number of sockets).
    pub rcvbuf: Option<usize>,
    /// The loop and reflection guard (on by default).
    pub guard: GuardConfig,
    /// Bytes the delay queue may hold.
    pub delay_queue: usize,
    /// Whether an existing log is appended to (default) or emptied.
    pub log_mode: LogMode,
    /// Answer a run of equal-size datagrams from one peer with one UDP GSO send where the
    /// kernel has it (`super::gso`); `false`: one datagram per `sendmmsg` slot always.
    pub gso: bool,
}

impl Default for EchoConfig {
    fn default() -> Self {
        EchoConfig {
            host: String::new(),
            ports: PortChoice::List(vec![DEFAULT_PORT]),
            bufsize: DEFAULT_BUFSIZE,
            stop: Some(b".".to_vec()),
            reply_stop: false,
            delay: Duration::ZERO,
            idle_timeout: None,
            silence: None,
            log: None,
            quiet: false,
            workers: 1,
            batch: DEFAULT_BATCH,
            rcvbuf: None,
            guard: GuardConfig::default(),
            delay_queue: DEFAULT_DELAY_QUEUE,
            log_mode: LogMode::Append,
            gso: true,
        }
    }
}

impl EchoConfig {
    /// Checks the options against each other.
    ///
    /// # Errors
    /// [`Error::Value`] with a one-line explanation.
    pub fn validate(&self) -> Result<()> {
        if self.bufsize == 0 || self.bufsize > MAX_BUFSIZE {
            return Err(Error::Value(format!(
                "bufsize must be 1-{MAX_BUFSIZE}, not {}",
                self.bufsize
            )));
        }
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return Err(Error::Value(format!(
                "workers must be 1-{MAX_WORKERS}, not {}",
                self.workers
            )));
        }
        if self.batch == 0 || self.batch > MAX_BATCH {
            return Err(Error::Value(format!(
                "batch must be 1-{MAX_BATCH}, not {}",
                self.batch
            )));
        }
        let (lo, hi) = DELAY_QUEUE_RANGE;
        if !(lo..=hi).contains(&self.delay_queue) {
            return Err(Error::Value(format!(
                "delay queue must be {lo}-{hi} bytes, not {}",
                self.delay_queue
            )));
        }
        if self.reply_stop && self.stop.is_none() {
            return Err(Error::Value("reply_stop needs a stop sentinel".into()));
        }
        if matches!(&self.stop, Some(s) if s.is_empty()) {
            return Err(Error::Value("the stop sentinel must not be empty".into()));
        }
        match &self.ports {
            PortChoice::List(p) if p.is_empty() => {
                return Err(Error::Value("no ports given".into()));
            }
            PortChoice::Random(a, b) if a > b || *a == 0 => {
                return Err(Error::Value(format!(
                    "random port range {a}-{b} must be 1-65535 and not reversed"
                )));
            }
            _ => {}
        }
        for (name, d) in [
            ("idle_timeout", self.idle_timeout),
            ("silence", self.silence),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(Error::Value(format!("{name} must be more than 0 seconds")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_practica_v1_server() {
        let c = EchoConfig::default();
        assert_eq!(c.ports, PortChoice::List(vec![44444]));
        assert_eq!(c.bufsize, 1024);
        assert_eq!(c.stop.as_deref(), Some(&b"."[..]));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn inconsistent_options_are_rejected() {
        let bad = [
            EchoConfig {
                bufsize: 0,
                ..EchoConfig::default()
            },
            EchoConfig {
                workers: 0,
                ..EchoConfig::default()
            },
            EchoConfig {
                stop: None,
                reply_stop: true,
                ..EchoConfig::default()
            },
            EchoConfig {
                ports: PortChoice::Random(20100, 20000),
                ..EchoConfig::default()
            },
            EchoConfig {
                ports: PortChoice::List(vec![]),
                ..EchoConfig::default()
            },
            EchoConfig {
                idle_timeout: Some(Duration::ZERO),
                ..EchoConfig::default()
            },
        ];
        for c in bad {
            let e = c.validate().unwrap_err();
            assert!(matches!(e, Error::Value(_)), "{c:?}");
        }
    }
}
