//! A cursor over one line of assembly: whitespace-insensitive matching of
//! punctuation, identifiers, numbers and registers, always knowing its
//! column so that every error can point at the offending token.

use super::{AsmError, AsmErrorKind, Loc};
use crate::insn::{Reg, Width};

pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str, line: usize) -> Self {
        Cursor { s, pos: 0, line }
    }

    pub(crate) fn skip_ws(&mut self) {
        let rest = &self.s[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// The location of the next token.
    pub(crate) fn loc(&mut self) -> Loc {
        self.skip_ws();
        Loc {
            line: self.line,
            column: self.s[..self.pos].chars().count() + 1,
        }
    }

    pub(crate) fn rest(&mut self) -> &'a str {
        self.skip_ws();
        &self.s[self.pos..]
    }

    pub(crate) fn at_end(&mut self) -> bool {
        self.rest().is_empty()
    }

    pub(crate) fn peek(&mut self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn save(&self) -> usize {
        self.pos
    }

    pub(crate) fn restore(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Consumes `tok` if the rest of the line starts with it.
    pub(crate) fn eat(&mut self, tok: &str) -> bool {
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    /// The token at the cursor, for error messages.
    pub(crate) fn found(&mut self) -> String {
        let r = self.rest();
        if r.is_empty() {
            return "end of line".to_string();
        }
        let end = r
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c.is_whitespace() || ",()[]".contains(c))
            .map_or(r.len(), |(i, _)| i);
        format!("`{}`", &r[..end])
    }

    /// An "expected X" error at the cursor.
    pub(crate) fn expected(&mut self, what: &str) -> AsmError {
        let found = self.found();
        self.loc().err(AsmErrorKind::Expected {
            expected: what.to_string(),
            found,
        })
    }

    pub(crate) fn expect(&mut self, tok: &str) -> Result<(), AsmError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{tok}`")))
        }
    }

    /// Fails unless only whitespace is left.
    pub(crate) fn end(&mut self) -> Result<(), AsmError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.expected("end of line"))
        }
    }

    /// An identifier: `[A-Za-z_.][A-Za-z0-9_.]*`.
    pub(crate) fn ident(&mut self) -> Option<&'a str> {
        let r = self.rest();
        let first = r.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_' || first == '.') {
            return None;
        }
        let end = r
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .map_or(r.len(), |(i, _)| i);
        self.pos += end;
        Some(&r[..end])
    }

    /// Consumes the identifier `kw` only if it is a whole word.
    pub(crate) fn eat_word(&mut self, kw: &str) -> bool {
        let save = self.pos;
        if self.ident() == Some(kw) {
            return true;
        }
        self.pos = save;
        false
    }

    /// An unsigned decimal or `0x` hexadecimal literal (no sign).
    pub(crate) fn unsigned(&mut self) -> Option<(u64, &'a str)> {
        let r = self.rest();
        let (digits, radix, skip) = match r.strip_prefix("0x").or_else(|| r.strip_prefix("0X")) {
            Some(h) => (h, 16, 2),
            None => (r, 10, 0),
        };
        let n = digits
            .char_indices()
            .find(|&(_, c)| !c.is_digit(radix))
            .map_or(digits.len(), |(i, _)| i);
        if n == 0 {
            return None;
        }
        let text = &r[..skip + n];
        // Too many digits for 64 bits: report it as out of range.
        let v = u64::from_str_radix(&digits[..n], radix).unwrap_or(u64::MAX);
        self.pos += skip + n;
        Some((v, text))
    }

    /// A signed literal: optional `+`/`-`, then [`Cursor::unsigned`].
    /// Returns the value as i128 (so that `-0x8000000000000000` and
    /// `0xffffffffffffffff` both fit) and its text.
    pub(crate) fn number(&mut self) -> Option<(i128, String)> {
        let save = self.pos;
        let neg = if self.eat("-") {
            true
        } else {
            self.eat("+");
            false
        };
        match self.unsigned() {
            Some((v, t)) => {
                let v = v as i128;
                Some(if neg {
                    (-v, format!("-{t}"))
                } else {
                    (v, t.to_string())
                })
            }
            None => {
                self.pos = save;
                None
            }
        }
    }

    /// A number that must fit in an `imm` field: -2^31 ..= 2^32 - 1 (the
    /// upper half read as the two's-complement pattern, as llvm does).
    pub(crate) fn imm32(&mut self) -> Result<i32, AsmError> {
        let loc = self.loc();
        let (v, t) = self.number().ok_or_else(|| self.expected("a number"))?;
        if v < i32::MIN as i128 || v > u32::MAX as i128 {
            return Err(loc.err(AsmErrorKind::ImmediateRange(t)));
        }
        Ok(v as u32 as i32)
    }

    /// A register `rN` or `wN`, N in 0..=10.
    pub(crate) fn reg(&mut self) -> Result<(Width, Reg), AsmError> {
        let loc = self.loc();
        let save = self.pos;
        let Some(id) = self.ident() else {
            return Err(self.expected("a register"));
        };
        let width = match id.as_bytes()[0] {
            b'r' => Width::W64,
            b'w' => Width::W32,
            _ => {
                self.pos = save;
                return Err(self.expected("a register"));
            }
        };
        let reg = id[1..]
            .parse::<u8>()
            .ok()
            .filter(|_| !id[1..].starts_with('+'))
            .and_then(Reg::new);
        match reg {
            Some(r) => Ok((width, r)),
            None if id[1..].chars().all(|c| c.is_ascii_digit()) && id.len() > 1 => {
                Err(loc.err_at(AsmErrorKind::InvalidRegister, id))
            }
            None => {
                self.pos = save;
                Err(self.expected("a register"))
            }
        }
    }

    /// Whether a register comes next (without consuming it): `r` or `w`
    /// and digits, so that `r11` is reported as an invalid register.
    pub(crate) fn at_reg(&mut self) -> bool {
        let save = self.pos;
        let ok = self.ident().is_some_and(|id| {
            id.len() > 1
                && matches!(id.as_bytes()[0], b'r' | b'w')
                && id[1..].chars().all(|c| c.is_ascii_digit())
        });
        self.pos = save;
        ok
    }
}
