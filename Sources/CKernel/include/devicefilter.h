// The device allowlist on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program attached to a
// cgroup, as runc (libcontainer/cgroups/devices/ebpf, devicefilter) and crun do. cgroup v2
// has no devices.allow or devices.deny; the kernel runs the cgroup's device programs at
// every open(2) and mknod(2) of a device node instead. Implemented in devicefilter.c.
//
// This header needs no kernel header: Swift imports it (CKernel's module map takes every
// header of include/), and <linux/bpf.h> stays inside devicefilter.c.
#pragma once
#include <stddef.h>
#include <stdint.h>

// A rule's `type`: the letters of the v1 devices controller.
#define CKERNEL_DEVICE_ALL 'a'
#define CKERNEL_DEVICE_BLOCK 'b'
#define CKERNEL_DEVICE_CHAR 'c'

// A rule's `access` bits: the kernel's BPF_DEVCG_ACC_* values (devicefilter.c checks).
#define CKERNEL_DEVICE_MKNOD 1
#define CKERNEL_DEVICE_READ 2
#define CKERNEL_DEVICE_WRITE 4

// One allow rule: `c 1:3 rw` is { 'c', 1, 3, READ | WRITE }. A major or minor of -1 is `*`.
// A request matches when its type, major and minor match and every access bit it asks for
// is in `access` (an O_RDWR open asks for read and write at once).
struct ckernel_device_rule {
    char type;
    int64_t major;
    int64_t minor;
    uint32_t access;
};

// Which step of ckernel_device_filter_attach failed.
#define CKERNEL_DEVICE_FILTER_RULES 1   // a rule is invalid (EINVAL) or no memory (ENOMEM)
#define CKERNEL_DEVICE_FILTER_LOAD 2    // bpf(BPF_PROG_LOAD): the verifier's log is in `log`
#define CKERNEL_DEVICE_FILTER_ATTACH 3  // bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE)

// Builds the program for `rules` (default deny: a device no rule allows is refused with
// EPERM), loads it and attaches it to the cgroup v2 directory `cgroup_dirfd` (an O_RDONLY
// fd: O_PATH fds are refused) with BPF_F_ALLOW_MULTI. The attachment keeps the program;
// no fd stays open. Returns 0, or -1 with errno and `*failed_step` set; `log` (may be
// NULL) receives the reason for an invalid rule, or the verifier's log when the load
// failed and log_size >= 128.
int ckernel_device_filter_attach(int cgroup_dirfd, const struct ckernel_device_rule *rules, size_t count,
                                 char *log, size_t log_size, int *failed_step);
