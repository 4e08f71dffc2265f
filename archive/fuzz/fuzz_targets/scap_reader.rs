//! The SCAP reader on arbitrary bytes (plain or gzip): must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = blackbox_scap::ScapReader::new(data) {
        let mut n = 0;
        while let Some(ev) = r.next_event() {
            if ev.is_err() || n > 100_000 {
                break;
            }
            n += 1;
        }
    }
});
