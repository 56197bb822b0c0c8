//! [`Btf`]: the parsed type table and the queries other crates build on
//! (lookup by id and name, typedef/modifier resolution, sizes, members).
//!
//! Parsing guarantees that every reference points at an existing type, but
//! not that references are acyclic (`typedef A A;` is well-formed bytes), so
//! every query that follows references counts its steps and fails with
//! [`BtfError::TypeLoop`] past [`MAX_CHAIN`].

use crate::error::BtfError;
use crate::parse::Header;
use crate::types::*;

/// How many references a query follows before it calls the chain a loop.
/// Real type chains (e.g. `const volatile u32[4][8]` behind typedefs) are a
/// few links long; libbpf uses 32.
pub const MAX_CHAIN: usize = 64;

/// The size of a pointer: BPF is a 64-bit target.
pub const PTR_SIZE: u32 = 8;

/// A parsed `.BTF` blob: header, type table (index 0 is `void`) and the
/// string section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Btf {
    pub(crate) header: Header,
    pub(crate) big_endian: bool,
    pub(crate) types: Vec<Type>,
    pub(crate) strings: Vec<u8>,
}

/// A member found by [`Btf::find_member`], possibly inside anonymous
/// structs/unions, with its bit offset from the start of the outer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundMember<'a> {
    pub member: &'a Member,
    pub bit_offset: u64,
}

/// Type ids by name, from [`Btf::name_index`]; ids are in increasing order.
#[derive(Debug, Clone, Default)]
pub struct NameIndex {
    map: std::collections::HashMap<String, Vec<TypeId>>,
}

impl NameIndex {
    /// Every type called `name`, of any kind.
    pub fn get(&self, name: &str) -> &[TypeId] {
        self.map.get(name).map(|v| v.as_slice()).unwrap_or(&[])
    }
}

impl Btf {
    /// Parses `.BTF` bytes: an ELF section's contents or a raw BTF file such
    /// as `/sys/kernel/btf/vmlinux`. Either byte order is accepted.
    pub fn parse(bytes: &[u8]) -> Result<Btf, BtfError> {
        crate::parse::parse(bytes)
    }

    /// The header as read.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether the blob was big-endian.
    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// Number of types, counting `void` (so valid ids are `0..type_count()`).
    pub fn type_count(&self) -> u32 {
        self.types.len() as u32
    }

    /// The type with this id; id 0 is [`Type::Void`].
    pub fn type_by_id(&self, id: TypeId) -> Option<&Type> {
        self.types.get(id as usize)
    }

    /// Like [`Btf::type_by_id`] but with an error naming the id.
    pub fn get(&self, id: TypeId) -> Result<&Type, BtfError> {
        self.type_by_id(id).ok_or(BtfError::NoSuchType {
            type_id: id,
            count: self.type_count(),
        })
    }

