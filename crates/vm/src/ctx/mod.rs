//! Program contexts and the packet buffer behind them.
//!
//! A packet lives in a [`PacketBuf`]: one fixed allocation with headroom
//! before the data and tailroom after it, so that `bpf_xdp_adjust_head`,
//! `bpf_skb_adjust_room` and friends move the data's ends without moving
//! the allocation (its region stays valid for the whole run).
//!
//! The context a program gets in `r1` is built in oxbpf's runtime layout
//! ([`uapi::ctx::kern`]): [`xdp`] and [`skb`] fill it the way the kernel's
//! `BPF_PROG_TEST_RUN` fills `struct xdp_buff` and `struct sk_buff`, and
//! convert it back to the uapi structs (`xdp_md`, `__sk_buff`) afterwards.
//! [`KernCtx`] is the 8-aligned memory that holds it.
//!
//! The [`PacketBuf`] is the authority on where the packet is: helpers
//! change it and then rewrite the context's pointer fields from it
//! ([`PacketBuf::sync_ctx`]), so a program that scribbles on `data_end` in
//! an unchecked run cannot make a helper touch memory outside the buffer.

pub mod netdev;
pub mod skb;
pub mod xdp;

use uapi::ctx::kern;

/// `XDP_PACKET_HEADROOM`: room before an XDP frame's data.
pub const XDP_HEADROOM: usize = 256;

/// What kind of packet a [`PacketBuf`] holds, which decides how helpers
/// treat it and which context fields they keep up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketKind {
    /// An XDP frame (`struct xdp_buff`).
    Xdp,
    /// A socket buffer. `l2`: `data` starts at the MAC header (tc); else at
    /// the network header (socket filters, cgroup skb, lwt). `direct`:
    /// `data_end` and `data_meta` are filled (test-run sets it for every
    /// skb type); otherwise they stay 0.
    Skb { l2: bool, direct: bool },
}

/// The socket-buffer state that is not packet bytes: what the kernel keeps
/// in `struct sk_buff` and helpers read or change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkbMeta {
    /// Buffer offset of the MAC header.
    pub mac: usize,
    /// Buffer offset of the network header.
    pub net: usize,
    /// `skb->protocol` as the kernel stores it (big-endian bytes, read as
    /// a native `u16`: `0x0008` for IPv4 on little-endian hosts).
    pub protocol_raw: u16,
    /// The hardware-accelerated VLAN tag: (`vlan_proto` raw as
    /// `protocol_raw`, `vlan_tci`), `None` when no tag is present.
    pub vlan: Option<(u16, u16)>,
    /// `skb->hash` (0: not computed).
    pub hash: u32,
    /// `skb->encapsulation`: set by an encapsulating `bpf_skb_adjust_room`.
    pub encap: bool,
}

/// A packet with headroom and tailroom. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketBuf {
    buf: Box<[u8]>,
    /// Offset of the metadata (== `head` when there is none).
    meta: usize,
    /// Offset of the first data byte.
    head: usize,
    /// Bytes of data.
    len: usize,
    kind: PacketKind,
    /// Socket-buffer state (unused for XDP).
    pub skb: SkbMeta,
    /// For XDP: the end of the room `bpf_xdp_adjust_tail` may grow into
    /// (`data_hard_start + frame_sz - tailroom`).
    hard_end: usize,
    /// For multi-buffer XDP frames: the bytes after the linear part, which
    /// the kernel keeps in page fragments (programs reach them only through
    /// helpers).
    pub frags: Vec<u8>,
    /// The span of the buffer any packet bounds covered since the last
    /// reset: what [`PacketBuf::reset`] zeroes (verified programs and the
    /// helpers write nowhere else).
    touched: (usize, usize),
}

impl PacketBuf {
    /// `data` placed after `headroom` bytes, with room to grow to
    /// `headroom + capacity` bytes in all.
    pub fn new(data: &[u8], headroom: usize, capacity: usize) -> PacketBuf {
        let total = headroom + capacity.max(data.len());
        let mut buf = vec![0u8; total].into_boxed_slice();
        buf[headroom..headroom + data.len()].copy_from_slice(data);
        PacketBuf {
            buf,
            meta: headroom,
            head: headroom,
            len: data.len(),
            kind: PacketKind::Xdp,
            skb: SkbMeta::default(),
            hard_end: total,
            frags: Vec::new(),
            touched: (headroom, headroom + data.len()),
        }
    }

