//! `oxbpf pcap cbpf FILTER INPUT [out FILE] [verbose] [vlan_offload]`: run a classic BPF
//! filter (tcpdump `-ddd`/`-dd` output) on every packet of a pcap or pcapng
//! capture; a packet is kept when the filter returns non-zero, as tcpdump
//! keeps it. Prints the number of packets, kept and dropped, the count per
//! return value and packets per second (JSON:
//! `{"packets":N,"kept":K,"dropped":D,"retvals":{"0":n,…},"packets_per_second":P}`).
//!
//! `oxbpf pcap PROG INPUT …` (an eBPF xdp/tc/socket program) belongs to the
//! runtime and is not available yet.

use crate::args::{Args, CliResult};
use crate::cli_err;
use crate::output::Output;
use std::process::ExitCode;

pub fn run(out: &Output, args: Vec<String>) -> CliResult<ExitCode> {
    let mut a = Args::new(args);
    match a.next("cbpf FILTER INPUT, or PROG INPUT")?.as_str() {
        "cbpf" => {
            let filter = a.next("FILTER (tcpdump -ddd or -dd output)")?;
            let input = a.next("INPUT (a pcap or pcapng file)")?;
            let t = super::cbpf::load_filter(&filter)?;
            let opts = super::cbpf::RunOptions::parse(&mut a)?;
            super::cbpf::run_capture(out, &filter, &t, &input, &opts)
        }
        _ => Err(cli_err!(
            "pcap with an eBPF program is not available yet; \
             classic filters run with 'pcap cbpf FILTER INPUT'"
        )),
    }
}
