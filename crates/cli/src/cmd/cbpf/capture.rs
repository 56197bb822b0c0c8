//! Capture files (pcap and pcapng, through the `pcap-file` crate), read one
//! packet at a time so that large captures stream, and written back in the
//! format they came in; and what the kernel would know about each packet
//! (the skb metadata of [`SkbMeta`]), derived from its link layer.

use super::skb::SkbMeta;
use pcap_file::pcap::{PcapReader, PcapWriter, RawPcapPacket};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::{Block, PcapNgReader, PcapNgWriter};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};

/// `LINKTYPE_ETHERNET`.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// `LINKTYPE_RAW`: bare IPv4 or IPv6 packets.
pub const LINKTYPE_RAW: u32 = 101;
/// `LINKTYPE_LINUX_SLL`: Linux "cooked" captures (`tcpdump -i any`).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// `LINKTYPE_IPV4` / `LINKTYPE_IPV6`.
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;

/// One packet of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The captured bytes (possibly fewer than `orig_len`).
    pub data: Vec<u8>,
    /// The length on the wire.
    pub orig_len: u32,
    /// The link type of the interface it was captured on.
    pub linktype: u32,
    /// Where it is in the input, to write it back.
    pub(crate) source: Source,
}

/// What the writer needs to reproduce a packet's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Pcap { ts_sec: u32, ts_frac: u32 },
    PcapNg(Block<'static>),
}

/// A capture being read.
pub enum CaptureReader {
    Pcap(PcapReader<BufReader<File>>),
    PcapNg(PcapNgReader<BufReader<File>>),
}

/// The pcapng section header magic.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

impl CaptureReader {
    /// Opens a pcap or pcapng file (recognised by its magic number).
    pub fn open(path: &str) -> Result<CaptureReader, String> {
        let mut f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut magic = [0u8; 4];
        f.read_exact(&mut magic)
            .map_err(|e| format!("{path}: not a capture file: {e}"))?;
        let f = File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let r = BufReader::new(f);
        if magic == PCAPNG_MAGIC {
            PcapNgReader::new(r)
                .map(CaptureReader::PcapNg)
                .map_err(|e| format!("{path}: {e}"))
        } else {
            PcapReader::new(r)
                .map(CaptureReader::Pcap)
                .map_err(|e| format!("{path}: {e}"))
        }
    }

