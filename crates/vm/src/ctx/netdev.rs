//! The network devices a test run may name (`ifindex` in `__sk_buff`,
//! `ingress_ifindex` in `xdp_md`): the loopback device, which the kernel
//! uses when none is named, and the host's devices from `/sys/class/net`.

/// The loopback device's ifindex in every network namespace.
pub const LOOPBACK: u32 = 1;

/// What test-run needs of a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDev {
    pub ifindex: u32,
    /// `dev->dev_addr` (all zero for loopback).
    pub addr: [u8; 6],
    /// `dev->real_num_rx_queues`.
    pub rx_queues: u32,
}

/// The device with `ifindex`, if the host has one.
pub fn lookup(ifindex: u32) -> Option<NetDev> {
    if ifindex == LOOPBACK {
        return Some(NetDev {
            ifindex,
            addr: [0; 6],
            rx_queues: 1,
        });
    }
    let dir = std::fs::read_dir("/sys/class/net").ok()?;
    for entry in dir.flatten() {
        let path = entry.path();
        let idx: Option<u32> = std::fs::read_to_string(path.join("ifindex"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        if idx != Some(ifindex) {
            continue;
        }
        let mut addr = [0u8; 6];
        if let Ok(s) = std::fs::read_to_string(path.join("address")) {
            for (a, part) in addr.iter_mut().zip(s.trim().split(':')) {
                *a = u8::from_str_radix(part, 16).unwrap_or(0);
            }
        }
        let rx_queues = std::fs::read_dir(path.join("queues"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count() as u32
            })
            .unwrap_or(1)
            .max(1);
        return Some(NetDev {
            ifindex,
            addr,
            rx_queues,
        });
    }
    None
}
