// The cgroup v2 device allowlist: build a BPF_PROG_TYPE_CGROUP_DEVICE program from the
// rules, load it, attach it to the container's cgroup. See include/devicefilter.h.
//
// The program is what runc's devicefilter generates, without a library (no libbpf, no
// ELF object): the rules are data known only at run time, and at most eight instructions
// per rule are simpler to emit by hand than to compile.
//
//   r2 = ctx->access_type & 0xffff      device type: BPF_DEVCG_DEV_BLOCK or _CHAR
//   r3 = ctx->access_type >> 16         access asked for: BPF_DEVCG_ACC_MKNOD, _READ or _WRITE
//   r4 = ctx->major
//   r5 = ctx->minor
//   for each rule, a block that falls through to "allow" only if everything matches:
//     if r2 != TYPE goto next           (left out for type 'a')
//     r1 = r3; r1 &= ACCESS;            (left out when the rule allows rwm)
//     if r1 != r3 goto next             the access asked for must be a subset of ACCESS
//     if r4 != MAJOR goto next          (left out for a major of *)
//     if r5 != MINOR goto next          (left out for a minor of *)
//     r0 = 1; exit                      allow
//   next: ...
//   r0 = 0; exit                        no rule matched: deny (open and mknod get EPERM)
#include "devicefilter.h"

#include <errno.h>

#ifdef __linux__
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_bpf
#define SYS_bpf __NR_bpf
#endif

// The header spells the kernel's values itself so that Swift need not import <linux/bpf.h>.
_Static_assert(CKERNEL_DEVICE_MKNOD == BPF_DEVCG_ACC_MKNOD, "access bits are the kernel's");
_Static_assert(CKERNEL_DEVICE_READ == BPF_DEVCG_ACC_READ, "access bits are the kernel's");
_Static_assert(CKERNEL_DEVICE_WRITE == BPF_DEVCG_ACC_WRITE, "access bits are the kernel's");

#define ACCESS_ALL (CKERNEL_DEVICE_MKNOD | CKERNEL_DEVICE_READ | CKERNEL_DEVICE_WRITE)

// Registers. r1 holds the context on entry; once the four fields are loaded it is free,
// and the access check uses it as scratch. r0 is the result: 1 allows, 0 denies.
enum { R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5 };

enum {
    PROLOGUE_LEN = 6,
    EPILOGUE_LEN = 2,
    // type 1 + access 3 + major 1 + minor 1 + allow 2.
    MAX_RULE_LEN = 8,
    // What the kernel takes from any loader, privileged or not (BPF_MAXINSNS); more rules
    // than this are a caller's bug, and E2BIG says so before any allocation.
    MAX_INSNS = 4096,
};

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

// dst = *(u32 *)(src + off). The verifier allows only 4-byte reads of major and minor.
static struct bpf_insn load_u32(uint8_t dst, uint8_t src, int16_t off) {
    return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}

// 32-bit ALU operations: they zero the upper half of dst, so the registers hold exactly the
// u32 fields and a 64-bit compare with a non-negative immediate is exact.
static struct bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
    return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static struct bpf_insn mov32_reg(uint8_t dst, uint8_t src) {
    return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}

// if dst != imm goto +off (the offset is patched once the rule's block length is known).
static struct bpf_insn jne_imm(uint8_t dst, int32_t imm) {
    return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm);
}

static struct bpf_insn jne_reg(uint8_t dst, uint8_t src) {
    return insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0);
}

static struct bpf_insn mov64_imm(uint8_t dst, int32_t imm) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}

