//! The crate's one error type. Every parse rejection names the section
//! (`.BTF` header, types, strings, or a `.BTF.ext` subsection), the byte
//! offset from the start of the blob it was given, and the type id when one
//! is involved, so that a user can find the bad bytes with a hex dump.

use crate::types::{Kind, TypeId};

/// Why BTF or BTF.ext could not be parsed, or a type query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    /// The blob ends before a fixed-size structure does.
    #[error("{section}: truncated at byte offset {offset}: need {need} bytes, {have} available")]
    Truncated {
        section: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    /// The first two bytes are not 0xeB9F in either byte order.
    #[error("{section}: bad magic 0x{found:04x} at byte offset 0 (expected 0xeb9f)")]
    BadMagic { section: &'static str, found: u16 },
    /// A version other than 1.
    #[error("{section}: unsupported version {version} at byte offset 2 (expected 1)")]
    BadVersion { section: &'static str, version: u8 },
    /// `hdr_len` is smaller than the fixed header or larger than the blob.
    #[error("{section}: bad header length {hdr_len} at byte offset 4 (blob is {len} bytes)")]
    BadHeaderLen {
        section: &'static str,
        hdr_len: u32,
        len: usize,
    },
    /// A section's offset/length pair reaches past the end of the blob.
    #[error("{section}: section at offset {offset} length {len} (relative to the header end at {base}) does not fit in {blob_len} bytes")]
    SectionOutOfBounds {
        section: &'static str,
        offset: u32,
        len: u32,
        base: usize,
        blob_len: usize,
    },
    /// The type section is not 4-byte aligned or the two sections overlap.
    #[error("{section}: bad layout: {reason}")]
    BadLayout {
        section: &'static str,
        reason: &'static str,
    },
    /// The string section does not start or end with a NUL byte.
    #[error("string section at byte offset {offset}: {reason}")]
    BadStrings { offset: usize, reason: &'static str },
    /// A type record is cut short by the end of the type section.
    #[error("type [{type_id}] at byte offset {offset}: truncated: {kind} with vlen {vlen} needs {need} bytes, {have} left in the type section")]
    TruncatedType {
        type_id: TypeId,
        offset: usize,
        kind: Kind,
        vlen: u16,
        need: usize,
        have: usize,
    },
    /// A kind number this crate does not know.
    #[error("type [{type_id}] at byte offset {offset}: unknown kind {kind}")]
    UnknownKind {
        type_id: TypeId,
        offset: usize,
        kind: u8,
    },
    /// A name offset past the end of the string section.
    #[error("type [{type_id}] at byte offset {offset}: name offset {name_off} is outside the string section ({str_len} bytes)")]
    BadNameOffset {
        type_id: TypeId,
        offset: usize,
        name_off: u32,
        str_len: u32,
    },
    /// A type refers to a type id that does not exist.
    #[error("type [{type_id}] at byte offset {offset}: refers to type id {target}, but only {count} types exist")]
    BadTypeRef {
        type_id: TypeId,
        offset: usize,
        target: u32,
        count: u32,
    },
    /// A field's value is not allowed for its kind.
    #[error("type [{type_id}] at byte offset {offset}: {reason}")]
    BadType {
        type_id: TypeId,
        offset: usize,
        reason: &'static str,
    },
    /// More types than a type id can address.
    #[error("too many types at byte offset {offset}")]
    TooManyTypes { offset: usize },
    /// Asked for a type id that does not exist.
    #[error("type id {type_id} not found ({count} types)")]
    NoSuchType { type_id: TypeId, count: u32 },
    /// A chain of typedefs/modifiers/arrays loops or is too deep to follow.
    #[error("type [{type_id}]: type chain is cyclic or deeper than {limit}")]
    TypeLoop { type_id: TypeId, limit: usize },
    /// `size_of` on a kind that has no size (func, fwd, void, ...).
    #[error("type [{type_id}]: {kind} has no size")]
    NoSize { type_id: TypeId, kind: Kind },
    /// A size computation overflowed 64 bits.
    #[error("type [{type_id}]: size overflows")]
    SizeOverflow { type_id: TypeId },
    /// A dump would exceed its work or output bound (crafted input that
    /// expands exponentially or repeats huge names).
    #[error("type [{type_id}]: dump stopped: {reason}")]
    DumpTooLarge {
        type_id: TypeId,
        reason: &'static str,
    },
    /// A `.BTF.ext` subsection is malformed.
    #[error(".BTF.ext {section}: byte offset {offset}: {reason}")]
    BadExt {
        section: &'static str,
        offset: usize,
        reason: String,
    },
    /// The ELF object has no `.BTF` section (from helpers that open objects).
    #[error("no .BTF section")]
    NoBtf,
}
