//! The proxy's loop: one thread, one `poll` over the listening socket and one connected
//! socket per client, and one timer heap for everything that waits.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::impair::{Decision, Rng};
use super::stats::{bump, Counters, Stats};
use super::ProxyConfig;
use crate::cancel::Cancel;
use crate::error::{Error, Result};
use crate::host::connect_udp;
use crate::wait::{poll_fds, READ_EVENTS};

/// Index of the clients-to-target direction in per-direction arrays.
const UP: usize = 0;
/// Index of the target-to-clients direction.
const DOWN: usize = 1;
/// Most datagrams read from one socket per wake-up (fairness between clients).
const BURST: usize = 64;
/// The most a held (reordered) datagram waits for a later one to overtake it, on top of its
/// own delay; after that it goes anyway (not counted as reordered).
pub(super) const REORDER_HOLD: Duration = Duration::from_millis(50);
/// How often idle clients are looked for.
const SWEEP: Duration = Duration::from_secs(1);

/// A bound UDP impairment proxy. [`Proxy::run`] forwards until cancelled; the counters are
/// readable from any thread meanwhile.
#[derive(Debug)]
pub struct Proxy {
    cfg: ProxyConfig,
    listen: Socket,
    local: SocketAddr,
    counters: Arc<Counters>,
}

impl Proxy {
    /// Binds the listening socket (so its address is known at once).
    ///
    /// # Errors
    /// [`Error::Value`] for settings out of range, [`Error::Io`] when binding fails.
    pub fn bind(cfg: ProxyConfig) -> Result<Self> {
        cfg.validate()?;
        let listen = Socket::new(
            Domain::for_address(cfg.listen),
            Type::DGRAM,
            Some(Protocol::UDP),
        )?;
        listen.set_nonblocking(true)?;
        // Best effort: a deep receive queue rides out bursts (the kernel caps it).
        let _ = listen.set_recv_buffer_size(1 << 22);
        listen.bind(&SockAddr::from(cfg.listen))?;
        let local = listen
            .local_addr()?
            .as_socket()
            .ok_or_else(|| Error::from_errno(libc::EAFNOSUPPORT))?;
        // The proxy as its own target would send every datagram round forever (each hop a
        // new client): refused. (Two proxies aimed at each other stop at `max_clients`.)
        let t = cfg.target;
        if t.port() == local.port()
            && (t.ip() == local.ip() || local.ip().is_unspecified() || t.ip().is_unspecified())
        {
            return Err(Error::Value(format!(
                "the target {t} is the proxy itself ({local}): every datagram would loop"
            )));
        }
        Ok(Proxy {
            cfg,
            listen,
            local,
            counters: Arc::new(Counters::default()),
        })
    }

    /// The address clients send to.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ProxyConfig {
        &self.cfg
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// Forwards until `cancel` stops it. Clients and waiting datagrams are dropped when it
    /// returns; the counters stay.
    ///
    /// # Errors
    /// [`Error::Interrupted`] when cancelled (the normal end), [`Error::Io`] when `poll`
    /// or the listening socket fails.
    pub fn run(&self, cancel: &Cancel) -> Result<()> {
        let mut state = State::new(self);
        let result = state.run(cancel);
        self.counters.queued_bytes.store(0, Ordering::Relaxed);
        result
    }
}

/// One direction of one client: its decisions and the datagram it holds back.
struct Flow {
    rng: Rng,
    held: Option<Held>,
}

/// A datagram held back to be overtaken.
struct Held {
    id: u64,
    data: Vec<u8>,
}

/// A client, with its upstream socket.
struct Peer {
    addr: SocketAddr,
    sock: Socket,
    last: Instant,
    flows: [Flow; 2],
}

/// What a timer entry does when due.
enum Job {
    /// Send this datagram; `true` when it may overtake the flow's held datagram (false for
    /// the duplicate of the held datagram itself).
    Send(Vec<u8>, bool),
    /// Release the held datagram `id` if still held.
    Release(u64),
}

