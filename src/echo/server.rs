//! [`EchoServer`]: binds at construction, then runs its workers until told to stop.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use super::bind::{bind_all, Bound};
use super::config::EchoConfig;
use super::output::LogFile;
use super::printer::Printer;
use super::shared::{End, Shared};
use super::stats::{Counters, Stats};
use super::worker::Worker;
use crate::cancel::{Cancel, TICK};
use crate::error::{Error, Result};

/// How long stdout may take to print what is queued when the server stops by itself.
const PRINT_GRACE: Duration = Duration::from_secs(2);
/// ... and when it is stopped (Ctrl+C, SIGTERM, `stop()`).
const STOP_GRACE: Duration = Duration::from_millis(80);

/// An echo server with its sockets bound, ready to [`run`](EchoServer::run).
#[derive(Debug)]
pub struct EchoServer {
    cfg: Arc<EchoConfig>,
    bound: Bound,
    counters: Arc<Counters>,
    log: Option<Arc<LogFile>>,
    running: AtomicBool,
}

impl EchoServer {
    /// Checks `cfg`, binds every socket, then (only once every port is bound) opens the log
    /// file (see `super::output::open_log`).
    ///
    /// # Errors
    /// [`Error::Value`] for inconsistent options, [`Error::Io`] for a bind or file error
    /// (with the system's errno), [`Error::Gai`] for a host that does not resolve.
    pub fn bind(cfg: EchoConfig) -> Result<Self> {
        cfg.validate()?;
        let bound = bind_all(&cfg)?;
        let log = match &cfg.log {
            Some(path) => Some(Arc::new(LogFile::create(path, cfg.log_mode)?)),
            None => None,
        };
        Ok(EchoServer {
            cfg: Arc::new(cfg),
            bound,
            counters: Arc::new(Counters::default()),
            log,
            running: AtomicBool::new(false),
        })
    }

    /// The bound ports, in the order asked for (ephemeral and random ports resolved).
    #[must_use]
    pub fn ports(&self) -> &[u16] {
        &self.bound.ports
    }

    /// The bound address.
    #[must_use]
    pub fn ip(&self) -> IpAddr {
        self.bound.ip
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &EchoConfig {
        &self.cfg
    }

    /// The first error writing the log, if one happened (`[Errno 28] No space left on
    /// device`); the lines lost are in the `drops`.
    #[must_use]
    pub fn log_error(&self) -> Option<String> {
        self.log.as_ref().and_then(|l| l.error())
    }

    /// The counters so far (they keep counting across runs).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// How many receives held a coalesced GRO train so far.
    #[cfg(test)]
    pub(super) fn gro_trains(&self) -> u64 {
        self.counters
            .trains
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Serves until the stop sentinel or the idle timeout (returning which), or until
    /// `cancel` stops it. The log is flushed and closed whenever the run ends; a later run
    /// appends to it.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when `cancel` stopped the run, [`Error::Value`] when the server
    /// is already running, [`Error::Io`] when the event loop cannot be set up.
    pub fn run(&self, cancel: &Cancel) -> Result<End> {
        if self.running.swap(true, Ordering::SeqCst) {
            return Err(Error::Value("the echo server is already running".into()));
        }
        let result = self.run_workers(cancel);
        if let Some(log) = &self.log {
            log.close();
            self.counters.add_drops(log.take_lost());
        }
        self.running.store(false, Ordering::SeqCst);
        result
    }

    fn run_workers(&self, cancel: &Cancel) -> Result<End> {
        if let Some(log) = &self.log {
            log.reopen()?;
        }
        let prints = !self.cfg.quiet || self.cfg.silence.is_some();
        let mut shared = Shared::new(
            Arc::clone(&self.cfg),
            Arc::clone(&self.counters),
            self.log.clone(),
            prints.then(Printer::stdout),
            self.bound.ports.clone(),
        );
        let result = if self.bound.sockets.len() == 1 {
            Worker::new(&shared, &self.bound.sockets[0], true).run(cancel)
        } else {
            self.run_threads(&shared, cancel)
        };
        if let Some(p) = shared.printer.take() {
            // A stop asked for (Ctrl+C, SIGTERM) is answered at once whatever stdout does;
            // a server ending by itself lets a slow stdout catch up a little longer.
            let grace = if shared.end().is_some() {
                PRINT_GRACE
            } else {
                STOP_GRACE
            };
            self.counters.add_unprinted(p.finish(grace));
        }
        result?;
        shared.end().ok_or(Error::Interrupted)
    }

    /// Runs one thread per worker; this thread relays `cancel` (whose hook may need this
    /// thread, e.g. Python's signal check) to them at least every [`TICK`].
    fn run_threads(&self, shared: &Shared, cancel: &Cancel) -> Result<()> {
        let inner = Cancel::new();
        let (done_tx, done_rx) = mpsc::channel::<Result<()>>();
        std::thread::scope(|scope| {
            for (k, sockets) in self.bound.sockets.iter().enumerate() {
                let tx = done_tx.clone();
                let token = inner.clone();
                scope.spawn(move || {
                    let r = Worker::new(shared, sockets, k == 0).run(&token);
                    // Whatever ended this worker ends the others.
                    token.stop();
                    let _ = tx.send(r);
                });
            }
            drop(done_tx);
            let mut first_err = None;
            let mut left = self.bound.sockets.len();
            while left > 0 {
                match done_rx.recv_timeout(TICK) {
                    Ok(r) => {
                        left -= 1;
                        if let Err(e) = r {
                            first_err.get_or_insert(e);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if cancel.check() {
                            inner.stop();
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            first_err.map_or(Ok(()), Err)
        })
    }
}
