// Linux system calls that Swift cannot call directly: syscall(2) is variadic, and Swift
// imports no variadic C function. One inline wrapper each; no logic.
#pragma once
#ifdef __linux__
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static inline int ckernel_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static inline int ckernel_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)0, 0u);
}
#endif

#ifdef __linux__
#include <sys/prctl.h>

// prctl(2) is variadic too.
static inline int ckernel_set_child_subreaper(int on) {
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)on, 0UL, 0UL, 0UL);
}

static inline int ckernel_set_dumpable(int on) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)on, 0UL, 0UL, 0UL);
}
#endif

#ifdef __linux__
#include <fcntl.h>
#include <sys/vfs.h>

// Swift's Glibc module is built without _GNU_SOURCE and without <sys/vfs.h>: these give
// the values and calls it leaves out.
#ifndef O_PATH
#define O_PATH 010000000
#endif

static inline int ckernel_o_path(void) { return O_PATH; }

// statfs(2)'s f_type: the magic number of the filesystem that holds `path`.
static inline int ckernel_statfs_type(const char *path, long *type) {
    struct statfs st;
    int r = statfs(path, &st);
    if (r == 0) *type = (long)st.f_type;
    return r;
}
#endif

#ifdef __linux__
#include <stdio.h>
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

// renameat2 and syncfs are declared only under _GNU_SOURCE; call them by number.
static inline int ckernel_rename_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}

static inline int ckernel_syncfs(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}
#endif
