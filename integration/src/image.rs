//! Builds the suite's images locally (there is no registry to pull from): a busybox image and a
//! pause image, each an OCI image-layout tarball that `ctr images import` accepts.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Reference of the busybox image in every namespace.
pub const BUSYBOX_REF: &str = "blackbox.test/busybox:1";
/// Reference of the pause (sandbox) image; the CRI config's `sandbox_image`.
pub const PAUSE_REF: &str = "blackbox.test/pause:1";

/// The pause container's program: sleeps until told to stop, exits 0 on SIGTERM/SIGINT and,
/// like every process, dies on SIGKILL.
pub const PAUSE_SCRIPT: &str = "trap 'exit 0' TERM INT; sleep 2147483647 & wait";

const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The two image tarballs built for one run.
#[derive(Debug, Clone)]
pub struct Images {
    pub busybox: PathBuf,
    pub pause: PathBuf,
}

/// Builds both tarballs into `dir` from the host's static `busybox`.
pub fn build_all(dir: &Path, busybox: &Path) -> Result<Images> {
    let layer = rootfs_layer(busybox)?;
    let busybox_tar = dir.join("busybox.oci.tar");
    write_image(
        &busybox_tar,
        BUSYBOX_REF,
        &layer,
        json!({ "Env": [PATH_ENV], "Cmd": ["/bin/sh"], "WorkingDir": "/" }),
    )?;
    let pause_tar = dir.join("pause.oci.tar");
    write_image(
        &pause_tar,
        PAUSE_REF,
        &layer,
        json!({
            "Env": [PATH_ENV],
            "Entrypoint": ["/bin/sh", "-c", PAUSE_SCRIPT],
            "WorkingDir": "/",
        }),
    )?;
    Ok(Images {
        busybox: busybox_tar,
        pause: pause_tar,
    })
}

/// An uncompressed layer tar plus its gzip form.
struct Layer {
    tar: Vec<u8>,
    gz: Vec<u8>,
}

fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// The root file system: /bin/busybox, one symlink per applet, /etc/passwd and friends.
fn rootfs_layer(busybox: &Path) -> Result<Layer> {
    let list = crate::cmd::run(
        {
            let mut c = std::process::Command::new(busybox);
            c.arg("--list");
            c
        },
        None,
        std::time::Duration::from_secs(10),
    )?
    .ok()?;
    let binary =
        std::fs::read(busybox).with_context(|| format!("reading {}", busybox.display()))?;

    let mut builder = tar::Builder::new(Vec::new());
    for (dir, mode) in [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
        ("var", 0o755),
    ] {
        let mut h = header(tar::EntryType::Directory, mode, 0);
        builder.append_data(&mut h, format!("{dir}/"), std::io::empty())?;
    }
    let mut h = header(tar::EntryType::Regular, 0o755, binary.len() as u64);
    builder.append_data(&mut h, "bin/busybox", binary.as_slice())?;
    for applet in list.stdout.split_whitespace() {
        if applet == "busybox" {
            continue;
        }
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        builder.append_link(&mut h, format!("bin/{applet}"), "busybox")?;
    }
    let files: [(&str, &str); 3] = [
        (
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        ("etc/hostname", "blackbox-test\n"),
    ];
    for (path, content) in files {
        let mut h = header(tar::EntryType::Regular, 0o644, content.len() as u64);
        builder.append_data(&mut h, path, content.as_bytes())?;
    }
    let tar = builder.into_inner()?;
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar)?;
    Ok(Layer {
        tar,
        gz: gz.finish()?,
    })
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

/// Writes an OCI image layout (oci-layout, index.json, blobs) as one tar at `out`.
fn write_image(
    out: &Path,
    reference: &str,
    layer: &Layer,
    config: serde_json::Value,
) -> Result<()> {
    let layer_digest = format!("sha256:{}", sha256_hex(&layer.gz));
    let diff_id = format!("sha256:{}", sha256_hex(&layer.tar));
    let config_blob = serde_json::to_vec(&json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": config,
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [{ "created_by": "blackbox-integration image builder" }],
    }))?;
    let config_digest = format!("sha256:{}", sha256_hex(&config_blob));
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_blob.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer_digest,
            "size": layer.gz.len(),
        }],
    }))?;
    let manifest_digest = format!("sha256:{}", sha256_hex(&manifest));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest.len(),
            "platform": { "architecture": oci_arch(), "os": "linux" },
            "annotations": {
                "org.opencontainers.image.ref.name": reference,
                "io.containerd.image.name": reference,
            },
        }],
    }))?;

    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut builder = tar::Builder::new(file);
    let mut add = |path: &str, data: &[u8]| -> Result<()> {
        let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
        builder.append_data(&mut h, path, data)?;
        Ok(())
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    add("index.json", &index)?;
    for (digest, data) in [
        (&manifest_digest, manifest.as_slice()),
        (&config_digest, config_blob.as_slice()),
        (&layer_digest, layer.gz.as_slice()),
    ] {
        let hex = digest.trim_start_matches("sha256:");
        add(&format!("blobs/sha256/{hex}"), data)?;
    }
    builder.into_inner()?.flush()?;
    Ok(())
}

/// GOARCH-style name of this machine's architecture.
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv64",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}
