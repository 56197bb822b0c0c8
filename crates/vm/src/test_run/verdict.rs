//! What a program's return value means for its type, for runners that act
//! on it (pcap runs count XDP actions, keep the bytes a socket filter
//! keeps, …).

use uapi::prog::{tc_action, xdp_action};
use uapi::ProgType;

/// The meaning of `r0` for a program type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An XDP action. Unknown values are treated by drivers as
    /// `XDP_ABORTED` (with a warning); `known` says whether it is one of
    /// `XDP_ABORTED`..`XDP_REDIRECT`.
    Xdp { action: u32, known: bool },
    /// A socket filter: the number of bytes to keep (0 drops the packet;
    /// more than the packet keeps it whole).
    SocketFilter { keep: u32 },
    /// A tc action (`TC_ACT_*`), as a signed 32-bit value; tc treats
    /// unknown values as `TC_ACT_OK` (direct-action mode).
    Tc { action: i32 },
    /// A cgroup skb program: bit 0 allows the packet; bit 1 (egress only)
    /// asks for congestion notification.
    CgroupSkb { allow: bool, cn: bool },
    /// Any other type: the raw `r0`.
    Other(u64),
}

/// Interprets `r0` for `prog_type`.
pub fn verdict(prog_type: ProgType, r0: u64) -> Verdict {
    match prog_type {
        ProgType::Xdp => {
            let action = r0 as u32;
            Verdict::Xdp {
                action,
                known: action <= xdp_action::XDP_REDIRECT,
            }
        }
        ProgType::SocketFilter => Verdict::SocketFilter { keep: r0 as u32 },
        ProgType::SchedCls | ProgType::SchedAct => Verdict::Tc { action: r0 as i32 },
        ProgType::CgroupSkb => Verdict::CgroupSkb {
            allow: r0 & 1 != 0,
            cn: r0 & 2 != 0,
        },
        _ => Verdict::Other(r0),
    }
}

impl Verdict {
    /// A short name: `XDP_PASS`, `TC_ACT_SHOT`, `keep 60`, `allow`, ….
    pub fn name(&self) -> String {
        match *self {
            Verdict::Xdp { action, .. } => xdp_action::name(action)
                .map_or_else(|| format!("XDP_UNKNOWN({action})"), str::to_string),
            Verdict::SocketFilter { keep: 0 } => "drop".to_string(),
            Verdict::SocketFilter { keep } => format!("keep {keep}"),
            Verdict::Tc { action } => {
                tc_name(action).map_or_else(|| format!("TC_ACT({action})"), str::to_string)
            }
            Verdict::CgroupSkb { allow, cn } => {
                let a = if allow { "allow" } else { "deny" };
                if cn {
                    format!("{a}+cn")
                } else {
                    a.to_string()
                }
            }
            Verdict::Other(r0) => format!("{r0}"),
        }
    }

    /// For socket filters: how many bytes of a `packet_len`-byte packet the
    /// socket receives (the packet is cut to the return value; 0 drops it).
    /// Other verdicts keep the packet whole or drop it as [`Verdict::passes`]
    /// says.
    pub fn kept_len(&self, packet_len: usize) -> usize {
        match *self {
            Verdict::SocketFilter { keep } => (keep as usize).min(packet_len),
            _ if self.passes() => packet_len,
            _ => 0,
        }
    }

    /// Whether the packet goes on (XDP_PASS/TX/REDIRECT, a socket filter
    /// keeping bytes, a tc action other than SHOT/STOLEN/QUEUED/TRAP, a
    /// cgroup allow).
    pub fn passes(&self) -> bool {
        match *self {
            Verdict::Xdp { action, .. } => matches!(
                action,
                xdp_action::XDP_PASS | xdp_action::XDP_TX | xdp_action::XDP_REDIRECT
            ),
            Verdict::SocketFilter { keep } => keep != 0,
            Verdict::Tc { action } => !matches!(
                action,
                tc_action::TC_ACT_SHOT
                    | tc_action::TC_ACT_STOLEN
                    | tc_action::TC_ACT_QUEUED
                    | tc_action::TC_ACT_TRAP
            ),
            Verdict::CgroupSkb { allow, .. } => allow,
            Verdict::Other(_) => true,
        }
    }
}

/// The name of a `TC_ACT_*` value.
pub fn tc_name(action: i32) -> Option<&'static str> {
    Some(match action {
        tc_action::TC_ACT_UNSPEC => "TC_ACT_UNSPEC",
        tc_action::TC_ACT_OK => "TC_ACT_OK",
        tc_action::TC_ACT_RECLASSIFY => "TC_ACT_RECLASSIFY",
        tc_action::TC_ACT_SHOT => "TC_ACT_SHOT",
        tc_action::TC_ACT_PIPE => "TC_ACT_PIPE",
        tc_action::TC_ACT_STOLEN => "TC_ACT_STOLEN",
        tc_action::TC_ACT_QUEUED => "TC_ACT_QUEUED",
        tc_action::TC_ACT_REPEAT => "TC_ACT_REPEAT",
        tc_action::TC_ACT_REDIRECT => "TC_ACT_REDIRECT",
        tc_action::TC_ACT_TRAP => "TC_ACT_TRAP",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(ProgType::Xdp, 2).name(), "XDP_PASS");
        assert!(!verdict(ProgType::Xdp, 1).passes());
        assert_eq!(verdict(ProgType::SchedCls, 2).name(), "TC_ACT_SHOT");
        assert_eq!(
            verdict(ProgType::SchedCls, u32::MAX as u64).name(),
            "TC_ACT_UNSPEC"
        );
        assert_eq!(verdict(ProgType::SocketFilter, 0).name(), "drop");
        assert!(verdict(ProgType::CgroupSkb, 1).passes());
        assert_eq!(verdict(ProgType::SocketFilter, 20).kept_len(60), 20);
        assert_eq!(
            verdict(ProgType::SocketFilter, u32::MAX as u64).kept_len(60),
            60
        );
        assert_eq!(verdict(ProgType::Xdp, 1).kept_len(60), 0);
    }
}
