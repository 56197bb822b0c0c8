//! The BTF type model: one Rust enum variant per BTF kind, with the encoding
//! quirks (kind_flag bitfield offsets, enum signedness, linkage packed into
//! `vlen`) already decoded, so that consumers match on meaning rather than on
//! raw `info` words.

/// A type id: an index into the type table, where 0 is `void`.
pub type TypeId = u32;

/// The BTF kinds, with the numbers of `include/uapi/linux/btf.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// The implicit type 0.
    #[doc(alias = "BTF_KIND_UNKN")]
    Void = 0,
    #[doc(alias = "BTF_KIND_INT")]
    Int = 1,
    #[doc(alias = "BTF_KIND_PTR")]
    Ptr = 2,
    #[doc(alias = "BTF_KIND_ARRAY")]
    Array = 3,
    #[doc(alias = "BTF_KIND_STRUCT")]
    Struct = 4,
    #[doc(alias = "BTF_KIND_UNION")]
    Union = 5,
    #[doc(alias = "BTF_KIND_ENUM")]
    Enum = 6,
    #[doc(alias = "BTF_KIND_FWD")]
    Fwd = 7,
    #[doc(alias = "BTF_KIND_TYPEDEF")]
    Typedef = 8,
    #[doc(alias = "BTF_KIND_VOLATILE")]
    Volatile = 9,
    #[doc(alias = "BTF_KIND_CONST")]
    Const = 10,
    #[doc(alias = "BTF_KIND_RESTRICT")]
    Restrict = 11,
    #[doc(alias = "BTF_KIND_FUNC")]
    Func = 12,
    #[doc(alias = "BTF_KIND_FUNC_PROTO")]
    FuncProto = 13,
    #[doc(alias = "BTF_KIND_VAR")]
    Var = 14,
    #[doc(alias = "BTF_KIND_DATASEC")]
    DataSec = 15,
    #[doc(alias = "BTF_KIND_FLOAT")]
    Float = 16,
    #[doc(alias = "BTF_KIND_DECL_TAG")]
    DeclTag = 17,
    #[doc(alias = "BTF_KIND_TYPE_TAG")]
    TypeTag = 18,
    #[doc(alias = "BTF_KIND_ENUM64")]
    Enum64 = 19,
}

impl Kind {
    /// Decodes a kind number; `None` for numbers this crate does not know.
    pub fn from_u8(k: u8) -> Option<Kind> {
        use Kind::*;
        Some(match k {
            0 => Void,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => DataSec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// The name bpftool prints for this kind (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn as_str(self) -> &'static str {
        use Kind::*;
        match self {
            Void => "UNKNOWN",
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            DataSec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The encoding bits of an `INT` (`BTF_INT_SIGNED`, `BTF_INT_CHAR`,
/// `BTF_INT_BOOL`). They are mutually exclusive in valid BTF; any other
/// combination is kept as `Other` so that a dump shows what the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntEncoding {
    None,
    Signed,
    Char,
    Bool,
    Other(u8),
}

impl IntEncoding {
    pub(crate) fn from_bits(b: u8) -> Self {
        match b {
            0 => IntEncoding::None,
            1 => IntEncoding::Signed,
            2 => IntEncoding::Char,
            4 => IntEncoding::Bool,
            o => IntEncoding::Other(o),
        }
    }
}

/// `BTF_KIND_INT`: an integer of `size` bytes whose value occupies `bits`
/// bits starting at `bit_offset` (both almost always `8*size` and 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Int {
    pub name_off: u32,
    pub size: u32,
    pub encoding: IntEncoding,
    pub bit_offset: u8,
    pub bits: u8,
}

/// A kind that only names another type: `PTR`, `TYPEDEF`, `VOLATILE`,
/// `CONST`, `RESTRICT`, `TYPE_TAG`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub name_off: u32,
    pub type_id: TypeId,
}

/// `BTF_KIND_ARRAY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Array {
    pub name_off: u32,
    pub elem_type: TypeId,
    pub index_type: TypeId,
    pub nelems: u32,
}

/// A member of a struct or union. Offsets are always decoded to bits:
/// with `kind_flag` set the raw word packs `bitfield_size << 24 | offset`,
/// without it the word is the bit offset and bitfields are described by
/// the member's `INT` type instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name_off: u32,
    pub type_id: TypeId,
    pub bit_offset: u32,
    /// 0 when the member is not a bitfield (or kind_flag is clear).
    pub bitfield_size: u8,
}

/// `BTF_KIND_STRUCT` or `BTF_KIND_UNION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite {
    pub name_off: u32,
    pub size: u32,
    /// Whether member offsets carry bitfield sizes (the type's kind_flag).
    pub kind_flag: bool,
    pub members: Vec<Member>,
}

