//! The event table agrees with the one compiled into Debian's libscap (the library sysdig
//! 0.29.3 reads captures with): codes, names, categories, flags, and every parameter's name,
//! type, print format and flag/dynamic table. The library's `g_event_info` array is read as
//! data: rows are packed `{char name[32]; u32 category; u32 flags; u32 nparams;
//! param[32]}`, params packed `{char name[32]; u32 type; u32 fmt; void *info; u8 ninfo}`.

mod common;

use std::collections::HashMap;

use blackbox_scap::event_table::{ParamAux, PPM_MAX_EVENT_PARAMS, PPM_SC_NAMES};
use blackbox_scap::{oracle, EVENT_TABLE};

const LIBSCAP: &str = "/lib/x86_64-linux-gnu/libscap.so.0.1.1dev+git20220316.e5c53d64";
const ROW: usize = 44 + 49 * PPM_MAX_EVENT_PARAMS;

struct Elf {
    data: Vec<u8>,
    /// (vaddr, file offset, size) of allocated sections with file contents.
    sections: Vec<(u64, u64, u64)>,
    symbols: HashMap<String, (u64, u64)>,
    symbol_at: HashMap<u64, String>,
    /// Pointer slots filled by relocations: slot vaddr -> target vaddr or symbol name.
    pointers: HashMap<u64, Target>,
}

#[derive(Clone)]
enum Target {
    Addr(u64),
    Symbol(String),
}

