//! The XDP context and helpers against the kernel: programs write what
//! they see into the packet (which comes back in `data_out`) and return a
//! helper's result.

mod pkt_helpers_support;

use pkt_helpers_support::{check, ipv4_tcp, packets, Input};
use uapi::ProgType;

fn md(data: u32, end: u32, ingress: u32, rxq: u32) -> Vec<u8> {
    [data, end, 0, ingress, rxq, 0]
        .iter()
        .flat_map(|x| x.to_ne_bytes())
        .collect()
}

fn inputs() -> Vec<Input> {
    let mut v: Vec<Input> = packets().iter().map(|p| Input::data(p)).collect();
    let p = ipv4_tcp(b"with metadata");
    let mut m = vec![0xa5u8; 8];
    m.extend_from_slice(&p);
    v.push(Input::data(&m).with_ctx(&md(8, m.len() as u32, 0, 0)));
    v.push(Input::data(&p).with_ctx(&md(0, p.len() as u32, 1, 0)));
    // Multi-buffer frames: longer than the linear area, or a short linear
    // part chosen through data_end.
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    v.push(Input::data(&big));
    v.push(Input::data(&p).with_ctx(&md(0, 20, 0, 0)));
    v
}

/// Writes ingress_ifindex, rx_queue_index, metadata length and the
/// linear length into the first 16 packet bytes (when there are 16).
const FIELDS: &str = "r2 = *(u32 *)(r6 + 0)\nr3 = *(u32 *)(r6 + 4)\nr4 = r2\nr4 += 16\n\
    if r4 > r3 goto +12\nr5 = *(u32 *)(r6 + 12)\n*(u32 *)(r2 + 0) = r5\n\
    r5 = *(u32 *)(r6 + 16)\n*(u32 *)(r2 + 4) = r5\nr5 = *(u32 *)(r6 + 8)\nr4 = r2\nr4 -= r5\n\
    *(u32 *)(r2 + 8) = r4\nr4 = r3\nr4 -= r2\n*(u32 *)(r2 + 12) = r4\nr0 = 0\n";

#[test]
fn xdp_fields() {
    let text = format!("r6 = r1\n{FIELDS}r0 = 2\nexit\n");
    check("xdp fields", ProgType::Xdp, None, &text, &inputs());
}

fn call_then_fields(call: &str) -> String {
    format!("r6 = r1\n{call}r7 = r0\n{FIELDS}r0 = r7\nexit\n")
}

#[test]
fn xdp_adjust_head() {
    for off in [-14i32, 14, -216, -217, -256, 0, 40, 60, 66, 1000] {
        let text = call_then_fields(&format!("r1 = r6\nr2 = {off}\ncall 44\n"));
        check(
            &format!("adjust_head({off})"),
            ProgType::Xdp,
            None,
            &text,
            &inputs(),
        );
    }
}

#[test]
fn xdp_adjust_tail() {
    for off in [
        10i32, -10, -48, -49, -62, 3000, 3700, 3702, 4000, 100, -100, -4990,
    ] {
        let text = call_then_fields(&format!("r1 = r6\nr2 = {off}\ncall 65\n"));
        check(
            &format!("adjust_tail({off})"),
            ProgType::Xdp,
            None,
            &text,
            &inputs(),
        );
    }
}

/// `bpf_xdp_adjust_meta`: kernel 6.18 refuses to load XDP programs calling
/// it through test-run's path ("program of this type cannot use helper"),
/// so this checks oxbpf against the helper's documented rules instead:
/// metadata grows into the headroom (not into the 40-byte `xdp_frame`
/// area), in multiples of 4, at most 255 bytes, never past `data`.
#[test]
fn xdp_adjust_meta() {
    use pkt_helpers_support::{asm, hand_rewrite, ours_side};
    let e = |n: i64| n as u32;
    let cases: &[(i32, u32, u32)] = &[
        (-8, 0, 8),
        (-4, 0, 4),
        (-3, e(-13), 0),
        (-32, 0, 32),
        (-36, 0, 36),
        (-216, 0, 216),
        (-217, e(-22), 0),
        (-252, e(-22), 0),
        (4, e(-22), 0),
        (0, 0, 0),
    ];
    for &(off, want_ret, want_meta) in cases {
        // Returns the helper's result; writes the metadata length into the
        // first data bytes.
        let text = format!(
            "r6 = r1\nr2 = {off}\ncall 54\nr7 = r0\nr2 = *(u32 *)(r6 + 0)\nr3 = *(u32 *)(r6 + 4)\n\
             r4 = r2\nr4 += 4\nif r4 > r3 goto +4\nr5 = *(u32 *)(r6 + 8)\nr4 = r2\nr4 -= r5\n\
             *(u32 *)(r2 + 0) = r4\nr0 = r7\nexit\n"
        );
        let raw = hand_rewrite(&asm(&text), ProgType::Xdp);
        let helpers = {
            let mut h = oxbpf_vm::helpers::standard_registry();
            oxbpf_vm::helpers::register_packet_helpers(&mut h);
            h
        };
        let prog = oxbpf_vm::Program::from_raw(&raw, &oxbpf_vm::PrepareOptions::new(&helpers))
            .expect("prepare");
        let p = ipv4_tcp(b"meta");
        let out = ours_side(ProgType::Xdp, None, &prog, &[Input::data(&p)]);
        let (ret, data, _) = out[0].clone().expect("runs");
        assert_eq!(ret, want_ret, "adjust_meta({off}) result");
        let meta = want_meta as usize;
        assert_eq!(
            data.len(),
            p.len() + meta,
            "adjust_meta({off}) data_out length"
        );
        assert_eq!(
            u32::from_ne_bytes(data[meta..meta + 4].try_into().unwrap()),
            want_meta,
            "adjust_meta({off}) metadata length seen by the program"
        );
    }
}

