//! The llvm/kernel-style syntax: one statement per line, C-like.

use super::cursor::Cursor;
use super::{AsmError, AsmErrorKind, Builder, Loc};
use crate::insn::*;
use crate::raw::RawInsn;

/// Strips a `;`, `//` or `#` comment.
fn strip_comment(line: &str) -> &str {
    let end = [line.find(';'), line.find("//"), line.find('#')]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(line.len());
    &line[..end]
}

/// Parses one line into `b`: labels (`name:`), then at most one statement.
pub(crate) fn line(b: &mut Builder, text: &str, line_no: usize) -> Result<(), AsmError> {
    let mut c = Cursor::new(strip_comment(text), line_no);
    loop {
        let save = c.save();
        let loc = c.loc();
        match c.ident() {
            Some(name) if c.eat(":") => b.label(name, loc)?,
            _ => {
                c.restore(save);
                break;
            }
        }
    }
    if c.at_end() {
        return Ok(());
    }
    statement(b, &mut c)?;
    c.end()
}

/// A jump target: `+N`/`-N`, kernel-style `pc+N`, or a label.
enum Target<'a> {
    Rel(i64, Loc, String),
    Label(&'a str, Loc),
}

fn target<'a>(c: &mut Cursor<'a>) -> Result<Target<'a>, AsmError> {
    let loc = c.loc();
    let save = c.save();
    if c.eat_word("pc") {
        if matches!(c.peek(), Some('+' | '-')) {
            let (v, t) = c.number().ok_or_else(|| c.expected("an offset"))?;
            return Ok(Target::Rel(v as i64, loc, t));
        }
        c.restore(save);
    }
    if matches!(c.peek(), Some('+' | '-')) {
        let (v, t) = c
            .number()
            .ok_or_else(|| c.expected("`+N`, `-N` or a label"))?;
        return Ok(Target::Rel(
            v.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
            loc,
            t,
        ));
    }
    match c.ident() {
        Some(l) => Ok(Target::Label(l, loc)),
        None => Err(c.expected("`+N`, `-N` or a label")),
    }
}

fn off16(v: i64, loc: Loc, t: &str) -> Result<i16, AsmError> {
    i16::try_from(v).map_err(|_| loc.err(AsmErrorKind::OffsetRange(t.to_string())))
}

fn off32(v: i64, loc: Loc, t: &str) -> Result<i32, AsmError> {
    i32::try_from(v).map_err(|_| loc.err(AsmErrorKind::ImmediateRange(t.to_string())))
}

/// Pushes a branch whose offset is either given or a label reference.
fn push_branch(
    b: &mut Builder,
    t: Target,
    make: impl Fn(i64) -> Insn,
    bits16: bool,
) -> Result<(), AsmError> {
    match t {
        Target::Rel(v, loc, text) => {
            if bits16 {
                off16(v, loc, &text)?;
            } else {
                off32(v, loc, &text)?;
            }
            b.push(make(v));
        }
        Target::Label(l, loc) => b.push_ref(make(0), l, loc, false),
    }
    Ok(())
}

fn statement(b: &mut Builder, c: &mut Cursor) -> Result<(), AsmError> {
    let save = c.save();
    let loc = c.loc();
    let word = c.ident();
    match word {
        Some("exit") => b.push(Insn::Exit),
        Some("goto") => {
            let t = target(c)?;
            push_branch(
                b,
                t,
                |o| Insn::Ja {
                    off: o as i32,
                    long: false,
                },
                true,
            )?;
        }
        Some("gotol") => {
            let t = target(c)?;
            push_branch(
                b,
                t,
                |o| Insn::Ja {
                    off: o as i32,
                    long: true,
                },
                false,
            )?;
        }
        Some("call") => call(b, c)?,
        Some("callx") => {
            let insn = if c.at_reg() {
                let (_, reg) = c.reg()?;
                Insn::CallX {
                    reg,
                    encoding: CallxEncoding::Dst,
                }
            } else {
                let l = c.loc();
                let n = c.imm32()?;
                let reg = u8::try_from(n)
                    .ok()
                    .and_then(Reg::new)
                    .ok_or_else(|| l.err_at(AsmErrorKind::InvalidRegister, &n.to_string()))?;
                Insn::CallX {
                    reg,
                    encoding: CallxEncoding::Imm,
                }
            };
            b.push(insn);
        }
        Some("if") => jump(b, c)?,
        Some("lock") => b.push(lock(c)?),
        Some("ld_pseudo") => b.push(ld_pseudo(c, loc)?),
        Some(w) if w.starts_with('r') || w.starts_with('w') => {
            c.restore(save);
            b.push(assignment(c)?);
        }
        Some(w) => return Err(loc.err(AsmErrorKind::InvalidMnemonic(w.to_string()))),
        None if c.peek() == Some('*') => b.push(store(c)?),
        None => return Err(c.expected("an instruction")),
    }
    Ok(())
}

