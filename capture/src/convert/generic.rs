//! GENERIC events (0/1) for syscalls without a dedicated event, and for records that could not
//! be converted: `ID` is the PPM_SC code of the syscall's name (sysdig prints the event under
//! that name), `nativeID` the x86_64 number.

use std::sync::OnceLock;

use blackbox_scap::event_table::PPM_SC_NAMES;
use blackbox_scap::{BuildError, Event, EventBuilder};

use super::syscall_names::X86_64;

/// `PPME_GENERIC_E`.
pub const GENERIC_E: u16 = 0;
/// `PPME_GENERIC_X`.
pub const GENERIC_X: u16 = 1;

/// The x86_64 name of syscall `nr`, if the number is assigned.
pub fn syscall_name_of(nr: u32) -> Option<&'static str> {
    X86_64.get(nr as usize).copied().filter(|n| !n.is_empty())
}

/// The PPM_SC code sysdig 0.29.3 knows syscall `nr` by; 0 (`<unknown>`) when it has none
/// (memfd_create, statx, io_uring_*, … are newer than its table).
pub fn ppm_sc_of(nr: u32) -> u16 {
    static TABLE: OnceLock<Vec<u16>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        X86_64
            .iter()
            .map(|name| {
                if name.is_empty() {
                    return 0;
                }
                PPM_SC_NAMES
                    .iter()
                    .position(|n| n == name)
                    .and_then(|i| u16::try_from(i).ok())
                    .unwrap_or(0)
            })
            .collect()
    });
    table.get(nr as usize).copied().unwrap_or(0)
}

/// GENERIC enter of syscall `nr`.
pub fn enter(nr: u32, ts: u64, tid: u64, cpu: u16) -> Result<Event, BuildError> {
    EventBuilder::new(ts, tid, GENERIC_E)
        .cpu(cpu)
        .param_u16(ppm_sc_of(nr))
        .param_u16(u16::try_from(nr).unwrap_or(u16::MAX))
        .build()
}

/// GENERIC exit of syscall `nr`.
pub fn exit(nr: u32, ts: u64, tid: u64, cpu: u16) -> Result<Event, BuildError> {
    EventBuilder::new(ts, tid, GENERIC_X)
        .cpu(cpu)
        .param_u16(ppm_sc_of(nr))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use blackbox_scap::syscall_name;

    #[test]
    fn names_map_to_ppm_sc_codes() {
        assert_eq!(syscall_name_of(110), Some("getppid"));
        assert_eq!(syscall_name(ppm_sc_of(110)), Some("getppid"));
        assert_eq!(syscall_name(ppm_sc_of(157)), Some("prctl"));
        assert_eq!(syscall_name(ppm_sc_of(231)), Some("exit_group"));
        assert_eq!(syscall_name(ppm_sc_of(313)), Some("finit_module"));
        assert_eq!(
            ppm_sc_of(319),
            0,
            "memfd_create has no code in this version"
        );
        assert_eq!(ppm_sc_of(100_000), 0);
        assert_eq!(syscall_name_of(100_000), None);
        let e = enter(110, 5, 7, 1).expect("generic enter");
        assert_eq!(e.params.len(), 2);
        assert_eq!(exit(110, 6, 7, 1).expect("generic exit").params.len(), 1);
    }
}
