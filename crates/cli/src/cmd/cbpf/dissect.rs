//! The packet parsing behind two ancillary loads: `SKF_AD_PAY_OFFSET` (the
//! kernel's `skb_get_poff`, built on its flow dissector) and
//! `SKF_AD_NLATTR[_NEST]` (`nla_find` over netlink attributes). Both read
//! only the given bytes and return 0 where the kernel would.

use super::skb::SkbMeta;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

fn be16(d: &[u8], o: usize) -> Option<u16> {
    d.get(o..o.checked_add(2)?)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Transport header offset and protocol: a small flow dissector (VLAN
/// tags, IPv4 without fragments past the first, IPv6 with its common
/// extension headers).
fn transport(d: &[u8], meta: &SkbMeta) -> Option<(usize, u8)> {
    let mut proto = meta.protocol;
    let mut off = meta.network_offset as usize;
    while proto == ETH_P_8021Q || proto == ETH_P_8021AD {
        proto = be16(d, off + 2)?;
        off += 4;
    }
    match proto {
        ETH_P_IP => {
            let ihl = (*d.get(off)? & 0xf) as usize * 4;
            if ihl < 20 {
                return None;
            }
            let frag = be16(d, off + 6)? & 0x1fff;
            let next = *d.get(off + 9)?;
            // Later fragments carry no transport header.
            Some((off + ihl, if frag != 0 { 0 } else { next }))
        }
        ETH_P_IPV6 => {
            let mut next = *d.get(off + 6)?;
            off += 40;
            // Hop-by-hop, routing, destination options; fragment.
            loop {
                match next {
                    0 | 43 | 60 => {
                        let len = (*d.get(off + 1)? as usize + 1) * 8;
                        next = *d.get(off)?;
                        off += len;
                    }
                    44 => {
                        let frag = be16(d, off + 2)? & 0xfff8;
                        next = if frag != 0 { 0 } else { *d.get(off)? };
                        off += 8;
                        if frag != 0 {
                            return Some((off, 0));
                        }
                    }
                    _ => return Some((off, next)),
                }
            }
        }
        _ => None,
    }
}

/// `skb_get_poff`: where the transport payload starts (0 when the packet
/// does not dissect).
pub fn payload_offset(d: &[u8], meta: &SkbMeta) -> u32 {
    let Some((thoff, proto)) = transport(d, meta) else {
        return 0;
    };
    let extra = match proto {
        // TCP: the data offset, at least the 20-byte header.
        6 => match d.get(thoff + 12) {
            Some(b) => ((b & 0xf0) >> 2).max(20) as usize,
            None => 0,
        },
        17 | 136 => 8,   // UDP, UDP-Lite
        1 | 58 | 2 => 8, // ICMP, ICMPv6, IGMP
        33 => 16,        // DCCP
        132 => 12,       // SCTP
        _ => 0,
    };
    (thoff + extra) as u32
}

/// `NLA_ALIGN`.
fn nla_align(n: usize) -> usize {
    (n + 3) & !3
}

/// `nla_len` of the attribute at `off` if it is well-formed within `rem`
/// bytes (`nla_ok`).
fn nla_ok(d: &[u8], off: usize, rem: usize) -> Option<usize> {
    let len = u16::from_le_bytes([*d.get(off)?, *d.get(off + 1)?]) as usize;
    (rem >= 4 && len >= 4 && len <= rem).then_some(len)
}

/// The kernel's `bpf_skb_get_nlattr` (`nested == false`) and
/// `bpf_skb_get_nlattr_nest`: the offset of the first attribute of type
/// `x` in the attribute stream at `a` (for `nested`, inside the attribute
/// at `a`), or 0.
pub fn nla_find(d: &[u8], a: u32, x: u32, nested: bool) -> u32 {
    let len = d.len();
    let a = a as usize;
    if len < 4 || a > len - 4 {
        return 0;
    }
    let (mut off, end) = if nested {
        match nla_ok(d, a, len - a) {
            Some(n) => (a + 4, a + n),
            None => return 0,
        }
    } else {
        (a, len)
    };
    while let Some(n) = nla_ok(d, off, end.saturating_sub(off)) {
        let ty = u16::from_le_bytes([d[off + 2], d[off + 3]]) & 0x3fff;
        if ty as u32 == x {
            return off as u32;
        }
        off += nla_align(n);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netlink_attributes() {
        // Two attributes: type 1 (len 5, padded to 8), type 2 nesting type 7.
        let mut d = vec![5, 0, 1, 0, 0xaa, 0, 0, 0];
        d.extend([12, 0, 2, 0x80, 8, 0, 7, 0, 1, 2, 3, 4]);
        assert_eq!(nla_find(&d, 0, 1, false), 0);
        assert_eq!(nla_find(&d, 0, 2, false), 8);
        assert_eq!(nla_find(&d, 0, 9, false), 0);
        assert_eq!(nla_find(&d, 8, 7, true), 12);
        assert_eq!(nla_find(&d, 8, 1, true), 0);
        assert_eq!(nla_find(&d, 100, 1, false), 0);
        assert_eq!(nla_find(&d[..3], 0, 1, false), 0);
        // A length past the end stops the walk.
        assert_eq!(nla_find(&[200, 0, 3, 0, 0, 0], 0, 3, false), 0);
    }

    #[test]
    fn payload_offsets() {
        let meta = SkbMeta {
            protocol: ETH_P_IP,
            network_offset: 14,
            ..SkbMeta::default()
        };
        let mut p = vec![0u8; 14 + 20 + 32];
        p[14] = 0x45;
        p[14 + 9] = 6;
        p[14 + 20 + 12] = 0x80; // doff 8 = 32 bytes
        assert_eq!(payload_offset(&p, &meta), 14 + 20 + 32);
        p[14 + 9] = 17;
        assert_eq!(payload_offset(&p, &meta), 14 + 20 + 8);
        p[14 + 6] = 0x01; // fragment offset != 0
        assert_eq!(payload_offset(&p, &meta), 14 + 20);
        assert_eq!(payload_offset(&p[..15], &meta), 0);
    }
}
