// The spawn shim. See include/pod_spawn.h for the contract.
//
// The parent clones with a fork-style clone3 (no CLONE_VM): the child gets a copy of the
// address space and a single thread. The parent is a multithreaded Swift process, so other
// threads may have held malloc's or the runtime's locks at the moment of the clone: the
// child must never take a lock. It calls only system calls (raw syscall(2) wherever glibc's
// wrapper does more than trap: setuid, setgid and setgroups in glibc signal every thread
// of the process they believe they are in) and reads the request the parent prepared.

#include "pod_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

// Constants newer than some libc headers.
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_seccomp
#define SYS_seccomp 317
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#define PODSPAWN_MOUNT_ATTR_IDMAP 0x00100000ULL
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#define PODSPAWN_CLONE_INTO_CGROUP 0x200000000ULL
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define PODSPAWN_MOUNT_ATTR_RDONLY 0x00000001ULL
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef MS_RELATIME
#define MS_RELATIME (1 << 21)
#endif
#ifndef MS_STRICTATIME
#define MS_STRICTATIME (1 << 24)
#endif
// statfs f_flags (ST_*), which are not the MS_* values for the atime bits.
#define PODSPAWN_ST_RDONLY 0x0001
#define PODSPAWN_ST_NOSUID 0x0002
#define PODSPAWN_ST_NODEV 0x0004
#define PODSPAWN_ST_NOEXEC 0x0008
#define PODSPAWN_ST_NOATIME 0x0400
#define PODSPAWN_ST_NODIRATIME 0x0800
#define PODSPAWN_ST_RELATIME 0x1000

// struct clone_args and struct mount_attr, spelled out: glibc 2.36's <sys/mount.h> and
// <linux/mount.h> clash, and not every libc has struct clone_args.
struct podspawn_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls,
        set_tid, set_tid_size, cgroup;
};
#define PODSPAWN_CLONE_ARGS_SIZE_VER0 64
#define PODSPAWN_CLONE_ARGS_SIZE_VER2 88

// The kernel's struct sigaction (x86_64 and the generic ABI), not glibc's.
struct podspawn_kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

struct podspawn_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

// What the child writes to the error pipe: fixed-size, far below PIPE_BUF, so each write
// is atomic and the parent reads whole records. A failed stage sends {stage, index, errno};
// the intermediate of a joined PID namespace sends {PODSPAWN_WIRE_PID, 0, pid} first.
struct podspawn_wire {
    int32_t stage;
    int32_t index;
    int32_t value;
};
#define PODSPAWN_WIRE_PID (-1)

// MARK: - Child helpers (async-signal-safe only)

static void podspawn_send(int fd, int32_t stage, int32_t index, int32_t value) {
    struct podspawn_wire w = {stage, index, value};
    ssize_t r;
    do {
        r = write(fd, &w, sizeof w);
    } while (r < 0 && errno == EINTR);
}

// Reports the current errno for stage and exits. Never returns.
__attribute__((noreturn)) static void podspawn_fail(int fd, int32_t stage, int32_t index) {
    podspawn_send(fd, stage, index, errno);
    _exit(127);
}

static long podspawn_clone(uint64_t flags, int cgroup_fd, int *_Nullable pidfd, uint32_t force) {
    if (pidfd) flags |= CLONE_PIDFD;
    if (!(force & PODSPAWN_FORCE_CLONE) || cgroup_fd >= 0) {
        struct podspawn_clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = flags;
        args.pidfd = (uint64_t)(uintptr_t)pidfd;
        // With CLONE_PARENT the child signals our parent as we would; clone3 wants 0 here.
        args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
        size_t size = PODSPAWN_CLONE_ARGS_SIZE_VER0;
        if (cgroup_fd >= 0) {
            args.flags |= PODSPAWN_CLONE_INTO_CGROUP;
            args.cgroup = (uint64_t)cgroup_fd;
            size = PODSPAWN_CLONE_ARGS_SIZE_VER2;
        }
        // stack = 0: the child runs on a copy of this stack, like fork, and returns here.
        long r = syscall(SYS_clone3, &args, size);
        // clone3 is missing before Linux 5.3, and seccomp profiles (Docker's) answer ENOSYS
        // to make libc fall back. CLONE_INTO_CGROUP has no fallback: the error stands.
        if (r >= 0 || errno != ENOSYS || cgroup_fd >= 0) return r;
    }
    // x86_64 clone(2): flags, stack, parent_tid, child_tid, tls. CLONE_PIDFD stores the
    // pidfd through parent_tid (Linux 5.2).
    return syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0UL, pidfd, (int *)0, 0UL);
}

