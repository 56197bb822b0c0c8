//! The helpers a runtime starts with.

/// Every helper oxbpf implements, by kernel number.
pub(crate) fn standard() -> vm::HelperRegistry {
    vm::HelperRegistry::with_builtins()
}
