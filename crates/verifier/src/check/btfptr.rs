//! Loads through BTF pointers (`check_ptr_to_btf_access`) and the BTF
//! typed context of tracing programs; the type walk is in
//! [`crate::ctx::btf`].

use super::mem::Access;
use super::Env;
use crate::ctx::btf::{self, Walk};
use crate::error::*;
use crate::state::{Ptr, PtrKind, RegState};

impl Env {
    /// A read of `size` bytes at `reg + off` where `reg` is a non-null
    /// pointer to the kernel struct `id`: what the load gives.
    pub(super) fn btf_ptr_access(
        &mut self,
        ptr: &Ptr,
        regno: u8,
        off: i32,
        size: u32,
        t: Access,
    ) -> Result<Option<RegState>, Fail> {
        let PtrKind::BtfId { id, flags } = ptr.kind else {
            return Err(Fail::internal("btf_ptr_access on another pointer".into()));
        };
        let Some(vmlinux) = self.vmlinux else {
            return Err(Fail::internal("BTF pointer without kernel BTF".into()));
        };
        let tname = vmlinux.type_name(id).unwrap_or("").to_string();
        let at = ptr.off as i64 + off as i64;
        if at < 0 {
            let msg = format!("R{regno} is ptr_{tname} invalid negative access: off={at}");
            return Err(self.fail(EACCES, msg));
        }
        if ptr.var.as_const() != Some(0) {
            let msg = format!(
                "R{regno} is ptr_{tname} invalid variable offset: off={at}, var_off={}",
                ptr.var.var_off
            );
            return Err(self.fail(EACCES, msg));
        }
        if t == Access::Write {
            return Err(self.fail(EACCES, "only read is supported".into()));
        }
        let walk =
            btf::struct_access(vmlinux, id, at as u32, size).map_err(|m| self.fail(EACCES, m))?;
        self.aux[self.pc].probe_mem = true;
        Ok(Some(match walk {
            Walk::Scalar => RegState::unknown(),
            Walk::UntrustedMem => RegState::ptr(PtrKind::UntrustedMem),
            Walk::Ptr {
                id: target,
                field,
                untrusted,
                ..
            } => {
                // The kernel names the member within the struct the
                // pointer points to, anonymous unions flattened.
                let flags = if untrusted {
                    btf::UNTRUSTED
                } else {
                    btf::loaded_flags(vmlinux, id, &field, flags)
                };
                let id = target;
                let mut p = Ptr::new(PtrKind::BtfId { id, flags });
                if flags & btf::NULL != 0 {
                    p.id = self.new_id();
                }
                RegState::Ptr(p)
            }
        }))
    }

    /// `rdonly_untrusted_mem`: reads anywhere (probe loads), no writes.
    pub(super) fn untrusted_mem_access(
        &mut self,
        regno: u8,
        t: Access,
    ) -> Result<Option<RegState>, Fail> {
        if t == Access::Write {
            let msg = format!("R{regno} cannot write into rdonly_untrusted_mem");
            return Err(self.fail(EACCES, msg));
        }
        self.aux[self.pc].probe_mem = true;
        Ok(Some(RegState::unknown()))
    }

    /// A read of the argument array of a tracing program.
    pub(super) fn tracing_ctx_access(
        &mut self,
        off: i32,
        size: u32,
        t: Access,
    ) -> Result<Option<RegState>, Fail> {
        let Some(target) = self.btf_target.as_ref() else {
            return Err(Fail::internal("tracing program without BTF".into()));
        };
        let kind = target
            .ctx_access(off as i64, size, t == Access::Write)
            .map_err(|m| Fail::new(EACCES, m))?;
        if let (Some(PtrKind::BtfId { id, .. }), true) = (kind, self.log.on()) {
            // The kernel notes every typed argument it hands out.
            let b = target.vmlinux;
            let kind_name = b.get(id).map_or("UNKN", |t| t.kind().as_str());
            let line = format!(
                "func '{}' arg{} has btf_id {id} type {kind_name} '{}'\n",
                target.name,
                off / 8,
                b.type_name(id).unwrap_or("")
            );
            self.log.put(&line);
        }
        Ok(Some(match kind {
            None => RegState::unknown(),
            Some(k) => {
                let mut p = Ptr::new(k);
                if k.maybe_null() {
                    p.id = self.new_id();
                }
                RegState::Ptr(p)
            }
        }))
    }
}
