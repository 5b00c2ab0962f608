// syscall_probe NAME...: makes each named system call once and prints `NAME ERRNO`
// (`OK` when it succeeded), for the seccomp integration tests (Tests/IntegrationTests/
// SeccompTests.swift). Busybox cannot make most of these calls, or hides their errno.
//
// The arguments are chosen so that, without a filter, the kernel answers with something
// other than EPERM wherever it can: a bad pointer it faults on (EFAULT) before it checks
// a capability. Then an EPERM can only be the filter's.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long probe(const char *name) {
    if (!strcmp(name, "unshare-user")) return unshare(CLONE_NEWUSER);
    if (!strcmp(name, "clone-newuser")) {
        long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0UL, (void *)0, (void *)0, 0UL);
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid((pid_t)pid, NULL, 0);
        return pid < 0 ? -1 : 0;
    }
    if (!strcmp(name, "clone3")) {
        // A zero-sized clone_args: EINVAL from the kernel, ENOSYS from RuntimeDefault.
        return syscall(SYS_clone3, (void *)0, 0UL);
    }
    // KEYCTL_GET_KEYRING_ID of the session keyring: a read, no side effect that outlives us.
    if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0, -3, 0);
    // A type string at address 1: EFAULT from the kernel.
    if (!strcmp(name, "add_key")) return syscall(SYS_add_key, (char *)1, "podrec", "x", 1UL, -2);
    if (!strcmp(name, "mount")) return syscall(SYS_mount, "none", "/", (char *)1, 0UL, (void *)0);
    // bpf(BPF_MAP_CREATE) with attributes at address 1: EFAULT from the kernel.
    if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0, (void *)1, 8U);
    // A wrong magic: EINVAL from the kernel, once CAP_SYS_BOOT lets it look.
    if (!strcmp(name, "reboot")) return syscall(SYS_reboot, 0, 0, 0, (void *)0);
    if (!strcmp(name, "mkdir")) {
        // A name of its own, removed again: the probe runs repeatedly (a readiness probe).
        char path[64];
        snprintf(path, sizeof path, "/tmp/podrec-probe-%d", (int)getpid());
        if (mkdir(path, 0700) < 0) return -1;
        return rmdir(path);
    }
    errno = EINVAL;
    fprintf(stderr, "syscall_probe: unknown call %s\n", name);
    return -2;
}

// Each call in a child of its own, its errno as the exit status: a call that succeeds
// (unshare into a new user namespace) must not change what the next one sees.
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) {
            errno = 0;
            long r = probe(argv[i]);
            if (r == -2) _exit(255);
            _exit(r >= 0 ? 0 : (errno > 0 && errno < 255 ? errno : 254));
        }
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 255) return 2;
        int e = WEXITSTATUS(status);
        const char *n = e == 0 ? "OK" : strerrorname_np(e);
        printf("%s %s\n", argv[i], n ? n : "?");
    }
    return 0;
}
