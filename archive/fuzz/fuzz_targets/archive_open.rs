//! Archive::open + verify on arbitrary bytes: must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = std::env::temp_dir().canonicalize() else {
        return;
    };
    let path = dir.join(format!("blackbox-fuzz-{}.tar", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(a) = blackbox_archive::Archive::open(&path) {
        let _ = blackbox_archive::verify(&a, None);
        let _ = a.metadata();
        let _ = blackbox_archive::read_fsdiff(&a);
    }
    let _ = std::fs::remove_file(&path);
});
