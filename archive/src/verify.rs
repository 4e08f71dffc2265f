//! Verifying an archive: the manifest's signature, then every member against the manifest.

use std::collections::HashMap;

use serde::Serialize;

use crate::key::PublicKey;
use crate::manifest::{
    members, signed_message, Manifest, FORMAT_MAJOR, MANIFEST_FORMAT, SIGNING_CONTEXT,
};
use crate::reader::Archive;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The member concerned (escaped name).
    pub member: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The outcome of [`verify`] on an archive that could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The archive.
    pub path: String,
    /// Fingerprint in the manifest.
    pub key_fingerprint: Option<String>,
    /// The signature was checked against a key the caller supplied (not only the public key
    /// the archive carries).
    pub key_trusted: bool,
    /// The signature verifies.
    pub signature_valid: bool,
    /// Members checked against the manifest.
    pub members_checked: usize,
    /// Everything wrong, in archive order (signature problems first).
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Nothing wrong.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first tampered member.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// Checks `archive`: the signature over `manifest.json` (with `key` when given, else with the
/// public key the manifest carries, which proves integrity but not origin), then each member's
/// size and SHA-256 against the manifest, members missing from the archive and members the
/// manifest does not list.
pub fn verify(archive: &Archive, key: Option<&PublicKey>) -> VerifyReport {
    let mut r = VerifyReport {
        path: archive.path().display().to_string(),
        key_fingerprint: None,
        key_trusted: false,
        signature_valid: false,
        members_checked: 0,
        problems: Vec::new(),
    };
    let mut problem = |member: &str, reason: String| Problem {
        member: member.to_owned(),
        reason,
    };
    let manifest: Manifest = match archive.manifest() {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(problem(members::MANIFEST, e.to_string()));
            return r;
        }
    };
    r.key_fingerprint = Some(manifest.key_fingerprint.clone());
    if manifest.format != MANIFEST_FORMAT || manifest.version_major > FORMAT_MAJOR {
        r.problems.push(problem(
            members::MANIFEST,
            format!(
                "format {:?} version {}.{} is not understood (this reader: {MANIFEST_FORMAT} {FORMAT_MAJOR}.x)",
                manifest.format, manifest.version_major, manifest.version_minor
            ),
        ));
        return r;
    }
    check_signature(archive, &manifest, key, &mut r, &mut problem);

    // Members against the manifest.
    let mut listed: HashMap<&str, &crate::manifest::ManifestMember> = HashMap::new();
    for m in &manifest.members {
        if listed.insert(m.name.as_str(), m).is_some() {
            r.problems
                .push(problem(&m.name, "listed twice in manifest.json".into()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for m in archive.members() {
        let name = m.display_name();
        if name == members::MANIFEST || name == members::SIGNATURE {
            continue;
        }
        r.members_checked += 1;
        seen.insert(name.clone());
        match listed.get(name.as_str()) {
            None => r
                .problems
                .push(problem(&name, "not listed in manifest.json (added)".into())),
            Some(l) if l.size != m.size => r.problems.push(problem(
                &name,
                format!("size {} differs from the manifest's {}", m.size, l.size),
            )),
            Some(l) if l.sha256 != hex::encode(m.sha256) => {
                r.problems.push(problem(
                    &name,
                    "content differs from the manifest (SHA-256 mismatch)".into(),
                ));
            }
            Some(_) => {}
        }
    }
    for m in &manifest.members {
        if !seen.contains(&m.name) {
            r.problems.push(problem(
                &m.name,
                "listed in manifest.json but missing".into(),
            ));
        }
    }
    r
}

fn check_signature(
    archive: &Archive,
    manifest: &Manifest,
    key: Option<&PublicKey>,
    r: &mut VerifyReport,
    problem: &mut impl FnMut(&str, String) -> Problem,
) {
    let sig = match archive.signature() {
        Ok(s) => s,
        Err(e) => {
            r.problems.push(problem(members::SIGNATURE, e.to_string()));
            return;
        }
    };
    let embedded = PublicKey::from_hex(&manifest.public_key);
    let public = match (key, &embedded) {
        (Some(k), _) => {
            r.key_trusted = true;
            if k.fingerprint() != manifest.key_fingerprint {
                r.problems.push(problem(
                    members::MANIFEST,
                    format!(
                        "signed by key {} but the given key is {}",
                        manifest.key_fingerprint,
                        k.fingerprint()
                    ),
                ));
                return;
            }
            *k
        }
        (None, Ok(k)) => {
            if k.fingerprint() != manifest.key_fingerprint || k.to_hex() != manifest.public_key {
                r.problems.push(problem(
                    members::MANIFEST,
                    "public_key does not match key_fingerprint".into(),
                ));
                return;
            }
            *k
        }
        (None, Err(e)) => {
            r.problems
                .push(problem(members::MANIFEST, format!("public_key: {e}")));
            return;
        }
    };
    // Every field is checked exactly (lower-case hex included), so that no byte of
    // manifest.sig can change unnoticed.
    if sig.algorithm != "ed25519"
        || sig.key_fingerprint != manifest.key_fingerprint
        || sig.signed_member != members::MANIFEST
        || sig.context.as_bytes() != SIGNING_CONTEXT
    {
        r.problems.push(problem(
            members::SIGNATURE,
            "algorithm, key fingerprint, signed member or context is not as written by blackbox"
                .into(),
        ));
        return;
    }
    let raw: Option<[u8; 64]> = hex::decode(&sig.signature)
        .ok()
        .filter(|v| hex::encode(v) == sig.signature)
        .and_then(|v| v.try_into().ok());
    let Some(raw) = raw else {
        r.problems.push(problem(
            members::SIGNATURE,
            "signature is not 64 bytes of hex".into(),
        ));
        return;
    };
    let bytes = archive.manifest_bytes().unwrap_or_default();
    if public.verify(&signed_message(bytes), &raw) {
        r.signature_valid = true;
    } else {
        r.problems.push(problem(
            members::MANIFEST,
            "the signature does not verify: manifest.json or manifest.sig was changed".into(),
        ));
    }
}