    /// `data` at `headroom` in `reuse` when it is big enough (see
    /// [`PacketBuf::reset`]), else in a new buffer of `headroom + capacity`.
    pub fn renew(
        reuse: Option<PacketBuf>,
        data: &[u8],
        headroom: usize,
        capacity: usize,
    ) -> PacketBuf {
        if let Some(mut p) = reuse {
            if p.buf.len() == headroom + capacity.max(data.len()) && p.reset(data, headroom) {
                p.hard_end = p.buf.len();
                return p;
            }
        }
        PacketBuf::new(data, headroom, capacity)
    }

    /// Replaces the packet with `data` at `headroom`, zeroing the rest of
    /// the buffer, without reallocating when it fits (the per-packet path
    /// of pcap runs). Returns `false` (nothing changed) when
    /// `headroom + data.len()` exceeds the allocation.
    pub fn reset(&mut self, data: &[u8], headroom: usize) -> bool {
        let Some(end) = headroom.checked_add(data.len()) else {
            return false;
        };
        if end > self.buf.len() {
            return false;
        }
        // Only the bytes a previous packet's bounds covered can be dirty:
        // zeroing them (not the whole buffer) keeps pcap runs cheap.
        let (lo, hi) = self.touched;
        self.buf[lo..hi].fill(0);
        self.touched = (headroom, end);
        self.buf[headroom..end].copy_from_slice(data);
        self.meta = headroom;
        self.head = headroom;
        self.len = data.len();
        self.skb = SkbMeta::default();
        self.frags.clear();
        true
    }

    /// The packet bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    /// The packet bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.head + self.len]
    }

    /// The metadata bytes (before the data).
    pub fn meta(&self) -> &[u8] {
        &self.buf[self.meta..self.head]
    }

    /// Offsets of metadata, data start and data end in the buffer.
    pub fn bounds(&self) -> (usize, usize, usize) {
        (self.meta, self.head, self.head + self.len)
    }

    /// Number of data bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no data bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole allocation (headroom, data, tailroom).
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The whole allocation, mutably (for registering it as a region).
    /// Writes outside the packet's bounds are not undone by
    /// [`PacketBuf::reset`]: callers write inside the bounds they then set.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The address of the first byte of the allocation (what a program
    /// sees as `data_hard_start`), with its provenance exposed so that
    /// programs may use it.
    pub fn base_addr(&self) -> u64 {
        self.buf.as_ptr().expose_provenance() as u64
    }

    /// The kind of packet (see [`PacketKind`]).
    pub fn kind(&self) -> PacketKind {
        self.kind
    }

    /// Sets the kind of packet.
    pub fn set_kind(&mut self, kind: PacketKind) {
        self.kind = kind;
    }

    /// For XDP: the buffer offset `bpf_xdp_adjust_tail` may grow up to.
    pub fn hard_end(&self) -> usize {
        self.hard_end
    }

    /// Sets the limit of [`PacketBuf::hard_end`] (clamped to the buffer).
    pub fn set_hard_end(&mut self, end: usize) {
        self.hard_end = end.min(self.buf.len());
    }

    /// Moves the metadata start, data start and data end to new offsets in
    /// the buffer; `false` (and nothing changed) unless
    /// `meta <= head <= end <= capacity`.
    pub fn set_bounds(&mut self, meta: usize, head: usize, end: usize) -> bool {
        if meta <= head && head <= end && end <= self.buf.len() {
            self.touched = (self.touched.0.min(meta), self.touched.1.max(end));
            self.meta = meta;
            self.head = head;
            self.len = end - head;
            true
        } else {
            false
        }
    }

    /// Rewrites the packet fields of the runtime context at `ctx` from the
    /// buffer: `data`, `data_end`, `data_meta` (and `data_hard_start`) for
    /// XDP; for skbs also `len`, `protocol`, the VLAN fields and `hash`.
    ///
    /// # Safety
    /// `ctx` must point to a writable runtime context of this packet's kind
    /// ([`kern::xdp::SIZE`] or [`kern::skb::SIZE`] bytes).
    pub unsafe fn sync_ctx(&self, ctx: *mut u8) {
        let base = self.base_addr();
        let (meta, head, end) = self.bounds();
        // SAFETY: (all writes below) the caller vouches for `ctx` being a
        // writable context of the right size; offsets come from `kern`.
        unsafe {
            match self.kind {
                PacketKind::Xdp => {
                    put_u64(ctx, kern::xdp::DATA, base + head as u64);
                    put_u64(ctx, kern::xdp::DATA_END, base + end as u64);
                    put_u64(ctx, kern::xdp::DATA_META, base + meta as u64);
                    put_u64(ctx, kern::xdp::DATA_HARD_START, base);
                }
                PacketKind::Skb { direct, .. } => {
                    put_u64(ctx, kern::skb::DATA, base + head as u64);
                    if direct {
                        put_u64(ctx, kern::skb::DATA_END, base + end as u64);
                        put_u64(ctx, kern::skb::DATA_META, base + head as u64);
                    } else {
                        put_u64(ctx, kern::skb::DATA_END, 0);
                        put_u64(ctx, kern::skb::DATA_META, 0);
                    }
                    put_u32(ctx, kern::skb::LEN, self.len as u32);
                    put_u32(ctx, kern::skb::PROTOCOL, self.skb.protocol_raw as u32);
                    let (present, proto, tci) = match self.skb.vlan {
                        Some((p, t)) => (1, p, t),
                        None => (0, 0, 0),
                    };
                    put_u32(ctx, kern::skb::VLAN_PRESENT, present);
                    put_u32(ctx, kern::skb::VLAN_PROTO, proto as u32);
                    put_u32(ctx, kern::skb::VLAN_TCI, tci as u32);
                    put_u32(ctx, kern::skb::HASH, self.skb.hash);
                }
            }
        }
    }
}