fn call(b: &mut Builder, c: &mut Cursor) -> Result<(), AsmError> {
    let loc = c.loc();
    if c.eat_word("kfunc") {
        let btf_id = c.imm32()?;
        let mut module = 0i16;
        if c.eat(",") {
            let l = c.loc();
            let (v, t) = c.number().ok_or_else(|| c.expected("a module index"))?;
            module = i16::try_from(v).map_err(|_| l.err(AsmErrorKind::OffsetRange(t)))?;
        }
        b.push(Insn::Call(CallTarget::Kfunc { btf_id, module }));
        return Ok(());
    }
    let save = c.save();
    if c.eat_word("pc") {
        c.restore(save);
        let t = target(c)?;
        return push_branch(
            b,
            t,
            |o| Insn::Call(CallTarget::Local { rel: o as i32 }),
            false,
        );
    }
    if let Some(name) = c.ident() {
        b.push_ref(Insn::Call(CallTarget::Local { rel: 0 }), name, loc, true);
        return Ok(());
    }
    let id = c.imm32()?;
    b.push(Insn::Call(CallTarget::Helper(id)));
    Ok(())
}

fn cond(c: &mut Cursor) -> Result<JmpCond, AsmError> {
    // Longest operators first.
    const OPS: [(&str, JmpCond); 11] = [
        ("s>=", JmpCond::Sge),
        ("s<=", JmpCond::Sle),
        ("s>", JmpCond::Sgt),
        ("s<", JmpCond::Slt),
        ("==", JmpCond::Eq),
        ("!=", JmpCond::Ne),
        (">=", JmpCond::Ge),
        ("<=", JmpCond::Le),
        (">", JmpCond::Gt),
        ("<", JmpCond::Lt),
        ("&", JmpCond::Set),
    ];
    OPS.iter()
        .find(|(s, _)| c.eat(s))
        .map(|&(_, k)| k)
        .ok_or_else(|| c.expected("a comparison (`==`, `!=`, `>`, `s<`, `&`, ...)"))
}

fn jump(b: &mut Builder, c: &mut Cursor) -> Result<(), AsmError> {
    let (width, dst) = c.reg()?;
    let cond = cond(c)?;
    let src = if c.at_reg() {
        Operand::Reg(same_width(c, width)?)
    } else {
        Operand::Imm(c.imm32()?)
    };
    if !c.eat_word("goto") {
        return Err(c.expected("`goto`"));
    }
    let t = target(c)?;
    let make = |o: i64| Insn::Jump {
        width,
        cond,
        dst,
        src,
        off: o as i16,
    };
    push_branch(b, t, make, true)
}

/// A register of the given width (`w` for 32-bit, `r` for 64-bit).
fn same_width(c: &mut Cursor, width: Width) -> Result<Reg, AsmError> {
    let loc = c.loc();
    let (w, r) = c.reg()?;
    if w != width {
        let want = if width == Width::W32 {
            "a w register"
        } else {
            "an r register"
        };
        return Err(loc.err(AsmErrorKind::Expected {
            expected: want.to_string(),
            found: format!("`{}{}`", if w == Width::W32 { 'w' } else { 'r' }, r.n()),
        }));
    }
    Ok(r)
}

/// `*(u32 *)` or `(u32 *)` (the leading `*` is the caller's): the size.
pub(super) fn ptr_type(c: &mut Cursor) -> Result<(Size, bool), AsmError> {
    c.expect("(")?;
    let loc = c.loc();
    let ty = c
        .ident()
        .ok_or_else(|| c.expected("a type (`u8`, `u16`, `u32`, `u64`, `s8`, ...)"))?;
    let (signed, bits) = match ty.split_at(1) {
        ("u", b) => (false, b),
        ("s", b) => (true, b),
        _ => (false, "?"),
    };
    let size = bits
        .parse::<u32>()
        .ok()
        .and_then(|b| Size::from_bytes(b / 8).filter(|_| b % 8 == 0))
        .ok_or_else(|| {
            loc.err(AsmErrorKind::Expected {
                expected: "a type (`u8`, `u16`, `u32`, `u64`, `s8`, ...)".to_string(),
                found: format!("`{ty}`"),
            })
        })?;
    c.expect("*")?;
    c.expect(")")?;
    Ok((size, signed))
}

