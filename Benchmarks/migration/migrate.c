// How much joining a cgroup costs a new process, by the two ways podrec's spawn shim uses
// and the way it avoids (ARCHITECTURE, "Joining a cgroup"; issue 3, "Migration cost").
//
// cgroup v1 (this host): for each trial, a fresh single-threaded child joins the same
// cgroup of each hierarchy (pids, cpu, freezer: three, as a container does):
//   tasks0     the child writes "0" to each tasks file (moves only itself);
//   procs-self the child writes "0" to each cgroup.procs (moves its whole thread group);
//   procs      the parent writes the child's pid to each cgroup.procs (what runtimes do).
// cgroup v2 (../shared/tools/cgroup2-vm):
//   clone3     clone3 with CLONE_INTO_CGROUP: the child is born in the cgroup;
//   fork       fork alone, for scale;
//   procs      fork, then the parent writes the pid to cgroup.procs.
// Each time is the join alone (v1) or the process creation plus join (v2), in ms.
//
// The first cgroup.procs write after a quiet spell waits for an RCU grace period
// (cgroup_threadgroup_rwsem); back-to-back loops hide it. So trials are spaced GAP_MS
// apart (default 1000) and the kinds alternate.
//
//   gcc -O2 -o /tmp/migrate Benchmarks/migration/migrate.c
//   /tmp/migrate [TRIALS]            (as root; GAP_MS=0 for the hot numbers)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIALS 1000
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void write_file(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value)) die(path);
    close(fd);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    printf("%-11s n=%-3d median %8.3f ms   min %8.3f   max %8.3f\n", name, n, median, v[0], v[n - 1]);
}

static void gap(int ms) {
    if (ms > 0) usleep((useconds_t)ms * 1000);
}

// A child that joins by writing "0" to each file itself, and sends back how long it took.
static double child_joins(char files[][300], int nfiles) {
    int p[2];
    if (pipe(p) < 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        double t0 = now_ms();
        for (int i = 0; i < nfiles; i++) write_file(files[i], "0");
        double dt = now_ms() - t0;
        if (write(p[1], &dt, sizeof dt) != sizeof dt) _exit(1);
        _exit(0);
    }
    close(p[1]);
    double dt = -1;
    if (read(p[0], &dt, sizeof dt) != sizeof dt) die("child");
    close(p[0]);
    waitpid(pid, NULL, 0);
    return dt;
}

// A child that waits while the parent writes its pid to each file.
static double parent_moves(char files[][300], int nfiles, double *fork_ms) {
    int p[2];
    if (pipe(p) < 0) die("pipe");
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        char c;
        close(p[1]);
        (void)!read(p[0], &c, 1);
        _exit(0);
    }
    double t1 = now_ms();
    char buf[32];
    snprintf(buf, sizeof buf, "%d", pid);
    for (int i = 0; i < nfiles; i++) write_file(files[i], buf);
    double t2 = now_ms();
    close(p[0]);
    close(p[1]);
    waitpid(pid, NULL, 0);
    if (fork_ms) *fork_ms = t1 - t0;
    return t2 - t1;
}

int main(int argc, char **argv) {
    int trials = argc > 1 ? atoi(argv[1]) : 20;
    int gap_ms = getenv("GAP_MS") ? atoi(getenv("GAP_MS")) : 1000;
    if (trials < 1 || trials > MAX_TRIALS) trials = 20;
    static double a[MAX_TRIALS], b[MAX_TRIALS], c[MAX_TRIALS], d[MAX_TRIALS];
    int v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
    char dirs[3][200];
    int ndirs = 0;
    char name[64];
    snprintf(name, sizeof name, "podrec-bench-migrate-%d", getpid());
    char release[128] = "?";
    FILE *f = fopen("/proc/sys/kernel/osrelease", "r");
    if (f) {
        if (!fgets(release, sizeof release, f)) release[0] = 0;
        release[strcspn(release, "\n")] = 0;
        fclose(f);
    }

    if (!v2) {
        const char *hier[] = {"pids", "cpu", "freezer"};
        for (int i = 0; i < 3; i++) {
            snprintf(dirs[ndirs], sizeof dirs[0], "/sys/fs/cgroup/%s/%s", hier[i], name);
            if (mkdir(dirs[ndirs], 0755) < 0) die(dirs[ndirs]);
            ndirs++;
        }
        char tasks[3][300], procs[3][300];
        for (int i = 0; i < ndirs; i++) {
            snprintf(tasks[i], sizeof tasks[0], "%.200s/tasks", dirs[i]);
            snprintf(procs[i], sizeof procs[0], "%.200s/cgroup.procs", dirs[i]);
        }
        printf("cgroup v1, kernel %s, %d hierarchies (pids cpu freezer), %d trials each, %d ms apart\n",
               release, ndirs, trials, gap_ms);
        for (int t = 0; t < trials; t++) {
            gap(gap_ms);
            a[t] = child_joins(tasks, ndirs);
            gap(gap_ms);
            b[t] = child_joins(procs, ndirs);
            gap(gap_ms);
            c[t] = parent_moves(procs, ndirs, NULL);
        }
        report("tasks0", a, trials);
        report("procs-self", b, trials);
        report("procs", c, trials);
    } else {
        snprintf(dirs[0], sizeof dirs[0], "/sys/fs/cgroup/%s", name);
        if (mkdir(dirs[0], 0755) < 0) die(dirs[0]);
        ndirs = 1;
        char procs[1][300];
        snprintf(procs[0], sizeof procs[0], "%.200s/cgroup.procs", dirs[0]);
        int cfd = open(dirs[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cfd < 0) die(dirs[0]);
        printf("cgroup v2, kernel %s, %d trials each, %d ms apart\n", release, trials, gap_ms);
        for (int t = 0; t < trials; t++) {
            gap(gap_ms);
            struct clone_args_v2 args;
            memset(&args, 0, sizeof args);
            args.flags = CLONE_INTO_CGROUP_FLAG;
            args.exit_signal = SIGCHLD;
            args.cgroup = (uint64_t)cfd;
            double t0 = now_ms();
            long pid = syscall(SYS_clone3, &args, sizeof args);
            if (pid == 0) _exit(0);
            a[t] = now_ms() - t0;
            if (pid < 0) die("clone3");
            waitpid((pid_t)pid, NULL, 0);
            gap(gap_ms);
            double fork_ms;
            double write_ms = parent_moves(procs, 1, &fork_ms);
            b[t] = fork_ms;
            c[t] = fork_ms + write_ms;
            d[t] = write_ms;
        }
        report("clone3", a, trials);
        report("fork", b, trials);
        report("procs", c, trials);
        report("(write)", d, trials);
        close(cfd);
    }
    for (int i = 0; i < ndirs; i++) {
        for (int tries = 0; rmdir(dirs[i]) < 0; tries++) {
            if (errno != EBUSY || tries > 100) die(dirs[i]);
            usleep(10000);
        }
    }
    return 0;
}
