// The spawn shim: everything that must happen between fork and exec, and nothing else.
//
// One entry point, podspawn_run. Swift (Sources/Spawn) prepares every string, array and
// fd before the call and frees them after it; the child only reads them. No allocation,
// no policy, no retries and no logging live here: a stage either succeeds or reports
// {stage, index, errno} to the parent and exits 127.
//
// The stages run in the order of enum podspawn_stage; pod_spawn.c says why at each one.
#pragma once
#ifdef __linux__

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// Nullability annotations for the Swift importer; other compilers ignore them.
#ifndef __clang__
#define _Nonnull
#define _Nullable
#endif

/// Where a spawn failed. The child stages are listed in the order they run.
enum podspawn_stage {
    PODSPAWN_STAGE_NONE = 0,

    // Parent side, before or around the child.
    PODSPAWN_STAGE_PIPE = 1,            ///< pipe2 for the error pipe, or reading it
    PODSPAWN_STAGE_CLONE = 2,           ///< clone3 (or clone) in the parent

    // In the child, in this order.
    PODSPAWN_STAGE_CGROUP = 10,         ///< v1: write "0" to tasks[index]; v2: clone3 CLONE_INTO_CGROUP
    PODSPAWN_STAGE_SETNS = 11,          ///< setns(namespaces[index])
    PODSPAWN_STAGE_PID_FORK = 12,       ///< the second clone that enters a joined PID namespace
    PODSPAWN_STAGE_UNSHARE = 13,        ///< unshare(unshare_flags)
    PODSPAWN_STAGE_MOUNT = 14,          ///< mounts[index]
    PODSPAWN_STAGE_PIVOT_ROOT = 15,     ///< pivot_root into rootfs, old root detached
    PODSPAWN_STAGE_HOSTNAME = 16,       ///< sethostname
    PODSPAWN_STAGE_CAP_BOUNDING = 17,   ///< PR_CAPBSET_DROP of capability `index`
    PODSPAWN_STAGE_KEEP_CAPS = 18,      ///< PR_SET_KEEPCAPS
    PODSPAWN_STAGE_SETGROUPS = 19,      ///< setgroups
    PODSPAWN_STAGE_SETGID = 20,         ///< setgid
    PODSPAWN_STAGE_SETUID = 21,         ///< setuid
    PODSPAWN_STAGE_CAPSET = 22,         ///< capset effective, permitted, inheritable
    PODSPAWN_STAGE_AMBIENT = 23,        ///< PR_CAP_AMBIENT_CLEAR_ALL
    PODSPAWN_STAGE_NO_NEW_PRIVS = 24,   ///< PR_SET_NO_NEW_PRIVS
    PODSPAWN_STAGE_STDIO = 25,          ///< dup of stdio[index] onto fd index
    PODSPAWN_STAGE_CONTROLLING_TTY = 29, ///< setsid, then TIOCSCTTY on fd 0
    PODSPAWN_STAGE_CLOSE_FDS = 26,      ///< close every fd above 2
    PODSPAWN_STAGE_CHDIR = 27,          ///< chdir(cwd)
    PODSPAWN_STAGE_EXEC = 28,           ///< execve(path, argv, envp)
    /// seccomp(SECCOMP_SET_MODE_FILTER) of the request's BPF program: just after
    /// no_new_privs when that is set, else before the id and capability changes (see
    /// pod_spawn.c, step 9b).
    PODSPAWN_STAGE_SECCOMP = 30,
    /// setns(userns_fd, CLONE_NEWUSER): after the mounts, pivot_root and the hostname,
    /// before seccomp and the id change (see pod_spawn.c, step 7a).
    PODSPAWN_STAGE_USERNS = 31,
    /// The container's terminal: open `/dev/pts/ptmx` of the new root, unlock it, open its
    /// peer, send the master over console_socket (index 0, 1, 2: open, unlock or peer, send).
    PODSPAWN_STAGE_CONSOLE = 32,
};

