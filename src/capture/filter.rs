//! The classic BPF program attached to the capture socket, so the kernel drops what is not
//! wanted before it is copied: anything but UDP over IPv4/IPv6, datagrams on other ports, later
//! IPv4 fragments, and the outgoing copy of each loopback packet (loopback shows every packet
//! twice: once leaving, once arriving).
//!
//! The program runs on `SOCK_DGRAM` packet sockets, where offset 0 is the IP header; the
//! ethertype, packet type and link type come from the kernel's ancillary loads. User space
//! still decodes and filters every packet ([`super::decode`]): the filter is an
//! optimisation, never the only check (an IPv6 packet with extension headers passes it, for
//! one).

/// One classic BPF instruction: (code, jump if true, jump if false, k).
pub(super) type Insn = (u16, u8, u8, u32);

// Instruction classes and modes (linux/filter.h), as u16 codes.
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const LD_H_ABS: u16 = 0x28; // BPF_LD | BPF_H | BPF_ABS
const LD_B_ABS: u16 = 0x30; // BPF_LD | BPF_B | BPF_ABS
const LD_H_IND: u16 = 0x48; // BPF_LD | BPF_H | BPF_IND
const LDX_B_MSH: u16 = 0xb1; // BPF_LDX | BPF_B | BPF_MSH: X = 4 * (P[k] & 0xf)
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Ancillary loads (`SKF_AD_OFF + ...`), as the unsigned `k` the kernel expects.
#[allow(clippy::cast_sign_loss)]
const fn ancillary(what: i32) -> u32 {
    (-0x1000 + what) as u32
}
/// `skb->protocol` (the ethertype), in host order.
pub(super) const AD_PROTOCOL: u32 = ancillary(0);
/// `skb->pkt_type` (`PACKET_HOST`, `PACKET_OUTGOING`, ...).
pub(super) const AD_PKTTYPE: u32 = ancillary(4);
/// `dev->type` (`ARPHRD_*`).
pub(super) const AD_HATYPE: u32 = ancillary(28);

/// `PACKET_OUTGOING` from `linux/if_packet.h`.
pub(super) const PACKET_OUTGOING: u32 = 4;
/// `ARPHRD_LOOPBACK` from `linux/if_arp.h`.
pub(super) const ARPHRD_LOOPBACK: u32 = 772;
/// Bytes of each packet kept: every IP packet is shorter.
pub(super) const SNAPLEN: u32 = 0x4_0000;

/// Where a jump goes: the next instruction, or a label.
#[derive(Clone, Copy)]
enum To {
    Next,
    Label(&'static str),
}

/// A tiny assembler: instructions with symbolic jump targets, resolved by [`Asm::finish`].
#[derive(Default)]
struct Asm {
    code: Vec<(u16, To, To, u32)>,
    labels: Vec<(&'static str, usize)>,
}

impl Asm {
    fn op(&mut self, code: u16, k: u32) {
        self.code.push((code, To::Next, To::Next, k));
    }
    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.code.push((code, jt, jf, k));
    }
    fn label(&mut self, name: &'static str) {
        self.labels.push((name, self.code.len()));
    }
    fn finish(self) -> Vec<Insn> {
        let at = |name: &str| {
            self.labels
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| panic!("BPF label {name} undefined"), |(_, i)| *i)
        };
        let rel = |from: usize, to: To| match to {
            To::Next => 0,
            To::Label(name) => u8::try_from(at(name) - from - 1).expect("BPF jump too far"),
        };
        self.code
            .iter()
            .enumerate()
            .map(|(i, &(code, jt, jf, k))| (code, rel(i, jt), rel(i, jf), k))
            .collect()
    }
}

