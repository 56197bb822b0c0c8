//! Parsing hand-built BTF: every rejection names its place, both byte
//! orders parse alike, and queries stop on cycles.

mod common;
use oxbpf_btf::*;

/// Builds BTF blobs type by type (little-endian unless swapped).
#[derive(Default)]
struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            types: vec![],
            strings: vec![0],
        }
    }
    fn str(&mut self, s: &str) -> u32 {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }
    fn words(&mut self, w: &[u32]) -> &mut Self {
        for x in w {
            self.types.extend_from_slice(&x.to_le_bytes());
        }
        self
    }
    fn ty(&mut self, name: u32, kind: u32, kflag: bool, vlen: u32, size_or_type: u32) -> &mut Self {
        let info = (kflag as u32) << 31 | kind << 24 | vlen;
        self.words(&[name, info, size_or_type])
    }
    fn int(&mut self, name: &str, size: u32, signed: bool) -> &mut Self {
        let n = self.str(name);
        self.ty(n, 1, false, 0, size)
            .words(&[((signed as u32) << 24) | (size * 8)])
    }
    fn build(&self) -> Vec<u8> {
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for w in [
            24,
            0,
            self.types.len() as u32,
            self.types.len() as u32,
            self.strings.len() as u32,
        ] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&self.types);
        b.extend_from_slice(&self.strings);
        b
    }
}

/// Converts a little-endian blob built by [`Builder`] to big-endian: every
/// header and type word is swapped; strings are bytes.
fn to_big_endian(le: &[u8], type_len: usize) -> Vec<u8> {
    let mut be = le.to_vec();
    be[0] = 0xeb;
    be[1] = 0x9f;
    for off in (4..24 + type_len).step_by(4) {
        be[off..off + 4].reverse();
    }
    be
}

/// int, struct { int a; int b:3 (kflag) ; }, ptr to the struct, typedef.
fn sample() -> Builder {
    let mut b = Builder::new();
    b.int("int", 4, true); // [1]
    let (s, a, bf) = (b.str("s"), b.str("a"), b.str("b"));
    b.ty(s, 4, true, 2, 8)
        .words(&[a, 1, 0, bf, 1, 3 << 24 | 32]); // [2]
    b.ty(0, 2, false, 0, 2); // [3] ptr -> s
    let t = b.str("s_t");
    b.ty(t, 8, false, 0, 2); // [4] typedef s s_t
    b.ty(0, 10, false, 0, 4); // [5] const s_t
    let arr_name = 0;
    b.ty(arr_name, 3, false, 0, 0).words(&[5, 1, 3]); // [6] const s_t[3]
    b
}

#[test]
fn sample_parses_with_decoded_fields() {
    let btf = Btf::parse(&sample().build()).unwrap();
    assert_eq!(btf.type_count(), 7);
    let Some(Type::Struct(c)) = btf.type_by_id(2) else {
        panic!("struct expected")
    };
    assert_eq!(c.members[1].bit_offset, 32);
    assert_eq!(c.members[1].bitfield_size, 3);
    assert_eq!(btf.find_by_name(Kind::Struct, "s"), Some(2));
    assert_eq!(btf.find_by_name(Kind::Typedef, "s"), None);
    assert_eq!(btf.resolve(5).unwrap(), 2);
    assert_eq!(btf.skip_modifiers(5).unwrap(), 4);
    assert_eq!(btf.size_of(6).unwrap(), 24);
    assert_eq!(btf.size_of(3).unwrap(), 8);
    assert_eq!(btf.align_of(6).unwrap(), 4);
    let (idx, m) = btf.member_by_name(5, "b").unwrap().unwrap();
    assert_eq!((idx, m.bitfield_size), (1, 3));
    assert!(
        btf.member_by_name(3, "b").unwrap().is_none(),
        "a pointer has no members"
    );
    assert_eq!(btf.type_name(4), Some("s_t"));
    assert_eq!(btf.type_name(3), Some(""));
    assert!(matches!(
        btf.size_of(0),
        Err(BtfError::NoSize { type_id: 0, .. })
    ));
}

#[test]
fn big_endian_blob_parses_to_the_same_types() {
    let b = sample();
    let le = Btf::parse(&b.build()).unwrap();
    let be = Btf::parse(&to_big_endian(&b.build(), b.types.len())).unwrap();
    assert!(be.is_big_endian());
    assert_eq!(
        le.types().collect::<Vec<_>>(),
        be.types().collect::<Vec<_>>()
    );
}

