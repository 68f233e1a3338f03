//! Tests of the message calls on real loopback sockets.

use super::many::{self, Outgoing};
use super::*;
use crate::mmsg::Batch;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

fn pair() -> (UdpSocket, UdpSocket) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    (a, b)
}

#[test]
fn control_round_trips_and_matches_cmsg_space() {
    let c = build_control(&[(1, 2, b"abc"), (3, 4, b"")]).unwrap();
    // CMSG_SPACE(3) + CMSG_SPACE(0) on 64-bit Linux.
    assert_eq!(c.len(), 24 + 16);
    let parsed = parse_control(c.bytes(), c.len());
    assert_eq!(
        parsed.items,
        vec![(1, 2, b"abc".to_vec()), (3, 4, Vec::new())]
    );
    assert!(!parsed.malformed);
    // Cut inside the first item's data: clipped and reported.
    let cut = parse_control(c.bytes(), 18);
    assert_eq!(cut.items, vec![(1, 2, b"ab".to_vec())]);
    assert!(cut.malformed);
    assert_eq!(parse_control(c.bytes(), 8), Ancillary::default());
}

#[test]
fn sendmsg_recvmsg_with_truncation_and_timeout() {
    let (tx, rx) = pair();
    let to = rx.local_addr().unwrap();
    let cancel = Cancel::new();
    let parts = [IoSlice::new(b"hello "), IoSlice::new(b"world")];
    let n = run(tx.as_raw_fd(), Mode::Blocking, Dir::Send, 0, &cancel, |f| {
        sendmsg(tx.as_raw_fd(), &parts, &Control::default(), Some(&to), f)
    })
    .unwrap();
    assert_eq!(n, 11);
    let mut buf = [0u8; 5];
    let mut control = Control::zeroed(0).unwrap();
    let got = run(rx.as_raw_fd(), Mode::Blocking, Dir::Recv, 0, &cancel, |f| {
        recvmsg(
            rx.as_raw_fd(),
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            f,
        )
    })
    .unwrap();
    assert_eq!(
        (got.len, &buf, got.addr),
        (5, b"hello", Some(tx.local_addr().unwrap()))
    );
    assert_eq!(got.flags & libc::MSG_TRUNC, libc::MSG_TRUNC);
    let mode = Mode::Timeout(Duration::from_millis(60));
    let start = Instant::now();
    let got = run(rx.as_raw_fd(), mode, Dir::Recv, 0, &cancel, |f| {
        recvmsg(
            rx.as_raw_fd(),
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            f,
        )
    });
    assert!(matches!(got, Err(Error::Timeout)));
    assert!(start.elapsed() >= Duration::from_millis(60));
}

#[test]
fn blocking_errqueue_and_dontwait_do_not_wait() {
    let (_a, b) = pair();
    let c = Cancel::new();
    let mut buf = [0u8; 4];
    for flags in [libc::MSG_ERRQUEUE, libc::MSG_DONTWAIT] {
        let mut control = Control::zeroed(64).unwrap();
        let r = run(b.as_raw_fd(), Mode::Blocking, Dir::Recv, flags, &c, |f| {
            recvmsg(
                b.as_raw_fd(),
                &mut [IoSliceMut::new(&mut buf)],
                &mut control,
                f,
            )
        });
        assert_eq!(r.unwrap_err().errno(), Some(libc::EAGAIN));
    }
}

#[test]
fn errqueue_with_timeout_waits_for_the_error_without_spinning() {
    let (a, b) = pair();
    // Data queued (POLLIN) but no error: the wait must not spin on POLLIN until the timeout.
    a.send_to(b"x", b.local_addr().unwrap()).unwrap();
    let c = Cancel::new();
    let mut buf = [0u8; 4];
    let mut calls = 0;
    let mut control = Control::zeroed(64).unwrap();
    let mode = Mode::Timeout(Duration::from_millis(200));
    let r = run(
        b.as_raw_fd(),
        mode,
        Dir::Recv,
        libc::MSG_ERRQUEUE,
        &c,
        |f| {
            calls += 1;
            recvmsg(
                b.as_raw_fd(),
                &mut [IoSliceMut::new(&mut buf)],
                &mut control,
                f,
            )
        },
    );
    assert!(matches!(r, Err(Error::Timeout)));
    assert!(calls < 5, "{calls} calls in 200 ms");
}

fn many_round_trip(portable: bool, gso: bool, gro: bool) {
    let (a, b) = pair();
    if gro {
        assert!(crate::sys::enable_gro(b.as_raw_fd()));
        assert!(many::gro_enabled(b.as_raw_fd()));
    }
    let to = Some(crate::addr::to_raw(&b.local_addr().unwrap()));
    let payloads: Vec<Vec<u8>> = (0..200u8)
        .map(|i| {
            let len = if i < 150 { 100 } else { usize::from(i % 3) * 7 };
            vec![i; len]
        })
        .collect();
    let items: Vec<Outgoing<'_>> = payloads.iter().map(|p| Outgoing { data: p, to }).collect();
    let c = Cancel::new();
    let fd = a.as_raw_fd();
    assert_eq!(
        many::send_many(fd, &items, Mode::Blocking, &c, gso, portable).unwrap(),
        200
    );
    let plan = many::recv_plan(1024, 64, gro);
    let mut batch = Batch::named(plan.slots, plan.slot_len, portable)
        .with_control(crate::mmsg::gso::GRO_CONTROL_LEN);
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut coalesced = 0;
    while got.len() < 200 {
        let n = many::recv_batch(b.as_raw_fd(), &mut batch, plan, Mode::Blocking, &c).unwrap();
        for i in 0..n {
            assert_eq!(batch.addr(i), Some(a.local_addr().unwrap()));
            coalesced += usize::from(batch.gso_size(i).is_some());
            got.extend(
                batch
                    .segments(i, plan.gro)
                    .map(|d| d[..d.len().min(64)].to_vec()),
            );
        }
    }
    let want: Vec<Vec<u8>> = payloads
        .iter()
        .map(|p| p[..p.len().min(64)].to_vec())
        .collect();
    assert_eq!(got, want);
    // GSO sends to a GRO socket arrive coalesced: the split path really ran.
    assert_eq!(coalesced > 0, gso && gro, "{coalesced} coalesced buffers");
}

#[test]
fn many_batched_with_gso_and_gro() {
    many_round_trip(false, true, true);
}

#[test]
fn many_batched_with_gso_without_gro() {
    many_round_trip(false, true, false);
}

#[test]
fn many_portable() {
    many_round_trip(true, false, false);
}