/// What a mount step does. Flags and data are passed to the kernel as given: the
/// policy (nodev,nosuid on tmpfs, MS_REC|MS_PRIVATE for "/", ...) is Swift's.
enum podspawn_mount_kind {
    /// mount(2)(source, target, fstype, flags, data).
    PODSPAWN_MOUNT_CALL = 0,
    /// The mount at target and every mount below it read-only: mount_setattr with
    /// AT_RECURSIVE (Linux 5.12), else a read-only bind remount of each mount point found in
    /// /proc/self/mountinfo under target, keeping its nosuid/nodev/noexec/atime flags.
    PODSPAWN_MOUNT_READONLY_RECURSIVE = 1,
    /// mkdir(target, mode); an existing directory is fine.
    PODSPAWN_MOUNT_MKDIR = 2,
    /// An empty file at target (a mount point for a file bind); an existing one is fine.
    PODSPAWN_MOUNT_MKFILE = 3,
    /// symlink(source, target).
    PODSPAWN_MOUNT_SYMLINK = 4,
    /// A recursive bind of `data`, a relative path, found beneath the directory `source`
    /// (a volume) by one openat(O_PATH|O_NOFOLLOW) per component: a symlink anywhere on
    /// the way, `..` or `.`, fails the step (ELOOP, EINVAL) instead of being followed.
    /// The bind then takes the opened fd (/proc/self/fd/N), so what is mounted is what was
    /// checked. A subPath, which the container can rewrite between two of its starts
    /// (CVE-2017-1002101, CVE-2021-25741).
    PODSPAWN_MOUNT_BIND_BENEATH = 5,
    /// An idmapped clone of `source` (a path, as open_tree(OPEN_TREE_CLONE) clones it: the
    /// mounts below it too when flags has MS_REC), mount_setattr MOUNT_ATTR_IDMAP with the
    /// request's userns_fd, moved onto target (Linux 5.12; filesystems opt in: ext4, xfs,
    /// btrfs 5.15, tmpfs 6.3; an overlayfs mount itself never, its layers from 5.19).
    /// Without a source, the mount at target is replaced by such a clone of itself (the
    /// original detached). Files owned by host id 0 then show as owned by the user
    /// namespace's 0. With `mode` nonzero, a filesystem that cannot be idmapped (EINVAL,
    /// EPERM, EOPNOTSUPP, ENOSYS) does not fail the spawn: the clone of a source is moved
    /// onto target unmapped (a plain bind), a mount in place stays as it was.
    PODSPAWN_MOUNT_IDMAP = 6,
};

struct podspawn_mount {
    int32_t kind;                       ///< enum podspawn_mount_kind
    uint32_t mode;                      ///< MKDIR and MKFILE
    unsigned long flags;                ///< MS_* for CALL
    const char *_Nullable source;
    const char *_Nonnull target;
    const char *_Nullable fstype;
    const char *_Nullable data;
    /// Nonzero: a path that does not exist (ENOENT) skips the step instead of failing the
    /// spawn: procfs and sysfs entries masked or made read-only vary with the kernel.
    int32_t if_present;
};

/// A namespace to join: an fd from /proc/PID/ns/KIND (or a pidfd) and its CLONE_NEW* type.
struct podspawn_namespace {
    int32_t fd;
    int32_t nstype;                     ///< must be CLONE_NEWPID for a PID namespace
};

/// Fallbacks a test can force on a kernel new enough not to need them.
enum podspawn_force {
    PODSPAWN_FORCE_CLONE = 1u << 0,           ///< clone(2) instead of clone3 (pre-5.3, or seccomp)
    PODSPAWN_FORCE_REMOUNT_EACH = 1u << 1,    ///< no mount_setattr (pre-5.12)
    PODSPAWN_FORCE_CLOSE_LOOP = 1u << 2,      ///< no close_range (pre-5.9/5.11)
};

struct podspawn_request {
    /// execve's path: absolute, or relative to cwd. No PATH search here.
    const char *_Nonnull path;
    /// NULL-terminated.
    const char *_Nullable const *_Nonnull argv;
    /// NULL-terminated.
    const char *_Nullable const *_Nonnull envp;
    /// NULL: keep the working directory (after pivot_root that is the new "/").
    const char *_Nullable cwd;

    /// Cgroup v1: tasks files the child writes "0" to, first of all. A single-threaded
    /// writer migrating itself skips the global threadgroup lock and its RCU wait.
    const char *_Nonnull const *_Nullable cgroup_tasks;
    size_t cgroup_tasks_count;
    /// Cgroup v2: a cgroup directory fd for clone3 CLONE_INTO_CGROUP (Linux 5.7), or -1.
    int32_t cgroup_fd;

    /// Joined in this order, except that a PID namespace is entered first (see
    /// PODSPAWN_STAGE_PID_FORK).
    const struct podspawn_namespace *_Nullable namespaces;
    size_t namespaces_count;
    /// CLONE_NEW* flags for unshare(2); CLONE_NEWPID does not belong here.
    int32_t unshare_flags;
    /// Nonzero: the process that execs is PID 1 of a new PID namespace (clone with
    /// CLONE_NEWPID; nested in a joined one when a PID namespace is joined too).
    int32_t new_pid_namespace;