/// A timer entry.
struct Timer {
    due: Instant,
    seq: u64,
    peer: u64,
    dir: usize,
    job: Job,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// The running state of [`Proxy::run`].
struct State<'a> {
    proxy: &'a Proxy,
    peers: HashMap<u64, Peer>,
    by_addr: HashMap<SocketAddr, u64>,
    next_peer: u64,
    timers: BinaryHeap<Reverse<Timer>>,
    seq: u64,
    queued: usize,
    buf: Vec<u8>,
    pollfds: Vec<libc::pollfd>,
    poll_peers: Vec<u64>,
    fds_stale: bool,
    next_sweep: Instant,
}

impl<'a> State<'a> {
    fn new(proxy: &'a Proxy) -> Self {
        State {
            proxy,
            peers: HashMap::new(),
            by_addr: HashMap::new(),
            next_peer: 0,
            timers: BinaryHeap::new(),
            seq: 0,
            queued: 0,
            buf: vec![0; 1 << 16],
            pollfds: Vec::new(),
            poll_peers: Vec::new(),
            fds_stale: true,
            next_sweep: Instant::now() + SWEEP,
        }
    }

    fn counters(&self) -> &Counters {
        &self.proxy.counters
    }

    fn run(&mut self, cancel: &Cancel) -> Result<()> {
        loop {
            let now = Instant::now();
            self.fire_due(now);
            if now >= self.next_sweep {
                self.sweep(now);
            }
            let wake = self
                .timers
                .peek()
                .map_or(self.next_sweep, |t| t.0.due.min(self.next_sweep));
            if self.fds_stale {
                self.rebuild_fds();
            }
            for p in &mut self.pollfds {
                p.revents = 0;
            }
            let wait = wake.saturating_duration_since(Instant::now());
            if poll_fds(&mut self.pollfds, Some(wait), cancel)? == 0 {
                continue;
            }
            if self.pollfds[0].revents != 0 {
                self.read_clients()?;
            }
            for i in 1..self.pollfds.len() {
                if self.pollfds[i].revents != 0 {
                    self.read_target(self.poll_peers[i]);
                }
            }
        }
    }

    fn rebuild_fds(&mut self) {
        self.pollfds.clear();
        self.poll_peers.clear();
        let fd = |fd| libc::pollfd {
            fd,
            events: READ_EVENTS,
            revents: 0,
        };
        self.pollfds.push(fd(self.proxy.listen.as_raw_fd()));
        self.poll_peers.push(u64::MAX);
        for (id, p) in &self.peers {
            self.pollfds.push(fd(p.sock.as_raw_fd()));
            self.poll_peers.push(*id);
        }
        self.fds_stale = false;
    }

