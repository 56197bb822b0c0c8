//! The abstract machine state on one path: a stack of call frames, each
//! with eleven registers and its stack, plus what spans frames (acquired
//! references, the spin lock held).

pub mod equiv;
pub mod reg;
pub mod stack;

use isa::Reg;
pub use reg::{Ptr, PtrKind, RegState, ScalarReg};
pub use stack::{ByteKind, Slot, Stack};

/// What a frame that runs a callback must return (`bpf_loop` callbacks
/// return 0 or 1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallbackInfo {
    /// Return value range, inclusive.
    pub ret_min: i64,
    pub ret_max: i64,
}

/// One call frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    pub regs: [RegState; Reg::COUNT],
    pub stack: Stack,
    /// Frame number (0 for the main program).
    pub frameno: u32,
    /// Index of the subprogram this frame runs.
    pub subprog: usize,
    /// The call instruction that created this frame (unused for frame 0).
    pub callsite: usize,
    /// Set when the frame runs a callback of a helper such as `bpf_loop`.
    pub callback: Option<CallbackInfo>,
}

impl Frame {
    /// A fresh frame with `r10` pointing at its own stack.
    pub fn new(frameno: u32, subprog: usize, callsite: usize) -> Frame {
        let mut regs: [RegState; Reg::COUNT] = Default::default();
        regs[10] = RegState::ptr(PtrKind::Stack { frame: frameno });
        Frame {
            regs,
            stack: Stack::default(),
            frameno,
            subprog,
            callsite,
            callback: None,
        }
    }

    pub fn reg(&self, r: Reg) -> &RegState {
        &self.regs[r.idx()]
    }

    pub fn reg_mut(&mut self, r: Reg) -> &mut RegState {
        &mut self.regs[r.idx()]
    }
}

/// An acquired reference: released by a helper, or an error at exit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefState {
    pub id: u32,
    /// The instruction that acquired it (`Unreleased reference id=1 alloc_insn=7`).
    pub insn: usize,
}

/// The spin lock currently held.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockState {
    /// The map whose value holds the lock.
    pub map: crate::input::MapIdx,
    /// The id of the map value pointer it was taken through.
    pub id: u32,
}

/// The whole state of one path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub frames: Vec<Frame>,
    pub refs: Vec<RefState>,
    pub lock: Option<LockState>,
}

impl State {
    /// The entry state: `r1` holds the context, `r10` the frame pointer.
    pub fn entry(r1: RegState) -> State {
        let mut f = Frame::new(0, 0, 0);
        f.regs[1] = r1;
        State {
            frames: vec![f],
            refs: Vec::new(),
            lock: None,
        }
    }

    pub fn cur(&self) -> &Frame {
        // `frames` is never empty: exit of frame 0 ends the path instead of
        // popping it.
        &self.frames[self.frames.len() - 1]
    }

    pub fn cur_mut(&mut self) -> &mut Frame {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }

    pub fn curframe(&self) -> u32 {
        (self.frames.len() - 1) as u32
    }

    /// Every register and spilled register of every frame, mutably.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut RegState)) {
        for fr in &mut self.frames {
            for r in fr.regs.iter_mut() {
                f(r);
            }
            for s in fr.stack.slots.iter_mut() {
                if s.is_spill() {
                    f(&mut s.spilled);
                }
            }
        }
    }
}