static int podspawn_write_zero(const char *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r;
    do {
        r = write(fd, "0", 1);
    } while (r < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return r == 1 ? 0 : -1;
}

static int podspawn_make_file(const char *path, mode_t mode) {
    // A file that exists is the mount point already, even on a read-only mount (the host's
    // /etc/hosts under a read-only /etc), where opening it for writing would be EROFS.
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

// A read-only bind remount of the mount at path, keeping its other per-mount flags: a bind
// remount sets all of them, so leaving nosuid out would clear it.
static int podspawn_remount_readonly(const char *path) {
    struct statfs st;
    if (statfs(path, &st) < 0) return -1;
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
    if (st.f_flags & PODSPAWN_ST_NOSUID) flags |= MS_NOSUID;
    if (st.f_flags & PODSPAWN_ST_NODEV) flags |= MS_NODEV;
    if (st.f_flags & PODSPAWN_ST_NOEXEC) flags |= MS_NOEXEC;
    if (st.f_flags & PODSPAWN_ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (st.f_flags & PODSPAWN_ST_NOATIME) flags |= MS_NOATIME;
    else if (st.f_flags & PODSPAWN_ST_RELATIME) flags |= MS_RELATIME;
    else flags |= MS_STRICTATIME;
    return mount(NULL, path, NULL, flags, NULL);
}

// Whether mount point mp is target or lies below it.
static int podspawn_is_under(const char *mp, const char *target, size_t target_len) {
    if (target_len == 1 && target[0] == '/') return 1;
    if (strncmp(mp, target, target_len) != 0) return 0;
    return mp[target_len] == '\0' || mp[target_len] == '/';
}

// The pre-5.12 way to make a tree read-only: remount every mount point under target, read
// from /proc/self/mountinfo as a stream (field 5 is the mount point, with \ooo escapes).
// A mount hidden under another one at the same path cannot be reached by path; it stays.
static int podspawn_remount_each_readonly(const char *target) {
    size_t target_len = strlen(target);
    while (target_len > 1 && target[target_len - 1] == '/') target_len--;
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[4096];
    char mp[4096];
    size_t mp_len = 0;
    int field = 0, overflow = 0;
    int escape = 0, escape_value = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        if (n == 0) break;
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (c == '\n') {
                if (field >= 4 && !overflow) {
                    mp[mp_len] = '\0';
                    if (podspawn_is_under(mp, target, target_len) && podspawn_remount_readonly(mp) < 0) goto fail;
                }
                field = 0, mp_len = 0, overflow = 0, escape = 0;
            } else if (c == ' ') {
                field++;
            } else if (field == 4) {
                if (escape) {
                    escape_value = escape_value * 8 + (c - '0');
                    if (++escape < 4) continue;
                    c = (char)escape_value;
                    escape = 0;
                } else if (c == '\\') {
                    escape = 1, escape_value = 0;
                    continue;
                }
                if (mp_len + 1 < sizeof mp) mp[mp_len++] = c;
                else overflow = 1;
            }
        }
    }
    close(fd);
    return 0;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static int podspawn_readonly_recursive(const char *target, uint32_t force) {
    if (!(force & PODSPAWN_FORCE_REMOUNT_EACH)) {
        struct podspawn_mount_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.attr_set = PODSPAWN_MOUNT_ATTR_RDONLY;
        if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr) == 0) return 0;
        if (errno != ENOSYS) return -1;
    }
    return podspawn_remount_each_readonly(target);
}

