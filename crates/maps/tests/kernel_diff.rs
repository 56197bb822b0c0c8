//! Differential tests against Linux: the same random operation sequence on
//! a kernel map (through testkit's bpf(2) oracle) and on ours must give the
//! same errno, values and keys. Skipped where bpf(2) is not permitted.

use oxbpf_maps::{Map, MapError, MapOptions, MapSpec};
use proptest::prelude::*;
use testkit::kernel::MapCreate;
use testkit::{Kernel, KernelError};
use uapi::map::create_flags::BPF_F_NO_PREALLOC;
use uapi::MapType as T;

#[derive(Debug, Clone)]
enum Op {
    Update(Vec<u8>, u64, u64),
    Delete(Vec<u8>),
    Lookup(Vec<u8>),
    LookupAndDelete(Vec<u8>),
    NextKey(Option<Vec<u8>>),
}

fn ours_errno<V>(r: &Result<V, MapError>) -> i32 {
    r.as_ref().map_or_else(|e| e.errno(), |_| 0)
}

fn kernel_errno<V>(r: &Result<V, KernelError>) -> i32 {
    r.as_ref()
        .map_or_else(|e| e.errno().expect("a syscall error"), |_| 0)
}

/// Run `ops` on both; compare every answer. `sorted_keys`: compare key
/// sets (hash order differs by design), else key sequences.
fn run(kernel: Kernel, spec: MapSpec, ops: &[Op], sorted_keys: bool) -> Result<(), TestCaseError> {
    let mut req = MapCreate::new(
        spec.map_type,
        spec.key_size,
        spec.value_size,
        spec.max_entries,
    );
    req.map_flags = spec.flags;
    let km = kernel.create_map(&req).expect("kernel map");
    let ncpus = (km.syscall_value_size() / spec.value_slot().max(1)) as u32;
    let ncpus = if spec.map_type.is_percpu() { ncpus } else { 2 };
    let om = Map::create(spec.clone(), &MapOptions::new(ncpus)).unwrap();
    prop_assert_eq!(km.syscall_value_size(), om.syscall_value_size());
    let vsize = om.syscall_value_size();
    let value = |seed: u64| -> Vec<u8> {
        (0..vsize)
            .map(|i| (seed >> (8 * (i % 8))) as u8 ^ i as u8)
            .collect()
    };
    for op in ops {
        match op {
            Op::Update(k, v, f) => {
                let (a, b) = (km.update(k, &value(*v), *f), om.update(k, &value(*v), *f));
                prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op);
            }
            Op::Delete(k) => {
                prop_assert_eq!(
                    kernel_errno(&km.delete(k)),
                    ours_errno(&om.delete(k)),
                    "{:?}",
                    op
                );
            }
            Op::Lookup(k) => {
                let a = km.lookup(k);
                let b = om.lookup(k);
                match (&a, &b) {
                    (Ok(Some(x)), Ok(y)) => prop_assert_eq!(x, y, "{:?}", op),
                    (Ok(None), Err(MapError::NotFound)) => {}
                    _ => prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op),
                }
            }
            Op::LookupAndDelete(k) => {
                let a = km.lookup_and_delete(k);
                let b = om.lookup_and_delete(k, 0);
                match (&a, &b) {
                    (Ok(Some(x)), Ok(y)) => prop_assert_eq!(x, y, "{:?}", op),
                    (Ok(None), Err(MapError::NotFound)) => {}
                    _ => prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op),
                }
            }
            Op::NextKey(k) => {
                if sorted_keys {
                    continue; // hash order is the hash function's
                }
                let a = km.next_key(k.as_deref());
                let b = om.get_next_key(k.as_deref());
                match (&a, &b) {
                    (Ok(Some(x)), Ok(y)) => prop_assert_eq!(x, y, "{:?}", op),
                    (Ok(None), Err(MapError::NotFound)) => {}
                    _ => prop_assert_eq!(kernel_errno(&a), ours_errno(&b), "{:?}", op),
                }
            }
        }
    }
    let (ka, kb) = (km.keys(), om.keys());
    let (mut ka, mut kb) = match (ka, kb) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            prop_assert_eq!(kernel_errno(&a), ours_errno(&b));
            return Ok(());
        }
    };
    if sorted_keys {
        ka.sort();
        kb.sort();
    }
    prop_assert_eq!(ka, kb);
    Ok(())
}

fn ops(key: impl Strategy<Value = Vec<u8>> + Clone) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (key.clone(), any::<u64>(), 0u64..4).prop_map(|(k, v, f)| Op::Update(k, v, f)),
        2 => key.clone().prop_map(Op::Delete),
        2 => key.clone().prop_map(Op::Lookup),
        1 => key.clone().prop_map(Op::LookupAndDelete),
        1 => prop::option::of(key).prop_map(Op::NextKey),
    ];
    prop::collection::vec(op, 1..60)
}

fn u32_key(max: u32) -> impl Strategy<Value = Vec<u8>> + Clone {
    (0..max).prop_map(|k| k.to_ne_bytes().to_vec())
}

fn lpm_key() -> impl Strategy<Value = Vec<u8>> + Clone {
    (0u32..=18, 0u8..4, 0u8..4).prop_map(|(pl, a, b)| {
        let mut k = pl.to_ne_bytes().to_vec();
        k.extend_from_slice(&[a << 6 | a, b << 6]);
        k
    })
}

fn kernel() -> Option<Kernel> {
    testkit::require_kernel()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hash_agrees_with_linux(ops in ops(u32_key(12))) {
        let Some(k) = kernel() else { return Ok(()) };
        run(k, MapSpec::new(T::Hash, 4, 8, 6), &ops, true)?;
    }

    #[test]
    fn percpu_hash_agrees_with_linux(ops in ops(u32_key(12))) {
        let Some(k) = kernel() else { return Ok(()) };
        run(k, MapSpec::new(T::PercpuHash, 4, 12, 6), &ops, true)?;
    }

    #[test]
    fn array_agrees_with_linux(ops in ops(u32_key(7))) {
        let Some(k) = kernel() else { return Ok(()) };
        run(k, MapSpec::new(T::Array, 4, 12, 5), &ops, false)?;
    }

    #[test]
    fn percpu_array_agrees_with_linux(ops in ops(u32_key(7))) {
        let Some(k) = kernel() else { return Ok(()) };
        run(k, MapSpec::new(T::PercpuArray, 4, 4, 5), &ops, false)?;
    }

    #[test]
    fn lpm_agrees_with_linux(ops in ops(lpm_key())) {
        let Some(k) = kernel() else { return Ok(()) };
        run(k, MapSpec::new(T::LpmTrie, 6, 8, 8).with_flags(BPF_F_NO_PREALLOC), &ops, false)?;
    }

    #[test]
    fn queue_and_stack_agree_with_linux(ops in ops(Just(Vec::new())), stack in any::<bool>()) {
        let Some(k) = kernel() else { return Ok(()) };
        let ty = if stack { T::Stack } else { T::Queue };
        run(k, MapSpec::new(ty, 0, 8, 4), &ops, false)?;
    }
}
