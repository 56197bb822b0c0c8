//! The socket-buffer context as the kernel's `BPF_PROG_TEST_RUN` builds it
//! (`bpf_prog_test_run_skb`, `convert___skb_to_skb`): the frame goes
//! through `eth_type_trans` on the loopback device (or the device
//! `ifindex` names), so `protocol` and `pkt_type` come from the Ethernet
//! header and `data` starts at the network header; tc programs get the MAC
//! header back in front. A dummy socket carries the addresses of the IP
//! header (`family`, `local_ip4` = source, `remote_ip4` = destination).
//! Of a `__sk_buff` in `ctx_in` only `mark`, `priority`,
//! `ingress_ifindex`, `ifindex`, `cb`, `tstamp`, `wire_len`, `gso_segs`,
//! `gso_size` and `hwtstamp` may be non-zero.

use super::{KernCtx, PacketBuf, PacketKind, SkbMeta};
use uapi::ctx::{kern, sk_buff as u};
use uapi::errno::{EINVAL, ENODEV};

/// `NET_SKB_PAD + NET_IP_ALIGN` on x86-64: the kernel's headroom.
pub const SKB_PAD: usize = 64;
/// The longest `data_in` an skb test run takes (`PAGE_SIZE` less the
/// headroom and the shared-info tailroom).
pub const SKB_MAX_DATA: usize = 4096 - SKB_PAD - super::xdp::SHINFO_SIZE;
/// `BPF_SKB_MAX_LEN` (`SKB_MAX_ALLOC`): the longest packet the resizing
/// helpers make.
pub const SKB_MAX_LEN: usize = 16384 - super::xdp::SHINFO_SIZE;
/// The headroom oxbpf reserves, so that every push the helpers allow fits
/// without moving the buffer (the kernel reallocates instead).
pub const SKB_ROOM: usize = SKB_MAX_LEN + SKB_PAD;
/// `GSO_LEGACY_MAX_SIZE`: the largest `wire_len`.
pub const WIRE_LEN_MAX: u32 = 65536;
/// `GSO_MAX_SEGS`.
pub const GSO_SEGS_MAX: u32 = 65535;

const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;

/// The uapi fields a caller may set, as (offset, length) ranges.
const ALLOWED: [(u32, u32); 10] = [
    (u::MARK, 4),
    (u::PRIORITY, 4),
    (u::INGRESS_IFINDEX, 4),
    (u::IFINDEX, 4),
    (u::CB, 20),
    (u::TSTAMP, 8),
    (u::WIRE_LEN, 4),
    (u::GSO_SEGS, 4),
    (u::GSO_SIZE, 4),
    (u::HWTSTAMP, 8),
];

/// The kind of skb program `prog_type` is: (`l2`, `direct` packet access).
pub fn kind_of(prog_type: uapi::ProgType) -> PacketKind {
    use uapi::ProgType as P;
    // Every skb type sees `data_end`: cgroup skb programs too, although
    // the kernel's test run only computes it for tc and lwt (6.18 measures
    // it for them as well: their bounds checks pass).
    let l2 = matches!(prog_type, P::SchedCls | P::SchedAct);
    PacketKind::Skb { l2, direct: true }
}