// Opens `rel` beneath the directory `base`, one component at a time, never following a
// symlink: the container may own everything below base and may have swapped any component
// for a symlink since the plan was made. The plan resolved the subPath's symlinks already,
// so a symlink met here is such a swap. No allocation: components are copied into a buffer
// on the stack. Returns an O_PATH fd, or -1 with errno.
static int podspawn_open_beneath(const char *base, const char *rel) {
    char name[256];
    int dir = open(base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0) return -1;
    const char *p = rel;
    for (;;) {
        while (*p == '/') p++;
        if (*p == '\0') return dir;
        size_t n = 0;
        while (p[n] != '\0' && p[n] != '/') n++;
        if (n >= sizeof name || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            close(dir);
            errno = n >= sizeof name ? ENAMETOOLONG : EINVAL;
            return -1;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        int next = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(dir);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        // O_PATH|O_NOFOLLOW opens a symlink itself rather than failing: refuse it here.
        struct stat st;
        if (fstat(next, &st) < 0 || S_ISLNK(st.st_mode)) {
            close(next);
            errno = ELOOP;
            return -1;
        }
        dir = next;
    }
}

static int podspawn_bind_beneath(const struct podspawn_mount *m) {
    if (!m->source || !m->data) {
        errno = EINVAL;
        return -1;
    }
    int fd = podspawn_open_beneath(m->source, m->data);
    if (fd < 0) return -1;
    // "/proc/self/fd/N" by hand: snprintf may take the locale's lock. The fd was opened in this
    // mount namespace (after unshare), which a bind from a magic link requires.
    char path[32] = "/proc/self/fd/";
    char digits[12];
    int nd = 0;
    for (unsigned v = (unsigned)fd; nd == 0 || v > 0; v /= 10) digits[nd++] = (char)('0' + v % 10);
    size_t at = strlen(path);
    while (nd > 0) path[at++] = digits[--nd];
    path[at] = '\0';
    int r = mount(path, m->target, NULL, m->flags, NULL);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

// MOUNT_IDMAP: see pod_spawn.h. The clone is made before the original is detached, so
// a failure part-way leaves the original in place.
static int podspawn_idmap(const struct podspawn_mount *m, int userns_fd) {
    if (userns_fd < 0) {
        errno = EINVAL;
        return -1;
    }
    unsigned int recursive = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
    const char *from = m->source ? m->source : m->target;
    long fd = syscall(SYS_open_tree, AT_FDCWD, from, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursive);
    if (fd < 0) return -1;
    struct podspawn_mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = PODSPAWN_MOUNT_ATTR_IDMAP;
    attr.userns_fd = (uint64_t)userns_fd;
    int r = (int)syscall(SYS_mount_setattr, (int)fd, "", AT_EMPTY_PATH | recursive, &attr, sizeof attr);
    if (r < 0 && m->mode && (errno == EINVAL || errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS)) {
        if (!m->source) {
            close((int)fd);
            return 0;
        }
        r = 0;  // the clone goes on target unmapped: a plain (r)bind of the source
    }
    if (r == 0 && !m->source) r = umount2(m->target, MNT_DETACH);
    if (r == 0) r = (int)syscall(SYS_move_mount, (int)fd, "", AT_FDCWD, m->target, MOVE_MOUNT_F_EMPTY_PATH);
    int saved = errno;
    close((int)fd);
    errno = saved;
    return r;
}

static int podspawn_mount_step(const struct podspawn_mount *m, uint32_t force, int userns_fd) {
    switch (m->kind) {
    case PODSPAWN_MOUNT_CALL:
        return mount(m->source, m->target, m->fstype, m->flags, m->data);
    case PODSPAWN_MOUNT_READONLY_RECURSIVE:
        return podspawn_readonly_recursive(m->target, force);
    case PODSPAWN_MOUNT_MKDIR:
        if (mkdir(m->target, (mode_t)m->mode) == 0) return 0;
        if (errno == EEXIST) {
            struct stat st;
            if (stat(m->target, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
            errno = EEXIST;
        }
        return -1;
    case PODSPAWN_MOUNT_MKFILE:
        return podspawn_make_file(m->target, (mode_t)m->mode);
    case PODSPAWN_MOUNT_SYMLINK:
        if (!m->source) {
            errno = EINVAL;
            return -1;
        }
        return symlink(m->source, m->target);
    case PODSPAWN_MOUNT_BIND_BENEATH:
        return podspawn_bind_beneath(m);
    case PODSPAWN_MOUNT_IDMAP:
        return podspawn_idmap(m, userns_fd);
    default:
        errno = EINVAL;
        return -1;
    }
}

static int podspawn_kept(const struct podspawn_request *req, long fd) {
    for (size_t i = 0; i < req->keep_fds_count; i++) {
        if (req->keep_fds[i] == fd) return 1;
    }
    return 0;
}

// Closes every fd above 2 except keep (the error pipe, which is close-on-exec already) and
// the request's keep_fds, which stay open across exec.
static int podspawn_close_fds(const struct podspawn_request *req, int keep, uint32_t force) {
    if (!(force & PODSPAWN_FORCE_CLOSE_LOOP)) {
        // One call marks them all close-on-exec, the error pipe included: it must stay
        // open until execve, which then closes everything at once (Linux 5.11).
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
            for (size_t i = 0; i < req->keep_fds_count; i++) {
                if (fcntl(req->keep_fds[i], F_SETFD, 0) < 0) return -1;
            }
            return 0;
        }
        if (errno != ENOSYS && errno != EINVAL) return -1;
    }
    // Without close_range (or its CLOEXEC flag): every possible fd up to the soft limit.
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -1;
    long last = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20) ? (1 << 20) : (long)rl.rlim_cur;
    for (long fd = 3; fd < last; fd++) {
        if (fd == keep) continue;
        if (podspawn_kept(req, fd)) {
            if (fcntl((int)fd, F_SETFD, 0) < 0) return -1;
            continue;
        }
        close((int)fd);
    }
    return 0;
}

static int podspawn_capset(const struct podspawn_request *req) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)req->cap_effective;
    data[0].permitted = (uint32_t)req->cap_permitted;
    data[0].inheritable = (uint32_t)req->cap_inheritable;
    data[1].effective = (uint32_t)(req->cap_effective >> 32);
    data[1].permitted = (uint32_t)(req->cap_permitted >> 32);
    data[1].inheritable = (uint32_t)(req->cap_inheritable >> 32);
    return (int)syscall(SYS_capset, &header, data);
}