    /// The next packet, skipping non-packet pcapng blocks (returned by
    /// [`CaptureReader::next_block`] for writers that copy them).
    #[cfg(test)]
    pub fn next_packet(&mut self) -> Option<Result<Packet, String>> {
        loop {
            match self.next_block()? {
                Ok(Item::Packet(p)) => return Some(Ok(p)),
                Ok(Item::Other(_)) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next packet or other pcapng block.
    pub fn next_block(&mut self) -> Option<Result<Item, String>> {
        match self {
            CaptureReader::Pcap(r) => {
                let linktype = u32::from(r.header().datalink);
                // Raw records: `PcapPacket` refuses `orig_len > snaplen`,
                // which real captures with a short snaplen have.
                Some(r.next_raw_packet()?.map_err(|e| e.to_string()).map(|p| {
                    Item::Packet(Packet {
                        orig_len: p.orig_len.max(p.data.len() as u32),
                        data: p.data.into_owned(),
                        linktype,
                        source: Source::Pcap {
                            ts_sec: p.ts_sec,
                            ts_frac: p.ts_frac,
                        },
                    })
                }))
            }
            CaptureReader::PcapNg(r) => {
                let block = match r.next_block()? {
                    Ok(b) => b.into_owned(),
                    Err(e) => return Some(Err(e.to_string())),
                };
                Some(Ok(pcapng_item(r, block)))
            }
        }
    }
}

/// A packet, or another pcapng block (section, interface, statistics, …).
pub enum Item {
    Packet(Packet),
    Other(Block<'static>),
}

fn pcapng_item(r: &PcapNgReader<BufReader<File>>, block: Block<'static>) -> Item {
    let linktype_of = |id: u32| {
        r.interfaces()
            .get(id as usize)
            .map_or(LINKTYPE_ETHERNET, |i| u32::from(i.linktype))
    };
    match &block {
        Block::EnhancedPacket(p) => Item::Packet(Packet {
            data: p.data.to_vec(),
            orig_len: p.original_len.max(p.data.len() as u32),
            linktype: linktype_of(p.interface_id),
            source: Source::PcapNg(block.clone()),
        }),
        Block::SimplePacket(p) => Item::Packet(Packet {
            data: p.data.to_vec(),
            orig_len: p.original_len.max(p.data.len() as u32),
            linktype: linktype_of(0),
            source: Source::PcapNg(block.clone()),
        }),
        _ => Item::Other(block),
    }
}

/// Writes kept packets in the input's format.
pub enum CaptureWriter {
    Pcap(PcapWriter<BufWriter<File>>),
    PcapNg(PcapNgWriter<BufWriter<File>>),
}

impl CaptureWriter {
    /// A writer for `path` matching `reader`'s format (and, for pcap, its
    /// header).
    pub fn create(path: &str, reader: &CaptureReader) -> Result<CaptureWriter, String> {
        let f = BufWriter::new(File::create(path).map_err(|e| format!("{path}: {e}"))?);
        match reader {
            CaptureReader::Pcap(r) => PcapWriter::with_header(f, r.header())
                .map(CaptureWriter::Pcap)
                .map_err(|e| format!("{path}: {e}")),
            CaptureReader::PcapNg(r) => PcapNgWriter::with_section_header(f, r.section().clone())
                .map(CaptureWriter::PcapNg)
                .map_err(|e| format!("{path}: {e}")),
        }
    }

    /// Copies a non-packet pcapng block (interfaces must precede their
    /// packets). Section headers after the first start a new section.
    pub fn write_other(&mut self, block: &Block<'_>) -> Result<(), String> {
        match self {
            CaptureWriter::PcapNg(w) => w.write_block(block).map(drop).map_err(|e| e.to_string()),
            CaptureWriter::Pcap(_) => Ok(()),
        }
    }

    /// Writes `p` with at most `snap` bytes of data (the filter's return
    /// value is the number of bytes to keep).
    pub fn write(&mut self, p: &Packet, snap: u32) -> Result<(), String> {
        let keep = p.data.len().min(snap as usize);
        let data = Cow::Borrowed(&p.data[..keep]);
        match (self, &p.source) {
            (CaptureWriter::Pcap(w), Source::Pcap { ts_sec, ts_frac }) => {
                let raw = RawPcapPacket {
                    ts_sec: *ts_sec,
                    ts_frac: *ts_frac,
                    incl_len: keep as u32,
                    orig_len: p.orig_len,
                    data,
                };
                w.write_raw_packet(&raw)
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            (CaptureWriter::PcapNg(w), Source::PcapNg(block)) => {
                let block = match block {
                    Block::EnhancedPacket(b) => {
                        Block::EnhancedPacket(EnhancedPacketBlock { data, ..b.clone() })
                    }
                    other => other.clone(),
                };
                w.write_block(&block).map(drop).map_err(|e| e.to_string())
            }
            _ => Err("packet and writer formats differ".to_string()),
        }
    }
}

/// A pcap header for generated captures.
#[cfg(test)]
pub fn pcap_header(linktype: u32) -> pcap_file::pcap::PcapHeader {
    pcap_file::pcap::PcapHeader {
        datalink: linktype.into(),
        snaplen: 262144,
        ts_resolution: pcap_file::TsResolution::MicroSecond,
        ..Default::default()
    }
}

/// `ARPHRD_*` device types for `SKF_AD_HATYPE`.
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_NONE: u16 = 0xfffe;

/// `PACKET_*` packet types for `SKF_AD_PKTTYPE`.
const PACKET_HOST: u32 = 0;
const PACKET_BROADCAST: u32 = 1;
const PACKET_MULTICAST: u32 = 2;

/// What the kernel would hold in the skb of a packet received on a device
/// of `linktype`, as `eth_type_trans` and the cooked-capture header tell:
/// protocol, packet type, device type, network header offset. Unicast
/// frames count as addressed to this host.
pub fn skb_meta(p: &Packet) -> SkbMeta {
    let d = &p.data;
    let be16 = |o: usize| d.get(o..o + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let mut m = SkbMeta {
        len: p.orig_len,
        ..SkbMeta::default()
    };
    match p.linktype {
        LINKTYPE_ETHERNET => {
            m.hatype = ARPHRD_ETHER;
            m.network_offset = 14;
            m.pkt_type = match d.first() {
                _ if d.get(..6) == Some(&[0xff; 6]) => PACKET_BROADCAST,
                Some(b) if b & 1 == 1 => PACKET_MULTICAST,
                _ => PACKET_HOST,
            };
            // eth_type_trans: an ethertype, or 802.3 with a length field
            // (raw IPX when the payload starts with 0xffff, else 802.2).
            m.protocol = match be16(12) {
                Some(t) if t >= 0x600 => t,
                Some(_) if be16(14) == Some(0xffff) => 0x0001,
                Some(_) => 0x0004,
                None => 0,
            };
        }
        LINKTYPE_LINUX_SLL => {
            m.pkt_type = be16(0).unwrap_or(0) as u32;
            m.hatype = be16(2).unwrap_or(0);
            m.protocol = be16(14).unwrap_or(0);
            m.network_offset = 16;
        }
        LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            m.hatype = ARPHRD_NONE;
            m.protocol = match d.first().map(|b| b >> 4) {
                Some(4) => 0x0800,
                Some(6) => 0x86dd,
                _ => 0,
            };
        }
        _ => {}
    }
    m
}

/// Hardware VLAN acceleration, as a NIC does it before the kernel sees the
/// frame: the outer 802.1Q/802.1ad tag of an Ethernet frame moves from the
/// bytes into the skb (`vlan_tci`, `vlan_proto`), and the frame is 4 bytes
/// shorter. `None` when the frame has no tag.
pub fn accelerate_vlan(p: &Packet) -> Option<(Packet, SkbMeta)> {
    let d = &p.data;
    if p.linktype != LINKTYPE_ETHERNET || d.len() < 18 {
        return None;
    }
    let tpid = u16::from_be_bytes([d[12], d[13]]);
    if tpid != 0x8100 && tpid != 0x88a8 {
        return None;
    }
    let tci = u16::from_be_bytes([d[14], d[15]]);
    let mut data = d[..12].to_vec();
    data.extend_from_slice(&d[16..]);
    let stripped = Packet {
        data,
        orig_len: p.orig_len - 4,
        linktype: p.linktype,
        source: p.source.clone(),
    };
    let mut meta = skb_meta(&stripped);
    meta.vlan = Some((tci, tpid));
    Some((stripped, meta))
}
