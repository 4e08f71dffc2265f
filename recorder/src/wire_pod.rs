//! Reading the generated wire structs out of byte buffers, and making them
//! usable as aya map keys/values.

use blackbox_recorder_ebpf::wire::{
    bb_container_cfg, bb_hdr, bb_losses, bb_proc_exit_rec, bb_proc_info, bb_sock_tuple,
    bb_syscall_rec,
};

/// Marker for the bindgen-generated wire structs.
///
/// # Safety
/// Implement only for `#[repr(C)]` types made of integers and integer arrays
/// (no padding holes that matter, no pointers, no bool or enum fields): every
/// bit pattern must be a valid value. `wire.h` guarantees this for `bb_*`.
pub(crate) unsafe trait WirePod: Copy {}

// SAFETY: all generated from wire.h, integers only (see the trait's contract).
unsafe impl WirePod for bb_hdr {}
// SAFETY: as above.
unsafe impl WirePod for bb_syscall_rec {}
// SAFETY: as above.
unsafe impl WirePod for bb_proc_info {}
// SAFETY: as above.
unsafe impl WirePod for bb_sock_tuple {}
// SAFETY: as above.
unsafe impl WirePod for bb_proc_exit_rec {}
// SAFETY: as above.
unsafe impl WirePod for bb_losses {}
// SAFETY: as above.
unsafe impl WirePod for bb_container_cfg {}

/// Reads a `T` from the start of `bytes` (any alignment), or `None` if too short.
pub(crate) fn read_wire<T: WirePod>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < size_of::<T>() {
        return None;
    }
    // SAFETY: the length was checked, read_unaligned needs no alignment, and
    // WirePod guarantees that any bytes form a valid T.
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// `bb_container_cfg` as an aya map value (aya's Pod is foreign, so a local newtype).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct CfgValue(pub bb_container_cfg);
// SAFETY: repr(transparent) over a WirePod type.
unsafe impl aya::Pod for CfgValue {}

/// `bb_losses` as an aya per-CPU map value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct LossesValue(pub bb_losses);
// SAFETY: repr(transparent) over a WirePod type.
unsafe impl aya::Pod for LossesValue {}

/// The bytes of a wire struct (tests build synthetic records with it).
#[cfg(test)]
pub(crate) fn bytes_of<T: WirePod>(v: &T) -> Vec<u8> {
    // SAFETY: T is plain integers (WirePod); reading its bytes is always valid.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}