#[test]
fn header_rejections_name_the_problem() {
    let good = sample().build();
    assert!(matches!(
        Btf::parse(&good[..10]),
        Err(BtfError::Truncated {
            offset: 0,
            need: 24,
            have: 10,
            ..
        })
    ));
    let mut bad = good.clone();
    bad[0] = 0;
    assert!(matches!(Btf::parse(&bad), Err(BtfError::BadMagic { .. })));
    let mut bad = good.clone();
    bad[2] = 2;
    assert!(matches!(
        Btf::parse(&bad),
        Err(BtfError::BadVersion { version: 2, .. })
    ));
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&1000u32.to_le_bytes());
    assert!(matches!(
        Btf::parse(&bad),
        Err(BtfError::BadHeaderLen { hdr_len: 1000, .. })
    ));
    let mut bad = good.clone();
    bad[20..24].copy_from_slice(&u32::MAX.to_le_bytes()); // str_len
    assert!(matches!(
        Btf::parse(&bad),
        Err(BtfError::SectionOutOfBounds {
            section: ".BTF strings",
            ..
        })
    ));
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] = b'x';
    assert!(matches!(Btf::parse(&bad), Err(BtfError::BadStrings { .. })));
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&2u32.to_le_bytes()); // misaligned type_off
    assert!(Btf::parse(&bad).is_err());
}

#[test]
fn type_rejections_carry_type_id_and_offset() {
    // Unknown kind 25 as the second type, at byte offset 24 + 16.
    let mut b = Builder::new();
    b.int("int", 4, true).ty(0, 25, false, 0, 0);
    assert_eq!(
        Btf::parse(&b.build()),
        Err(BtfError::UnknownKind {
            type_id: 2,
            offset: 40,
            kind: 25
        })
    );
    // A struct claiming 3 members with room for 1.
    let mut b = Builder::new();
    b.int("int", 4, true)
        .ty(0, 4, false, 3, 4)
        .words(&[0, 1, 0]);
    assert!(matches!(
        Btf::parse(&b.build()),
        Err(BtfError::TruncatedType {
            type_id: 2,
            offset: 40,
            kind: Kind::Struct,
            vlen: 3,
            need: 48,
            have: 24
        })
    ));
    // A pointer to type 9 of 2.
    let mut b = Builder::new();
    b.int("int", 4, true).ty(0, 2, false, 0, 9);
    assert_eq!(
        Btf::parse(&b.build()),
        Err(BtfError::BadTypeRef {
            type_id: 2,
            offset: 40,
            target: 9,
            count: 3
        })
    );
    // A member name past the strings.
    let mut b = Builder::new();
    b.int("int", 4, true)
        .ty(0, 4, false, 1, 4)
        .words(&[999, 1, 0]);
    assert!(matches!(
        Btf::parse(&b.build()),
        Err(BtfError::BadNameOffset {
            type_id: 2,
            name_off: 999,
            ..
        })
    ));
    // Trailing bytes shorter than a type header.
    let mut b = Builder::new();
    b.int("int", 4, true).words(&[0]);
    assert!(matches!(
        Btf::parse(&b.build()),
        Err(BtfError::Truncated {
            offset: 40,
            need: 12,
            have: 4,
            ..
        })
    ));
}

#[test]
fn cycles_are_reported_not_followed_forever() {
    let mut b = Builder::new();
    let a = b.str("a");
    b.ty(a, 8, false, 0, 2); // [1] typedef a -> [2]
    b.ty(0, 10, false, 0, 1); // [2] const -> [1]
    b.ty(0, 3, false, 0, 0).words(&[3, 1, 2]); // [3] array of itself
    let s = b.str("s");
    b.ty(s, 4, false, 1, 4).words(&[a, 4, 0]); // [4] struct s { struct s x; }
    let btf = Btf::parse(&b.build()).unwrap();
    assert!(matches!(btf.resolve(1), Err(BtfError::TypeLoop { .. })));
    assert!(matches!(btf.size_of(1), Err(BtfError::TypeLoop { .. })));
    assert!(matches!(
        btf.size_of(3),
        Err(BtfError::TypeLoop { .. } | BtfError::SizeOverflow { .. })
    ));
    assert!(matches!(btf.align_of(4), Err(BtfError::TypeLoop { .. })));
    // Dumps stay total on such input.
    let mut s = String::new();
    dump::raw(&btf, &mut s).unwrap();
    assert!(s.contains("[3] ARRAY '(anon)' type_id=3"));
    assert!(dump::c::header(&btf, &mut String::new()).is_err());
}

#[test]
fn size_overflow_is_an_error() {
    let mut b = Builder::new();
    b.int("long", 8, true);
    b.ty(0, 3, false, 0, 0).words(&[1, 1, u32::MAX]); // [2] long[4G]
    b.ty(0, 3, false, 0, 0).words(&[2, 1, u32::MAX]); // [3] long[4G][4G]
    let btf = Btf::parse(&b.build()).unwrap();
    assert_eq!(btf.size_of(2).unwrap(), 8 * u32::MAX as u64);
    assert!(matches!(
        btf.size_of(3),
        Err(BtfError::SizeOverflow { type_id: 3 })
    ));
}

