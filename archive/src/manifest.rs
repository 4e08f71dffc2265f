//! `manifest.json` (what the archive holds, with hashes) and `manifest.sig` (its Ed25519
//! signature).
//!
//! The signature covers exactly the bytes `SIGNING_CONTEXT || manifest.json`, where
//! `SIGNING_CONTEXT` is the ASCII string `blackbox-archive-manifest-v1` followed by one
//! newline byte, and `manifest.json` is the member's data as stored. A verifier never
//! re-serialises JSON.

use serde::{Deserialize, Serialize};

/// Major version of the archive format; readers refuse a larger one.
pub const FORMAT_MAJOR: u32 = 1;
/// Minor version (additions only).
pub const FORMAT_MINOR: u32 = 0;
/// Value of `manifest.format`.
pub const MANIFEST_FORMAT: &str = "blackbox-archive";
/// Prefix of the signed message.
pub const SIGNING_CONTEXT: &[u8] = b"blackbox-archive-manifest-v1\n";

/// Member names.
pub mod members {
    /// The capture.
    pub const CAPTURE: &str = "capture.scap";
    /// Raw damaged capture bytes (recovered archives only).
    pub const CAPTURE_TAIL: &str = "capture.tail";
    /// Metadata.
    pub const METADATA: &str = "metadata.json";
    /// Exec sessions.
    pub const EXECS: &str = "execs.jsonl";
    /// Alerts.
    pub const ALERTS: &str = "alerts.jsonl";
    /// File-system diff index.
    pub const FSDIFF: &str = "fsdiff.jsonl";
    /// Prefix of copied file contents.
    pub const FS_PREFIX: &str = "fs/";
    /// Manifest.
    pub const MANIFEST: &str = "manifest.json";
    /// Signature.
    pub const SIGNATURE: &str = "manifest.sig";
}

/// One member in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestMember {
    /// Member name, escaped (see `pathenc`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the data, hex.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// [`FORMAT_MAJOR`].
    pub version_major: u32,
    /// [`FORMAT_MINOR`].
    pub version_minor: u32,
    /// The container.
    pub container_id: String,
    /// `sealed` or `recovered`.
    pub seal_state: String,
    /// When sealed.
    pub sealed_at: String,
    /// Fingerprint of the signing key: SHA-256 of the raw 32-byte public key, hex.
    pub key_fingerprint: String,
    /// The raw public key, hex (for integrity checks without the node's key file; trust
    /// comes only from comparing the fingerprint with a known key).
    pub public_key: String,
    /// Every member except `manifest.json` and `manifest.sig`, in archive order.
    pub members: Vec<ManifestMember>,
}

/// `manifest.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSignature {
    /// Always `ed25519`.
    pub algorithm: String,
    /// Fingerprint of the key that signed.
    pub key_fingerprint: String,
    /// Always `manifest.json`.
    pub signed_member: String,
    /// The context prefix, as text (`blackbox-archive-manifest-v1\n`).
    pub context: String,
    /// The 64-byte signature, hex.
    pub signature: String,
}

/// The message that is signed.
pub(crate) fn signed_message(manifest_bytes: &[u8]) -> Vec<u8> {
    let mut m = SIGNING_CONTEXT.to_vec();
    m.extend_from_slice(manifest_bytes);
    m
}
