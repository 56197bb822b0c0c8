//! The conformance suite's own programs: assembling every `-- asm` section
//! of `testdata/conformance/tests/*.data` must give exactly the bytes the
//! suite's assembler produced (`program_hex` in `cases.jsonl`), and the
//! negative files must be refused with the suite's messages.

use oxbpf_isa::asm::{assemble, assemble_bytes, AsmErrorKind, Syntax};
use oxbpf_isa::disasm::{listing, Dialect, DisasmOptions};
use std::collections::HashMap;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/conformance")
}

/// The string value of `"key":"..."` in one JSON line (no escapes occur in
/// the fields we read); `None` for `null` or absence.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let start = line.find(&pat)? + pat.len();
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

fn cases() -> HashMap<String, String> {
    let text = std::fs::read_to_string(data_dir().join("cases.jsonl")).expect("cases.jsonl");
    text.lines()
        .filter_map(|l| Some((field(l, "name")?.to_string(), l.to_string())))
        .collect()
}

/// The `-- asm` section of a test file, as the suite's parser reads it:
/// up to the next `--` line.
fn asm_section(text: &str) -> Option<String> {
    let mut out = None::<String>;
    let mut in_asm = false;
    for line in text.lines() {
        if line.contains("--") && !line.trim_start().starts_with('#') {
            in_asm = line.contains("asm");
            if in_asm {
                out.get_or_insert_with(String::new);
            }
            continue;
        }
        if in_asm {
            let o = out.as_mut().expect("asm section");
            o.push_str(line);
            o.push('\n');
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn every_asm_section_assembles_to_the_suites_bytes() {
    let cases = cases();
    let mut files: Vec<_> = std::fs::read_dir(data_dir().join("tests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut checked = 0;
    for path in files {
        let name = format!("tests/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(asm) = asm_section(&text) else {
            continue;
        };
        let case = cases
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not in cases.jsonl"));
        let Some(expected) = field(case, "program_hex") else {
            continue;
        };
        let got =
            assemble_bytes(&asm, Syntax::Conformance).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hex(&got), expected, "{name}");
        checked += 1;

        // Our conformance listing of those bytes reads back to them too.
        let slots = assemble(&asm, Syntax::Conformance).unwrap();
        let text = listing(&slots, DisasmOptions::new(Dialect::Conformance)).unwrap();
        let again = assemble_bytes(&text, Syntax::Conformance)
            .unwrap_or_else(|e| panic!("{name}: our listing does not assemble: {e}\n{text}"));
        assert_eq!(hex(&again), expected, "{name}: listing round trip\n{text}");
    }
    assert!(checked >= 300, "only {checked} files checked");
}

/// The negative files whose assembly fails in the suite: our message is the
/// file's `-- error` text where it has one, else the suite's own message.
#[test]
fn negative_files_are_refused_with_the_suites_messages() {
    let cases = cases();
    let expected = [
        (
            "invalid_imm32_dec_range",
            "Immediate out of 32-bit range: 2147483648",
        ),
        (
            "invalid_imm32_hex_range",
            "Immediate out of 32-bit range: 0x100000000",
        ),
        ("invalid_label", "Invalid label: NOT_A_LABEL"),
        ("invalid_lock", "Invalid number of operands for lock"),
        ("invalid_lock2", "Invalid number of operands for lock"),
        ("invalid_mnemonic", "Invalid mnemonic: ldxq"),
        (
            "invalid_offset",
            "Failed to decode register and offset: %r1",
        ),
        (
            "invalid_offset_range",
            "Offset out of 16-bit range: +0x10000]",
        ),
        (
            "invalid_operand_count",
            "Invalid number of operands for mnemonic: lddw",
        ),
        ("invalid_register", "Invalid register"),
    ];
    for (file, msg) in expected {
        let name = format!("negative/{file}.data");
        let text = std::fs::read_to_string(data_dir().join(&name)).unwrap();
        // The file's own `-- error` text, where it has one, is what we match.
        let case = &cases[&name];
        if let Some(note) = field(case, "parse_note") {
            let suite = note.trim_start_matches("assembler/parser exception: ");
            let file_error = text.split("-- error\n").nth(1).map(str::trim);
            assert_eq!(file_error.unwrap_or(suite), msg, "{name}: expectation");
        }
        let err = assemble(&asm_section(&text).unwrap(), Syntax::Conformance).expect_err(&name);
        assert_eq!(err.kind.to_string(), msg, "{name}: {err}");
        assert_eq!(
            err.line,
            1 + asm_section(&text)
                .unwrap()
                .lines()
                .position(|l| !l.starts_with('#') && !l.trim().is_empty())
                .unwrap(),
            "{name}: line of {err}"
        );
    }
    // error.data assembles: its error happens at run time.
    let text = std::fs::read_to_string(data_dir().join("negative/error.data")).unwrap();
    assert_eq!(
        hex(&assemble_bytes(&asm_section(&text).unwrap(), Syntax::Conformance).unwrap()),
        field(&cases["negative/error.data"], "program_hex").unwrap()
    );
}

#[test]
fn errors_name_line_and_column() {
    let err = assemble("mov %r0, 1\nor %r0, %r50\n", Syntax::Conformance).unwrap_err();
    assert_eq!((err.line, err.column), (2, 9));
    assert_eq!(err.kind, AsmErrorKind::InvalidRegister);
    assert_eq!(
        err.to_string(),
        "line 2, column 9: Invalid register `%r50` (expected r0 to r10)"
    );
}
