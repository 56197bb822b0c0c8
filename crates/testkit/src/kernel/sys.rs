//! The raw `bpf(2)` ABI: command numbers and one `#[repr(C)]` struct per
//! member of `union bpf_attr` that we use, written from the uapi header's
//! layout (offsets are facts of the ABI and are asserted at compile time).
//!
//! Why one struct per command instead of one big union: each call passes
//! exactly the bytes its command reads, with every padding hole spelled out
//! as a zeroed field, so nothing uninitialised ever reaches the kernel. The
//! kernel accepts an attr shorter than its own (it zero-extends) and refuses
//! a longer one only when the extra tail is non-zero, so these structs work on
//! older and newer kernels alike.
//!
//! Nothing outside `kernel/` sees these types; the safe API in the sibling
//! modules builds them from borrowed slices and file descriptors.

use std::mem::size_of;

/// `enum bpf_cmd`: the commands this oracle issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Cmd {
    MapCreate = 0,
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    MapGetNextKey = 4,
    ProgLoad = 5,
    ObjPin = 6,
    ObjGet = 7,
    ProgTestRun = 10,
    ObjGetInfoByFd = 15,
    BtfLoad = 18,
    MapLookupAndDeleteElem = 21,
    MapFreeze = 22,
}

impl Cmd {
    /// The kernel's name for the command, used in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Cmd::MapCreate => "BPF_MAP_CREATE",
            Cmd::MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
            Cmd::MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
            Cmd::MapDeleteElem => "BPF_MAP_DELETE_ELEM",
            Cmd::MapGetNextKey => "BPF_MAP_GET_NEXT_KEY",
            Cmd::ProgLoad => "BPF_PROG_LOAD",
            Cmd::ObjPin => "BPF_OBJ_PIN",
            Cmd::ObjGet => "BPF_OBJ_GET",
            Cmd::ProgTestRun => "BPF_PROG_TEST_RUN",
            Cmd::ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
            Cmd::BtfLoad => "BPF_BTF_LOAD",
            Cmd::MapLookupAndDeleteElem => "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
            Cmd::MapFreeze => "BPF_MAP_FREEZE",
        }
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Marker for the attr structs: plain `#[repr(C)]` data with no implicit
/// padding, so that passing their bytes to the kernel reads nothing
/// uninitialised.
///
/// # Safety
/// Implementors must be `#[repr(C)]`, contain only integer fields, and have
/// no implicit padding.
pub unsafe trait Attr: Sized {}

/// `BPF_MAP_CREATE`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; 16],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
    pub value_type_btf_obj_fd: i32,
    pub map_token_fd: i32,
}

/// `BPF_MAP_*_ELEM`, `BPF_MAP_GET_NEXT_KEY`, `BPF_MAP_FREEZE`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct MapElemAttr {
    pub map_fd: u32,
    pub _pad0: u32,
    pub key: u64,
    /// `value` or `next_key`.
    pub value: u64,
    pub flags: u64,
}

/// `BPF_PROG_LOAD`, up to `fd_array_cnt` (Linux 6.14).
#[repr(C)]
#[derive(Debug, Default)]
pub struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    pub attach_prog_fd: u32,
    pub core_relo_cnt: u32,
    pub fd_array: u64,
    pub core_relos: u64,
    pub core_relo_rec_size: u32,
    /// Out: the log size the whole log needed (Linux 6.4).
    pub log_true_size: u32,
    pub prog_token_fd: i32,
    pub fd_array_cnt: u32,
}

/// `BPF_PROG_TEST_RUN`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct TestRunAttr {
    pub prog_fd: u32,
    pub retval: u32,
    pub data_size_in: u32,
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    pub _pad0: u32,
}

/// `BPF_OBJ_PIN`, `BPF_OBJ_GET`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ObjAttr {
    pub pathname: u64,
    pub bpf_fd: u32,
    pub file_flags: u32,
    pub path_fd: i32,
    pub _pad0: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct InfoAttr {
    pub bpf_fd: u32,
    pub info_len: u32,
    pub info: u64,
}

/// `BPF_BTF_LOAD`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct BtfLoadAttr {
    pub btf: u64,
    pub btf_log_buf: u64,
    pub btf_size: u32,
    pub btf_log_size: u32,
    pub btf_log_level: u32,
    pub btf_log_true_size: u32,
    pub btf_flags: u32,
    pub btf_token_fd: i32,
}

