//! Program section names → program type, expected attach type, attach
//! target and load flags, as libbpf's `section_defs` table has them.
//!
//! The table is data, in libbpf's order, because matching is first-match:
//! `sk_reuseport/migrate` must be tried before `sk_reuseport`, `xdp.frags/`
//! before `xdp.frags`, and so on. A pattern ends in one of three ways, with
//! libbpf's meanings:
//!
//! * plain (`xdp`, `cgroup/bind4`): the section name must be exactly this;
//! * `+` (`kprobe+`): exactly the prefix, or the prefix, `/` and anything
//!   (`kprobe/do_unlinkat`) — the part after `/` is the attach target;
//! * `/` (none in the current table, kept for completeness): the prefix and
//!   at least something after it.
//!
//! Unknown section names are not guessed: [`lookup`] returns `None` and the
//! program keeps [`ProgType::Unspec`], which the loader refuses unless the
//! user sets a type (libbpf does the same: open succeeds, load fails with
//! "missing BPF prog type").

use uapi::{AttachType, ProgType};

/// `BPF_F_SLEEPABLE`: the program may sleep (`.s` sections).
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_F_XDP_HAS_FRAGS`: the XDP program handles multi-buffer packets.
pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;

/// Properties libbpf attaches to a section pattern (its `SEC_*` cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecFlags {
    /// The expected attach type may be dropped on kernels that lack the
    /// attribute (`SEC_EXP_ATTACH_OPT`).
    pub attach_type_optional: bool,
    /// Attachable with `BPF_PROG_ATTACH` (`SEC_ATTACHABLE`; informative).
    pub attachable: bool,
    /// The attach target is a BTF id named after the `/` (`SEC_ATTACH_BTF`).
    pub attach_btf: bool,
    /// Loaded with `BPF_F_SLEEPABLE` (`SEC_SLEEPABLE`).
    pub sleepable: bool,
    /// XDP loaded with `BPF_F_XDP_HAS_FRAGS` (`SEC_XDP_FRAGS`).
    pub xdp_frags: bool,
    /// A USDT probe (`SEC_USDT`).
    pub usdt: bool,
}

const NONE: SecFlags = SecFlags {
    attach_type_optional: false,
    attachable: false,
    attach_btf: false,
    sleepable: false,
    xdp_frags: false,
    usdt: false,
};
const ATTACHABLE: SecFlags = SecFlags {
    attachable: true,
    ..NONE
};
const ATTACHABLE_OPT: SecFlags = SecFlags {
    attachable: true,
    attach_type_optional: true,
    ..NONE
};
const ATTACH_BTF: SecFlags = SecFlags {
    attach_btf: true,
    ..NONE
};
const ATTACH_BTF_S: SecFlags = SecFlags {
    attach_btf: true,
    sleepable: true,
    ..NONE
};
const SLEEPABLE: SecFlags = SecFlags {
    sleepable: true,
    ..NONE
};
const XDP_FRAGS: SecFlags = SecFlags {
    xdp_frags: true,
    ..NONE
};
const USDT: SecFlags = SecFlags { usdt: true, ..NONE };
const USDT_S: SecFlags = SecFlags {
    usdt: true,
    sleepable: true,
    ..NONE
};

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionDef {
    /// libbpf's pattern, with its `+` / `/` suffix conventions.
    pub pattern: &'static str,
    pub prog_type: ProgType,
    /// `None` where libbpf passes 0 ("not specified").
    pub attach_type: Option<AttachType>,
    pub flags: SecFlags,
}

impl SectionDef {
    /// The `prog_flags` of `BPF_PROG_LOAD` this section implies.
    pub fn prog_flags(&self) -> u32 {
        let mut f = 0;
        if self.flags.sleepable {
            f |= BPF_F_SLEEPABLE;
        }
        if self.flags.xdp_frags && self.prog_type == ProgType::Xdp {
            f |= BPF_F_XDP_HAS_FRAGS;
        }
        f
    }

    /// Whether `name` matches this row (libbpf's `sec_def_matches`).
    pub fn matches(&self, name: &str) -> bool {
        if let Some(prefix) = self.pattern.strip_suffix('+') {
            match name.strip_prefix(prefix) {
                Some(rest) => rest.is_empty() || rest.starts_with('/'),
                None => false,
            }
        } else if self.pattern.ends_with('/') {
            name.starts_with(self.pattern)
        } else {
            name == self.pattern
        }
    }

    /// The attach target a matching `name` names: what follows the
    /// pattern's `/` for `+` and `/` patterns (`kprobe/do_sys_open` →
    /// `do_sys_open`, `tracepoint/syscalls/sys_enter_openat` →
    /// `syscalls/sys_enter_openat`), `None` for exact patterns or when
    /// nothing follows.
    pub fn attach_target<'n>(&self, name: &'n str) -> Option<&'n str> {
        let prefix = if let Some(p) = self.pattern.strip_suffix('+') {
            p
        } else {
            self.pattern.strip_suffix('/')?
        };
        let rest = name.strip_prefix(prefix)?.strip_prefix('/')?;
        (!rest.is_empty()).then_some(rest)
    }
}

macro_rules! defs {
    ($( ($pat:literal, $pt:ident, $at:expr, $fl:expr) ),* $(,)?) => {
        &[ $( SectionDef { pattern: $pat, prog_type: ProgType::$pt, attach_type: $at, flags: $fl }, )* ]
    };
}

use AttachType as A;

/// libbpf's table, in libbpf's order (libbpf 1.5, plus the session and
/// `uprobe.unique` rows of later releases).
pub static SECTION_DEFS: &[SectionDef] = defs![
    ("socket", SocketFilter, None, NONE),
    (
        "sk_reuseport/migrate",
        SkReuseport,
        Some(A::SkReuseportSelectOrMigrate),
        ATTACHABLE
    ),
    (
        "sk_reuseport",
        SkReuseport,
        Some(A::SkReuseportSelect),
        ATTACHABLE
    ),
    ("kprobe+", Kprobe, None, NONE),
    ("uprobe+", Kprobe, None, NONE),
    ("uprobe.s+", Kprobe, None, SLEEPABLE),
    ("kretprobe+", Kprobe, None, NONE),
    ("uretprobe+", Kprobe, None, NONE),
    ("uretprobe.s+", Kprobe, None, SLEEPABLE),
    ("kprobe.multi+", Kprobe, Some(A::TraceKprobeMulti), NONE),
    ("kretprobe.multi+", Kprobe, Some(A::TraceKprobeMulti), NONE),
    ("kprobe.session+", Kprobe, Some(A::TraceKprobeSession), NONE),
    ("uprobe.multi+", Kprobe, Some(A::TraceUprobeMulti), NONE),
    ("uretprobe.multi+", Kprobe, Some(A::TraceUprobeMulti), NONE),
    ("uprobe.session+", Kprobe, Some(A::TraceUprobeSession), NONE),
    ("uprobe.unique+", Kprobe, Some(A::TraceUprobeMulti), NONE),
    (
        "uprobe.multi.s+",
        Kprobe,
        Some(A::TraceUprobeMulti),
        SLEEPABLE
    ),
    (
        "uretprobe.multi.s+",
        Kprobe,
        Some(A::TraceUprobeMulti),
        SLEEPABLE
    ),
    (
        "uprobe.session.s+",
        Kprobe,
        Some(A::TraceUprobeSession),
        SLEEPABLE
    ),
    (
        "uprobe.unique.s+",
        Kprobe,
        Some(A::TraceUprobeMulti),
        SLEEPABLE
    ),
    ("ksyscall+", Kprobe, None, NONE),
    ("kretsyscall+", Kprobe, None, NONE),
    ("usdt+", Kprobe, None, USDT),
    ("usdt.s+", Kprobe, None, USDT_S),
    ("tc/ingress", SchedCls, Some(A::TcxIngress), NONE),
    ("tc/egress", SchedCls, Some(A::TcxEgress), NONE),
    ("tcx/ingress", SchedCls, Some(A::TcxIngress), NONE),
    ("tcx/egress", SchedCls, Some(A::TcxEgress), NONE),
    ("tc", SchedCls, None, NONE),
    ("classifier", SchedCls, None, NONE),
    ("action", SchedAct, None, NONE),
    ("netkit/primary", SchedCls, Some(A::NetkitPrimary), NONE),
    ("netkit/peer", SchedCls, Some(A::NetkitPeer), NONE),
    ("tracepoint+", Tracepoint, None, NONE),
    ("tp+", Tracepoint, None, NONE),
    ("raw_tracepoint+", RawTracepoint, None, NONE),
    ("raw_tp+", RawTracepoint, None, NONE),
    ("raw_tracepoint.w+", RawTracepointWritable, None, NONE),
    ("raw_tp.w+", RawTracepointWritable, None, NONE),
    ("tp_btf+", Tracing, Some(A::TraceRawTp), ATTACH_BTF),
    ("fentry+", Tracing, Some(A::TraceFentry), ATTACH_BTF),
    ("fmod_ret+", Tracing, Some(A::ModifyReturn), ATTACH_BTF),
    ("fexit+", Tracing, Some(A::TraceFexit), ATTACH_BTF),
    ("fentry.s+", Tracing, Some(A::TraceFentry), ATTACH_BTF_S),
    ("fmod_ret.s+", Tracing, Some(A::ModifyReturn), ATTACH_BTF_S),
    ("fexit.s+", Tracing, Some(A::TraceFexit), ATTACH_BTF_S),
    ("freplace+", Ext, None, ATTACH_BTF),
    ("lsm+", Lsm, Some(A::LsmMac), ATTACH_BTF),
    ("lsm.s+", Lsm, Some(A::LsmMac), ATTACH_BTF_S),
    ("lsm_cgroup+", Lsm, Some(A::LsmCgroup), ATTACH_BTF),
    ("iter+", Tracing, Some(A::TraceIter), ATTACH_BTF),
    ("iter.s+", Tracing, Some(A::TraceIter), ATTACH_BTF_S),
    ("syscall", Syscall, None, SLEEPABLE),
    ("xdp.frags/devmap", Xdp, Some(A::XdpDevmap), XDP_FRAGS),
    ("xdp/devmap", Xdp, Some(A::XdpDevmap), ATTACHABLE),
    ("xdp.frags/cpumap", Xdp, Some(A::XdpCpumap), XDP_FRAGS),
    ("xdp/cpumap", Xdp, Some(A::XdpCpumap), ATTACHABLE),
    ("xdp.frags", Xdp, Some(A::Xdp), XDP_FRAGS),
    ("xdp", Xdp, Some(A::Xdp), ATTACHABLE_OPT),
    ("perf_event", PerfEvent, None, NONE),
    ("lwt_in", LwtIn, None, NONE),
    ("lwt_out", LwtOut, None, NONE),
    ("lwt_xmit", LwtXmit, None, NONE),
    ("lwt_seg6local", LwtSeg6local, None, NONE),
    ("sockops", SockOps, Some(A::CgroupSockOps), ATTACHABLE_OPT),
    (
        "sk_skb/stream_parser",
        SkSkb,
        Some(A::SkSkbStreamParser),
        ATTACHABLE_OPT
    ),
    (
        "sk_skb/stream_verdict",
        SkSkb,
        Some(A::SkSkbStreamVerdict),
        ATTACHABLE_OPT
    ),
    ("sk_skb", SkSkb, None, NONE),
    ("sk_msg", SkMsg, Some(A::SkMsgVerdict), ATTACHABLE_OPT),
    ("lirc_mode2", LircMode2, Some(A::LircMode2), ATTACHABLE_OPT),
    (
        "flow_dissector",
        FlowDissector,
        Some(A::FlowDissector),
        ATTACHABLE_OPT
    ),
    (
        "cgroup_skb/ingress",
        CgroupSkb,
        Some(A::CgroupInetIngress),
        ATTACHABLE_OPT
    ),
    (
        "cgroup_skb/egress",
        CgroupSkb,
        Some(A::CgroupInetEgress),
        ATTACHABLE_OPT
    ),
    ("cgroup/skb", CgroupSkb, None, NONE),
    (
        "cgroup/sock_create",
        CgroupSock,
        Some(A::CgroupInetSockCreate),
        ATTACHABLE
    ),
    (
        "cgroup/sock_release",
        CgroupSock,
        Some(A::CgroupInetSockRelease),
        ATTACHABLE
    ),
    (
        "cgroup/sock",
        CgroupSock,
        Some(A::CgroupInetSockCreate),
        ATTACHABLE_OPT
    ),
    (
        "cgroup/post_bind4",
        CgroupSock,
        Some(A::CgroupInet4PostBind),
        ATTACHABLE
    ),
    (
        "cgroup/post_bind6",
        CgroupSock,
        Some(A::CgroupInet6PostBind),
        ATTACHABLE
    ),
    (
        "cgroup/bind4",
        CgroupSockAddr,
        Some(A::CgroupInet4Bind),
        ATTACHABLE
    ),
    (
        "cgroup/bind6",
        CgroupSockAddr,
        Some(A::CgroupInet6Bind),
        ATTACHABLE
    ),
    (
        "cgroup/connect4",
        CgroupSockAddr,
        Some(A::CgroupInet4Connect),
        ATTACHABLE
    ),
    (
        "cgroup/connect6",
        CgroupSockAddr,
        Some(A::CgroupInet6Connect),
        ATTACHABLE
    ),
    (
        "cgroup/connect_unix",
        CgroupSockAddr,
        Some(A::CgroupUnixConnect),
        ATTACHABLE
    ),
    (
        "cgroup/sendmsg4",
        CgroupSockAddr,
        Some(A::CgroupUdp4Sendmsg),
        ATTACHABLE
    ),
    (
        "cgroup/sendmsg6",
        CgroupSockAddr,
        Some(A::CgroupUdp6Sendmsg),
        ATTACHABLE
    ),
    (
        "cgroup/sendmsg_unix",
        CgroupSockAddr,
        Some(A::CgroupUnixSendmsg),
        ATTACHABLE
    ),
    (
        "cgroup/recvmsg4",
        CgroupSockAddr,
        Some(A::CgroupUdp4Recvmsg),
        ATTACHABLE
    ),
    (
        "cgroup/recvmsg6",
        CgroupSockAddr,
        Some(A::CgroupUdp6Recvmsg),
        ATTACHABLE
    ),
    (
        "cgroup/recvmsg_unix",
        CgroupSockAddr,
        Some(A::CgroupUnixRecvmsg),
        ATTACHABLE
    ),
    (
        "cgroup/getpeername4",
        CgroupSockAddr,
        Some(A::CgroupInet4Getpeername),
        ATTACHABLE
    ),
    (
        "cgroup/getpeername6",
        CgroupSockAddr,
        Some(A::CgroupInet6Getpeername),
        ATTACHABLE
    ),
    (
        "cgroup/getpeername_unix",
        CgroupSockAddr,
        Some(A::CgroupUnixGetpeername),
        ATTACHABLE
    ),
    (
        "cgroup/getsockname4",
        CgroupSockAddr,
        Some(A::CgroupInet4Getsockname),
        ATTACHABLE
    ),
    (
        "cgroup/getsockname6",
        CgroupSockAddr,
        Some(A::CgroupInet6Getsockname),
        ATTACHABLE
    ),
    (
        "cgroup/getsockname_unix",
        CgroupSockAddr,
        Some(A::CgroupUnixGetsockname),
        ATTACHABLE
    ),
    (
        "cgroup/sysctl",
        CgroupSysctl,
        Some(A::CgroupSysctl),
        ATTACHABLE
    ),
    (
        "cgroup/getsockopt",
        CgroupSockopt,
        Some(A::CgroupGetsockopt),
        ATTACHABLE
    ),
    (
        "cgroup/setsockopt",
        CgroupSockopt,
        Some(A::CgroupSetsockopt),
        ATTACHABLE
    ),
    (
        "cgroup/dev",
        CgroupDevice,
        Some(A::CgroupDevice),
        ATTACHABLE_OPT
    ),
    ("struct_ops+", StructOps, None, NONE),
    ("struct_ops.s+", StructOps, None, SLEEPABLE),
    ("sk_lookup", SkLookup, Some(A::SkLookup), ATTACHABLE),
    ("netfilter", Netfilter, Some(A::Netfilter), NONE),
];

/// The first row matching `name` (the section name without libbpf's `?`
/// "don't autoload" prefix).
pub fn lookup(name: &str) -> Option<&'static SectionDef> {
    SECTION_DEFS.iter().find(|d| d.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> Option<(ProgType, Option<AttachType>)> {
        lookup(name).map(|d| (d.prog_type, d.attach_type))
    }

    #[test]
    fn exact_plus_and_order() {
        assert_eq!(ty("xdp"), Some((ProgType::Xdp, Some(A::Xdp))));
        assert_eq!(ty("xdp.frags"), Some((ProgType::Xdp, Some(A::Xdp))));
        assert_eq!(ty("xdp/devmap"), Some((ProgType::Xdp, Some(A::XdpDevmap))));
        assert_eq!(ty("xdp/foo"), None, "xdp is exact, not a prefix");
        assert_eq!(ty("xdpfoo"), None);
        assert_eq!(ty("tc"), Some((ProgType::SchedCls, None)));
        assert_eq!(
            ty("tc/ingress"),
            Some((ProgType::SchedCls, Some(A::TcxIngress)))
        );
        assert_eq!(ty("tc/foo"), None);
        assert_eq!(ty("kprobe"), Some((ProgType::Kprobe, None)));
        assert_eq!(ty("kprobe/do_sys_open"), Some((ProgType::Kprobe, None)));
        assert_eq!(ty("kprobex"), None);
        assert_eq!(
            ty("kprobe.multi/foo*"),
            Some((ProgType::Kprobe, Some(A::TraceKprobeMulti)))
        );
        assert_eq!(
            ty("sk_reuseport/migrate").unwrap().1,
            Some(A::SkReuseportSelectOrMigrate)
        );
        assert_eq!(ty("sk_reuseport").unwrap().1, Some(A::SkReuseportSelect));
        assert_eq!(ty("cgroup/sock").unwrap().1, Some(A::CgroupInetSockCreate));
        assert_eq!(
            ty("cgroup/sock_release").unwrap().1,
            Some(A::CgroupInetSockRelease)
        );
        assert_eq!(
            ty("cgroup_skb/ingress").unwrap().1,
            Some(A::CgroupInetIngress)
        );
        assert_eq!(ty("fentry.s/foo").unwrap().0, ProgType::Tracing);
        assert_eq!(
            ty("lsm/file_open").unwrap(),
            (ProgType::Lsm, Some(A::LsmMac))
        );
        assert_eq!(ty("struct_ops/init").unwrap().0, ProgType::StructOps);
        assert_eq!(
            ty("raw_tp.w/foo").unwrap().0,
            ProgType::RawTracepointWritable
        );
        assert_eq!(ty(".text"), None);
        assert_eq!(ty(""), None);
    }

    #[test]
    fn targets_and_flags() {
        let d = lookup("tracepoint/syscalls/sys_enter_openat").unwrap();
        assert_eq!(
            d.attach_target("tracepoint/syscalls/sys_enter_openat"),
            Some("syscalls/sys_enter_openat")
        );
        let d = lookup("kprobe").unwrap();
        assert_eq!(d.attach_target("kprobe"), None);
        let d = lookup("xdp").unwrap();
        assert_eq!(d.attach_target("xdp"), None);
        assert_eq!(
            lookup("xdp.frags").unwrap().prog_flags(),
            BPF_F_XDP_HAS_FRAGS
        );
        assert_eq!(lookup("fentry.s/x").unwrap().prog_flags(), BPF_F_SLEEPABLE);
        assert_eq!(lookup("syscall").unwrap().prog_flags(), BPF_F_SLEEPABLE);
        assert_eq!(lookup("xdp").unwrap().prog_flags(), 0);
    }

    #[test]
    fn every_pattern_matches_itself() {
        for d in SECTION_DEFS {
            let name = d.pattern.trim_end_matches(['+', '/']);
            let found = lookup(name).unwrap_or_else(|| panic!("{name}"));
            // First match wins; a row may be shadowed only by an identical
            // program type (never the case in libbpf's table).
            assert_eq!(
                found.pattern, d.pattern,
                "{name} shadowed by {}",
                found.pattern
            );
        }
    }
}