static struct bpf_insn exit_insn(void) {
    return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

// Why a rule was refused, into the caller's log.
__attribute__((format(printf, 3, 4)))
static void say(char *log, size_t log_size, const char *format, ...) {
    if (!log || log_size == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(log, log_size, format, args);
    va_end(args);
}

// A major or minor: -1 (any), or a number the 32-bit immediate of a jump can hold. BPF_JMP
// sign-extends the immediate to 64 bits, so above INT32_MAX it would never equal the
// zero-extended field; Linux's own numbers are far smaller (12-bit major, 20-bit minor).
static int valid_number(int64_t n) { return n == -1 || (n >= 0 && n <= INT32_MAX); }

// Appends one rule's block at `out`; returns its length.
static size_t emit_rule(const struct ckernel_device_rule *rule, struct bpf_insn *out) {
    size_t n = 0;
    size_t jumps[4];
    size_t njumps = 0;
    if (rule->type != CKERNEL_DEVICE_ALL) {
        int32_t type = rule->type == CKERNEL_DEVICE_BLOCK ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
        jumps[njumps++] = n;
        out[n++] = jne_imm(R2, type);
    }
    if ((rule->access & ACCESS_ALL) != ACCESS_ALL) {
        // (asked & allowed) == asked: every bit asked for is allowed. One bit is not enough
        // to test: an O_RDWR open asks for read and write in one check, and a rule of `r`
        // alone must refuse it.
        out[n++] = mov32_reg(R1, R3);
        out[n++] = alu32_imm(BPF_AND, R1, (int32_t)rule->access);
        jumps[njumps++] = n;
        out[n++] = jne_reg(R1, R3);
    }
    if (rule->major != -1) {
        jumps[njumps++] = n;
        out[n++] = jne_imm(R4, (int32_t)rule->major);
    }
    if (rule->minor != -1) {
        jumps[njumps++] = n;
        out[n++] = jne_imm(R5, (int32_t)rule->minor);
    }
    out[n++] = mov64_imm(R0, 1);
    out[n++] = exit_insn();
    // A jump's offset counts from the instruction after it: to the end of this block, which
    // is the next rule's first instruction (or the final deny).
    for (size_t j = 0; j < njumps; j++) out[jumps[j]].off = (int16_t)(n - (jumps[j] + 1));
    return n;
}

static long sys_bpf(int cmd, union bpf_attr *attr) {
    // The whole union, zeroed by the caller: the kernel refuses non-zero bytes in fields it
    // does not know (E2BIG), and a header newer than the kernel only adds zeros at the end.
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

// BPF_PROG_LOAD; returns the program fd (CLOEXEC: the kernel makes every bpf fd so) or -1.
static int load(const struct bpf_insn *insns, uint32_t count, char *log, size_t log_size) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)insns;
    attr.insn_cnt = count;
    // The kernel asks for a GPL-compatible license only of programs that call GPL-only
    // helpers; this one calls no helper at all, so any string loads (runc says "Apache").
    attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
    // Shown by `bpftool prog` (and in /proc/PID/fdinfo), so an operator can tell whose it is.
    memcpy(attr.prog_name, "podrec_devices", sizeof "podrec_devices");

    long fd;
    // The verifier gives up with EAGAIN when a signal is pending; libbpf retries, so do we.
    for (int tries = 0;; tries++) {
        fd = sys_bpf(BPF_PROG_LOAD, &attr);
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR) || tries == 4) break;
    }
    if (fd >= 0 || !log || log_size < 128) return (int)fd;

    // Failed: load again with the verifier's log, only now. A log requested up front makes
    // a load whose log overflows the buffer fail with ENOSPC, and costs time on success.
    // The kernel refuses log_level with a buffer under 128 bytes or over UINT32_MAX >> 2.
    int saved = errno;
    log[0] = '\0';
    attr.log_level = 1;
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = (uint32_t)(log_size > (UINT32_MAX >> 2) ? (UINT32_MAX >> 2) : log_size);
    fd = sys_bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) return (int)fd;   // the first failure was transient (EAGAIN each time)
    log[log_size - 1] = '\0';
    errno = saved;
    return -1;
}

