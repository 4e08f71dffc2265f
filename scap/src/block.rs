//! Block framing: type ids and the `type | total_length | body | pad | total_length` frame.

/// Section header block.
pub const SHB: u32 = 0x0A0D_0D0A;
/// Byte-order magic in the SHB.
pub const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// SHB major version written.
pub const SHB_MAJOR: u16 = 1;
/// SHB minor version written.
pub const SHB_MINOR: u16 = 2;
/// SHB total length (fixed).
pub const SHB_LEN: u32 = 28;

/// Machine info.
pub const MI: u32 = 0x201;
/// Machine info, legacy id.
pub const MI_LEGACY: u32 = 0x8002_ABCD;
/// Machine info total length (fixed: 12 bytes of frame + 180 bytes of body).
pub const MI_LEN: u32 = 192;
/// Process list v9.
pub const PL_V9: u32 = 0x215;
/// FD list v2 (one block per thread).
pub const FDL_V2: u32 = 0x218;
/// User/group list v2.
pub const UL_V2: u32 = 0x220;
/// Interface list v2.
pub const IL_V2: u32 = 0x219;
/// Event block v2.
pub const EV_V2: u32 = 0x216;
/// Event block v2, large.
pub const EV_V2_LARGE: u32 = 0x221;
/// Event block v2 with 32-bit flags.
pub const EVF_V2: u32 = 0x217;
/// Event block v2 with flags, large.
pub const EVF_V2_LARGE: u32 = 0x222;
/// Event block v1 (no nparams in the event header).
pub const EV_V1: u32 = 0x204;
/// Event block v1 with flags.
pub const EVF_V1: u32 = 0x208;
/// Event block v1, legacy id.
pub const EV_V1_LEGACY: u32 = 0x8010_ABCD;

/// For non-LARGE event blocks, `total_length - 8` may not exceed this (sysdig's read buffer).
pub const NON_LARGE_MAX_READ: u32 = 65536;

/// EVF flag: the event updates state but is not shown.
pub const EVF_STATE_ONLY: u32 = 1;
/// EVF flag: tracer event.
pub const EVF_TRACER: u32 = 2;

/// What kind of block a type id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Section header.
    SectionHeader,
    /// An event block. `v1` blocks have no nparams; `flags` blocks carry a u32 before the event.
    Event {
        /// Version-1 event header (no nparams).
        v1: bool,
        /// A u32 flags word precedes the event.
        flags: bool,
        /// LARGE block: no 64 KiB limit.
        large: bool,
    },
    /// Any metadata or unknown block.
    Other,
}

/// Classifies a block type id.
pub fn kind(block_type: u32) -> BlockKind {
    let ev = |v1, flags, large| BlockKind::Event { v1, flags, large };
    match block_type {
        SHB => BlockKind::SectionHeader,
        EV_V2 => ev(false, false, false),
        EV_V2_LARGE => ev(false, false, true),
        EVF_V2 => ev(false, true, false),
        EVF_V2_LARGE => ev(false, true, true),
        EV_V1 | EV_V1_LEGACY => ev(true, false, false),
        EVF_V1 => ev(true, true, false),
        _ => BlockKind::Other,
    }
}

/// Frames `body` as a block of `block_type`: header, body, zero padding to 4 bytes, trailer.
pub fn frame(block_type: u32, body: &[u8], out: &mut Vec<u8>) -> Result<(), BlockTooLong> {
    let padded = body.len().div_ceil(4) * 4;
    let total = u32::try_from(padded + 12).map_err(|_| BlockTooLong(body.len()))?;
    out.reserve(padded + 12);
    out.extend_from_slice(&block_type.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend_from_slice(&total.to_le_bytes());
    Ok(())
}

/// A block body too long for a u32 length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockTooLong(pub usize);

/// Total framed length for a body of `body_len` bytes.
pub fn framed_len(body_len: usize) -> usize {
    body_len.div_ceil(4) * 4 + 12
}

/// The 28-byte section header block.
pub fn section_header() -> [u8; SHB_LEN as usize] {
    let mut b = [0u8; SHB_LEN as usize];
    b[0..4].copy_from_slice(&SHB.to_le_bytes());
    b[4..8].copy_from_slice(&SHB_LEN.to_le_bytes());
    b[8..12].copy_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
    b[12..14].copy_from_slice(&SHB_MAJOR.to_le_bytes());
    b[14..16].copy_from_slice(&SHB_MINOR.to_le_bytes());
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    b[24..28].copy_from_slice(&SHB_LEN.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_pads_to_four_and_repeats_length() {
        let mut out = Vec::new();
        frame(EV_V2, &[1, 2, 3, 4, 5], &mut out).expect("small body");
        assert_eq!(out.len(), 20);
        assert_eq!(&out[0..4], &EV_V2.to_le_bytes());
        assert_eq!(&out[4..8], &20u32.to_le_bytes());
        assert_eq!(&out[8..16], &[1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(&out[16..20], &20u32.to_le_bytes());
        assert_eq!(framed_len(5), 20);
    }

    #[test]
    fn section_header_matches_spec_bytes() {
        let shb = section_header();
        assert_eq!(&shb[0..4], &[0x0a, 0x0d, 0x0d, 0x0a]);
        assert_eq!(&shb[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
        assert_eq!(&shb[12..16], &[1, 0, 2, 0]);
    }
}