/// One enumerator. `value` holds the raw bits, zero-extended from 32 bits
/// for `ENUM`; [`Enum::signed`] says how to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    pub name_off: u32,
    pub value: u64,
}

/// `BTF_KIND_ENUM` and `BTF_KIND_ENUM64` (the variant tells which).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    pub name_off: u32,
    pub size: u32,
    /// The kind_flag: enumerators are signed values.
    pub signed: bool,
    pub values: Vec<EnumValue>,
}

impl Enum {
    /// The enumerator's value as a signed number (sign-extended from 32 bits
    /// for 32-bit `ENUM` values).
    pub fn signed_value(&self, v: &EnumValue, is64: bool) -> i64 {
        if is64 {
            v.value as i64
        } else {
            v.value as u32 as i32 as i64
        }
    }
}

/// Whether a forward declaration is of a struct or a union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwdKind {
    Struct,
    Union,
}

/// `BTF_KIND_FWD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fwd {
    pub name_off: u32,
    pub kind: FwdKind,
}

/// Linkage of a `FUNC` (`BTF_FUNC_STATIC`, `_GLOBAL`, `_EXTERN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuncLinkage {
    Static,
    Global,
    Extern,
    /// A value the kernel would reject; kept so a dump can show it.
    Unknown(u16),
}

/// `BTF_KIND_FUNC`: a named function whose signature is `proto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Func {
    pub name_off: u32,
    pub proto: TypeId,
    pub linkage: FuncLinkage,
}

/// A parameter of a function prototype. A last parameter with type 0 and
/// no name marks a variadic function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name_off: u32,
    pub type_id: TypeId,
}

/// `BTF_KIND_FUNC_PROTO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncProto {
    pub name_off: u32,
    pub ret_type: TypeId,
    pub params: Vec<Param>,
}

impl FuncProto {
    /// Whether the prototype ends with `...`.
    pub fn is_variadic(&self) -> bool {
        matches!(self.params.last(), Some(p) if p.type_id == 0 && p.name_off == 0)
    }
}

/// Linkage of a `VAR` (`BTF_VAR_STATIC`, `_GLOBAL_ALLOCATED`, `_GLOBAL_EXTERN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarLinkage {
    Static,
    Global,
    Extern,
    Unknown(u32),
}

/// `BTF_KIND_VAR`: a global variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name_off: u32,
    pub type_id: TypeId,
    pub linkage: VarLinkage,
}

/// Where one variable lives inside a data section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarSecInfo {
    pub type_id: TypeId,
    pub offset: u32,
    pub size: u32,
}

/// `BTF_KIND_DATASEC`: an ELF data section (`.data`, `.bss`, `.maps`, ...)
/// and the variables in it. `size` is 0 in objects until a loader fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSec {
    pub name_off: u32,
    pub size: u32,
    pub vars: Vec<VarSecInfo>,
}

/// `BTF_KIND_FLOAT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Float {
    pub name_off: u32,
    pub size: u32,
}

/// `BTF_KIND_DECL_TAG`: `__attribute__((btf_decl_tag("name")))` on a
/// declaration; `component_idx` is -1 for the declaration itself, else the
/// index of the member or parameter it is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclTag {
    pub name_off: u32,
    pub type_id: TypeId,
    pub component_idx: i32,
}