/// `(rN + off)`, `(rN - off)`, `(rN +off)`; with `parens` false the
/// parentheses are absent (`xchg_64(r1 + 8, r2)`).
pub(super) fn address(c: &mut Cursor, parens: bool) -> Result<(Reg, i16), AsmError> {
    if parens {
        c.expect("(")?;
    }
    let loc = c.loc();
    let (w, r) = c.reg()?;
    if w != Width::W64 {
        return Err(loc.err(AsmErrorKind::Expected {
            expected: "an r register as the base address".into(),
            found: format!("`w{}`", r.n()),
        }));
    }
    let off = if matches!(c.peek(), Some('+' | '-')) {
        let neg = c.eat("-");
        if !neg {
            c.expect("+")?;
        }
        let loc = c.loc();
        let (v, t) = c.unsigned().ok_or_else(|| c.expected("an offset"))?;
        let v = if neg { -(v as i128) } else { v as i128 };
        let t = format!("{}{t}", if neg { "-" } else { "+" });
        i16::try_from(v).map_err(|_| loc.err(AsmErrorKind::OffsetRange(t)))?
    } else {
        0
    };
    if parens {
        c.expect(")")?;
    }
    Ok((r, off))
}

fn store(c: &mut Cursor) -> Result<Insn, AsmError> {
    c.expect("*")?;
    let loc = c.loc();
    let (size, signed) = ptr_type(c)?;
    if signed {
        return Err(loc.err(AsmErrorKind::Invalid("stores take an unsigned type".into())));
    }
    let (dst, off) = address(c, true)?;
    c.expect("=")?;
    let src = if c.at_reg() {
        Operand::Reg(c.reg()?.1)
    } else {
        Operand::Imm(c.imm32()?)
    };
    Ok(Insn::Store {
        size,
        dst,
        off,
        src,
    })
}

fn lock(c: &mut Cursor) -> Result<Insn, AsmError> {
    c.expect("*")?;
    let (size, _) = ptr_type(c)?;
    let loc = c.loc();
    if !matches!(size, Size::W | Size::DW) {
        return Err(loc.err(AsmErrorKind::Invalid(
            "atomics are 32 or 64 bits wide".into(),
        )));
    }
    let (dst, off) = address(c, true)?;
    let op = if c.eat("+=") {
        AtomicOp::Add { fetch: false }
    } else if c.eat("|=") {
        AtomicOp::Or { fetch: false }
    } else if c.eat("&=") {
        AtomicOp::And { fetch: false }
    } else if c.eat("^=") {
        AtomicOp::Xor { fetch: false }
    } else {
        return Err(c.expected("`+=`, `|=`, `&=` or `^=`"));
    };
    let (_, src) = c.reg()?;
    Ok(Insn::Atomic {
        size,
        op,
        dst,
        src,
        off,
    })
}

/// `ld_pseudo rD, SRC, IMM[, IMM2]`: a pseudo `lddw` by its raw fields,
/// checked by the decoder.
fn ld_pseudo(c: &mut Cursor, loc: Loc) -> Result<Insn, AsmError> {
    let (_, dst) = c.reg()?;
    c.expect(",")?;
    let src_loc = c.loc();
    let src = c.imm32()?;
    c.expect(",")?;
    let lo = c.imm32()?;
    let hi = if c.eat(",") { c.imm32()? } else { 0 };
    let src = u8::try_from(src)
        .ok()
        .filter(|s| (1..=6).contains(s))
        .ok_or_else(|| src_loc.err(AsmErrorKind::Invalid("pseudo source must be 1 to 6".into())))?;
    let slots = [
        RawInsn::new(0x18, dst.n(), src, 0, lo),
        RawInsn::new(0, 0, 0, 0, hi),
    ];
    Insn::decode(&slots, 0).map_err(|e| loc.err(AsmErrorKind::Invalid(e.to_string())))
}

/// Everything that starts with a destination register.
fn assignment(c: &mut Cursor) -> Result<Insn, AsmError> {
    let (width, dst) = c.reg()?;
    const OPS: [(&str, AluOp); 14] = [
        ("s>>=", AluOp::Arsh),
        ("s/=", AluOp::SDiv),
        ("s%=", AluOp::SMod),
        ("<<=", AluOp::Lsh),
        (">>=", AluOp::Rsh),
        ("+=", AluOp::Add),
        ("-=", AluOp::Sub),
        ("*=", AluOp::Mul),
        ("/=", AluOp::Div),
        ("|=", AluOp::Or),
        ("&=", AluOp::And),
        ("%=", AluOp::Mod),
        ("^=", AluOp::Xor),
        ("=", AluOp::Mov),
    ];
    let op = OPS
        .iter()
        .find(|(s, _)| c.eat(s))
        .map(|&(_, op)| op)
        .ok_or_else(|| c.expected("an assignment operator (`=`, `+=`, `s>>=`, ...)"))?;
    if op != AluOp::Mov {
        let src = if c.at_reg() {
            Operand::Reg(same_width(c, width)?)
        } else {
            Operand::Imm(c.imm32()?)
        };
        return Ok(Insn::Alu {
            width,
            op,
            dst,
            src,
        });
    }
    super::llvm_rhs::rhs(c, width, dst)
}