    /// Datagrams from clients, to the target.
    fn read_clients(&mut self) -> Result<()> {
        for _ in 0..BURST {
            let (n, from) = match recv_from(&self.proxy.listen, &mut self.buf) {
                Ok(Some(got)) => got,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e),
            };
            let Some(id) = self.peer_for(from) else {
                bump(&self.counters().rejected);
                continue;
            };
            let data = self.buf[..n].to_vec();
            self.arrive(id, UP, data);
        }
        Ok(())
    }

    /// Replies from the target on one client's socket, to that client.
    fn read_target(&mut self, id: u64) {
        for _ in 0..BURST {
            let Some(peer) = self.peers.get(&id) else {
                return;
            };
            match peer.sock.recv(as_uninit(&mut self.buf)) {
                Ok(n) => {
                    let data = self.buf[..n].to_vec();
                    self.arrive(id, DOWN, data);
                }
                // An ICMP error from the target (port closed): nothing to forward.
                Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {}
                Err(_) => return,
            }
        }
    }

    /// The client entry for `from`, created on its first datagram; `None` when the table is
    /// full or the upstream socket cannot be made.
    fn peer_for(&mut self, from: SocketAddr) -> Option<u64> {
        if let Some(id) = self.by_addr.get(&from) {
            return Some(*id);
        }
        if self.peers.len() >= self.proxy.cfg.max_clients {
            return None;
        }
        let sock = connect_udp(self.proxy.cfg.target, None).ok()?;
        let id = self.next_peer;
        self.next_peer += 1;
        let seed = self.proxy.cfg.seed;
        let flow = |dir: u64| Flow {
            rng: Rng::for_stream(seed, id, dir),
            held: None,
        };
        self.peers.insert(
            id,
            Peer {
                addr: from,
                sock,
                last: Instant::now(),
                flows: [flow(0), flow(1)],
            },
        );
        self.by_addr.insert(from, id);
        self.fds_stale = true;
        bump(&self.counters().clients);
        Some(id)
    }

    /// One datagram arrived for direction `dir` of client `id`: decides its fate.
    fn arrive(&mut self, id: u64, dir: usize, mut data: Vec<u8>) {
        let imp = if dir == UP {
            self.proxy.cfg.up
        } else {
            self.proxy.cfg.down
        };
        let now = Instant::now();
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.last = now;
        let c = &self.proxy.counters.dirs[dir];
        bump(&c.received);
        if imp.is_none() {
            self.send(id, dir, &data);
            return;
        }
        let Decision::Forward { delays, hold } = imp.decide(&mut peer.flows[dir].rng) else {
            bump(&c.dropped);
            return;
        };
        let can_hold = hold && peer.flows[dir].held.is_none();
        if delays.len() == 2 {
            bump(&c.duplicated);
        }
        let copies = delays.len();
        for (i, delay) in delays.into_iter().enumerate() {
            let copy = if i + 1 == copies {
                std::mem::take(&mut data)
            } else {
                data.clone()
            };
            // The duplicate of a held datagram does not count as overtaking it.
            let overtakes = !can_hold;
            if i == 0 && can_hold {
                self.hold(id, dir, copy, now + delay + REORDER_HOLD);
            } else if !delay.is_zero() {
                self.schedule(id, dir, now + delay, Job::Send(copy, overtakes));
            } else if overtakes {
                self.send(id, dir, &copy);
            } else {
                self.transmit(id, dir, &copy);
            }
        }
    }

    /// Holds `data` as the one held datagram of the flow, until overtaken or `until`.
    fn hold(&mut self, id: u64, dir: usize, data: Vec<u8>, until: Instant) {
        if !self.reserve(dir, data.len()) {
            return;
        }
        self.seq += 1;
        let hid = self.seq;
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.flows[dir].held = Some(Held { id: hid, data });
        }
        bump(&self.proxy.counters.dirs[dir].delayed);
        self.push_timer(id, dir, until, Job::Release(hid));
    }

    /// Queues `job` for `due`, if its bytes fit.
    fn schedule(&mut self, id: u64, dir: usize, due: Instant, job: Job) {
        if let Job::Send(data, _) = &job {
            if !self.reserve(dir, data.len()) {
                return;
            }
        }
        bump(&self.proxy.counters.dirs[dir].delayed);
        self.push_timer(id, dir, due, job);
    }

    fn push_timer(&mut self, peer: u64, dir: usize, due: Instant, job: Job) {
        self.seq += 1;
        self.timers.push(Reverse(Timer {
            due,
            seq: self.seq,
            peer,
            dir,
            job,
        }));
    }

    /// Counts `len` bytes into the queue; `false` (and an overflow drop) when they do not fit.
    fn reserve(&mut self, dir: usize, len: usize) -> bool {
        // An empty datagram still takes a slot: count it as one byte.
        let len = len.max(1);
        if self.queued + len > self.proxy.cfg.queue_bytes {
            bump(&self.proxy.counters.dirs[dir].overflow);
            return false;
        }
        self.queued += len;
        self.publish_queued();
        true
    }

    fn release_bytes(&mut self, len: usize) {
        self.queued = self.queued.saturating_sub(len.max(1));
        self.publish_queued();
    }

    fn publish_queued(&self) {
        let q = u64::try_from(self.queued).unwrap_or(u64::MAX);
        self.proxy.counters.queued_bytes.store(q, Ordering::Relaxed);
    }

    /// Runs every timer due by `now`.
    fn fire_due(&mut self, now: Instant) {
        while self.timers.peek().is_some_and(|t| t.0.due <= now) {
            let Some(Reverse(t)) = self.timers.pop() else {
                break;
            };
            match t.job {
                Job::Send(data, overtakes) => {
                    self.release_bytes(data.len());
                    if overtakes {
                        self.send(t.peer, t.dir, &data);
                    } else {
                        self.transmit(t.peer, t.dir, &data);
                    }
                }
                Job::Release(hid) => {
                    let held = self.peers.get_mut(&t.peer).and_then(|p| {
                        let flow = &mut p.flows[t.dir];
                        if flow.held.as_ref().is_some_and(|h| h.id == hid) {
                            flow.held.take()
                        } else {
                            None
                        }
                    });
                    if let Some(h) = held {
                        self.release_bytes(h.data.len());
                        self.transmit(t.peer, t.dir, &h.data);
                    }
                }
            }
        }
    }

    /// Sends `data` on its way, then the flow's held datagram right behind it (overtaken).
    fn send(&mut self, id: u64, dir: usize, data: &[u8]) {
        self.transmit(id, dir, data);
        let held = self
            .peers
            .get_mut(&id)
            .and_then(|p| p.flows[dir].held.take());
        if let Some(h) = held {
            self.release_bytes(h.data.len());
            bump(&self.proxy.counters.dirs[dir].reordered);
            self.transmit(id, dir, &h.data);
        }
    }

    /// One send system call: up through the client's socket, down through the listening one.
    fn transmit(&self, id: u64, dir: usize, data: &[u8]) {
        let c = &self.proxy.counters.dirs[dir];
        let Some(peer) = self.peers.get(&id) else {
            bump(&c.send_errors);
            return;
        };
        let sent = if dir == UP {
            peer.sock.send(data)
        } else {
            self.proxy.listen.send_to(data, &SockAddr::from(peer.addr))
        };
        bump(if sent.is_ok() {
            &c.forwarded
        } else {
            &c.send_errors
        });
    }

    /// Forgets clients idle for longer than the configured time.
    fn sweep(&mut self, now: Instant) {
        let idle = self.proxy.cfg.client_idle;
        let old: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.last) >= idle)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            if let Some(p) = self.peers.remove(&id) {
                self.by_addr.remove(&p.addr);
                for flow in p.flows {
                    if let Some(h) = flow.held {
                        self.release_bytes(h.data.len());
                    }
                }
                self.fds_stale = true;
            }
        }
        self.next_sweep = now + SWEEP;
    }
}

/// A receive buffer as the uninitialised bytes socket2 asks for.
fn as_uninit(buf: &mut [u8]) -> &mut [std::mem::MaybeUninit<u8>] {
    // SAFETY: u8 and MaybeUninit<u8> have the same layout; the socket only writes to it.
    unsafe { &mut *(std::ptr::from_mut::<[u8]>(buf) as *mut [std::mem::MaybeUninit<u8>]) }
}

/// One datagram from the listening socket; `None` when nothing is left.
fn recv_from(sock: &Socket, buf: &mut [u8]) -> Result<Option<(usize, SocketAddr)>> {
    loop {
        match sock.recv_from(as_uninit(buf)) {
            Ok((n, from)) => {
                if let Some(addr) = from.as_socket() {
                    return Ok(Some((n, addr)));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
            // An ICMP error for an earlier reply to a client that went away.
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
}