/// `struct bpf_prog_info`, up to `attach_btf_id` (Linux 6.0).
#[repr(C)]
#[derive(Debug, Default, Clone)]
pub struct ProgInfoRaw {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
    pub jited_prog_len: u32,
    pub xlated_prog_len: u32,
    pub jited_prog_insns: u64,
    pub xlated_prog_insns: u64,
    pub load_time: u64,
    pub created_by_uid: u32,
    pub nr_map_ids: u32,
    pub map_ids: u64,
    pub name: [u8; 16],
    pub ifindex: u32,
    /// Bit 0: `gpl_compatible`.
    pub flags: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub nr_jited_ksyms: u32,
    pub nr_jited_func_lens: u32,
    pub jited_ksyms: u64,
    pub jited_func_lens: u64,
    pub btf_id: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub nr_func_info: u32,
    pub nr_line_info: u32,
    pub line_info: u64,
    pub jited_line_info: u64,
    pub nr_jited_line_info: u32,
    pub line_info_rec_size: u32,
    pub jited_line_info_rec_size: u32,
    pub nr_prog_tags: u32,
    pub prog_tags: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub verified_insns: u32,
    pub attach_btf_obj_id: u32,
    pub attach_btf_id: u32,
    pub _pad0: u32,
}

/// `struct bpf_map_info`, up to `map_extra` (Linux 5.16).
#[repr(C)]
#[derive(Debug, Default, Clone)]
pub struct MapInfoRaw {
    pub map_type: u32,
    pub id: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub name: [u8; 16],
    pub ifindex: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub netns_dev: u64,
    pub netns_ino: u64,
    pub btf_id: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_id: u32,
    pub map_extra: u64,
}

// SAFETY: each struct below is `#[repr(C)]`, made only of integers and byte
// arrays, and its size equals the sum of its fields (asserted below), so it
// has no implicit padding.
unsafe impl Attr for MapCreateAttr {}
// SAFETY: as above.
unsafe impl Attr for MapElemAttr {}
// SAFETY: as above.
unsafe impl Attr for ProgLoadAttr {}
// SAFETY: as above.
unsafe impl Attr for TestRunAttr {}
// SAFETY: as above.
unsafe impl Attr for ObjAttr {}
// SAFETY: as above.
unsafe impl Attr for InfoAttr {}
// SAFETY: as above.
unsafe impl Attr for BtfLoadAttr {}

// Layout facts of the uapi header (`offsetof` checks would be nicer, but the
// total sizes with explicit padding pin every field down as well).
const _: () = assert!(size_of::<MapCreateAttr>() == 80);
const _: () = assert!(size_of::<MapElemAttr>() == 32);
const _: () = assert!(size_of::<ProgLoadAttr>() == 152);
const _: () = assert!(size_of::<TestRunAttr>() == 80);
const _: () = assert!(size_of::<ObjAttr>() == 24);
const _: () = assert!(size_of::<InfoAttr>() == 16);
const _: () = assert!(size_of::<BtfLoadAttr>() == 40);
const _: () = assert!(size_of::<ProgInfoRaw>() == 232);
const _: () = assert!(size_of::<MapInfoRaw>() == 88);
const _: () = assert!(std::mem::offset_of!(ProgLoadAttr, prog_name) == 48);
const _: () = assert!(std::mem::offset_of!(ProgLoadAttr, fd_array) == 120);
const _: () = assert!(std::mem::offset_of!(ProgLoadAttr, log_true_size) == 140);
const _: () = assert!(std::mem::offset_of!(MapCreateAttr, map_extra) == 64);
const _: () = assert!(std::mem::offset_of!(ProgInfoRaw, name) == 64);
const _: () = assert!(std::mem::offset_of!(ProgInfoRaw, verified_insns) == 216);
const _: () = assert!(std::mem::offset_of!(MapInfoRaw, map_extra) == 80);

/// A pointer as the `__aligned_u64` the ABI carries.
pub fn ptr<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// Copies a name into the fixed 16-byte, NUL-terminated field.
/// `None` if it does not fit (15 bytes at most) or holds a NUL.
pub fn obj_name(name: &str) -> Option<[u8; 16]> {
    let b = name.as_bytes();
    if b.len() >= 16 || b.contains(&0) {
        return None;
    }
    let mut out = [0u8; 16];
    out[..b.len()].copy_from_slice(b);
    Some(out)
}

/// The bytes of a NUL-terminated fixed-size name field, up to the NUL.
pub fn name_from(field: &[u8]) -> String {
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Issues `bpf(cmd, attr, sizeof attr)`. Returns the non-negative result
/// (an fd for the commands that create one, else 0) or the errno.
///
/// # Safety
/// Every pointer stored in `attr` must be null or valid for the accesses the
/// command makes for the whole call: input buffers readable for their stated
/// lengths, output buffers writable for theirs, strings NUL-terminated; every
/// fd field must name an fd the caller keeps open or be zero where the
/// command ignores it.
pub unsafe fn sys_bpf<A: Attr>(cmd: Cmd, attr: &mut A) -> Result<i64, i32> {
    let size = size_of::<A>() as libc::c_uint;
    let attr_ptr: *mut A = attr;
    // SAFETY: `attr` is an exclusive borrow of a fully initialised attr
    // struct of exactly `size` bytes (the `Attr` contract), which the kernel
    // reads and may write back; the pointers inside it are valid per this
    // function's contract, which the caller upholds.
    let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr_ptr, size) };
    if ret < 0 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO))
    } else {
        Ok(ret)
    }
}