/// Writes a native `u32` at byte `off` of `p` (unaligned).
///
/// # Safety
/// `p + off .. p + off + 4` must be writable.
pub(crate) unsafe fn put_u32(p: *mut u8, off: u32, v: u32) {
    // SAFETY: the caller guarantees the span is writable.
    unsafe { p.add(off as usize).cast::<u32>().write_unaligned(v) }
}

/// Writes a native `u64` at byte `off` of `p` (unaligned).
///
/// # Safety
/// `p + off .. p + off + 8` must be writable.
pub(crate) unsafe fn put_u64(p: *mut u8, off: u32, v: u64) {
    // SAFETY: the caller guarantees the span is writable.
    unsafe { p.add(off as usize).cast::<u64>().write_unaligned(v) }
}

/// The 8-aligned memory of a runtime context (at most 192 bytes, the
/// size of `kern::skb`), or of a raw context the user supplies (any size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernCtx {
    words: Vec<u64>,
    len: usize,
}

impl KernCtx {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> KernCtx {
        KernCtx {
            words: vec![0; len.div_ceil(8).max(1)],
            len,
        }
    }

    /// Makes this `len` zero bytes, reusing the allocation when it can.
    pub fn reset_zeroed(&mut self, len: usize) {
        if self.len == len {
            self.words.fill(0);
        } else {
            *self = KernCtx::zeroed(len);
        }
    }

    /// A copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> KernCtx {
        let mut c = KernCtx::zeroed(bytes.len());
        c.bytes_mut().copy_from_slice(bytes);
        c
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes, and u8
        // has no alignment or validity requirements.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    /// The bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, with the unique borrow of `self`.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the context has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `u32` at byte `off`.
    pub fn u32_at(&self, off: u32) -> u32 {
        let o = off as usize;
        u32::from_ne_bytes(self.bytes()[o..o + 4].try_into().unwrap_or([0; 4]))
    }

    /// The `u64` at byte `off`.
    pub fn u64_at(&self, off: u32) -> u64 {
        let o = off as usize;
        u64::from_ne_bytes(self.bytes()[o..o + 8].try_into().unwrap_or([0; 8]))
    }

    /// Sets the `u32` at byte `off`.
    pub fn set_u32(&mut self, off: u32, v: u32) {
        let o = off as usize;
        self.bytes_mut()[o..o + 4].copy_from_slice(&v.to_ne_bytes());
    }

