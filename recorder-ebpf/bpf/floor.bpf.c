// SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0)
/*
 * The floor of the recorder's cost: programs attached where the recorder's
 * are (tp_btf sys_enter and sys_exit) that return at once. Never loaded by
 * the shim; the benchmark (scripts/bench-recorder.sh, through
 * `blackbox-recorder-ctl floor`) measures what merely attaching to the
 * syscall tracepoints costs every process on the node, side by side with
 * the recorder, so its own share can be told apart from the kernel's.
 */
#define BLACKBOX_BPF 1
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(bb_floor_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bb_floor_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
