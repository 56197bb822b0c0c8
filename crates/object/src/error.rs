//! The one error type of the crate. Every variant names the place it is
//! about — section, symbol, program, instruction index, offset — so that a
//! user can find the offending bytes with `llvm-objdump`; [`ObjectSpec::open`]
//! adds the file.
//!
//! [`ObjectSpec::open`]: crate::ObjectSpec::open

use std::path::PathBuf;

/// Why an object could not be turned into an [`crate::ObjectSpec`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    /// An error while opening `path`; the cause says what and where.
    #[error("{path}: {source}")]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ObjectError>,
    },

    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The ELF container itself is malformed (`what` names the structure
    /// being read: header, section table, symbol table, ...).
    #[error("malformed ELF ({what}): {source}")]
    Elf {
        what: &'static str,
        #[source]
        source: object::read::Error,
    },

    /// The ELF container breaks a rule we check ourselves.
    #[error("malformed ELF ({what}): {why}")]
    BadElf {
        what: &'static str,
        why: &'static str,
    },

    /// A section's contents lie outside the file.
    #[error("section #{index} '{section}': contents outside the file: {source}")]
    SectionData {
        index: usize,
        section: String,
        #[source]
        source: object::read::Error,
    },

    /// A feature of the object that oxbpf does not implement. Never a guess:
    /// the object may be valid, we just don't handle it.
    #[error("unsupported: {what}")]
    Unsupported { what: String },

    /// `e_machine` is not `EM_BPF`.
    #[error("not an eBPF object: e_machine is {machine}, expected 247 (EM_BPF)")]
    NotBpf { machine: u16 },

    /// A section name is not valid UTF-8 or its string-table offset is out
    /// of range.
    #[error("section #{section}: bad name ({what})")]
    BadSectionName { section: usize, what: &'static str },

    /// A symbol's name could not be read.
    #[error("symbol #{symbol}: bad name")]
    BadSymbolName { symbol: usize },

    /// The object has no `SHT_SYMTAB` (stripped?).
    #[error("no symbol table (stripped object?)")]
    NoSymbolTable,

    /// More than one `SHT_SYMTAB`.
    #[error("more than one symbol table")]
    MultipleSymbolTables,

    /// A symbol refers to a section index that does not exist.
    #[error("symbol #{symbol} '{name}': section index {section} out of range")]
    SymbolSection {
        symbol: usize,
        name: String,
        section: usize,
    },

    /// A relocation section header is malformed.
    #[error("relocation section '{section}': {why}")]
    BadRelocationSection { section: String, why: &'static str },

    /// A function symbol does not describe whole instructions inside its
    /// section.
    #[error("section '{section}': program '{name}' at byte offset {offset} with size {size} is corrupt ({why})")]
    BadProgram {
        section: String,
        name: String,
        offset: u64,
        size: u64,
        why: &'static str,
    },

    /// Two functions of one section overlap.
    #[error("section '{section}': functions '{first}' and '{second}' overlap")]
    OverlappingPrograms {
        section: String,
        first: String,
        second: String,
    },

    /// The `version` section is not 4 bytes.
    #[error("section 'version': size {size}, expected 4")]
    BadVersion { size: usize },

    /// A relocation entry is malformed.
    #[error("relocation section '{section}' entry #{index}: {why}")]
    BadRelocation {
        section: String,
        index: usize,
        why: String,
    },

    /// A relocation points at an instruction that cannot take it.
    #[error("program '{program}' insn {insn}: relocation against '{symbol}' on opcode {code:#04x} ({why})")]
    BadRelocationTarget {
        program: String,
        insn: usize,
        symbol: String,
        code: u8,
        why: &'static str,
    },

    /// A relocation names a symbol that nothing in the object defines.
    #[error("program '{program}' insn {insn}: unresolved symbol '{symbol}' (section '{section}'); forgot to initialise a global variable?")]
    UnresolvedSymbol {
        program: String,
        insn: usize,
        symbol: String,
        section: String,
    },

    /// A relocation against a symbol in a section that holds no map.
    #[error("program '{program}' insn {insn}: relocation against '{symbol}' in section '{section}': {why}")]
    BadMapReference {
        program: String,
        insn: usize,
        symbol: String,
        section: String,
        why: &'static str,
    },

    /// A bpf-to-bpf call or function address whose target is not the start
    /// of a known `.text` function.
    #[error("program '{program}' insn {insn}: call target {target} is not a known subprogram")]
    BadCallTarget {
        program: String,
        insn: usize,
        target: i64,
    },

    /// A program grew past the instruction limit while linking subprograms.
    #[error("program '{program}': {insns} instructions after linking exceed the limit")]
    TooLarge { program: String, insns: usize },

    /// The legacy `maps` section cannot be split into equal records.
    #[error("section 'maps': {size} bytes cannot hold {count} equally sized map definitions")]
    LegacyMapsSize { size: u64, count: usize },

    /// A legacy map definition is malformed or uses fields we don't know.
    #[error("legacy map '{map}' at offset {offset}: {why}")]
    LegacyMap {
        map: String,
        offset: u64,
        why: &'static str,
    },

    /// A map definition names a type number that does not exist.
    #[error("map '{map}': unknown map type {map_type}")]
    UnknownMapType { map: String, map_type: u32 },

    /// A BTF-defined map definition in `.maps` is malformed.
    #[error("map '{map}': {why}")]
    BtfMap { map: String, why: String },

    /// An entry of `.rel.maps` (initial `values` of a map) is malformed.
    #[error(".maps relocation #{index} against '{symbol}': {why}")]
    MapRelocation {
        index: usize,
        symbol: String,
        why: String,
    },

    /// The `.BTF` section could not be parsed, but the object needs it.
    #[error("section '.BTF': {source}")]
    Btf {
        #[source]
        source: btf::BtfError,
    },

    /// A BTF query failed while interpreting `what`.
    #[error("{what}: {source}")]
    BtfQuery {
        what: String,
        #[source]
        source: btf::BtfError,
    },

    /// A `DATASEC` variable cannot be laid out.
    #[error("BTF DATASEC '{datasec}' variable #{var}: {why}")]
    BadDatasec {
        datasec: String,
        var: usize,
        why: String,
    },

    /// The object needs BTF (BTF-defined maps, externs) and has none.
    #[error("{what} needs BTF, but the object has no usable .BTF section")]
    BtfRequired { what: &'static str },

    /// An `extern` variable could not be described or resolved.
    #[error("extern '{name}': {why}")]
    Extern { name: String, why: String },

    /// A `.BTF.ext` record is inconsistent with the code.
    #[error("program '{program}': .BTF.ext {what}: {why}")]
    BtfExt {
        program: String,
        what: &'static str,
        why: String,
    },

    /// A CO-RE relocation is malformed or ambiguous (unsatisfiable ones
    /// are not errors: their instruction is poisoned).
    #[error("program '{program}' insn {insn}: CO-RE relocation #{relo} ({kind}): {why}")]
    Core {
        program: String,
        insn: usize,
        relo: usize,
        kind: &'static str,
        why: String,
    },
}

impl ObjectError {
    /// Shorthand for [`ObjectError::Unsupported`].
    pub(crate) fn unsupported(what: impl Into<String>) -> Self {
        ObjectError::Unsupported { what: what.into() }
    }

    /// The innermost error (through [`ObjectError::InFile`]).
    pub fn root(&self) -> &ObjectError {
        match self {
            ObjectError::InFile { source, .. } => source.root(),
            e => e,
        }
    }

    /// Whether this (or the error it wraps) is [`ObjectError::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        matches!(self.root(), ObjectError::Unsupported { .. })
    }
}

pub(crate) type Result<T> = std::result::Result<T, ObjectError>;
