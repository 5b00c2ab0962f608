/// `RuntimeDefault`: containerd's default profile, as data.
///
/// Source: containerd v2.3.4, `contrib/seccomp/seccomp_default.go` (`DefaultProfile`,
/// identical on main at 301026e, Aug 2026), Apache-2.0, for x86_64: the allowlist, the
/// argument filters on `socket` (AF_ALG and AF_VSOCK refused), `personality` and `clone`,
/// the additions by capability in the bounding set, `ptrace` and `process_vm_*` for
/// kernels from 4.8 (podrec needs newer), default action ERRNO(EPERM), and `clone3`
/// answered ENOSYS without CAP_SYS_ADMIN so that libc falls back to `clone`, which the
/// namespace-flag filter can inspect (clone3 passes its flags in memory, out of BPF's reach).
///
/// Names this host's libseccomp does not know (syscalls newer than it) are skipped when the
/// profile is compiled, as runc skips them; a `Localhost` profile gets no such leniency.
public enum RuntimeDefault {
    /// containerd's architectures for amd64: the native one and the two 32-bit ABIs, so that
    /// a 32-bit call cannot go around the x86_64 rules.
    public static let architectures = ["x86_64", "x86", "x32"]

    /// Allowed unconditionally.
    public static let allowed: [String] = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
        "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
        "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
        "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr",
        "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd",
        "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
        "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
        "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
        "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid",
        "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill",
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
        "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr",
        "lseek", "lsetxattr", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64",
        "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat",
        "mlock", "mlock2", "mlockall", "map_shadow_stack", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify",
        "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
        "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
        "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause",
        "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
        "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
        "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
        "removexattr", "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
        "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
        "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
        "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
        "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl",
        "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn",
        "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
        "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
        "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
        "waitid", "waitpid", "write", "writev",    ]

    /// Allowed on amd64 only.
    public static let allowedOnAMD64 = ["arch_prctl", "modify_ldt"]

    /// Allowed from kernel 4.8 (containerd's `kernelversion` check): ptrace can no longer
    /// be used to get around seccomp from there on.
    public static let allowedFromKernel4_8 = ["process_vm_readv", "process_vm_writev", "ptrace"]

    /// Allowed when the capability is in the container's bounding set.
    public static let byCapability: [(capability: String, names: [String])] = [
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_ADMIN", ["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
                           "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd",
                           "setdomainname", "sethostname", "setns", "syslog", "umount", "umount2", "unshare"]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ]

    /// AF_ALG and AF_VSOCK, the two socket families the profile refuses.
    static let afALG: UInt64 = 38
    static let afVSOCK: UInt64 = 40
    /// CLONE_NEWNS | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWCGROUP: `clone` is
    /// allowed (without CAP_SYS_ADMIN) only with none of these set.
    public static let namespaceFlags: UInt64 = 0x0002_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000 | 0x0200_0000
    static let enosys: UInt32 = 38

    /// The profile for a container whose bounding set holds `bounding` (names, `CAP_...`).
    public static func profile(bounding: Set<String>) -> SeccompProfile {
        var rules: [SeccompProfile.Rule] = [SeccompProfile.Rule(names: allowed, action: .allow)]
        // socket(2): three single-condition ranges, so that AF_ALG and AF_VSOCK match none
        // and fall through to the default (containerd's comment says why not one rule of
        // two not-equals: repeated conditions on one argument become an OR).
        for (value, op) in [(afALG, SeccompProfile.Operator.lessThan), (afALG + 1, .equalTo), (afVSOCK, .greaterThan)] {
            rules.append(SeccompProfile.Rule(names: ["socket"], action: .allow, args: [SeccompProfile.Argument(index: 0, value: value, op: op)]))
        }
        for persona: UInt64 in [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(SeccompProfile.Rule(names: ["personality"], action: .allow, args: [SeccompProfile.Argument(index: 0, value: persona, op: .equalTo)]))
        }
        rules.append(SeccompProfile.Rule(names: allowedFromKernel4_8, action: .allow))
        rules.append(SeccompProfile.Rule(names: allowedOnAMD64, action: .allow))
        for (cap, names) in byCapability where bounding.contains(cap) {
            rules.append(SeccompProfile.Rule(names: names, action: .allow))
        }
        if !bounding.contains("CAP_SYS_ADMIN") {
            rules.append(SeccompProfile.Rule(names: ["clone"], action: .allow,
                                             args: [SeccompProfile.Argument(index: 0, value: namespaceFlags, valueTwo: 0, op: .maskedEqual)]))
            rules.append(SeccompProfile.Rule(names: ["clone3"], action: .errno, errnoRet: enosys))
        }
        return SeccompProfile(defaultAction: .errno, architectures: architectures, syscalls: rules)
    }
}