fn u16_at(d: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([d[o], d[o + 1]])
}
fn u32_at(d: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(d[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(d: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(d[o..o + 8].try_into().expect("8 bytes"))
}
fn cstr(d: &[u8], o: usize) -> String {
    let end = d[o..].iter().position(|&b| b == 0).expect("NUL") + o;
    String::from_utf8_lossy(&d[o..end]).into_owned()
}

impl Elf {
    fn load(path: &str) -> Self {
        let data = std::fs::read(path).unwrap_or_else(|e| {
            panic!("{path}: {e}: the event-table oracle needs Debian's libscap (`apt-get install sysdig`)")
        });
        let d = &data;
        let shoff = u64_at(d, 0x28) as usize;
        let (shentsize, shnum) = (usize::from(u16_at(d, 0x3a)), usize::from(u16_at(d, 0x3c)));
        let shstrndx = usize::from(u16_at(d, 0x3e));
        let sh = |i: usize| shoff + i * shentsize;
        let strtab = u64_at(d, sh(shstrndx) + 0x18) as usize;
        let mut by_name = HashMap::new();
        let mut sections = Vec::new();
        for i in 0..shnum {
            let o = sh(i);
            let name = cstr(d, strtab + u32_at(d, o) as usize);
            let kind = u32_at(d, o + 4);
            let (addr, off, size) = (
                u64_at(d, o + 0x10),
                u64_at(d, o + 0x18),
                u64_at(d, o + 0x20),
            );
            if kind != 8 && addr != 0 {
                sections.push((addr, off, size));
            }
            by_name.insert(name, (off as usize, size as usize));
        }
        let (dynsym, dynsym_size) = by_name[".dynsym"];
        let (dynstr, _) = by_name[".dynstr"];
        let mut names = Vec::new();
        let mut symbols = HashMap::new();
        let mut symbol_at = HashMap::new();
        for i in 0..dynsym_size / 24 {
            let o = dynsym + i * 24;
            let name = cstr(d, dynstr + u32_at(d, o) as usize);
            let (value, size) = (u64_at(d, o + 8), u64_at(d, o + 16));
            if value != 0 {
                symbols.insert(name.clone(), (value, size));
                symbol_at.insert(value, name.clone());
            }
            names.push(name);
        }
        let (rela, rela_size) = by_name[".rela.dyn"];
        let mut pointers = HashMap::new();
        for i in 0..rela_size / 24 {
            let o = rela + i * 24;
            let (slot, info, addend) = (u64_at(d, o), u64_at(d, o + 8), u64_at(d, o + 16));
            match info & 0xffff_ffff {
                1 => {
                    pointers.insert(slot, Target::Symbol(names[(info >> 32) as usize].clone()));
                }
                8 => {
                    pointers.insert(slot, Target::Addr(addend));
                }
                _ => {}
            }
        }
        Self {
            data,
            sections,
            symbols,
            symbol_at,
            pointers,
        }
    }

    fn offset(&self, vaddr: u64) -> usize {
        let (a, o, _) = self
            .sections
            .iter()
            .find(|(a, _, s)| (*a..a + s).contains(&vaddr))
            .unwrap_or_else(|| panic!("address {vaddr:#x} not in a section"));
        (vaddr - a + o) as usize
    }

    fn pointer_symbol(&self, slot: u64) -> Option<String> {
        match self.pointers.get(&slot)? {
            Target::Symbol(s) => Some(s.clone()),
            Target::Addr(a) => self.symbol_at.get(a).cloned(),
        }
    }
}

#[test]
fn event_table_matches_libscap() {
    oracle::require_sysdig();
    let elf = Elf::load(LIBSCAP);
    let d = &elf.data;
    let (base, size) = elf.symbols["g_event_info"];
    assert_eq!(
        size as usize,
        ROW * EVENT_TABLE.len(),
        "row count (PPM_EVENT_MAX)"
    );
    // The dynamic-parameter tables: arrays of packed 49-byte param infos.
    let dyn_types = |name: &str| -> Vec<u8> {
        let (a, s) = elf.symbols[name];
        let o = elf.offset(a);
        (0..s as usize / 49).map(|i| d[o + i * 49 + 32]).collect()
    };
    for info in EVENT_TABLE.iter() {
        let vaddr = base + (usize::from(info.code) * ROW) as u64;
        let o = elf.offset(vaddr);
        let ctx = format!("event {}", info.code);
        assert_eq!(cstr(d, o), info.name, "{ctx}: name");
        assert_eq!(u32_at(d, o + 32), info.category as u32, "{ctx}: category");
        assert_eq!(u32_at(d, o + 36), info.flags, "{ctx}: flags");
        assert_eq!(
            u32_at(d, o + 40) as usize,
            info.params.len(),
            "{ctx}: nparams"
        );
        for (j, p) in info.params.iter().enumerate() {
            let po = o + 44 + j * 49;
            let pctx = format!("{ctx} param {j} ({})", p.name);
            assert_eq!(cstr(d, po), p.name, "{pctx}: name");
            assert_eq!(u32_at(d, po + 32), p.ty as u32, "{pctx}: type");
            assert_eq!(u32_at(d, po + 36), p.fmt as u32, "{pctx}: print format");
            let table = elf.pointer_symbol(vaddr + (44 + j * 49 + 40) as u64);
            match p.aux {
                ParamAux::None => assert_eq!(table, None, "{pctx}: info table"),
                ParamAux::Flags(name) => assert_eq!(table.as_deref(), Some(name), "{pctx}"),
                ParamAux::Dyn(types) => {
                    let name = table.unwrap_or_else(|| panic!("{pctx}: no dynamic table"));
                    let ours: Vec<u8> = types.iter().map(|t| *t as u8).collect();
                    assert_eq!(dyn_types(&name), ours, "{pctx}: dynamic types");
                    assert_eq!(usize::from(d[po + 48]), types.len(), "{pctx}: ninfo");
                }
            }
        }
    }
    // PPM_SC syscall names: rows {u32 category; u32 flags; char *name}.
    let (sc_base, sc_size) = elf.symbols["g_syscall_info_table"];
    assert_eq!(sc_size as usize, 16 * PPM_SC_NAMES.len());
    for (i, name) in PPM_SC_NAMES.iter().enumerate() {
        let slot = sc_base + (i * 16 + 8) as u64;
        let lib = match elf.pointers.get(&slot) {
            Some(Target::Addr(a)) => cstr(d, elf.offset(*a)),
            _ => String::new(),
        };
        assert_eq!(&lib, name, "PPM_SC {i}");
    }
}