// The request's seccomp program, loaded on this thread only (no TSYNC: the child is
// single-threaded). seccomp(2) first, prctl on kernels before 3.17. Without no_new_privs
// the kernel wants CAP_SYS_ADMIN for this, which is why the caller picks the moment.
static int podspawn_load_seccomp(const struct podspawn_request *req) {
    struct sock_fprog prog;
    prog.len = (unsigned short)req->seccomp_filter_length;
    prog.filter = (struct sock_filter *)(uintptr_t)req->seccomp_filter;
    if (req->seccomp_filter_length == 0 || req->seccomp_filter_length > BPF_MAXINSNS) {
        errno = EINVAL;
        return -1;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &prog) == 0) return 0;
    if (errno != ENOSYS) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0UL, 0UL);
}

// MARK: - The child

// Runs in the cloned child, single-threaded, all signals blocked. Never returns: it execs
// or reports a stage and exits. pid_join is the index of the PID namespace to join, or -1.
__attribute__((noreturn)) static void podspawn_child(const struct podspawn_request *req, int err_fd, int pid_join) {
    // Signal dispositions: a handler of the parent's has no business here, and SIG_IGN
    // would survive execve. Everything goes back to default while still blocked; the mask
    // is emptied just before execve. The raw call, because glibc's sigaction refuses its
    // own signals 32 and 33, and the Swift test runner, for one, leaves 32 ignored.
    struct podspawn_kernel_sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.handler = SIG_DFL;
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) (void)syscall(SYS_rt_sigaction, sig, &dfl, (void *)0, sizeof dfl.mask);
    }

    // The error pipe must not be 0, 1 or 2, which the stdio stage overwrites (a parent
    // started with a closed stdin gets low pipe fds).
    if (err_fd < 3) {
        int moved = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
        if (moved < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PIPE, -1);
        err_fd = moved;
    }

    // 1. Cgroup, first of all: the paths are host paths, resolved before any mount
    //    namespace changes them; every later stage (and the memory it touches) is charged
    //    to the container; a cgroup namespace unshared below is rooted here. Writing "0"
    //    to tasks from this single-threaded process moves only the caller, which the kernel
    //    does without cgroup_threadgroup_rwsem and its RCU grace period (~15 ms when cold).
    //    On v2 the parent's clone3 already placed us with CLONE_INTO_CGROUP.
    for (size_t i = 0; i < req->cgroup_tasks_count; i++) {
        if (podspawn_write_zero(req->cgroup_tasks[i]) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CGROUP, (int32_t)i);
    }

    // 2. PID namespace to join: setns(CLONE_NEWPID) changes only the namespace of our next
    //    child, so this process becomes an intermediate that clones the real one. With
    //    CLONE_PARENT that one is the caller's child, so the caller can wait for it and
    //    open a pidfd for it; it inherits the cgroup set above. This process then reports
    //    the child's pid (as the caller's namespace numbers it) and exits.
    if (pid_join >= 0) {
        if (setns(req->namespaces[pid_join].fd, CLONE_NEWPID) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SETNS, pid_join);
        uint64_t flags = CLONE_PARENT | (req->new_pid_namespace ? CLONE_NEWPID : 0);
        long pid = podspawn_clone(flags, -1, NULL, req->force);
        if (pid < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PID_FORK, pid_join);
        if (pid > 0) {
            podspawn_send(err_fd, PODSPAWN_WIRE_PID, 0, (int32_t)pid);
            _exit(0);
        }
    }

    // 3. The other namespaces, in the caller's order (mnt last is the caller's job: the
    //    fds are already open, so nothing here needs the old mount namespace's paths).
    for (size_t i = 0; i < req->namespaces_count; i++) {
        if ((int)i == pid_join) continue;
        if (setns(req->namespaces[i].fd, req->namespaces[i].nstype) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SETNS, (int32_t)i);
    }

    // 4. New namespaces, after the joins so that they nest in the joined ones.
    if (req->unshare_flags && unshare(req->unshare_flags) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_UNSHARE, -1);

    // 5. Mounts, in the given order: propagation first (the caller's step), then the
    //    tree under the new root, still seen through host paths. A proc mount here shows
    //    our PID namespace, which is already the final one.
    for (size_t i = 0; i < req->mounts_count; i++) {
        if (podspawn_mount_step(&req->mounts[i], req->force, req->userns_fd) < 0 && !(req->mounts[i].if_present && errno == ENOENT))
            podspawn_fail(err_fd, PODSPAWN_STAGE_MOUNT, (int32_t)i);
    }

    // 6. pivot_root(".", ".") stacks the old root on the new one, so no put_old directory
    //    is needed; the old root is made a slave first so that detaching it cannot
    //    propagate an unmount back to the host, then detached.
    if (req->rootfs) {
        if (chdir(req->rootfs) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PIVOT_ROOT, -1);
        if (syscall(SYS_pivot_root, ".", ".") < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PIVOT_ROOT, -1);
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PIVOT_ROOT, -1);
        if (umount2(".", MNT_DETACH) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PIVOT_ROOT, -1);
        if (chdir("/") < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_PIVOT_ROOT, -1);
    }

    // 7. Hostname, in the UTS namespace joined or unshared above.
    if (req->hostname && sethostname(req->hostname, req->hostname_length) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_HOSTNAME, -1);

    // 7c. The container's terminal, from its own devpts (mounted above, now /dev/pts):
    //     opened here, as host root like the mounts, and before the id change, which could
    //     take away the right to the ptmx node. The master goes to the caller (runc's
    //     console socket); the terminal end replaces stdio at step 10.
    int console = -1;
    if (req->console_socket >= 0) {
        int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CONSOLE, 0);
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CONSOLE, 1);
        console = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (console < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CONSOLE, 1);
        char byte = 0;
        struct iovec iov = { &byte, 1 };
        union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } control;
        memset(&control, 0, sizeof control);
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = control.space;
        m.msg_controllen = sizeof control.space;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &master, sizeof master);
        if (sendmsg(req->console_socket, &m, MSG_NOSIGNAL) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CONSOLE, 2);
        close(master);
    }

    // 7a. The pod's user namespace, once everything that needs the host's privilege is
    //     done: the mounts above were made as host root in a mount namespace the host's
    //     user namespace owns, which this process can no longer change. setns gives it
    //     every capability inside the namespace, and none outside; step 8 then sets its
    //     ids as the namespace numbers them (the caller always sets them: host uid 0 has
    //     no id in there).
    if (req->userns_fd >= 0 && setns(req->userns_fd, CLONE_NEWUSER) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_USERNS, -1);

    // 7b. seccomp, when no_new_privs is off: loading a filter then needs CAP_SYS_ADMIN,
    //     which step 8 may take away (and always does for a non-root user), so it goes in
    //     now, while still privileged, as runc does (standard_init_linux.go: InitSeccomp
    //     before finalizeNamespace when !NoNewPrivileges). The price: what follows (prctl,
    //     setgroups, setgid, setuid, capset, fcntl, dup2, close_range, setsid, ioctl,
    //     chdir, rt_sigprocmask, execve, and write for an error) runs under the filter, so
    //     a profile that denies one of those fails the spawn at that stage instead of the
    //     program. RuntimeDefault allows all of them.
    if (req->seccomp_filter && !req->no_new_privs && podspawn_load_seccomp(req) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SECCOMP, -1);

    // 8. Identity and capabilities. Everything that needs privilege (mounts, pivot_root,
    //    sethostname, dropping the bounding set, which needs CAP_SETPCAP) is done by now.
    //    KEEPCAPS keeps the permitted set across setuid; setgroups and setgid go before
    //    setuid, which takes away the right to change them; capset after setuid, which
    //    clears the effective set; the ambient set is cleared so that nothing is raised
    //    again by execve.
    if (req->set_capabilities) {
        for (int cap = 0; cap < 64; cap++) {
            if (req->cap_bounding & (1ULL << cap)) continue;
            if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0UL, 0UL, 0UL) < 0) {
                if (errno == EINVAL) break;  // past the kernel's last capability
                podspawn_fail(err_fd, PODSPAWN_STAGE_CAP_BOUNDING, cap);
            }
        }
        if (prctl(PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_KEEP_CAPS, -1);
    }
    if (req->set_ids) {
        if (syscall(SYS_setgroups, req->groups_count, req->groups) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SETGROUPS, -1);
        if (syscall(SYS_setgid, req->gid) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SETGID, -1);
        if (syscall(SYS_setuid, req->uid) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SETUID, -1);
    }
    if (req->set_capabilities) {
        if (podspawn_capset(req) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CAPSET, -1);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_AMBIENT, -1);
    }

    // 9. no_new_privs, after the id changes it would not stop anyway, before exec.
    if (req->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_NO_NEW_PRIVS, -1);

    // 9b. seccomp, with no_new_privs set: no privilege is needed, so it goes as late as it
    //     can, leaving the filter as few of the shim's own calls to allow (runc: InitSeccomp
    //     just before execve when NoNewPrivileges). Only the stdio dups, the fd sweep, the
    //     chdir, the signal mask and execve itself follow.
    if (req->seccomp_filter && req->no_new_privs && podspawn_load_seccomp(req) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_SECCOMP, -1);

    // 10. Stdio: first copy every source above 2, then dup2 onto 0, 1 and 2, so that a
    //     source that is itself 0, 1 or 2 is not overwritten before it is used, and so that
    //     dup2 always clears close-on-exec (dup2(fd, fd) would not).
    int copies[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        int source = console >= 0 ? console : req->stdio[i];
        if (source < 0) continue;
        copies[i] = fcntl(source, F_DUPFD_CLOEXEC, 3);
        if (copies[i] < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_STDIO, i);
    }
    for (int i = 0; i < 3; i++) {
        if (copies[i] >= 0 && dup2(copies[i], i) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_STDIO, i);
    }

    // 10b. A terminal on stdin becomes the controlling terminal of a new session.
    if (req->controlling_terminal && (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0)) {
        podspawn_fail(err_fd, PODSPAWN_STAGE_CONTROLLING_TTY, -1);
    }

    // 11. No fd of the parent's reaches the program (the copies above included).
    if (podspawn_close_fds(req, err_fd, req->force) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CLOSE_FDS, -1);

    // 12. The working directory, inside the new root and with the final credentials, so a
    //     directory the user cannot enter fails here as it would for the program.
    if (req->cwd && chdir(req->cwd) < 0) podspawn_fail(err_fd, PODSPAWN_STAGE_CHDIR, -1);

    // 13. An empty signal mask, then exec. Success closes the error pipe (close-on-exec):
    //     the parent reads EOF.
    sigset_t empty;
    sigemptyset(&empty);
    (void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, (void *)0, (size_t)(_NSIG / 8));
    execve(req->path, (char *const *)req->argv, (char *const *)req->envp);
    podspawn_fail(err_fd, PODSPAWN_STAGE_EXEC, -1);
}

