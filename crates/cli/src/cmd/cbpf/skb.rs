//! Running a translated classic filter on a packet: the minimal socket
//! buffer the program needs.
//!
//! **Stand-in for the runtime.** The full runtime (the `__sk_buff` context
//! that the verifier rewrites, packet pointers, every skb helper) is being
//! built in the `vm`/`oxbpf` crates; when it exists, [`SocketFilter`] should
//! become a thin wrapper over it (or disappear) and the oxbpf helpers for
//! `SKF_AD_HATYPE`, `SKF_AD_PAY_OFFSET` and `SKF_AD_NLATTR[_NEST]` move
//! there. Until then this builds, per packet, a `struct __sk_buff` in its
//! uapi layout (the translation reads uapi offsets and nothing rewrites
//! them), the packet region with the legacy-load hook
//! ([`vm::RunEnv::set_packet`]), and a host object for the helpers.

use isa::Insn;
use uapi::ctx::sk_buff;
use uapi::ctx::skf::helpers as cbpf_helpers;
use uapi::HelperId;
use vm::{
    HelperRegistry, Machine, PacketView, PrepareError, PrepareOptions, Program, RegionKind, RunEnv,
    VmError,
};

/// What the kernel knows about a packet besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkbMeta {
    /// `skb->len`. For capture replays, the length on the wire, as
    /// libpcap's filter sees it (`ld #pktlen`), even when fewer bytes were
    /// captured.
    pub len: u32,
    /// The ethertype in host order (`skb->protocol`).
    pub protocol: u16,
    /// `PACKET_HOST`, `PACKET_BROADCAST`, … (`skb->pkt_type`).
    pub pkt_type: u32,
    pub ifindex: u32,
    pub mark: u32,
    pub queue_mapping: u32,
    pub hash: u32,
    /// The device type (`ARPHRD_*`).
    pub hatype: u16,
    /// An accelerated (stripped) VLAN tag: `(tci, tpid)`.
    pub vlan: Option<(u16, u16)>,
    /// Offset of the network header in the packet bytes (`SKF_NET_OFF`).
    pub network_offset: u32,
}

impl SkbMeta {
    /// The `struct __sk_buff` a socket filter reads.
    fn context(&self) -> [u8; sk_buff::SIZE as usize] {
        let mut ctx = [0u8; sk_buff::SIZE as usize];
        let mut put = |off: u32, v: u32| {
            ctx[off as usize..off as usize + 4].copy_from_slice(&v.to_le_bytes())
        };
        let (tci, tpid) = self.vlan.unwrap_or((0, 0));
        put(sk_buff::LEN, self.len);
        put(sk_buff::PKT_TYPE, self.pkt_type);
        put(sk_buff::MARK, self.mark);
        put(sk_buff::QUEUE_MAPPING, self.queue_mapping);
        // `protocol` and `vlan_proto` hold the big-endian value, as the
        // kernel's skb does.
        put(
            sk_buff::PROTOCOL,
            u16::from_ne_bytes(self.protocol.to_be_bytes()) as u32,
        );
        put(sk_buff::VLAN_PRESENT, self.vlan.is_some() as u32);
        put(sk_buff::VLAN_TCI, tci as u32);
        put(
            sk_buff::VLAN_PROTO,
            u16::from_ne_bytes(tpid.to_be_bytes()) as u32,
        );
        put(sk_buff::INGRESS_IFINDEX, self.ifindex);
        put(sk_buff::IFINDEX, self.ifindex);
        put(sk_buff::HASH, self.hash);
        put(sk_buff::WIRE_LEN, self.len);
        ctx
    }
}

/// A translated classic filter, ready to run on packets.
pub struct SocketFilter {
    prog: Program,
    machine: Machine,
}

