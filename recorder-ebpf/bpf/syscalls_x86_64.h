/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * x86_64 syscall numbers of the syscalls the programs decode (the rest go
 * through the generic record). Copied from <asm/unistd_64.h>: the ABI never
 * renumbers, and keeping them here makes the build hermetic and gives the
 * Rust side the same constants through bindgen.
 */
#ifndef BLACKBOX_SYSCALLS_X86_64_H
#define BLACKBOX_SYSCALLS_X86_64_H

#define BB_NR_READ 0
#define BB_NR_WRITE 1
#define BB_NR_OPEN 2
#define BB_NR_CLOSE 3
#define BB_NR_STAT 4
#define BB_NR_FSTAT 5
#define BB_NR_MMAP 9
#define BB_NR_PREAD64 17
#define BB_NR_PWRITE64 18
#define BB_NR_READV 19
#define BB_NR_WRITEV 20
#define BB_NR_SOCKET 41
#define BB_NR_CONNECT 42
#define BB_NR_ACCEPT 43
#define BB_NR_SENDTO 44
#define BB_NR_RECVFROM 45
#define BB_NR_SENDMSG 46
#define BB_NR_RECVMSG 47
#define BB_NR_BIND 49
#define BB_NR_LISTEN 50
#define BB_NR_CLONE 56
#define BB_NR_FORK 57
#define BB_NR_VFORK 58
#define BB_NR_EXECVE 59
#define BB_NR_EXIT 60
#define BB_NR_KILL 62
#define BB_NR_RENAME 82
#define BB_NR_MKDIR 83
#define BB_NR_RMDIR 84
#define BB_NR_CREAT 85
#define BB_NR_LINK 86
#define BB_NR_UNLINK 87
#define BB_NR_SYMLINK 88
#define BB_NR_CHMOD 90
#define BB_NR_SETUID 105
#define BB_NR_SETGID 106
#define BB_NR_SETREUID 113
#define BB_NR_SETREGID 114
#define BB_NR_SETRESUID 117
#define BB_NR_SETRESGID 119
#define BB_NR_CHDIR 80
#define BB_NR_CHROOT 161
#define BB_NR_MOUNT 165
#define BB_NR_UMOUNT2 166
#define BB_NR_OPENAT 257
#define BB_NR_MKDIRAT 258
#define BB_NR_UNLINKAT 263
#define BB_NR_RENAMEAT 264
#define BB_NR_LINKAT 265
#define BB_NR_SYMLINKAT 266
#define BB_NR_FCHMODAT 268
#define BB_NR_ACCEPT4 288
#define BB_NR_RENAMEAT2 316
#define BB_NR_EXECVEAT 322
#define BB_NR_CLONE3 435
#define BB_NR_OPENAT2 437
#define BB_NR_EXIT_GROUP 231
#define BB_NR_GETPPID 110
#define BB_NR_SETNS 308
#define BB_NR_UNSHARE 272
#define BB_NR_PTRACE 101

#define BB_NR_MPROTECT 10
#define BB_NR_MUNMAP 11
#define BB_NR_PIPE 22
#define BB_NR_SENDFILE 40
#define BB_NR_SHUTDOWN 48
#define BB_NR_SOCKETPAIR 53
#define BB_NR_FCNTL 72
#define BB_NR_PREADV 295
#define BB_NR_PWRITEV 296
#define BB_NR_PIPE2 293
#define BB_NR_PREADV2 327
#define BB_NR_PWRITEV2 328

#endif
