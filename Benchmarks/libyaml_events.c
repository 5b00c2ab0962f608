/* libyaml_events: the floor under podrec's YAML layer. A C loop that pulls every event of
 * every corpus file out of the system libyaml (yaml_parser_parse, then yaml_event_delete)
 * and does nothing with them: what any composer over libyaml pays before it builds a node.
 * run.sh compiles it with `cc -O2` against the system libyaml, in the same run as
 * manifest-bench and pyyaml_bench.py, and times it the same way: every regular, non-hidden
 * file of the corpus read once into memory; one pass parses each file with a fresh parser
 * (as podrec does per file); warm-up of at least 0.3 s, repetitions sized to about
 * --seconds, median over --repetitions; MB = 10^6 bytes; one JSON line on stdout.
 * --passes N runs N passes untimed, for a profiler (instructions.sh).
 *
 *   libyaml_events [--corpus DIR] [--seconds S] [--repetitions N] [--passes N]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

struct file { unsigned char *bytes; size_t size; };
struct tally { long documents, rejected, events; };

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static struct file *load_corpus(const char *dir, int *count, size_t *total) {
    DIR *d = opendir(dir);
    if (!d) { perror(dir); exit(1); }
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, sizeof *names * (n + 1));
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);  /* the same order as the other benchmarks */
    struct file *files = calloc(n ? n : 1, sizeof *files);
    int kept = 0;
    *total = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        FILE *f = fopen(path, "rb");
        if (!f) { perror(path); exit(1); }
        files[kept].bytes = malloc(st.st_size ? st.st_size : 1);
        files[kept].size = fread(files[kept].bytes, 1, st.st_size, f);
        fclose(f);
        *total += files[kept].size;
        kept++;
        free(names[i]);
    }
    free(names);
    *count = kept;
    return files;
}

static struct tally one_pass(const struct file *files, int n) {
    struct tally t = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        yaml_parser_t parser;
        yaml_event_t event;
        if (!yaml_parser_initialize(&parser)) { fputs("libyaml_events: no parser\n", stderr); exit(1); }
        yaml_parser_set_input_string(&parser, files[i].bytes, files[i].size);
        for (;;) {
            if (!yaml_parser_parse(&parser, &event)) { t.rejected++; break; }
            yaml_event_type_t type = event.type;
            t.events++;
            if (type == YAML_DOCUMENT_END_EVENT) t.documents++;  /* composed, as the other rows count */
            yaml_event_delete(&event);
            if (type == YAML_STREAM_END_EVENT) break;
        }
        yaml_parser_delete(&parser);
    }
    return t;
}

static double now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *xs, int n) {
    qsort(xs, n, sizeof *xs, cmp_double);
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

static int same(struct tally a, struct tally b) {
    return a.documents == b.documents && a.rejected == b.rejected && a.events == b.events;
}

int main(int argc, char **argv) {
    const char *corpus = "../shared/corpus/pods";
    double seconds = 1.5;
    int repetitions = 7, passes = -1;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--corpus")) corpus = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--seconds")) seconds = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--repetitions")) repetitions = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--passes")) passes = atoi(argv[++i]);
        else {
            fputs("usage: libyaml_events [--corpus DIR] [--seconds S] [--repetitions N] [--passes N]\n", stderr);
            return 2;
        }
    }
    if (repetitions < 1 || seconds <= 0) return 2;
    int n;
    size_t bytes;
    struct file *files = load_corpus(corpus, &n, &bytes);
    if (n == 0) { fprintf(stderr, "libyaml_events: no files in %s\n", corpus); return 1; }

    if (passes >= 0) {
        struct tally t = {0, 0, 0};
        for (int p = 0; p < passes; p++) t = one_pass(files, n);
        printf("libyaml-events: %d passes, last %ld documents, %ld rejected, %ld events\n",
               passes, t.documents, t.rejected, t.events);
        return 0;
    }

    struct tally expected = one_pass(files, n);
    int warm = 0;
    double start = now(CLOCK_MONOTONIC), elapsed = 0;
    while (warm < 2 || elapsed < 0.3) {
        if (!same(one_pass(files, n), expected)) { fputs("libyaml_events: passes differ\n", stderr); return 1; }
        warm++;
        elapsed = now(CLOCK_MONOTONIC) - start;
    }
    double per_pass = elapsed / warm;
    long per_rep = (long)(seconds / per_pass + 0.999999);
    if (per_rep < 1) per_rep = 1;

    double *rates = calloc(repetitions, sizeof *rates), *cpu_rates = calloc(repetitions, sizeof *cpu_rates);
    double *times = calloc(repetitions, sizeof *times);
    double mb = (double)bytes * per_rep / 1e6;
    for (int r = 0; r < repetitions; r++) {
        double c0 = now(CLOCK_PROCESS_CPUTIME_ID), t0 = now(CLOCK_MONOTONIC);
        struct tally t = {0, 0, 0};
        for (long p = 0; p < per_rep; p++) t = one_pass(files, n);
        double t1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (!same(t, expected)) { fputs("libyaml_events: passes differ\n", stderr); return 1; }
        times[r] = t1 - t0;
        rates[r] = mb / (t1 - t0);
        cpu_rates[r] = mb / (c1 - c0);
    }
    double lo = rates[0], hi = rates[0];
    for (int r = 1; r < repetitions; r++) {
        if (rates[r] < lo) lo = rates[r];
        if (rates[r] > hi) hi = rates[r];
    }
    printf("{\"bytes\": %zu, \"documents_per_pass\": %ld, \"events_per_pass\": %ld, \"files\": %d, "
           "\"key\": \"libyaml-events\", \"libyaml\": \"%s\", \"max_mbps\": %f, \"mb_per_repetition\": %f, "
           "\"median_cpu_mbps\": %f, \"median_mbps\": %f, \"median_seconds\": %f, \"min_mbps\": %f, "
           "\"passes_per_repetition\": %ld, \"rejected_per_pass\": %ld, \"repetitions\": %d, "
           "\"title\": \"libyaml events, C loop (yaml_parser_parse)\"}\n",
           bytes, expected.documents, expected.events, n, yaml_get_version_string(), hi, mb,
           median(cpu_rates, repetitions), median(rates, repetitions), median(times, repetitions), lo,
           per_rep, expected.rejected, repetitions);
    return 0;
}
