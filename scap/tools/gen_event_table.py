#!/usr/bin/env python3
"""Regenerate scap/src/event_table/data.rs from the tables inside Debian's libscap.

Reads the `g_event_info` array (and the dynamic-parameter tables) of the installed
libscap.so as plain data: every row is a packed struct
  char name[32]; u32 category; u32 flags; u32 nparams; param[32]
and every param is a packed struct
  char name[32]; u32 type; u32 print_format; void *info; u8 ninfo
`info` is resolved through the library's R_X86_64_64 relocations to the symbol it points at
(`file_flags`, `ptrace_dynamic_param`, ...).

Usage: python3 scap/tools/gen_event_table.py > scap/src/event_table/data.rs && cargo fmt
"""
import struct
import textwrap
import sys

LIB = "/lib/x86_64-linux-gnu/libscap.so.0.1.1dev+git20220316.e5c53d64"
ROW, PARAM, MAX_PARAMS = 1612, 49, 32

TYPES = ["None", "Int8", "Int16", "Int32", "Int64", "Uint8", "Uint16", "Uint32", "Uint64",
         "CharBuf", "ByteBuf", "Errno", "SockAddr", "SockTuple", "Fd", "Pid", "FdList",
         "FsPath", "SyscallId", "SigType", "RelTime", "AbsTime", "Port", "L4Proto",
         "SockFamily", "Bool", "Ipv4Addr", "Dyn", "Flags8", "Flags16", "Flags32", "Uid", "Gid",
         "Double", "SigSet", "CharBufArray", "CharBufPairArray", "Ipv4Net", "Ipv6Addr",
         "Ipv6Net", "IpAddr", "IpNet", "Mode", "FsRelPath"]
FMTS = ["Na", "Dec", "Hex", "PaddedDec", "Id", "Dir", "Oct"]
CATS = {0: "Unknown", 1: "Other", 2: "File", 3: "Net", 4: "Ipc", 5: "Memory", 6: "Process",
        7: "Sleep", 8: "System", 9: "Signal", 10: "User", 11: "Time", 32: "IoRead",
        33: "IoWrite", 34: "IoOther", 64: "Wait", 128: "Scheduler", 256: "Internal"}
FLAGS = ["EF_CREATES_FD", "EF_DESTROYS_FD", "EF_USES_FD", "EF_READS_FROM_FD",
         "EF_WRITES_TO_FD", "EF_MODIFIES_STATE", "EF_UNUSED", "EF_WAITS", "EF_SKIPPARSERESET",
         "EF_OLD_VERSION", "EF_DROP_SIMPLE_CONS", "EF_LARGE_PAYLOAD"]


def cstr(b):
    return b[: b.index(b"\0")].decode()


