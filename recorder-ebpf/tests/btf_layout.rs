//! The Rust wire types (bindgen, host target) against the layout clang gave the
//! same structs in the BPF object (its BTF): size, member names, member offsets.
//! Catches a header change that compiles differently for the two targets.

use std::collections::HashMap;
use std::mem::{offset_of, size_of};

use blackbox_recorder_ebpf::{wire, OBJECT};
use object::{Object, ObjectSection};

/// One struct as the object's BTF describes it.
#[derive(Debug)]
struct BtfStruct {
    size: u32,
    /// (name, bit offset), in declaration order.
    members: Vec<(String, u32)>,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn str_at(strings: &[u8], off: u32) -> String {
    let s = &strings[off as usize..];
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// Parses the structs of a .BTF section (little endian). Kinds per
/// Documentation/bpf/btf.rst; only what is needed to walk the type list.
fn btf_structs(btf: &[u8]) -> HashMap<String, BtfStruct> {
    assert_eq!(u16::from_le_bytes([btf[0], btf[1]]), 0xeb9f, "BTF magic");
    let hdr_len = u32_at(btf, 4) as usize;
    let type_off = u32_at(btf, 8) as usize;
    let type_len = u32_at(btf, 12) as usize;
    let str_off = u32_at(btf, 16) as usize;
    let str_len = u32_at(btf, 20) as usize;
    let types = &btf[hdr_len + type_off..hdr_len + type_off + type_len];
    let strings = &btf[hdr_len + str_off..hdr_len + str_off + str_len];

    let mut out = HashMap::new();
    let mut pos = 0;
    while pos < types.len() {
        let name_off = u32_at(types, pos);
        let info = u32_at(types, pos + 4);
        let size = u32_at(types, pos + 8);
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let kflag = info >> 31;
        pos += 12;
        match kind {
            // STRUCT
            4 => {
                let mut members = Vec::with_capacity(vlen);
                for i in 0..vlen {
                    let m = pos + i * 12;
                    let mut bit_off = u32_at(types, m + 8);
                    if kflag == 1 {
                        bit_off &= 0x00ff_ffff;
                    }
                    members.push((str_at(strings, u32_at(types, m)), bit_off));
                }
                out.insert(str_at(strings, name_off), BtfStruct { size, members });
                pos += vlen * 12;
            }
            5 => pos += vlen * 12,       // UNION
            1 | 14 | 17 => pos += 4,     // INT, VAR, DECL_TAG
            3 => pos += 12,              // ARRAY
            6 | 13 => pos += vlen * 8,   // ENUM, FUNC_PROTO
            15 | 19 => pos += vlen * 12, // DATASEC, ENUM64
            _ => {}                      // PTR, FWD, TYPEDEF, modifiers, FUNC, FLOAT, TYPE_TAG
        }
    }
    out
}

fn object_structs() -> HashMap<String, BtfStruct> {
    let file = object::File::parse(&OBJECT.0).expect("the BPF object is an ELF file");
    let section = file
        .section_by_name(".BTF")
        .expect("the object has a .BTF section (built with -g)");
    btf_structs(section.data().expect(".BTF data"))
}

/// Asserts that `$ty` has the size and exactly the members (in order, at the
/// offsets) that the object's BTF gives the C struct of the same name.
macro_rules! check_layout {
    ($structs:expr, $ty:ident { $($field:ident),* $(,)? }) => {{
        let name = stringify!($ty);
        let btf = $structs
            .get(name)
            .unwrap_or_else(|| panic!("struct {name} is not in the object's BTF (unused by the programs?)"));
        assert_eq!(btf.size as usize, size_of::<wire::$ty>(), "size of {name}");
        let rust: Vec<(String, u32)> =
            vec![$((stringify!($field).to_owned(), (offset_of!(wire::$ty, $field) * 8) as u32)),*];
        assert_eq!(btf.members, rust, "members of {name} (name, bit offset)");
    }};
}

#[test]
fn wire_types_match_the_object_btf() {
    let s = object_structs();
    check_layout!(
        s,
        bb_hdr {
            ts_boot_ns,
            cgroup_id,
            len,
            kind,
            flags,
            tid,
            pid,
            nr,
            cpu
        }
    );
    check_layout!(s, bb_blob { len, kind, arg });
    check_layout!(
        s,
        bb_syscall_rec {
            hdr,
            ret,
            args,
            blobs
        }
    );
    check_layout!(
        s,
        bb_proc_info {
            ppid,
            uid,
            gid,
            euid,
            egid,
            loginuid,
            vtid,
            vpid,
            vpgid,
            pidns_level,
            fdlimit,
            clone_flags,
            start_boot_ns,
            comm,
            exe_flags,
            _pad
        }
    );
    check_layout!(
        s,
        bb_sock_tuple {
            family,
            lport,
            rport,
            _pad,
            laddr,
            raddr
        }
    );
    check_layout!(
        s,
        bb_proc_exit_rec {
            hdr,
            exit_code,
            group_exit_code,
            group_dead,
            _pad
        }
    );
    check_layout!(
        s,
        bb_container_cfg {
            key,
            snaplen,
            wakeup_bytes,
            syscalls
        }
    );
    check_layout!(
        s,
        bb_losses {
            ringbuf_full,
            ringbuf_full_bytes,
            no_ring,
            scratch_overflow
        }
    );
}

#[test]
fn object_has_every_program_and_map() {
    let file = object::File::parse(&OBJECT.0).expect("ELF");
    for (prog, tp) in blackbox_recorder_ebpf::PROGRAMS {
        let section = format!("tp_btf/{tp}");
        assert!(
            file.section_by_name(&section).is_some(),
            "section {section} for {prog}"
        );
        assert!(
            file.symbols()
                .any(|s| object::ObjectSymbol::name(&s) == Ok(prog)),
            "symbol {prog}"
        );
    }
    use blackbox_recorder_ebpf::map_names::*;
    for map in [CGROUPS, RINGS, LOSSES, SCRATCH, CGROUP_BITS] {
        assert!(
            file.symbols()
                .any(|s| object::ObjectSymbol::name(&s) == Ok(map)),
            "map {map}"
        );
    }
}