/// One BTF type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// Type id 0.
    Void,
    Int(Int),
    Ptr(Ref),
    Array(Array),
    Struct(Composite),
    Union(Composite),
    Enum(Enum),
    Fwd(Fwd),
    Typedef(Ref),
    Volatile(Ref),
    Const(Ref),
    Restrict(Ref),
    Func(Func),
    FuncProto(FuncProto),
    Var(Var),
    DataSec(DataSec),
    Float(Float),
    DeclTag(DeclTag),
    TypeTag(Ref),
    Enum64(Enum),
}

impl Type {
    /// The kind of this type.
    pub fn kind(&self) -> Kind {
        match self {
            Type::Void => Kind::Void,
            Type::Int(_) => Kind::Int,
            Type::Ptr(_) => Kind::Ptr,
            Type::Array(_) => Kind::Array,
            Type::Struct(_) => Kind::Struct,
            Type::Union(_) => Kind::Union,
            Type::Enum(_) => Kind::Enum,
            Type::Fwd(_) => Kind::Fwd,
            Type::Typedef(_) => Kind::Typedef,
            Type::Volatile(_) => Kind::Volatile,
            Type::Const(_) => Kind::Const,
            Type::Restrict(_) => Kind::Restrict,
            Type::Func(_) => Kind::Func,
            Type::FuncProto(_) => Kind::FuncProto,
            Type::Var(_) => Kind::Var,
            Type::DataSec(_) => Kind::DataSec,
            Type::Float(_) => Kind::Float,
            Type::DeclTag(_) => Kind::DeclTag,
            Type::TypeTag(_) => Kind::TypeTag,
            Type::Enum64(_) => Kind::Enum64,
        }
    }

    /// Offset of the type's name in the string section (0: anonymous).
    pub fn name_off(&self) -> u32 {
        match self {
            Type::Void => 0,
            Type::Int(t) => t.name_off,
            Type::Ptr(t)
            | Type::Typedef(t)
            | Type::Volatile(t)
            | Type::Const(t)
            | Type::Restrict(t)
            | Type::TypeTag(t) => t.name_off,
            Type::Array(t) => t.name_off,
            Type::Struct(t) | Type::Union(t) => t.name_off,
            Type::Enum(t) | Type::Enum64(t) => t.name_off,
            Type::Fwd(t) => t.name_off,
            Type::Func(t) => t.name_off,
            Type::FuncProto(t) => t.name_off,
            Type::Var(t) => t.name_off,
            Type::DataSec(t) => t.name_off,
            Type::Float(t) => t.name_off,
            Type::DeclTag(t) => t.name_off,
        }
    }

    /// The one type this type refers to, for kinds that refer to exactly
    /// one (pointers, modifiers, typedefs, arrays' elements, functions'
    /// prototypes, variables, tags).
    pub fn referenced_type(&self) -> Option<TypeId> {
        match self {
            Type::Ptr(t)
            | Type::Typedef(t)
            | Type::Volatile(t)
            | Type::Const(t)
            | Type::Restrict(t)
            | Type::TypeTag(t) => Some(t.type_id),
            Type::Array(a) => Some(a.elem_type),
            Type::Func(f) => Some(f.proto),
            Type::Var(v) => Some(v.type_id),
            Type::DeclTag(d) => Some(d.type_id),
            _ => None,
        }
    }

    /// Whether this is a qualifier or tag that C skips over for layout:
    /// `const`, `volatile`, `restrict`, `type_tag`.
    pub fn is_modifier(&self) -> bool {
        matches!(
            self,
            Type::Const(_) | Type::Volatile(_) | Type::Restrict(_) | Type::TypeTag(_)
        )
    }

    /// The members of a struct or union.
    pub fn members(&self) -> Option<&[Member]> {
        match self {
            Type::Struct(c) | Type::Union(c) => Some(&c.members),
            _ => None,
        }
    }
}