// MARK: - The parent

static int podspawn_parent_fail(struct podspawn_result *res, int32_t stage, int error) {
    res->stage = stage;
    res->index = -1;
    res->error = error;
    return error;
}

static void podspawn_reap(pid_t pid) {
    if (pid <= 0) return;
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {
    }
}

int podspawn_run(const struct podspawn_request *req, struct podspawn_result *res) {
    res->pid = -1;
    res->pidfd = -1;
    res->stage = PODSPAWN_STAGE_NONE;
    res->index = -1;
    res->error = 0;

    int pid_join = -1;
    for (size_t i = 0; i < req->namespaces_count; i++) {
        if (req->namespaces[i].nstype == CLONE_NEWPID) {
            pid_join = (int)i;
            break;
        }
    }

    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) return podspawn_parent_fail(res, PODSPAWN_STAGE_PIPE, errno);

    // Without a PID namespace to join, the cloned process is the final one: ask for its
    // pidfd and, if wanted, a new PID namespace right here. With one, the clone is the
    // intermediate, and both happen in its own clone.
    uint64_t flags = 0;
    int pidfd = -1;
    if (pid_join < 0 && req->new_pid_namespace) flags |= CLONE_NEWPID;

    // All signals blocked across the clone: the child must not run a handler of ours (it
    // has none of the runtime's state) before it resets them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = podspawn_clone(flags, req->cgroup_fd, pid_join < 0 ? &pidfd : NULL, req->force);
    if (pid == 0) {
        close(pipe_fds[0]);
        podspawn_child(req, pipe_fds[1], pid_join);
    }
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(pipe_fds[1]);
    if (pid < 0) {
        close(pipe_fds[0]);
        // With CLONE_INTO_CGROUP the kernel joins the cgroup inside clone3, and that is
        // what fails (EBADF: not a cgroup dir; ENOENT or ENODEV: removed; EBUSY: not a leaf).
        return podspawn_parent_fail(res, req->cgroup_fd >= 0 ? PODSPAWN_STAGE_CGROUP : PODSPAWN_STAGE_CLONE, clone_errno);
    }

    pid_t final = pid_join < 0 ? (pid_t)pid : -1;
    int failed = 0, read_errno = 0;
    struct podspawn_wire w;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(pipe_fds[0], (char *)&w + got, sizeof w - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            read_errno = errno;
            break;
        }
        if (n == 0) break;
        got += (size_t)n;
        if (got < sizeof w) continue;
        got = 0;
        if (w.stage == PODSPAWN_WIRE_PID) {
            final = w.value;
        } else if (!failed) {
            failed = 1;
            res->stage = w.stage;
            res->index = w.index;
            res->error = w.value;
        }
    }
    close(pipe_fds[0]);

    if (read_errno) {
        // Cannot tell how far the child got: stop it rather than leave it half set up.
        if (final > 0) kill(final, SIGKILL);
        if (pid_join >= 0) kill((pid_t)pid, SIGKILL);
        failed = 1;
        podspawn_parent_fail(res, PODSPAWN_STAGE_PIPE, read_errno);
    }
    if (pid_join >= 0) {
        podspawn_reap((pid_t)pid);  // the intermediate exits right after reporting
        if (!failed && final <= 0) {
            // It died before cloning or reporting (a signal): no final process exists.
            failed = 1;
            res->stage = PODSPAWN_STAGE_PID_FORK;
            res->index = pid_join;
            res->error = ECHILD;
        }
    }
    if (failed) {
        podspawn_reap(final);
        if (pidfd >= 0) close(pidfd);
        return res->error;
    }

    if (pid_join >= 0) {
        // The final process is our child (CLONE_PARENT) and we have not waited for it, so
        // its pid cannot have been reused: this pidfd is the right process.
        long fd = syscall(SYS_pidfd_open, final, 0U);
        pidfd = fd >= 0 ? (int)fd : -1;
    }
    res->pid = final;
    res->pidfd = pidfd;
    return 0;
}

