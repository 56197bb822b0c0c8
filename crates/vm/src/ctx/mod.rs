//! Program contexts and the packet buffer behind them.
//!
//! A packet lives in a [`PacketBuf`]: one fixed allocation with headroom
//! before the data and tailroom after it, so that `bpf_xdp_adjust_head`,
//! `bpf_skb_adjust_room` and friends move the data's ends without moving
//! the allocation (its region stays valid for the whole run).

/// `XDP_PACKET_HEADROOM`: room before an XDP frame's data.
pub const XDP_HEADROOM: usize = 256;

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
        }
    }

    /// The packet bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    /// The metadata bytes (before the data).
    pub fn meta(&self) -> &[u8] {
        &self.buf[self.meta..self.head]
    }

    /// Offsets of metadata, data start and data end in the buffer.
    pub fn bounds(&self) -> (usize, usize, usize) {
        (self.meta, self.head, self.head + self.len)
    }

    /// The whole allocation (headroom, data, tailroom).
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The whole allocation, mutably (for registering it as a region).
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Moves the metadata start, data start and data end to new offsets in
    /// the buffer; `false` (and nothing changed) unless
    /// `meta <= head <= end <= capacity`.
    pub fn set_bounds(&mut self, meta: usize, head: usize, end: usize) -> bool {
        if meta <= head && head <= end && end <= self.buf.len() {
            self.meta = meta;
            self.head = head;
            self.len = end - head;
            true
        } else {
            false
        }
    }
}
