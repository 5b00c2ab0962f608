// userns_probe ACTION...: tries each action once and prints `ACTION ERRNO` (`OK` when it
// succeeded), for the user namespace integration tests (Tests/IntegrationTests/
// UserNamespaceTests.swift). Actions:
//
//   finit_module        finit_module(-1, "", 0): CAP_SYS_MODULE in the host's user
//                       namespace is checked first (EPERM without it), then the fd (EBADF)
//   kill:PID            kill(PID, SIGTERM)
//   ptrace:PID          PTRACE_SEIZE of PID, then PTRACE_DETACH
//   read:PATH           open(PATH, O_RDONLY) and read one byte
//   rewrite:PATH        read PATH and write the same bytes back (a sysctl keeps its value)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

static long act(const char *a) {
    if (!strcmp(a, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
    if (!strncmp(a, "kill:", 5)) return kill((pid_t)atoi(a + 5), SIGTERM);
    if (!strncmp(a, "ptrace:", 7)) {
        pid_t pid = (pid_t)atoi(a + 7);
        if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) return -1;
        ptrace(PTRACE_DETACH, pid, 0, 0);
        return 0;
    }
    if (!strncmp(a, "read:", 5)) {
        int fd = open(a + 5, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        char c;
        long r = read(fd, &c, 1);
        close(fd);
        return r < 0 ? -1 : 0;
    }
    if (!strncmp(a, "rewrite:", 8)) {
        char buf[256];
        int fd = open(a + 8, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        if (n <= 0) return -1;
        fd = open(a + 8, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t w = write(fd, buf, (size_t)n);
        int saved = errno;
        close(fd);
        errno = saved;
        return w == n ? 0 : -1;
    }
    errno = EINVAL;
    return -1;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        errno = 0;
        long r = act(argv[i]);
        const char *n = r < 0 ? strerrorname_np(errno) : "OK";
        printf("%s %s\n", argv[i], n ? n : "?");
    }
    return 0;
}
