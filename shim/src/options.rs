//! Decoding the runtime options containerd sends with Create and `start`.
//!
//! Two messages can arrive in the `Any`: runc's own `Options`
//! (`containerd.runc.v1.Options`, from a client that sets them explicitly) and
//! the CRI plugin's generic `runtimeoptions.v1.Options { type_url,
//! config_path }`, which is what a CRI handler of any non-runc runtime type
//! gets; its `config_path` names our runtime options file.

use std::path::Path;

use blackbox_config::RuntimeOptions;
use containerd_shim::protos::{
    protobuf::{well_known_types::any::Any, CodedInputStream, Message},
    shim::oci::Options as RuncOptions,
};

use crate::errors::{invalid, Result};

const RUNC_OPTIONS_URL: &str = "containerd.runc.v1.Options";
const CRI_RUNTIME_OPTIONS_URL: &str = "runtimeoptions.v1.Options";

/// The options for a container, from the request's `Any` (absent: defaults).
pub fn decode(any: Option<&Any>) -> Result<RuntimeOptions> {
    let Some(any) = any else {
        return Ok(RuntimeOptions::default());
    };
    let url = any.type_url.rsplit('/').next().unwrap_or_default();
    match url {
        "" if any.value.is_empty() => Ok(RuntimeOptions::default()),
        RUNC_OPTIONS_URL => {
            let runc = RuncOptions::parse_from_bytes(&any.value)
                .map_err(|e| invalid(format!("runtime options {url}: {e}")))?;
            Ok(from_runc(&runc))
        }
        CRI_RUNTIME_OPTIONS_URL => {
            let config_path = cri_config_path(&any.value)?;
            if config_path.is_empty() {
                return Ok(RuntimeOptions::default());
            }
            RuntimeOptions::load(Path::new(&config_path))
                .map_err(|e| invalid(format!("runtime options file {e}")))
        }
        other => Err(invalid(format!(
            "unknown runtime options type {other:?}: expected {RUNC_OPTIONS_URL} or \
             {CRI_RUNTIME_OPTIONS_URL} (with ConfigPath naming a blackbox runtime.toml)"
        ))),
    }
}

fn from_runc(o: &RuncOptions) -> RuntimeOptions {
    RuntimeOptions {
        binary_name: o.binary_name.clone(),
        root: o.root.clone(),
        systemd_cgroup: o.systemd_cgroup,
        no_pivot_root: o.no_pivot_root,
        no_new_keyring: o.no_new_keyring,
        shim_cgroup: o.shim_cgroup.clone(),
        io_uid: o.io_uid,
        io_gid: o.io_gid,
        criu_path: String::new(),
        criu_image_path: o.criu_image_path.clone(),
        criu_work_path: o.criu_work_path.clone(),
    }
}

/// `runtimeoptions.v1.Options`: field 1 `type_url`, field 2 `config_path`,
/// both strings. Decoded by hand: the generated type is not in the protos crate.
fn cri_config_path(bytes: &[u8]) -> Result<String> {
    let mut input = CodedInputStream::from_bytes(bytes);
    let mut config_path = String::new();
    let bad = |e: containerd_shim::protos::protobuf::Error| {
        invalid(format!("runtime options {CRI_RUNTIME_OPTIONS_URL}: {e}"))
    };
    while let Some(tag) = input.read_raw_tag_or_eof().map_err(bad)? {
        match tag {
            // field 1 (type_url), wire type 2
            10 => {
                input.read_string().map_err(bad)?;
            }
            // field 2 (config_path), wire type 2
            18 => config_path = input.read_string().map_err(bad)?,
            _ => input
                .skip_field(
                    containerd_shim::protos::protobuf::rt::WireType::new(tag & 7).ok_or_else(
                        || invalid(format!("runtime options: bad wire type in tag {tag}")),
                    )?,
                )
                .map_err(bad)?,
        }
    }
    Ok(config_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(url: &str, value: Vec<u8>) -> Any {
        Any {
            type_url: url.to_string(),
            value,
            ..Default::default()
        }
    }

    fn cri_options(config_path: &str) -> Vec<u8> {
        let mut out = vec![10, 3];
        out.extend_from_slice(b"xyz");
        out.push(18);
        out.push(u8::try_from(config_path.len()).expect("short path"));
        out.extend_from_slice(config_path.as_bytes());
        out
    }

    #[test]
    fn absent_options_are_defaults() {
        assert_eq!(decode(None).expect("ok"), RuntimeOptions::default());
    }

    #[test]
    fn runc_options_are_mapped() {
        let runc = RuncOptions {
            binary_name: "/usr/sbin/runc".into(),
            systemd_cgroup: true,
            root: "/run/r".into(),
            ..Default::default()
        };
        let bytes = runc.write_to_bytes().expect("encode");
        let o = decode(Some(&any("containerd.runc.v1.Options", bytes))).expect("ok");
        assert_eq!(o.binary_name, "/usr/sbin/runc");
        assert!(o.systemd_cgroup);
        assert_eq!(o.root, "/run/r");
    }

    #[test]
    fn cri_options_load_the_named_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runtime.toml");
        std::fs::write(&path, "BinaryName = \"/opt/runc\"\n").expect("write");
        let bytes = cri_options(path.to_str().expect("utf-8"));
        let o = decode(Some(&any("runtimeoptions.v1.Options", bytes))).expect("ok");
        assert_eq!(o.binary_name, "/opt/runc");
    }

    #[test]
    fn cri_options_file_errors_name_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("runtime.toml");
        std::fs::write(&path, "BinaryNam = \"/opt/runc\"\n").expect("write");
        let bytes = cri_options(path.to_str().expect("utf-8"));
        let err = decode(Some(&any("runtimeoptions.v1.Options", bytes))).expect_err("bad key");
        let text = err.to_string();
        assert!(text.contains("runtime.toml:1:1"), "{text}");
        assert!(text.contains("BinaryNam"), "{text}");
    }

    #[test]
    fn unknown_type_is_refused() {
        let err = decode(Some(&any("example.com/Foo", vec![1]))).expect_err("unknown");
        assert!(err.to_string().contains("example.com/Foo") || err.to_string().contains("Foo"));
    }
}
