//! Compiles `bpf/recorder.bpf.c` with clang (`-target bpf`) and generates the Rust
//! mirror of `bpf/wire.h` with bindgen, so the wire layout is written once.
//!
//! Needs (Debian 12): `clang-19` (compiler, and libclang-19 for bindgen, which
//! clang-19 pulls in), `libbpf-dev` (bpf_helpers.h & co). Override the compiler
//! with `BPF_CLANG=/path/to/clang` and libclang's directory with `LIBCLANG_PATH`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const BPF_SOURCES: &[&str] = &[
    "bpf/recorder.bpf.c",
    "bpf/floor.bpf.c",
    "bpf/wire.h",
    "bpf/syscalls_x86_64.h",
    "bpf/vmlinux_min.h",
    "bpf/maps.h",
    "bpf/record.h",
    "bpf/task.h",
];

fn main() {
    if let Err(e) = run() {
        // A build script reports through a panic; make it one readable message.
        panic!("\n\nblackbox-recorder-ebpf build failed: {e:#}\n\n");
    }
}

fn run() -> Result<()> {
    for f in BPF_SOURCES {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-env-changed=BPF_CLANG");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");

    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if arch != "x86_64" {
        bail!("the recorder's programs read x86_64 syscall registers; target arch {arch} is not supported yet");
    }
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var("OUT_DIR").context("OUT_DIR")?);
    let bpf_dir = manifest.join("bpf");

    compile_bpf(&bpf_dir, "recorder.bpf.c", &out.join("recorder.bpf.o"))?;
    compile_bpf(&bpf_dir, "floor.bpf.c", &out.join("floor.bpf.o"))?;
    generate_wire_rs(&bpf_dir, &out.join("wire.rs"))?;
    Ok(())
}

fn compile_bpf(bpf_dir: &Path, source: &str, object: &Path) -> Result<()> {
    let clang = env::var("BPF_CLANG").unwrap_or_else(|_| "clang-19".to_owned());
    let version = Command::new(&clang).arg("--version").output();
    match version {
        Ok(o) if o.status.success() => {}
        _ => bail!(
            "`{clang}` not found or not working: install it with `apt-get install -y clang-19` \
             (or point BPF_CLANG at a clang >= 14 with the BPF target)"
        ),
    }
    if !Path::new("/usr/include/bpf/bpf_helpers.h").exists() {
        bail!("/usr/include/bpf/bpf_helpers.h is missing: install it with `apt-get install -y libbpf-dev`");
    }
    let status = Command::new(&clang)
        .args([
            "-target",
            "bpf",
            "-mcpu=v3",
            "-g",
            "-O2",
            "-D__TARGET_ARCH_x86",
        ])
        .args(["-Wall", "-Werror"])
        // Keep the object independent of the build directory (it is hashed into the pin path).
        .arg(format!("-fdebug-prefix-map={}=bpf", bpf_dir.display()))
        .arg("-I")
        .arg(bpf_dir)
        .arg("-c")
        .arg(bpf_dir.join(source))
        .arg("-o")
        .arg(object)
        .status()
        .with_context(|| format!("running {clang}"))?;
    if !status.success() {
        bail!("{clang} failed to compile bpf/{source} ({status})");
    }
    Ok(())
}

fn generate_wire_rs(bpf_dir: &Path, out: &Path) -> Result<()> {
    if env::var_os("LIBCLANG_PATH").is_none() && Path::new("/usr/lib/llvm-19/lib").exists() {
        // clang-sys searches llvm-config's directory first, which on Debian 12 may be LLVM 14
        // without libclang; the clang-19 package ships libclang-19.so.1 here.
        // SAFETY of set_var: build scripts are single-threaded at this point.
        env::set_var("LIBCLANG_PATH", "/usr/lib/llvm-19/lib");
    }
    let header = bpf_dir.join("wire.h");
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .clang_arg(format!("-I{}", bpf_dir.display()))
        .allowlist_type("bb_.*")
        .allowlist_var("BB_.*")
        .use_core()
        .derive_default(true)
        .derive_debug(true)
        .derive_eq(true)
        .layout_tests(true)
        .generate_comments(true)
        .generate()
        .map_err(|e| {
            anyhow::anyhow!(
                "bindgen could not parse bpf/wire.h: {e}. bindgen needs libclang: \
                 `apt-get install -y libclang1-19` (comes with clang-19) or set LIBCLANG_PATH"
            )
        })?;
    bindings
        .write_to_file(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