int ckernel_device_filter_attach(int cgroup_dirfd, const struct ckernel_device_rule *rules, size_t count,
                                 char *log, size_t log_size, int *failed_step) {
    int dummy;
    if (!failed_step) failed_step = &dummy;
    *failed_step = CKERNEL_DEVICE_FILTER_RULES;
    if (log && log_size > 0) log[0] = '\0';

    // 1. Check the rules first, so that nothing reaches the kernel half-built.
    if (count > (MAX_INSNS - PROLOGUE_LEN - EPILOGUE_LEN) / MAX_RULE_LEN) {
        say(log, log_size, "%zu rules: too many for %d instructions", count, (int)MAX_INSNS);
        errno = E2BIG;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const struct ckernel_device_rule *r = &rules[i];
        if (r->type != CKERNEL_DEVICE_ALL && r->type != CKERNEL_DEVICE_BLOCK && r->type != CKERNEL_DEVICE_CHAR) {
            say(log, log_size, "rule %zu: type %d is not 'a', 'b' or 'c'", i, (int)r->type);
            errno = EINVAL;
            return -1;
        }
        if (!valid_number(r->major) || !valid_number(r->minor)) {
            say(log, log_size, "rule %zu: major or minor %lld out of range", i,
                (long long)(valid_number(r->major) ? r->minor : r->major));
            errno = EINVAL;
            return -1;
        }
        if (r->access & ~(uint32_t)ACCESS_ALL) {
            say(log, log_size, "rule %zu: access bits 0x%x are not r, w and m", i, (unsigned)r->access);
            errno = EINVAL;
            return -1;
        }
    }

    // 2. Emit the program: prologue, one block per rule, deny.
    struct bpf_insn *insns = calloc(PROLOGUE_LEN + count * MAX_RULE_LEN + EPILOGUE_LEN, sizeof *insns);
    if (!insns) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = 0;
    // The context is struct bpf_cgroup_dev_ctx { u32 access_type, major, minor }. Read each
    // field once into a register; r1 (the context) is not needed after that.
    insns[n++] = load_u32(R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
    insns[n++] = alu32_imm(BPF_AND, R2, 0xffff);
    insns[n++] = load_u32(R3, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
    insns[n++] = alu32_imm(BPF_RSH, R3, 16);
    insns[n++] = load_u32(R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major));
    insns[n++] = load_u32(R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor));
    for (size_t i = 0; i < count; i++) n += emit_rule(&rules[i], insns + n);
    // Default deny: what no rule allowed.
    insns[n++] = mov64_imm(R0, 0);
    insns[n++] = exit_insn();

    // 3. Load. The kernel copies the instructions, so they can go right after.
    *failed_step = CKERNEL_DEVICE_FILTER_LOAD;
    int prog = load(insns, (uint32_t)n, log, log_size);
    int saved = errno;
    free(insns);
    if (prog < 0) {
        errno = saved;
        return -1;
    }

    // 4. Attach. BPF_F_ALLOW_MULTI, as runc and systemd attach theirs: the multi programs
    // of this cgroup and of every ancestor all run, and a device is allowed only if each of
    // them allows it, so a parent's program still applies and a second program here can
    // only narrow the list. Without the flag the program would be this cgroup's only one
    // (a second attach refused), no cgroup below could attach its own, and the kernel
    // refuses to mix flags on one cgroup (EPERM) where a multi program is already there.
    *failed_step = CKERNEL_DEVICE_FILTER_ATTACH;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_dirfd;
    attr.attach_bpf_fd = (uint32_t)prog;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    long r;
    do r = sys_bpf(BPF_PROG_ATTACH, &attr); while (r < 0 && errno == EINTR);
    saved = errno;

    // 5. The cgroup holds its own reference to an attached program, which it drops when
    // the cgroup is freed: our fd has done its work either way.
    close(prog);
    if (r < 0) {
        errno = saved;
        return -1;
    }
    *failed_step = 0;
    return 0;
}

#else

int ckernel_device_filter_attach(int cgroup_dirfd, const struct ckernel_device_rule *rules, size_t count,
                                 char *log, size_t log_size, int *failed_step) {
    (void)cgroup_dirfd; (void)rules; (void)count; (void)log; (void)log_size;
    if (failed_step) *failed_step = CKERNEL_DEVICE_FILTER_LOAD;
    errno = ENOSYS;
    return -1;
}

#endif