    /// Sets the `u64` at byte `off`.
    pub fn set_u64(&mut self, off: u32, v: u64) {
        let o = off as usize;
        self.bytes_mut()[o..o + 8].copy_from_slice(&v.to_ne_bytes());
    }

    /// A raw pointer to the first byte, for [`PacketBuf::sync_ctx`].
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.words.as_mut_ptr().cast()
    }
}

/// What `eth_type_trans` decides for a frame received on a device with
/// MAC address `dev_addr`: (`pkt_type`, `protocol` raw as in
/// [`SkbMeta::protocol_raw`]). `frame` must hold at least 14 bytes.
pub fn eth_type_trans(frame: &[u8], dev_addr: [u8; 6]) -> (u32, u16) {
    const PACKET_HOST: u32 = 0;
    const PACKET_BROADCAST: u32 = 1;
    const PACKET_MULTICAST: u32 = 2;
    const PACKET_OTHERHOST: u32 = 3;
    let dst = &frame[0..6];
    let pkt_type = if dst[0] & 1 != 0 {
        if dst == [0xff; 6] {
            PACKET_BROADCAST
        } else {
            PACKET_MULTICAST
        }
    } else if dst != dev_addr {
        PACKET_OTHERHOST
    } else {
        PACKET_HOST
    };
    let proto = [frame[12], frame[13]];
    let proto = if u16::from_be_bytes(proto) >= 0x0600 {
        proto
    } else if frame.len() >= 16 && frame[14] == 0xff && frame[15] == 0xff {
        // Novell raw 802.3.
        0x0001u16.to_be_bytes()
    } else {
        // 802.2 LLC.
        0x0004u16.to_be_bytes()
    };
    (pkt_type, u16::from_ne_bytes(proto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_type_trans_classifies() {
        let mut f = [0u8; 20];
        f[12] = 0x08;
        assert_eq!(eth_type_trans(&f, [0; 6]), (0, u16::from_ne_bytes([8, 0])));
        f[0] = 0xff;
        assert_eq!(eth_type_trans(&f, [0; 6]).0, 2);
        f[..6].fill(0xff);
        assert_eq!(eth_type_trans(&f, [0; 6]).0, 1);
        f[0] = 2;
        assert_eq!(eth_type_trans(&f, [0; 6]).0, 3);
        f[12] = 0;
        f[13] = 0x40;
        assert_eq!(eth_type_trans(&f, [0; 6]).1, u16::from_ne_bytes([0, 4]));
        f[14] = 0xff;
        f[15] = 0xff;
        assert_eq!(eth_type_trans(&f, [0; 6]).1, u16::from_ne_bytes([0, 1]));
    }

    #[test]
    fn reset_reuses_the_allocation() {
        let mut p = PacketBuf::new(&[1, 2, 3], 4, 8);
        let before = p.buffer().as_ptr();
        assert!(p.reset(&[9; 8], 4));
        assert_eq!(p.data(), &[9; 8]);
        assert_eq!(p.buffer().as_ptr(), before);
        assert!(!p.reset(&[0; 9], 4));
    }

    #[test]
    fn reset_zeroes_what_earlier_bounds_covered() {
        let mut p = PacketBuf::new(&[7; 8], 16, 32);
        // A helper moved the head back and wrote there.
        assert!(p.set_bounds(4, 4, 24));
        p.data_mut().fill(9);
        assert!(p.reset(&[1, 2], 16));
        assert!(p.buffer()[..16].iter().all(|&b| b == 0));
        assert!(p.buffer()[18..].iter().all(|&b| b == 0));
        assert_eq!(p.data(), &[1, 2]);
    }

    #[test]
    fn kern_ctx_fields() {
        let mut c = KernCtx::zeroed(kern::skb::SIZE as usize);
        c.set_u32(kern::skb::MARK, 7);
        c.set_u64(kern::skb::TSTAMP, 1 << 40);
        assert_eq!(c.u32_at(kern::skb::MARK), 7);
        assert_eq!(c.u64_at(kern::skb::TSTAMP), 1 << 40);
        assert_eq!(c.as_mut_ptr().align_offset(8), 0);
    }
}