#[test]
fn xdp_load_store_bytes() {
    let cases: &[(u32, u32, u32)] = &[
        (189, 0, 8),
        (189, 12, 4),
        (189, 3516, 8),
        (189, 4990, 8),
        (189, 4996, 8),
        (189, 0x10000, 1),
        (190, 0, 8),
        (190, 3516, 8),
        (190, 4990, 8),
        (190, 4996, 8),
    ];
    for &(h, off, len) in cases {
        let text = format!(
            "r6 = r1\nr1 = 0x1122334455667788 ll\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr2 = {off}\n\
             r3 = r10\nr3 += -8\nr4 = {len}\ncall {h}\nr7 = r0\nr1 = *(u64 *)(r10 - 8)\n\
             r1 >>= 32\nr7 <<= 32\nr7 |= r1\nr0 = r7\nr0 >>= 32\nr0 += r1\nexit\n"
        );
        check(
            &format!("xdp helper {h}({off}, {len})"),
            ProgType::Xdp,
            None,
            &text,
            &inputs(),
        );
    }
}

#[test]
fn xdp_buff_len() {
    let text = "call 188\nexit\n";
    check("xdp_get_buff_len", ProgType::Xdp, None, text, &inputs());
}

#[test]
fn xdp_redirect() {
    for (ifindex, flags) in [(1u32, 0u32), (7, 1), (0, 0)] {
        let text = format!("r1 = {ifindex}\nr2 = {flags}\ncall 23\nexit\n");
        check(
            &format!("xdp redirect({ifindex}, {flags})"),
            ProgType::Xdp,
            None,
            &text,
            &inputs()[..1],
        );
    }
}

#[test]
fn xdp_repeat_accumulates() {
    let text = "r2 = -2\ncall 44\nr0 = 2\nexit\n";
    let v: Vec<Input> = [1u32, 2, 5]
        .iter()
        .map(|&r| Input {
            repeat: r,
            ..Input::data(&ipv4_tcp(b"rep"))
        })
        .collect();
    check("xdp repeat adjust_head", ProgType::Xdp, None, text, &v);
}

#[test]
fn xdp_data_out_truncated() {
    let p = ipv4_tcp(b"0123456789");
    let v = vec![
        Input {
            data_cap: Some(10),
            ..Input::data(&p)
        },
        Input {
            data_cap: Some(p.len() as u32),
            ..Input::data(&p)
        },
    ];
    check(
        "xdp data_out capacity",
        ProgType::Xdp,
        None,
        "r0 = 2\nexit\n",
        &v,
    );
}

/// Live frames (`BPF_F_TEST_XDP_LIVE_FRAMES`): the kernel here refuses
/// them (EPERM: the sandbox may not inject frames), so oxbpf is checked
/// against `bpf_prog_test_run_xdp`'s rules: no retval, the frame comes
/// back as it was (each repetition starts from the original), batch sizes
/// up to 256, no multi-buffer frames, no data_out/ctx_out with a context.
#[test]
fn xdp_live_frames() {
    use pkt_helpers_support::{asm, ours_prepare, ours_side};
    let text = "r6 = r1\nr2 = -4\ncall 44\nr0 = 1\nexit\n";
    let prog = ours_prepare(ProgType::Xdp, None, &asm(text), true);
    let p = ipv4_tcp(b"live");
    let live = |i: Input| Input {
        flags: 2,
        repeat: 3,
        ..i
    };
    let big = vec![0u8; 3400];
    let v = vec![
        live(Input::data(&p)),
        live(Input {
            batch_size: 300,
            ..Input::data(&p)
        }),
        live(Input {
            batch_size: 16,
            ..Input::data(&p)
        }),
        live(Input::data(&big)),
        live(Input::data(&[0u8; 3409])),
        live(Input::data(&p).with_ctx(&md(0, p.len() as u32, 0, 0))),
        live(Input {
            data_cap: Some(0),
            ctx_cap: Some(0),
            ..Input::data(&p).with_ctx(&md(0, p.len() as u32, 0, 0))
        }),
        Input {
            batch_size: 4,
            ..Input::data(&p)
        },
    ];
    let got = ours_side(ProgType::Xdp, None, &prog, &v);
    let ok = |d: &[u8]| -> pkt_helpers_support::Report { Ok((0u32, d.to_vec(), Vec::new())) };
    let want = vec![
        ok(&p),
        Err(7),
        ok(&p),
        ok(&big),
        Err(22),
        Err(22),
        // No data_out buffer: nothing copied.
        ok(&[]),
        Err(22),
    ];
    for (n, (g, w)) in got.iter().zip(&want).enumerate() {
        let g = g.clone().map(|(r, d, _)| (r, d, Vec::new()));
        assert_eq!(&g, w, "live input #{n}");
    }
}