// MARK: - A pod's user namespace

static int podspawn_write_file(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r;
    do {
        r = write(fd, text, length);
    } while (r < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return r == (ssize_t)length ? 0 : -1;
}

// Decimal digits of v at p; returns the length. No snprintf: the same code must not
// allocate in a child, and here it keeps the helper self-contained.
static size_t podspawn_decimal(char *p, uint64_t v) {
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

// The holder of a new user namespace (podspawn_userns): closes its copy of the gate's
// write end, waits for EOF on the read end, exits. Raw system calls: it runs on our memory.
static int podspawn_holder(void *arg) {
    const int *gate = (const int *)arg;
    syscall(SYS_close, gate[1]);
    // Every signal is blocked (the caller's mask, inherited), so this returns only at EOF;
    // errno is not looked at: it is the caller's thread's.
    char byte;
    syscall(SYS_read, gate[0], &byte, 1);
    syscall(SYS_exit, 0);
    return 0;
}

int podspawn_userns(uint32_t start, uint32_t count, int32_t flags, int32_t fds[4], struct podspawn_result *res) {
    res->pid = -1;
    res->pidfd = -1;
    res->stage = PODSPAWN_STAGE_NONE;
    res->index = -1;
    res->error = 0;
    for (int i = 0; i < 4; i++) fds[i] = -1;

    int gate[2];
    if (pipe2(gate, O_CLOEXEC) < 0) return podspawn_parent_fail(res, PODSPAWN_STAGE_PIPE, errno);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    // CLONE_VM on a small stack of its own: the child shares our memory instead of a copy
    // of our page tables, which for a large caller (the reconciler) was most of the cost.
    // It makes no library call that could touch shared state: two system calls, then exit.
    size_t stack_size = 64 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(gate[0]);
        close(gate[1]);
        return podspawn_parent_fail(res, PODSPAWN_STAGE_CLONE, e);
    }
    long pid = clone(podspawn_holder, (char *)stack + stack_size, CLONE_VM | CLONE_NEWUSER | flags | SIGCHLD, gate);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(gate[0]);
    if (pid < 0) {
        munmap(stack, stack_size);
        close(gate[1]);
        return podspawn_parent_fail(res, PODSPAWN_STAGE_CLONE, clone_errno);
    }

    char path[64], map[80];
    size_t n = 0;
    map[n++] = '0';
    map[n++] = ' ';
    n += podspawn_decimal(map + n, start);
    map[n++] = ' ';
    n += podspawn_decimal(map + n, count);
    map[n++] = '\n';
    int failed = 0;
    static const char *const names[4] = {"user", "net", "uts", "ipc"};
    static const int32_t kinds[4] = {CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC};
    for (int step = 0; step < 6 && !failed; step++) {
        size_t p = 0;
        const char *prefix = "/proc/";
        while (*prefix) path[p++] = *prefix++;
        p += podspawn_decimal(path + p, (uint64_t)pid);
        const char *rest;
        if (step == 0) rest = "/uid_map";
        else if (step == 1) rest = "/gid_map";
        else {
            int k = step - 2;
            if (k > 0 && !(flags & kinds[k])) continue;
            path[p++] = '/';
            path[p++] = 'n';
            path[p++] = 's';
            path[p++] = '/';
            rest = names[k];
        }
        while (*rest) path[p++] = *rest++;
        path[p] = 0;
        if (step < 2) {
            if (podspawn_write_file(path, map, n) < 0) failed = step + 1;
        } else {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) failed = step + 1;
            else fds[step - 2] = fd;
        }
    }
    int saved = errno;
    close(gate[1]);
    podspawn_reap((pid_t)pid);
    munmap(stack, stack_size);
    if (failed) {
        for (int i = 0; i < 4; i++) {
            if (fds[i] >= 0) close(fds[i]);
            fds[i] = -1;
        }
        res->stage = PODSPAWN_STAGE_USERNS;
        res->index = failed - 1;
        res->error = saved;
        return saved;
    }
    return 0;
}