#[test]
fn find_member_descends_into_anonymous_members() {
    let btf = common::btf_of("structs");
    let shape = btf.find_by_name(Kind::Struct, "shape").unwrap();
    let f = btf
        .find_member(shape, "h")
        .unwrap()
        .expect("h inside anonymous union/struct");
    // name[16] + corners[4]*8 + center ptr = 56 bytes, then w:16 bits.
    assert_eq!(f.bit_offset, 56 * 8 + 16);
    assert!(btf.member_by_name(shape, "h").unwrap().is_none());
    assert!(btf.find_member(shape, "nope").unwrap().is_none());
}

#[test]
fn btf_defined_maps_can_be_read() {
    // What the object loader does with `.maps`: each variable is a struct
    // whose members encode the map's parameters.
    let btf = common::btf_of("maps");
    let (_, sec) = btf.datasec(".maps").expect(".maps");
    let mut seen = vec![];
    for v in &sec.vars {
        let Some(Type::Var(var)) = btf.type_by_id(v.type_id) else {
            panic!("VAR expected")
        };
        let name = btf.name_by_offset(var.name_off).unwrap();
        // `__uint(max_entries, N)` is `int (*max_entries)[N]`.
        let m = btf
            .member_by_name(var.type_id, "max_entries")
            .unwrap()
            .unwrap()
            .1;
        let Some(Type::Ptr(p)) = btf.type_by_id(m.type_id) else {
            panic!("ptr expected")
        };
        let Some(Type::Array(a)) = btf.type_by_id(p.type_id) else {
            panic!("array expected")
        };
        let key_size = btf
            .member_by_name(var.type_id, "key")
            .unwrap()
            .map(|(_, k)| match btf.type_by_id(k.type_id) {
                Some(Type::Ptr(p)) => btf.size_of(p.type_id).unwrap(),
                _ => panic!("key is a pointer"),
            });
        seen.push((name.to_string(), a.nelems, key_size));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("counters".to_string(), 4, Some(4)),
            ("events".to_string(), 4096, None),
            ("flows".to_string(), 1024, Some(8)),
            ("inner1".to_string(), 1, Some(4)),
            ("jumps".to_string(), 8, None),
            ("outer".to_string(), 2, Some(4)),
        ]
    );
}

#[test]
fn c_dump_of_explosive_input_stops_with_an_error() {
    // Nested anonymous structs with two members each: the inline C text
    // doubles per level, 2^40 members in all.
    let mut b = Builder::new();
    b.int("int", 4, true); // [1]
    let x = b.str("x");
    let y = b.str("y");
    b.ty(0, 4, false, 2, 8).words(&[x, 1, 0, y, 1, 32]); // [2]
    for id in 3..43 {
        b.ty(0, 4, false, 2, 8)
            .words(&[x, id - 1, 0, y, id - 1, 32]);
    }
    let top = b.str("top");
    b.ty(top, 4, false, 1, 8).words(&[x, 42, 0]);
    let btf = Btf::parse(&b.build()).unwrap();
    let t = std::time::Instant::now();
    let err = dump::c::header(&btf, &mut String::new()).unwrap_err();
    assert!(err.to_string().contains("dump stopped"), "{err}");
    assert!(t.elapsed().as_secs() < 10);

    // A 100 KB name behind 2000 typedefs would print 200 MB.
    let mut b = Builder::new();
    let long = b.str(&"n".repeat(100_000));
    b.ty(long, 4, false, 0, 0); // [1] struct nnnn... {}
    for _ in 0..2000 {
        let t = b.str("t");
        b.ty(t, 8, false, 0, 1);
    }
    let btf = Btf::parse(&b.build()).unwrap();
    let mut out = String::new();
    let err = dump::c::header(&btf, &mut out).unwrap_err();
    assert!(err.to_string().contains("output larger"), "{err}");
    assert!(out.len() < 64 << 20);
}

#[test]
fn name_index_agrees_with_the_linear_scan() {
    let btf = common::btf_of("typedefs");
    let idx = btf.name_index();
    for (id, t) in btf.types() {
        if let Some(n) = btf.name_by_offset(t.name_off()).filter(|n| !n.is_empty()) {
            assert!(idx.get(n).contains(&id));
            assert_eq!(btf.find_by_name(t.kind(), n).map(|f| f <= id), Some(true));
        }
    }
    assert!(idx.get("no such name").is_empty());
}