class Elf:
    def __init__(self, path):
        self.d = open(path, "rb").read()
        d = self.d
        shoff = struct.unpack_from("<Q", d, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        self.secs = []
        for i in range(shnum):
            f = struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize)
            self.secs.append(dict(name=f[0], typ=f[1], addr=f[3], off=f[4], size=f[5]))
        strtab = self.secs[shstrndx]["off"]
        for s in self.secs:
            s["name"] = cstr(d[strtab + s["name"]:])
        by = {s["name"]: s for s in self.secs}
        dynsym, dynstr = by[".dynsym"], by[".dynstr"]
        self.symnames, self.syms = [], {}
        for i in range(dynsym["size"] // 24):
            nm, _info, _o, _sh, val, size = struct.unpack_from("<IBBHQQ", d, dynsym["off"] + i * 24)
            name = cstr(d[dynstr["off"] + nm:])
            self.symnames.append(name)
            if val:
                self.syms[name] = (val, size)
        self.addr_sym = {v[0]: k for k, v in self.syms.items()}
        self.ptr = {}
        self.ptr_addend = {}
        rela = by[".rela.dyn"]
        for i in range(rela["size"] // 24):
            off, info, addend = struct.unpack_from("<QQq", d, rela["off"] + i * 24)
            kind = info & 0xFFFFFFFF
            if kind == 1:  # R_X86_64_64: symbol + addend
                self.ptr[off] = self.symnames[info >> 32]
            elif kind == 8:  # R_X86_64_RELATIVE
                self.ptr[off] = self.addr_sym.get(addend)
                self.ptr_addend[off] = addend

    def at(self, vaddr):
        for s in self.secs:
            if s["typ"] != 8 and s["addr"] and s["addr"] <= vaddr < s["addr"] + s["size"]:
                return s["off"] + vaddr - s["addr"]
        raise ValueError(hex(vaddr))


def main():
    elf = Elf(LIB)
    d = elf.d
    dyn_tables = {}
    for name in ("bpf_dynamic_param", "ptrace_dynamic_param", "sockopt_dynamic_param"):
        vaddr, size = elf.syms[name]
        o = elf.at(vaddr)
        dyn_tables[name] = [TYPES[struct.unpack_from("<I", d, o + i * PARAM + 32)[0]]
                            for i in range(size // PARAM)]
    base, size = elf.syms["g_event_info"]
    rows = []
    for code in range(size // ROW):
        vaddr = base + code * ROW
        o = elf.at(vaddr)
        name = cstr(d[o:o + 32])
        cat, flags, nparams = struct.unpack_from("<III", d, o + 32)
        assert nparams <= MAX_PARAMS
        params = []
        for j in range(nparams):
            po = o + 44 + j * PARAM
            pname = cstr(d[po:po + 32])
            ptype, pfmt = struct.unpack_from("<II", d, po + 32)
            info = elf.ptr.get(vaddr + 44 + j * PARAM + 40)
            params.append((pname, TYPES[ptype], FMTS[pfmt], info))
        rows.append((code, name, CATS[cat], flags, params))

    # PPM_SC syscall names: g_syscall_info_table rows are {u32 category; u32 flags; char *name}.
    sc_base, sc_size = elf.syms["g_syscall_info_table"]
    sc_names = []
    for i in range(sc_size // 16):
        target = elf.ptr_addend.get(sc_base + i * 16 + 8)
        sc_names.append(cstr(d[elf.at(target):]) if target else "")

    out = []
    w = out.append
    w("//! The event table rows. Generated by `scap/tools/gen_event_table.py` from the `g_event_info`")
    w("//! data of Debian's `libscap.so.0.1.1dev+git20220316.e5c53d64` (falcosecurity/libs")
    w("//! `e5c53d648f3c`); checked against the installed library by `tests/event_table_oracle.rs`.")
    w("//! Edit by regenerating, not by hand.")
    w("")
    w("use super::ParamType as T;")
    w("use super::PrintFormat as F;")
    w("use super::*;")
    w("")
    for tname, types in dyn_tables.items():
        w(f"const {tname.upper()}: &[ParamType] = &[{', '.join('T::' + t for t in types)}];")
    w("")

    def param(p):
        pname, ptype, pfmt, info = p
        if ptype == "Dyn":
            return f'pd("{pname}", F::{pfmt}, {info.upper()})'
        if info:
            return f'pf("{pname}", T::{ptype}, F::{pfmt}, "{info}")'
        return f'p("{pname}", T::{ptype}, F::{pfmt})'

    # Parameter lists used by more than one row get a named constant.
    uses = {}
    for code, name, _c, _f, params in rows:
        key = tuple(params)
        if params:
            uses.setdefault(key, []).append(code)
    const_name = {}
    for key, codes in uses.items():
        if len(codes) > 1:
            current = [c for c in codes if not rows[c][3] & 0x240] or codes
            first = rows[current[0]]
            if len(key) <= 4:
                cname = "P_" + "_".join(pn.upper().replace(" ", "_") for pn, *_ in key)
            else:
                cname = f"{first[1].upper()}_{'E' if first[0] % 2 == 0 else 'X'}_PARAMS"
            if cname in const_name.values():
                cname += f"_{first[0]}"
            const_name[key] = cname
            users = ", ".join(str(c) for c in codes)
            for line in textwrap.wrap(f"Parameters shared by codes {users}.", 95):
                w(f"/// {line}")
            w(f"const {cname}: &[ParamInfo] = &[{', '.join(param(p) for p in key)}];")
    w("")
    w("/// One row per event code, indexed by code.")
    w("pub static EVENT_TABLE: [EventInfo; PPM_EVENT_MAX as usize] = [")
    for code, name, cat, flags, params in rows:
        fl = " | ".join(FLAGS[b] for b in range(12) if flags >> b & 1) or "0"
        assert flags >> 12 == 0, (code, flags)
        key = tuple(params)
        plist = const_name.get(key) or "&[" + ", ".join(param(p) for p in params) + "]"
        w(f'    ev({code}, "{name}", Category::{cat}, {fl}, {plist}),')
    w("];")
    w("")
    w("/// PPM_SC syscall names, indexed by the `ID` (SYSCALLID) of GENERIC events; from")
    w("/// `g_syscall_info_table` of the same library.")
    w(f"pub static PPM_SC_NAMES: [&str; {len(sc_names)}] = [")
    for i in range(0, len(sc_names), 6):
        w("    " + " ".join(f'"{n}",' for n in sc_names[i:i + 6]))
    w("];")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
