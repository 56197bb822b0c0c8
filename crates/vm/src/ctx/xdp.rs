//! The XDP context as the kernel's `BPF_PROG_TEST_RUN` builds it
//! (`bpf_prog_test_run_xdp`, `xdp_convert_md_to_buff`): one 4096-byte
//! frame, 256 bytes of headroom (less the metadata the caller supplies),
//! the skb shared-info tailroom at the end, the loopback device's first rx
//! queue unless the caller names another.

use super::{KernCtx, PacketBuf, PacketKind};
use uapi::ctx::{kern, xdp_md};
use uapi::errno::{EINVAL, ENODEV, ENOMEM};

/// `MAX_SKB_FRAGS`: the most page fragments a frame may have.
pub const MAX_SKB_FRAGS: usize = 17;

/// The frame size test-run gives an XDP buffer (`PAGE_SIZE`).
pub const XDP_FRAME_SIZE: usize = 4096;
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on x86-64: the
/// tailroom every frame keeps free.
pub const SHINFO_SIZE: usize = 320;
/// `sizeof(struct xdp_frame)`: the start of the headroom that
/// `bpf_xdp_adjust_head`/`_meta` may not claim.
pub const XDP_FRAME_HDR: usize = 40;
/// The longest metadata (`skb_shared_info::meta_len` is a `u8`).
pub const XDP_META_MAX: usize = 255;
/// The longest linear frame test-run builds: longer input goes to page
/// fragments (multi-buffer XDP).
pub const XDP_MAX_LINEAR: usize = XDP_FRAME_SIZE - super::XDP_HEADROOM - SHINFO_SIZE;

/// `struct xdp_md` as the user passes it in `ctx_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XdpMd {
    pub data: u32,
    pub data_end: u32,
    pub data_meta: u32,
    pub ingress_ifindex: u32,
    pub rx_queue_index: u32,
    pub egress_ifindex: u32,
}

impl XdpMd {
    /// Reads the struct from (at most) its 24 bytes, zero-extended.
    pub fn from_bytes(b: &[u8]) -> XdpMd {
        let f = |off: u32| {
            let o = off as usize;
            let mut w = [0u8; 4];
            if o < b.len() {
                let n = (b.len() - o).min(4);
                w[..n].copy_from_slice(&b[o..o + n]);
            }
            u32::from_ne_bytes(w)
        };
        XdpMd {
            data: f(xdp_md::DATA),
            data_end: f(xdp_md::DATA_END),
            data_meta: f(xdp_md::DATA_META),
            ingress_ifindex: f(xdp_md::INGRESS_IFINDEX),
            rx_queue_index: f(xdp_md::RX_QUEUE_INDEX),
            egress_ifindex: f(xdp_md::EGRESS_IFINDEX),
        }
    }

    /// The 24 bytes of the struct.
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        for (off, v) in [
            (xdp_md::DATA, self.data),
            (xdp_md::DATA_END, self.data_end),
            (xdp_md::DATA_META, self.data_meta),
            (xdp_md::INGRESS_IFINDEX, self.ingress_ifindex),
            (xdp_md::RX_QUEUE_INDEX, self.rx_queue_index),
            (xdp_md::EGRESS_IFINDEX, self.egress_ifindex),
        ] {
            b[off as usize..off as usize + 4].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }
}

/// Builds the frame (in `reuse` when it fits) and its runtime context (in
/// `ctx`) from `data_in` (metadata
/// first when `md` says so) with the kernel's checks; `Err(errno)` as the
/// kernel would return it.
pub fn build(
    data_in: &[u8],
    md: Option<&XdpMd>,
    reuse: &mut Option<PacketBuf>,
    ctx: &mut KernCtx,
) -> Result<PacketBuf, i32> {
    let total = data_in.len();
    if total < 14 {
        return Err(EINVAL);
    }
    let mut size = total;
    let mut metalen = 0usize;
    let (mut ifindex, mut rxq) = (super::netdev::LOOPBACK, 0u32);
    if let Some(md) = md {
        if md.data_meta != 0
            || md.data_end as usize > total
            || md.data > md.data_end
            || md.data % 4 != 0
            || md.data as usize > XDP_META_MAX
        {
            return Err(EINVAL);
        }
        metalen = md.data as usize;
        // The caller chooses how much goes to the linear part.
        size = md.data_end as usize;
        if md.egress_ifindex != 0 {
            return Err(EINVAL);
        }
        if md.ingress_ifindex == 0 && md.rx_queue_index != 0 {
            return Err(EINVAL);
        }
        if md.ingress_ifindex != 0 {
            let dev = super::netdev::lookup(md.ingress_ifindex).ok_or(ENODEV)?;
            if md.rx_queue_index >= dev.rx_queues {
                return Err(EINVAL);
            }
            ifindex = md.ingress_ifindex;
            rxq = md.rx_queue_index;
        }
    }
    let headroom = super::XDP_HEADROOM - metalen;
    let max_data = XDP_FRAME_SIZE - headroom - SHINFO_SIZE;
    size = size.min(max_data);
    let rest = &data_in[size..];
    if rest.len().div_ceil(XDP_FRAME_SIZE) > MAX_SKB_FRAGS {
        return Err(ENOMEM);
    }
    let mut pkt = PacketBuf::renew(
        reuse.take(),
        &data_in[..size],
        headroom,
        XDP_FRAME_SIZE - headroom,
    );
    pkt.set_kind(PacketKind::Xdp);
    pkt.set_bounds(headroom, headroom + metalen, headroom + size);
    pkt.set_hard_end(XDP_FRAME_SIZE - SHINFO_SIZE);
    pkt.frags.extend_from_slice(rest);
    ctx.reset_zeroed(kern::xdp::SIZE as usize);
    ctx.set_u32(kern::xdp::INGRESS_IFINDEX, ifindex);
    ctx.set_u32(kern::xdp::RX_QUEUE_INDEX, rxq);
    // SAFETY: `ctx` is a zeroed runtime XDP context of the full size.
    unsafe { pkt.sync_ctx(ctx.as_mut_ptr()) };
    Ok(pkt)
}

/// `xdp_convert_buff_to_md`: the offsets of data and data_end from the
/// metadata, the rest as the caller gave it.
pub fn finish_md(pkt: &PacketBuf, md: &mut XdpMd) {
    let (meta, head, end) = pkt.bounds();
    md.data = (head - meta) as u32;
    md.data_end = (end - meta) as u32;
}

/// The bytes test-run copies to `data_out`: metadata, data and the
/// fragments.
pub fn data_out(pkt: &PacketBuf) -> Vec<u8> {
    let (meta, _, end) = pkt.bounds();
    let mut v = pkt.buffer()[meta..end].to_vec();
    v.extend_from_slice(&pkt.frags);
    v
}
