//! The node's Ed25519 signing key.
//!
//! Files: the private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, mode 0600, default
//! `/etc/blackbox/node.key`) and the public key next to it as SPKI PEM (`node.key.pub`,
//! `-----BEGIN PUBLIC KEY-----`, mode 0644). Both are what `openssl pkey` reads. The key's
//! fingerprint is the SHA-256 of the 32-byte raw public key, in lower-case hex.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{ArchiveError, Result};
use crate::fsutil;

/// Default path of the node key.
pub const DEFAULT_NODE_KEY: &str = "/etc/blackbox/node.key";

/// The public key file of a private key file: `<path>.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut s = private.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// The node's signing key.
#[derive(Clone)]
pub struct NodeKey {
    signing: SigningKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl NodeKey {
    /// Loads a private key file; refuses one that other users can read.
    pub fn load(path: &Path) -> Result<Self> {
        let meta =
            std::fs::symlink_metadata(path).map_err(|e| ArchiveError::io("read key", path, e))?;
        if !meta.file_type().is_file() {
            return Err(key_err(path, "not a regular file"));
        }
        if meta.mode() & 0o077 != 0 {
            return Err(key_err(
                path,
                &format!(
                    "mode {:04o} lets other users read the private key; run `chmod 600 {}`",
                    meta.mode() & 0o7777,
                    path.display()
                ),
            ));
        }
        if meta.len() > 64 * 1024 {
            return Err(key_err(path, "too large to be a key file"));
        }
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path).map_err(|e| ArchiveError::io("read key", path, e))?,
        );
        let signing = SigningKey::from_pkcs8_pem(&text).map_err(|e| {
            key_err(
                path,
                &format!("not an Ed25519 private key in PKCS#8 PEM: {e}"),
            )
        })?;
        Ok(Self { signing })
    }

    /// Generates a new key and stores it at `path` (0600, never replacing an existing file)
    /// and its public key at `path.pub` (0644). Missing parent directories are created 0700.
    pub fn generate_and_store(path: &Path) -> Result<Self> {
        let key = Self::generate()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fsutil::create_dir_all(dir, 0o700)?;
        }
        let pem = key
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| key_err(path, &format!("encode: {e}")))?;
        // Written to a temp file first so that a crash never leaves a half key at `path`.
        let tmp = fsutil::temp_sibling(path);
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(&tmp)
                .map_err(|e| ArchiveError::io("create key", &tmp, e))?;
            f.write_all(pem.as_bytes())
                .map_err(|e| ArchiveError::io("write key", &tmp, e))?;
            f.sync_all()
                .map_err(|e| ArchiveError::io("fsync key", &tmp, e))?;
            fsutil::rename_noreplace(&tmp, path)
        })();
        match written {
            Ok(true) => {}
            Ok(false) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(key_err(path, "already exists; not replacing a key"));
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
        let public = key.public_key_pem()?;
        fsutil::atomic_write(&public_key_path(path), public.as_bytes(), 0o644)?;
        Ok(key)
    }

    /// A fresh random key (not stored).
    pub fn generate() -> Result<Self> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| {
            key_err(
                Path::new("<random>"),
                &format!("no randomness from the OS: {e}"),
            )
        })?;
        Ok(Self {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// SHA-256 of the raw public key, hex.
    pub fn fingerprint(&self) -> String {
        self.public_key().fingerprint()
    }

    /// The public key as SPKI PEM.
    pub fn public_key_pem(&self) -> Result<String> {
        self.public_key().to_pem()
    }

    /// Signs `msg`.
    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }
}

/// An Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Reads a public key file: SPKI PEM (`node.key.pub`), 64 hex digits of the raw key, or a
    /// private key file (its public half is used).
    pub fn load(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| ArchiveError::io("read key", path, e))?;
        if meta.len() > 64 * 1024 {
            return Err(key_err(path, "too large to be a key file"));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| ArchiveError::io("read key", path, e))?;
        Self::parse(&text).map_err(|reason| key_err(path, &reason))
    }

    /// Parses SPKI PEM, PKCS#8 PEM (private) or 64 hex digits.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let t = text.trim();
        if t.contains("BEGIN PUBLIC KEY") {
            return VerifyingKey::from_public_key_pem(t)
                .map(PublicKey)
                .map_err(|e| format!("not an Ed25519 public key in SPKI PEM: {e}"));
        }
        if t.contains("BEGIN PRIVATE KEY") {
            return SigningKey::from_pkcs8_pem(t)
                .map(|k| PublicKey(k.verifying_key()))
                .map_err(|e| format!("not an Ed25519 private key in PKCS#8 PEM: {e}"));
        }
        Self::from_hex(t)
    }

    /// From 64 hex digits of the raw key.
    pub fn from_hex(hex_text: &str) -> std::result::Result<Self, String> {
        let raw =
            hex::decode(hex_text.trim()).map_err(|_| "neither PEM nor 64 hex digits".to_owned())?;
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| "a raw Ed25519 public key has 32 bytes (64 hex digits)".to_owned())?;
        VerifyingKey::from_bytes(&raw)
            .map(PublicKey)
            .map_err(|e| format!("invalid Ed25519 public key: {e}"))
    }

    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Raw key in hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// SHA-256 of the raw key, hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.0.to_bytes()))
    }

    /// SPKI PEM.
    pub fn to_pem(&self) -> Result<String> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| key_err(Path::new("<public key>"), &format!("encode: {e}")))
    }

    /// Checks a signature.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.0.verify(msg, &Signature::from_bytes(sig)).is_ok()
    }
}

fn key_err(path: &Path, reason: &str) -> ArchiveError {
    ArchiveError::Key {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generate_store_load_roundtrip() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("etc/node.key");
        let key = NodeKey::generate_and_store(&path)?;
        assert_eq!(
            std::fs::metadata(&path)?.permissions().mode() & 0o777,
            0o600
        );
        let loaded = NodeKey::load(&path)?;
        assert_eq!(loaded.fingerprint(), key.fingerprint());
        let public = PublicKey::load(&public_key_path(&path))?;
        assert_eq!(public, key.public_key());
        assert_eq!(PublicKey::load(&path)?, key.public_key());
        assert_eq!(PublicKey::from_hex(&public.to_hex()), Ok(public));
        let sig = key.sign(b"msg");
        assert!(public.verify(b"msg", &sig));
        assert!(!public.verify(b"msg2", &sig));
        // Never replaced.
        assert!(NodeKey::generate_and_store(&path).is_err());
        assert_eq!(NodeKey::load(&path)?.fingerprint(), key.fingerprint());
        // Readable by others: refused.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        let err = NodeKey::load(&path).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("chmod 600")));
        assert!(PublicKey::parse("zz").is_err());
        assert!(PublicKey::parse(&"00".repeat(31)).is_err());
        Ok(())
    }
}
