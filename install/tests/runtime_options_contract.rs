//! The runtime options file the installer writes must be one the shim accepts: the shim reads
//! it with `blackbox_config::RuntimeOptions` (unknown keys and wrong types are errors there).

mod common;

use std::fs;

use blackbox_config::RuntimeOptions;
use common::{Node, TestResult, FIXTURE_16, FIXTURE_20};

fn installed_options(config: Option<&str>) -> Result<RuntimeOptions, Box<dyn std::error::Error>> {
    let node = Node::new(config)?;
    let mut opts = node.install_options();
    opts.config_schema = Some(blackbox_install::ConfigSchema::V2);
    blackbox_install::plan_install(&opts)?.apply()?;
    let path = node.runtime_options();
    Ok(RuntimeOptions::parse(&path, &fs::read_to_string(&path)?)?)
}

#[test]
fn options_copied_from_containerd_16_parse_as_runc_defaults() -> TestResult {
    assert_eq!(
        installed_options(Some(FIXTURE_16))?,
        RuntimeOptions::default()
    );
    Ok(())
}

#[test]
fn options_copied_from_containerd_2_keep_their_values() -> TestResult {
    let options = installed_options(Some(FIXTURE_20))?;
    assert!(options.systemd_cgroup);
    assert_eq!(options.runc_binary(), "/usr/local/sbin/runc");
    Ok(())
}

#[test]
fn commented_defaults_file_parses_as_runc_defaults() -> TestResult {
    assert_eq!(installed_options(None)?, RuntimeOptions::default());
    Ok(())
}

#[test]
fn installer_and_shim_agree_on_the_default_path() {
    let installed = std::path::Path::new(blackbox_install::defaults::BLACKBOX_DIR)
        .join(blackbox_install::defaults::RUNTIME_OPTIONS_FILE);
    assert_eq!(
        installed,
        std::path::Path::new(blackbox_config::DEFAULT_RUNTIME_OPTIONS_PATH)
    );
}