    const struct podspawn_mount *_Nullable mounts;
    size_t mounts_count;
    /// A mount point to pivot_root into; the old root is detached. NULL: no pivot.
    const char *_Nullable rootfs;
    /// NULL: keep the hostname.
    const char *_Nullable hostname;
    size_t hostname_length;

    /// Zero: keep uid, gid and supplementary groups.
    int32_t set_ids;
    uint32_t uid;
    uint32_t gid;
    const uint32_t *_Nullable groups;
    size_t groups_count;

    /// Zero: keep every capability set as it is.
    int32_t set_capabilities;
    uint64_t cap_bounding;              ///< everything else is dropped from the bounding set
    uint64_t cap_effective;
    uint64_t cap_permitted;
    uint64_t cap_inheritable;           ///< the ambient set is always cleared

    int32_t no_new_privs;

    /// A classic BPF seccomp program (struct sock_filter[], 8 bytes each), compiled by the
    /// reconciler; NULL: no filter. Loaded as late as the kernel allows (step 9b).
    const void *_Nullable seccomp_filter;
    /// The number of instructions (not bytes) at seccomp_filter.
    size_t seccomp_filter_length;

    /// Fds that become 0, 1 and 2; -1 leaves that one as inherited.
    int32_t stdio[3];
    /// Nonzero: a session of its own (setsid) with fd 0, a terminal, as its controlling
    /// terminal, as a shell on a pty needs for job control and for ^C.
    int32_t controlling_terminal;
    /// Fds above 2 that the new program keeps, at the same numbers (the host ports a pod's
    /// supervisor holds); every other fd above 2 is closed at exec.
    const int32_t *_Nullable keep_fds;
    size_t keep_fds_count;

    uint32_t force;                     ///< enum podspawn_force

    /// A user namespace fd (/proc/PID/ns/user, or NS_GET_USERNS of a namespace it owns) to
    /// enter after the mounts, pivot_root and the hostname, or -1. The mounts are made as
    /// the caller (host root), in a mount namespace the host's user namespace owns, which
    /// the process then cannot change; the id change that follows is in the namespace's
    /// ids (uid 0 there is the first id of its range on the host), and the capabilities
    /// kept apply inside it only. MOUNT_IDMAP steps idmap with it.
    int32_t userns_fd;

    /// A unix socket, or -1. Given one, the child opens a new terminal of the devpts at
    /// /dev/pts of its new root (the container's own instance), sends the master over it
    /// with SCM_RIGHTS (runc's console socket) and makes the terminal end its fds 0, 1
    /// and 2 instead of `stdio`. Set controlling_terminal with it.
    int32_t console_socket;
};

struct podspawn_result {
    /// The process that exec'd, as the caller's PID namespace numbers it; -1 on failure.
    pid_t pid;
    /// A pidfd for it (close-on-exec), or -1 when the kernel gave none.
    int32_t pidfd;
    /// PODSPAWN_STAGE_NONE on success.
    int32_t stage;
    /// Which tasks file, namespace, mount, capability or stdio fd; -1 when not applicable.
    int32_t index;
    /// The errno of the failed stage; 0 on success.
    int32_t error;
};

/// Starts req->path as a new process configured by req. Returns 0 once it has exec'd
/// (res->pid and res->pidfd are set), or the errno of the first stage that failed
/// (res->stage, res->index), in which case every process started was reaped.
int podspawn_run(const struct podspawn_request *_Nonnull req, struct podspawn_result *_Nonnull res);

/// A new user namespace whose ids 0..count-1 are host ids start..start+count-1 (uid_map
/// and gid_map written by this process, which must hold CAP_SETUID and CAP_SETGID in its
/// own user namespace, so setgroups stays allowed), and the namespaces of `flags`
/// (CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC) owned by it. They are made by a child that
/// clones with CLONE_NEWUSER|flags, waits until the maps are written and the fds opened,
/// and exits: nothing runs in them afterwards. fds[0] is the user namespace, then one fd
/// per flag in the order net, uts, ipc (-1 for a flag not given); all close-on-exec and
/// the caller's. Returns 0, or an errno with res->stage (CLONE, USERNS for the maps and
/// the fds, PIPE) set.
int podspawn_userns(uint32_t start, uint32_t count, int32_t flags, int32_t fds[_Nonnull 4], struct podspawn_result *_Nonnull res);

#endif