/// The filter for UDP datagrams with `port` as source or destination (any port when `None`).
#[must_use]
pub(super) fn program(port: Option<u16>) -> Vec<Insn> {
    use To::{Label as L, Next};
    let mut a = Asm::default();
    // The outgoing copy of a loopback packet: drop (the incoming copy follows).
    a.op(LD_W_ABS, AD_PKTTYPE);
    a.jump(JEQ_K, PACKET_OUTGOING, Next, L("proto"));
    a.op(LD_W_ABS, AD_HATYPE);
    a.jump(JEQ_K, ARPHRD_LOOPBACK, L("drop"), L("proto"));
    a.label("proto");
    a.op(LD_W_ABS, AD_PROTOCOL);
    a.jump(JEQ_K, 0x0800, Next, L("not4"));
    // IPv4: UDP, not a later fragment, then the ports after the IHL-long header.
    a.op(LD_B_ABS, 9);
    a.jump(JEQ_K, 17, Next, L("drop"));
    a.op(LD_H_ABS, 6);
    a.jump(JSET_K, 0x1fff, L("drop"), Next);
    if let Some(p) = port {
        a.op(LDX_B_MSH, 0);
        a.op(LD_H_IND, 0);
        a.jump(JEQ_K, u32::from(p), L("accept"), Next);
        a.op(LD_H_IND, 2);
        a.jump(JEQ_K, u32::from(p), L("accept"), L("drop"));
    } else {
        a.jump(JEQ_K, 0, L("accept"), L("accept")); // an unconditional jump
    }
    a.label("not4");
    a.jump(JEQ_K, 0x86dd, Next, L("drop"));
    // IPv6: UDP right after the fixed header, or an extension header (user space walks it).
    a.op(LD_B_ABS, 6);
    if let Some(p) = port {
        a.jump(JEQ_K, 17, Next, L("ext"));
        a.op(LD_H_ABS, 40);
        a.jump(JEQ_K, u32::from(p), L("accept"), Next);
        a.op(LD_H_ABS, 42);
        a.jump(JEQ_K, u32::from(p), L("accept"), L("drop"));
    } else {
        a.jump(JEQ_K, 17, L("accept"), L("ext"));
    }
    a.label("ext");
    for header in [0, 43, 44, 51, 60] {
        a.jump(JEQ_K, header, L("accept"), Next);
    }
    a.label("drop");
    a.op(RET_K, 0);
    a.label("accept");
    a.op(RET_K, SNAPLEN);
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::decode::build;
    use std::net::IpAddr;

    /// What the kernel knows about a packet besides its bytes.
    struct Meta {
        proto: u32,
        pkttype: u32,
        hatype: u32,
    }

    /// Runs `prog` on `p` as the kernel would (the subset of classic BPF the filter uses).
    #[allow(clippy::many_single_char_names)]
    fn run(prog: &[Insn], p: &[u8], m: &Meta) -> u32 {
        let (mut acc, mut x, mut pc) = (0u32, 0u32, 0usize);
        let load = |at: u32, n: usize| -> Option<u32> {
            let at = usize::try_from(at).ok()?;
            Some(
                p.get(at..at + n)?
                    .iter()
                    .fold(0, |v, b| (v << 8) | u32::from(*b)),
            )
        };
        loop {
            let (code, jt, jf, k) = prog[pc];
            pc += 1;
            let loaded = match code {
                LD_W_ABS if k == AD_PROTOCOL => Some(m.proto),
                LD_W_ABS if k == AD_PKTTYPE => Some(m.pkttype),
                LD_W_ABS if k == AD_HATYPE => Some(m.hatype),
                LD_H_ABS => load(k, 2),
                LD_B_ABS => load(k, 1),
                LD_H_IND => load(x + k, 2),
                LDX_B_MSH => {
                    x = 4 * (load(k, 1).unwrap_or(0) & 0xf);
                    continue;
                }
                JEQ_K | JSET_K => {
                    let taken = if code == JEQ_K {
                        acc == k
                    } else {
                        acc & k != 0
                    };
                    pc += usize::from(if taken { jt } else { jf });
                    continue;
                }
                RET_K => return k,
                _ => panic!("opcode {code:#x} not modelled"),
            };
            match loaded {
                Some(v) => acc = v,
                None => return 0, // the kernel drops a packet read out of bounds
            }
        }
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const HOST_ETH: Meta = Meta {
        proto: 0x0800,
        pkttype: 0,
        hatype: 1,
    };

    #[test]
    fn port_filter_accepts_either_side_only() {
        let prog = program(Some(44444));
        let to = build(addr("10.0.0.1"), addr("10.0.0.2"), 50000, 44444, b"x");
        let from = build(addr("10.0.0.2"), addr("10.0.0.1"), 44444, 50000, b"x");
        let other = build(addr("10.0.0.2"), addr("10.0.0.1"), 44445, 50000, b"x");
        assert_eq!(run(&prog, &to, &HOST_ETH), SNAPLEN);
        assert_eq!(run(&prog, &from, &HOST_ETH), SNAPLEN);
        assert_eq!(run(&prog, &other, &HOST_ETH), 0);
        assert_eq!(run(&program(None), &other, &HOST_ETH), SNAPLEN);
        let v6 = Meta {
            proto: 0x86dd,
            ..HOST_ETH
        };
        let six = build(addr("::1"), addr("::1"), 44444, 1, b"");
        assert_eq!(run(&prog, &six, &v6), SNAPLEN);
        let six_other = build(addr("::1"), addr("::1"), 4444, 1, b"");
        assert_eq!(run(&prog, &six_other, &v6), 0);
    }

    #[test]
    fn ipv4_options_move_the_ports() {
        let mut p = build(addr("10.0.0.1"), addr("10.0.0.2"), 1, 7, b"x");
        // Grow the header to 24 bytes with a NOP option block.
        p[0] = 0x46;
        p.splice(20..20, [1, 1, 1, 0]);
        assert_eq!(run(&program(Some(7)), &p, &HOST_ETH), SNAPLEN);
        assert_eq!(run(&program(Some(1)), &p, &HOST_ETH), SNAPLEN);
        assert_eq!(run(&program(Some(8)), &p, &HOST_ETH), 0);
    }

    #[test]
    fn drops_loopback_outgoing_copies_tcp_and_later_fragments() {
        let prog = program(None);
        let p = build(addr("127.0.0.1"), addr("127.0.0.1"), 1, 2, b"x");
        let lo_out = Meta {
            proto: 0x0800,
            pkttype: PACKET_OUTGOING,
            hatype: ARPHRD_LOOPBACK,
        };
        let lo_in = Meta {
            proto: 0x0800,
            pkttype: 0,
            hatype: ARPHRD_LOOPBACK,
        };
        let eth_out = Meta {
            proto: 0x0800,
            pkttype: PACKET_OUTGOING,
            hatype: 1,
        };
        assert_eq!(run(&prog, &p, &lo_out), 0);
        assert_eq!(run(&prog, &p, &lo_in), SNAPLEN);
        assert_eq!(run(&prog, &p, &eth_out), SNAPLEN);
        let mut tcp = p.clone();
        tcp[9] = 6;
        assert_eq!(run(&prog, &tcp, &lo_in), 0);
        let mut later = p.clone();
        later[7] = 0xb9;
        assert_eq!(run(&prog, &later, &lo_in), 0);
        let arp = Meta {
            proto: 0x0806,
            ..lo_in
        };
        assert_eq!(run(&prog, &p, &arp), 0);
    }
}