fn u32_at(b: &[u8], off: u32) -> u32 {
    let o = off as usize;
    u32::from_ne_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(b: &[u8], off: u32) -> u64 {
    let o = off as usize;
    u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
}

/// Builds the skb (in `reuse` when it fits) and its runtime context (in
/// `ctx`). `user` is the caller's
/// `__sk_buff` (192 bytes, zero-extended) when `ctx_in` or `ctx_out` was
/// given. `Err(errno)` as the kernel returns it.
pub fn build(
    kind: PacketKind,
    data_in: &[u8],
    user: Option<&[u8]>,
    reuse: &mut Option<PacketBuf>,
    ctx: &mut KernCtx,
) -> Result<PacketBuf, i32> {
    let size = data_in.len();
    if !(14..=SKB_MAX_DATA).contains(&size) {
        return Err(EINVAL);
    }
    let PacketKind::Skb { l2, .. } = kind else {
        return Err(EINVAL);
    };
    let mut ifindex = super::netdev::LOOPBACK;
    let mut dev_addr = [0u8; 6];
    if let Some(user) = user {
        let want = u32_at(user, u::IFINDEX);
        if want > 1 {
            let dev = super::netdev::lookup(want).ok_or(ENODEV)?;
            ifindex = dev.ifindex;
            dev_addr = dev.addr;
        }
    }
    let (pkt_type, protocol_raw) = super::eth_type_trans(data_in, dev_addr);
    // The dummy socket takes its addresses from a whole IP header.
    let l3_len = size - 14;
    match u16::from_be_bytes(protocol_raw.to_ne_bytes()) {
        0x0800 if l3_len < 20 => return Err(EINVAL),
        0x86dd if l3_len < 40 => return Err(EINVAL),
        _ => {}
    }

    // The kernel's checks of the caller's __sk_buff come before anything
    // is built, so a refused packet leaves `reuse` as it was.
    let skb_len = if l2 { size } else { size - 14 } as u32;
    if let Some(user) = user {
        // Every byte outside the allowed fields must be zero.
        let mut pos = 0u32;
        for &(off, len) in &ALLOWED {
            if user[pos as usize..off as usize].iter().any(|&b| b != 0) {
                return Err(EINVAL);
            }
            pos = off + len;
        }
        if user[pos as usize..u::SIZE as usize].iter().any(|&b| b != 0) {
            return Err(EINVAL);
        }
        let w = u32_at(user, u::WIRE_LEN);
        if w != 0 && (w < skb_len || w > WIRE_LEN_MAX) {
            return Err(EINVAL);
        }
        if u32_at(user, u::GSO_SEGS) > GSO_SEGS_MAX {
            return Err(EINVAL);
        }
    }

    let mac = SKB_ROOM;
    let net = mac + 14;
    let mut pkt = PacketBuf::renew(reuse.take(), data_in, mac, SKB_ROOM + 4096);
    pkt.set_kind(kind);
    let head = if l2 { mac } else { net };
    pkt.set_bounds(head, head, mac + size);
    pkt.skb = SkbMeta {
        mac,
        net,
        protocol_raw,
        vlan: None,
        hash: 0,
        encap: false,
    };

    ctx.reset_zeroed(kern::skb::SIZE as usize);
    ctx.set_u32(kern::skb::PKT_TYPE, pkt_type);
    ctx.set_u32(kern::skb::IFINDEX, ifindex);
    // The dummy socket's addresses.
    let l3 = &data_in[14..];
    match u16::from_be_bytes(protocol_raw.to_ne_bytes()) {
        0x0800 => {
            ctx.set_u32(kern::skb::FAMILY, AF_INET);
            if l3.len() >= 20 {
                ctx.bytes_mut()[kern::skb::LOCAL_IP4 as usize..][..4].copy_from_slice(&l3[12..16]);
                ctx.bytes_mut()[kern::skb::REMOTE_IP4 as usize..][..4].copy_from_slice(&l3[16..20]);
            }
        }
        0x86dd => {
            ctx.set_u32(kern::skb::FAMILY, AF_INET6);
            if l3.len() >= 40 {
                ctx.bytes_mut()[kern::skb::LOCAL_IP6 as usize..][..16].copy_from_slice(&l3[8..24]);
                ctx.bytes_mut()[kern::skb::REMOTE_IP6 as usize..][..16]
                    .copy_from_slice(&l3[24..40]);
            }
        }
        _ => {}
    }

    if let Some(user) = user {
        ctx.set_u32(kern::skb::MARK, u32_at(user, u::MARK));
        ctx.set_u32(kern::skb::PRIORITY, u32_at(user, u::PRIORITY));
        ctx.set_u32(kern::skb::INGRESS_IFINDEX, u32_at(user, u::INGRESS_IFINDEX));
        ctx.set_u64(kern::skb::TSTAMP, u64_at(user, u::TSTAMP));
        let cb = u::CB as usize;
        ctx.bytes_mut()[kern::skb::CB as usize..][..20].copy_from_slice(&user[cb..cb + 20]);
        let wire_len = match u32_at(user, u::WIRE_LEN) {
            0 => skb_len,
            w => w,
        };
        ctx.set_u32(kern::skb::WIRE_LEN, wire_len);
        ctx.set_u32(kern::skb::GSO_SEGS, u32_at(user, u::GSO_SEGS));
        ctx.set_u32(kern::skb::GSO_SIZE, u32_at(user, u::GSO_SIZE));
        ctx.set_u64(kern::skb::HWTSTAMP, u64_at(user, u::HWTSTAMP));
    }
    // SAFETY: `ctx` is a runtime skb context of the full size.
    unsafe { pkt.sync_ctx(ctx.as_mut_ptr()) };
    Ok(pkt)
}

/// `convert_skb_to___skb`: the fields test-run copies back into the
/// caller's `__sk_buff`.
pub fn finish_user(ctx: &KernCtx, user: &mut [u8]) {
    let mut put32 = |off: u32, v: u32| {
        user[off as usize..off as usize + 4].copy_from_slice(&v.to_ne_bytes());
    };
    put32(u::MARK, ctx.u32_at(kern::skb::MARK));
    put32(u::PRIORITY, ctx.u32_at(kern::skb::PRIORITY));
    put32(u::INGRESS_IFINDEX, ctx.u32_at(kern::skb::INGRESS_IFINDEX));
    put32(u::IFINDEX, ctx.u32_at(kern::skb::IFINDEX));
    put32(u::WIRE_LEN, ctx.u32_at(kern::skb::WIRE_LEN));
    put32(u::GSO_SEGS, ctx.u32_at(kern::skb::GSO_SEGS));
    user[u::TSTAMP as usize..][..8].copy_from_slice(&ctx.u64_at(kern::skb::TSTAMP).to_ne_bytes());
    user[u::HWTSTAMP as usize..][..8]
        .copy_from_slice(&ctx.u64_at(kern::skb::HWTSTAMP).to_ne_bytes());
    let cb = u::CB as usize;
    user[cb..cb + 20].copy_from_slice(&ctx.bytes()[kern::skb::CB as usize..][..20]);
}

/// The bytes test-run copies to `data_out`: from the MAC header for tc
/// programs; for the others, 14 zero bytes (the kernel pushes a zeroed
/// Ethernet header back) and the data.
pub fn data_out(pkt: &PacketBuf) -> Vec<u8> {
    match pkt.kind() {
        PacketKind::Skb { l2: false, .. } => {
            let mut v = vec![0u8; 14];
            v.extend_from_slice(pkt.data());
            v
        }
        _ => pkt.data().to_vec(),
    }
}
