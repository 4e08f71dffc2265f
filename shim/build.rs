//! Link the shim with packed relative relocations (DT_RELR): a shim runs for
//! every pod on a node, and most of its memory is its own mapped image; this
//! shrinks the relocation data it dirties at start (docs/performance.md).
//! Needs binutils ≥ 2.38 to link and glibc ≥ 2.36 on the node (Debian 12 has
//! both).
fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
