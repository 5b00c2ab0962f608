/* clitime: times whole processes, as a child subreaper (supervisors and podlb's infra that
 * outlive the command are reaped here, never by the host's init). Stdout of the timed command
 * goes to /dev/null, stderr to the log; any command that exits non-zero stops the run.
 *   clitime [--runs N] [--warmup W] [--gap-ms G] [--interleave] [--raw FILE] [--log FILE]
 *           LABEL ARGV... [--then ARGV...]... [:: LABEL ARGV... [--then ARGV...]...]...
 * Per run: sleep G ms, then the clock: fork, exec, wait until that pid exits; then the --then
 * commands, untimed. Jobs run in blocks (all runs of one, then the next) or, with
 * --interleave, one run of each in turn. The first W runs of each job are not counted.
 * Prints per job: LABEL<TAB>n<TAB>median<TAB>p90<TAB>min<TAB>max<TAB>CPU median (ms). Median:
 * the mean of the middle two for an even count; p90: the ceil(0.9 n)-th smallest. CPU is the
 * timed process's own user + system time (wait4's rusage; a supervisor it leaves running is
 * not in it).
 *
 * Used by cli-run.sh and network-run.sh, which compile it with gcc -O2 -lm into their temp dir.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXJ 8
#define MAXT 4
struct job { const char *label; char **timed; char **then[MAXT]; int nthen; double *ms; double *cpu; int n; };
static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static int logfd = 2;

/* fork + exec argv; wait for that pid, reaping any adopted orphan meanwhile. */
static int run(char **argv, double *elapsed, double *cpu) {
  double t0 = now_ms();
  pid_t p = fork();
  if (p < 0) { perror("fork"); exit(1); }
  if (p == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, 0); dup2(null, 1); dup2(logfd, 2);
    signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL); signal(SIGHUP, SIG_DFL);
    execv(argv[0], argv);
    fprintf(stderr, "clitime: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st = 0;
  for (;;) {
    int s; struct rusage ru; pid_t w = wait4(-1, &s, 0, &ru);
    if (w == p) {
      st = s;
      if (cpu) *cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
      break;
    }
    if (w < 0 && errno != EINTR) { perror("waitpid"); exit(1); }
  }
  double t1 = now_ms();
  if (elapsed) *elapsed = t1 - t0;
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "clitime: %s exited with %s %d\n", argv[0], WIFEXITED(st) ? "status" : "signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return -1;
  }
  return 0;
}
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  int runs = 20, warmup = 0, gap = 0, inter = 0; const char *raw = NULL;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
    if (!strcmp(argv[i], "--interleave")) { inter = 1; i--; continue; }
    if (i + 1 >= argc) { fprintf(stderr, "clitime: %s needs a value\n", argv[i]); return 2; }
    if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--gap-ms")) gap = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--raw")) raw = argv[i + 1];
    else if (!strcmp(argv[i], "--log")) { logfd = open(argv[i + 1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644); if (logfd < 0) { perror(argv[i + 1]); return 2; } }
    else { fprintf(stderr, "clitime: unknown option %s\n", argv[i]); return 2; }
  }
  struct job jobs[MAXJ]; int nj = 0;
  while (i < argc) {
    if (nj == MAXJ || i + 1 >= argc) { fprintf(stderr, "clitime: bad job list\n"); return 2; }
    struct job *j = &jobs[nj++]; memset(j, 0, sizeof *j);
    j->label = argv[i++]; j->timed = &argv[i];
    while (i < argc && strcmp(argv[i], "::")) {
      if (!strcmp(argv[i], "--then")) {
        argv[i] = NULL;
        if (j->nthen == MAXT) { fprintf(stderr, "clitime: too many --then\n"); return 2; }
        j->then[j->nthen++] = &argv[i + 1];
      }
      i++;
    }
    if (i < argc) argv[i++] = NULL;  /* "::" ends the job */
    j->ms = calloc(runs > 0 ? runs : 1, sizeof(double));
    j->cpu = calloc(runs > 0 ? runs : 1, sizeof(double));
  }
  if (runs < 1 || nj == 0) { fprintf(stderr, "clitime: nothing to run\n"); return 2; }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) { perror("PR_SET_CHILD_SUBREAPER"); return 1; }
  struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_signal;  /* no SA_RESTART */
  sigaction(SIGINT, &sa, NULL); sigaction(SIGTERM, &sa, NULL); sigaction(SIGHUP, &sa, NULL);
  int total = warmup + runs, failed = 0;
  for (int a = 0; a < (inter ? total : nj) && !failed && !stop; a++)
    for (int b = 0; b < (inter ? nj : total) && !failed && !stop; b++) {
      int k = inter ? a : b; struct job *j = &jobs[inter ? b : a];
      if (gap > 0) usleep((useconds_t)gap * 1000);
      double ms, cpu;
      if (run(j->timed, &ms, &cpu) < 0) { failed = 1; break; }
      if (k >= warmup) { j->cpu[j->n] = cpu; j->ms[j->n++] = ms; }
      for (int t = 0; t < j->nthen && !failed; t++) if (run(j->then[t], NULL, NULL) < 0) failed = 1;
    }
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
  if (failed) return 1;
  if (stop) return 130;
  FILE *rf = raw ? fopen(raw, "a") : NULL;
  for (int a = 0; a < nj; a++) {
    struct job *j = &jobs[a];
    if (rf) for (int k = 0; k < j->n; k++) fprintf(rf, "%s\t%d\t%.3f\tcpu %.3f\n", j->label, k + 1, j->ms[k], j->cpu[k]);
    qsort(j->ms, j->n, sizeof(double), cmp);
    qsort(j->cpu, j->n, sizeof(double), cmp);
    int n = j->n;
    double med = n % 2 ? j->ms[n / 2] : (j->ms[n / 2 - 1] + j->ms[n / 2]) / 2;
    double cpumed = n % 2 ? j->cpu[n / 2] : (j->cpu[n / 2 - 1] + j->cpu[n / 2]) / 2;
    int r = (int)ceil(0.9 * n); if (r < 1) r = 1;
    printf("%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", j->label, n, med, j->ms[r - 1], j->ms[0], j->ms[n - 1], cpumed);
  }
  if (rf) fclose(rf);
  return 0;
}
