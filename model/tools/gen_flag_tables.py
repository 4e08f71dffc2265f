#!/usr/bin/env python3
"""Regenerate model/src/flag_tables.rs: the libs value/name tables (`ppm_name_value`:
{const char *name; u32 value}) that give names to flag parameters, read as data out of the
installed libscap of Debian's sysdig 0.29.3 (the same library scap/tools/gen_event_table.py
reads), plus the Linux errno names libsinsp prints for negative results (Python's errno module,
which is glibc's table).

Usage: python3 model/tools/gen_flag_tables.py > model/src/flag_tables.rs && cargo fmt
"""
import errno
import importlib.util
import re
import struct
import sys

spec = importlib.util.spec_from_file_location("gen", "scap/tools/gen_event_table.py")
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)

data = open("scap/src/event_table/data.rs").read()
names = sorted(set(re.findall(r'pf\("[a-z_0-9]+", T::\w+, F::\w+, "([a-z_0-9]+)"\)', data)))
elf = gen.Elf(gen.LIB)
d = elf.d
out = []
w = out.append
w("//! Flag and enum name tables of libs `e5c53d648f3c` (Debian's sysdig 0.29.3), read as data")
w("//! from the installed libscap by `model/tools/gen_flag_tables.py`; errno names from glibc.")
w("//! Edit by regenerating, not by hand.")
w("")
w("/// `(table name, [(flag name, value)])`, in the libs order (which decides rendering).")
w("pub static FLAG_TABLES: &[(&str, &[(&str, u32)])] = &[")
for n in names:
    vaddr, size = elf.syms[n]
    entries = []
    for i in range(size // 16):
        target = elf.ptr_addend.get(vaddr + i * 16)
        value = struct.unpack_from("<I", d, elf.at(vaddr + i * 16 + 8))[0]
        if not target:
            break
        entries.append((gen.cstr(d[elf.at(target):]), value))
    w(f'    ("{n}", &[' + ", ".join(f'("{a}", {b:#x})' for a, b in entries) + "]),")
w("];")
w("")
w("/// Linux errno names by number.")
w("pub static ERRNO_NAMES: &[(u32, &str)] = &[")
# Kernel-internal codes (include/linux/errno.h) that leak to user space as syscall results
# and that libsinsp names too.
KERNEL = {512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND",
          515: "ENOIOCTLCMD", 516: "ERESTART_RESTARTBLOCK", 517: "EPROBE_DEFER",
          518: "EOPENSTALE", 521: "EBADHANDLE", 522: "ENOTSYNC", 523: "EBADCOOKIE",
          524: "ENOTSUPP", 525: "ETOOSMALL", 526: "ESERVERFAULT", 527: "EBADTYPE",
          528: "EJUKEBOX", 529: "EIOCBQUEUED", 530: "ERECALLCONFLICT"}
names = {**{k: v for k, v in errno.errorcode.items()}, **KERNEL}
for k in sorted(names):
    w(f'    ({k}, "{names[k]}"),')
w("];")
print("\n".join(out))