    /// Every type but `void`, with its id, in id order.
    pub fn types(&self) -> impl ExactSizeIterator<Item = (TypeId, &Type)> + '_ {
        self.types
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, t)| (i as TypeId, t))
    }

    /// The raw string section.
    pub fn strings(&self) -> &[u8] {
        &self.strings
    }

    /// The NUL-terminated string at `off` in the string section; `None` if
    /// the offset is out of range or the bytes are not UTF-8. Offset 0 is "".
    pub fn name_by_offset(&self, off: u32) -> Option<&str> {
        let rest = self.strings.get(off as usize..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }

    /// The name of type `id`: "" when anonymous, `None` if no such type.
    pub fn type_name(&self, id: TypeId) -> Option<&str> {
        self.name_by_offset(self.type_by_id(id)?.name_off())
    }

    /// The first type of `kind` named `name`, scanning in id order.
    pub fn find_by_name(&self, kind: Kind, name: &str) -> Option<TypeId> {
        self.types()
            .find(|(_, t)| t.kind() == kind && self.name_by_offset(t.name_off()) == Some(name))
            .map(|(id, _)| id)
    }

    /// Builds a name → ids index, for callers that look up many names in a
    /// large BTF (CO-RE against vmlinux), where [`Btf::find_by_name`]'s
    /// linear scan would add up.
    pub fn name_index(&self) -> NameIndex {
        let mut map: std::collections::HashMap<String, Vec<TypeId>> =
            std::collections::HashMap::new();
        for (id, t) in self.types() {
            if t.name_off() == 0 {
                continue;
            }
            if let Some(n) = self.name_by_offset(t.name_off()) {
                map.entry(n.to_string()).or_default().push(id);
            }
        }
        NameIndex { map }
    }

    /// Every type named `name`, of any kind.
    pub fn find_all_by_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = TypeId> + 'a {
        self.types()
            .filter(move |(_, t)| {
                t.name_off() != 0 && self.name_by_offset(t.name_off()) == Some(name)
            })
            .map(|(id, _)| id)
    }

    /// Follows `const`, `volatile`, `restrict` and `type_tag` (not typedefs).
    pub fn skip_modifiers(&self, id: TypeId) -> Result<TypeId, BtfError> {
        self.follow(id, |t| t.is_modifier())
    }

    /// Follows typedefs and modifiers to the underlying type, as C does when
    /// it asks "what is this really".
    pub fn resolve(&self, id: TypeId) -> Result<TypeId, BtfError> {
        self.follow(id, |t| t.is_modifier() || matches!(t, Type::Typedef(_)))
    }

    fn follow(&self, mut id: TypeId, skip: impl Fn(&Type) -> bool) -> Result<TypeId, BtfError> {
        for _ in 0..MAX_CHAIN {
            let t = self.get(id)?;
            if !skip(t) {
                return Ok(id);
            }
            // Every skipped kind refers to exactly one type.
            id = t.referenced_type().unwrap_or(0);
        }
        Err(BtfError::TypeLoop {
            type_id: id,
            limit: MAX_CHAIN,
        })
    }

    /// The size in bytes of a value of type `id`, as `sizeof` gives it:
    /// typedefs, modifiers and variables are followed, arrays multiply.
    pub fn size_of(&self, id: TypeId) -> Result<u64, BtfError> {
        let start = id;
        let mut id = id;
        let mut mult: u64 = 1;
        let overflow = || BtfError::SizeOverflow { type_id: start };
        for _ in 0..MAX_CHAIN {
            let t = self.get(id)?;
            let size = match t {
                Type::Int(i) => i.size,
                Type::Float(f) => f.size,
                Type::Struct(c) | Type::Union(c) => c.size,
                Type::Enum(e) | Type::Enum64(e) => e.size,
                Type::DataSec(d) => d.size,
                Type::Ptr(_) => PTR_SIZE,
                Type::Typedef(_)
                | Type::Const(_)
                | Type::Volatile(_)
                | Type::Restrict(_)
                | Type::TypeTag(_)
                | Type::Var(_) => {
                    id = t.referenced_type().unwrap_or(0);
                    continue;
                }
                Type::Array(a) => {
                    mult = mult.checked_mul(a.nelems as u64).ok_or_else(overflow)?;
                    id = a.elem_type;
                    continue;
                }
                Type::Void
                | Type::Fwd(_)
                | Type::Func(_)
                | Type::FuncProto(_)
                | Type::DeclTag(_) => {
                    return Err(BtfError::NoSize {
                        type_id: id,
                        kind: t.kind(),
                    })
                }
            };
            return mult.checked_mul(size as u64).ok_or_else(overflow);
        }
        Err(BtfError::TypeLoop {
            type_id: start,
            limit: MAX_CHAIN,
        })
    }

    /// The alignment of type `id` in bytes as its layout shows it: scalars
    /// align to their size (at most 8), a struct or union to its largest
    /// member's, except that a struct whose members or size are not
    /// naturally aligned must have been packed and aligns to 1. The C dump
    /// relies on this to decide where `packed` and explicit padding go.
    pub fn align_of(&self, id: TypeId) -> Result<u32, BtfError> {
        // The memo keeps shared sub-structs from being walked once per
        // path, which crafted BTF could make exponential.
        self.align_of_depth(id, 0, &mut std::collections::HashMap::new())
    }

    pub(crate) fn align_of_depth(
        &self,
        id: TypeId,
        depth: usize,
        memo: &mut std::collections::HashMap<TypeId, u32>,
    ) -> Result<u32, BtfError> {
        if let Some(&a) = memo.get(&id) {
            return Ok(a);
        }
        let a = self.align_of_uncached(id, depth, memo)?;
        memo.insert(id, a);
        Ok(a)
    }

    fn align_of_uncached(
        &self,
        id: TypeId,
        depth: usize,
        memo: &mut std::collections::HashMap<TypeId, u32>,
    ) -> Result<u32, BtfError> {
        if depth > MAX_CHAIN {
            return Err(BtfError::TypeLoop {
                type_id: id,
                limit: MAX_CHAIN,
            });
        }
        let t = self.get(id)?;
        Ok(match t {
            Type::Int(i) => i.size.min(PTR_SIZE),
            Type::Float(f) => f.size.min(PTR_SIZE),
            Type::Enum(e) | Type::Enum64(e) => e.size.min(PTR_SIZE),
            Type::Ptr(_) => PTR_SIZE,
            Type::Struct(c) | Type::Union(c) => {
                let mut max_align = 1;
                for m in &c.members {
                    let a = self.align_of_depth(m.type_id, depth + 1, memo)?;
                    if a == 0 {
                        return Err(BtfError::NoSize {
                            type_id: m.type_id,
                            kind: self.get(m.type_id)?.kind(),
                        });
                    }
                    max_align = max_align.max(a);
                    if m.bitfield_size == 0
                        && (m.bit_offset as u64).checked_rem(8 * a as u64) != Some(0)
                    {
                        return Ok(1);
                    }
                }
                if c.size.checked_rem(max_align) != Some(0) {
                    return Ok(1);
                }
                max_align
            }
            Type::Array(a) => self.align_of_depth(a.elem_type, depth + 1, memo)?,
            Type::Typedef(_)
            | Type::Const(_)
            | Type::Volatile(_)
            | Type::Restrict(_)
            | Type::TypeTag(_) => {
                self.align_of_depth(t.referenced_type().unwrap_or(0), depth + 1, memo)?
            }
            Type::Void
            | Type::Fwd(_)
            | Type::Func(_)
            | Type::FuncProto(_)
            | Type::DeclTag(_)
            | Type::DataSec(_)
            | Type::Var(_) => {
                return Err(BtfError::NoSize {
                    type_id: id,
                    kind: t.kind(),
                })
            }
        })
    }

    /// The struct or union behind `id` (after typedefs and modifiers).
    pub fn composite(&self, id: TypeId) -> Result<Option<&Composite>, BtfError> {
        Ok(match self.get(self.resolve(id)?)? {
            Type::Struct(c) | Type::Union(c) => Some(c),
            _ => None,
        })
    }

    /// The direct member of struct/union `id` called `name`, with its index.
    pub fn member_by_name(
        &self,
        id: TypeId,
        name: &str,
    ) -> Result<Option<(usize, &Member)>, BtfError> {
        Ok(self.composite(id)?.and_then(|c| {
            c.members
                .iter()
                .enumerate()
                .find(|(_, m)| m.name_off != 0 && self.name_by_offset(m.name_off) == Some(name))
        }))
    }

    /// Finds member `name` of struct/union `id` as C name lookup does,
    /// descending into anonymous struct/union members, and returns its bit
    /// offset from the start of `id`.
    pub fn find_member(&self, id: TypeId, name: &str) -> Result<Option<FoundMember<'_>>, BtfError> {
        self.find_member_depth(id, name, 0, 0)
    }

    fn find_member_depth(
        &self,
        id: TypeId,
        name: &str,
        base: u64,
        depth: usize,
    ) -> Result<Option<FoundMember<'_>>, BtfError> {
        if depth > MAX_CHAIN {
            return Err(BtfError::TypeLoop {
                type_id: id,
                limit: MAX_CHAIN,
            });
        }
        let Some(c) = self.composite(id)? else {
            return Ok(None);
        };
        for m in &c.members {
            let off = base + m.bit_offset as u64;
            if m.name_off == 0 {
                if let Some(f) = self.find_member_depth(m.type_id, name, off, depth + 1)? {
                    return Ok(Some(f));
                }
            } else if self.name_by_offset(m.name_off) == Some(name) {
                return Ok(Some(FoundMember {
                    member: m,
                    bit_offset: off,
                }));
            }
        }
        Ok(None)
    }

    /// The `DATASEC` named `name` (`.maps`, `.data`, `.bss`, ...).
    pub fn datasec(&self, name: &str) -> Option<(TypeId, &DataSec)> {
        let id = self.find_by_name(Kind::DataSec, name)?;
        match self.type_by_id(id)? {
            Type::DataSec(d) => Some((id, d)),
            _ => None,
        }
    }
}