/// The helpers a translated classic filter may call: the builtins
/// (`bpf_get_prandom_u32`, `bpf_get_smp_processor_id`, …) and oxbpf's
/// ancillary-load helpers.
pub fn helpers() -> HelperRegistry {
    let mut r = HelperRegistry::with_builtins();
    r.register(HelperId(cbpf_helpers::SKB_GET_HATYPE), get_hatype);
    r.register(HelperId(cbpf_helpers::SKB_GET_PAY_OFFSET), get_pay_offset);
    r.register(HelperId(cbpf_helpers::SKB_GET_NLATTR), get_nlattr);
    r.register(HelperId(cbpf_helpers::SKB_GET_NLATTR_NEST), get_nlattr_nest);
    r
}

impl SocketFilter {
    /// Prepares the eBPF of a translation for the checked interpreter.
    pub fn new(insns: &[Insn]) -> Result<SocketFilter, PrepareError> {
        let helpers = helpers();
        Ok(SocketFilter {
            prog: Program::prepare(insns, &PrepareOptions::new(&helpers))?,
            machine: Machine::new(),
        })
    }

    /// Runs the filter on one packet; the result is the classic return
    /// value (bytes to keep, 0 to drop).
    pub fn run(&mut self, data: &[u8], meta: &SkbMeta) -> Result<u32, VmError> {
        let mut ctx = meta.context();
        let mut host = meta.clone();
        let mut env = RunEnv::new();
        let ctx_addr = env.add_region(&mut ctx, RegionKind::Context);
        let start = env.add_readonly_region(data, RegionKind::Packet);
        env.set_packet(PacketView {
            start,
            len: data.len() as u64,
            network_offset: meta.network_offset,
            // A captured frame starts at its link-layer header.
            mac_len: 0,
        });
        env.set_host(&mut host);
        let r0 = self.machine.run(&self.prog, &mut env, &[ctx_addr])?;
        Ok(r0 as u32)
    }
}

fn meta<'e>(env: &'e mut RunEnv<'_>) -> Option<&'e mut SkbMeta> {
    env.host::<SkbMeta>()
}

/// The packet bytes, copied out through the checked accessor (only the
/// rarely used payload and netlink helpers need them).
fn packet(env: &RunEnv<'_>) -> Vec<u8> {
    let Some(p) = env.packet() else {
        return Vec::new();
    };
    let mut out = vec![0u8; p.len as usize];
    match env.read_bytes(p.start, &mut out) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// `SKF_AD_HATYPE`: the device type.
/// (A safe function: it touches program memory only through the checked
/// [`RunEnv::read_bytes`].)
extern "C" fn get_hatype(_: u64, _: u64, _: u64, _: u64, _: u64, env: &mut RunEnv<'_>) -> u64 {
    meta(env).map_or(0, |m| m.hatype as u64)
}

/// `SKF_AD_PAY_OFFSET`: the kernel's `skb_get_poff`.
/// (A safe function: it touches program memory only through the checked
/// [`RunEnv::read_bytes`].)
extern "C" fn get_pay_offset(_: u64, _: u64, _: u64, _: u64, _: u64, env: &mut RunEnv<'_>) -> u64 {
    let data = packet(env);
    meta(env).map_or(0, |m| super::dissect::payload_offset(&data, m) as u64)
}

/// `SKF_AD_NLATTR`: offset of attribute `x` among the netlink attributes at
/// `a`, or 0.
/// (A safe function: it touches program memory only through the checked
/// [`RunEnv::read_bytes`].)
extern "C" fn get_nlattr(_: u64, a: u64, x: u64, _: u64, _: u64, env: &mut RunEnv<'_>) -> u64 {
    super::dissect::nla_find(&packet(env), a as u32, x as u32, false) as u64
}

/// `SKF_AD_NLATTR_NEST`: the same inside the nested attribute at `a`.
/// (A safe function: it touches program memory only through the checked
/// [`RunEnv::read_bytes`].)
extern "C" fn get_nlattr_nest(_: u64, a: u64, x: u64, _: u64, _: u64, env: &mut RunEnv<'_>) -> u64 {
    super::dissect::nla_find(&packet(env), a as u32, x as u32, true) as u64
}
