// Linux system calls that Swift cannot call directly: syscall(2) is variadic, and Swift
// imports no variadic C function. One inline wrapper each; no logic.
#pragma once
#ifdef __linux__
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static inline int ckernel_pidfd_open(pid_t pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static inline int ckernel_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, (void *)0, 0u);
}
#endif

#ifdef __linux__
#include <sys/prctl.h>

// prctl(2) is variadic too.
static inline int ckernel_set_child_subreaper(int on) {
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)on, 0UL, 0UL, 0UL);
}

static inline int ckernel_set_dumpable(int on) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)on, 0UL, 0UL, 0UL);
}
#endif

#ifdef __linux__
#include <fcntl.h>
#include <sys/vfs.h>

// Swift's Glibc module is built without _GNU_SOURCE and without <sys/vfs.h>: these give
// the values and calls it leaves out.
#ifndef O_PATH
#define O_PATH 010000000
#endif

static inline int ckernel_o_path(void) { return O_PATH; }

// statfs(2)'s f_type: the magic number of the filesystem that holds `path`.
static inline int ckernel_statfs_type(const char *path, long *type) {
    struct statfs st;
    int r = statfs(path, &st);
    if (r == 0) *type = (long)st.f_type;
    return r;
}

// statfs(2)'s size in bytes: f_blocks * f_bsize (a tmpfs's size= limit).
static inline int ckernel_statfs_size(const char *path, unsigned long long *bytes) {
    struct statfs st;
    int r = statfs(path, &st);
    if (r == 0) *bytes = (unsigned long long)st.f_blocks * (unsigned long long)st.f_bsize;
    return r;
}
#endif

#ifdef __linux__
#include <stdio.h>
#ifndef SYS_renameat2
#define SYS_renameat2 316
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

// renameat2 and syncfs are declared only under _GNU_SOURCE; call them by number.
static inline int ckernel_rename_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}

static inline int ckernel_syncfs(int fd) {
    return (int)syscall(SYS_syncfs, fd);
}
#endif

#ifdef __linux__
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

// Blocks `signals` for the calling thread and returns a signalfd (CLOEXEC, NONBLOCK) that
// reads them: the supervisor's event loop waits on fds only, so signals become fds.
static inline int ckernel_signalfd(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

// Blocks `signals` in the calling thread; threads it creates later inherit the mask.
static inline int ckernel_block_signals(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    return sigprocmask(SIG_BLOCK, &set, NULL);
}

// One pending signal from a signalfd: its number, or -1 with errno (EAGAIN when none).
static inline int ckernel_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

// Sets IFF_UP on "lo" in the caller's network namespace. A new network namespace has
// only lo, and down: localhost works only once it is up.
static inline int ckernel_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return r;
}

// pipe2 is declared only under _GNU_SOURCE; call it by number.
static inline int ckernel_pipe_cloexec(int fds[2]) {
    return (int)syscall(SYS_pipe2, fds, O_CLOEXEC);
}

static inline int ckernel_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
// Pseudo-terminals for `podrec exec -t`, from a container's own devpts instance.
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <termios.h>
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

// openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS: `path` resolved as if dirfd were
// "/", so a symlink planted inside a container cannot lead out of it.
static inline int ckernel_openat2_in_root(int dirfd, const char *path, int flags) {
    struct open_how how = {0};
    how.flags = (unsigned long long)flags;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// unlockpt(3) without its path lookup.
static inline int ckernel_pty_unlock(int master) {
    int unlock = 0;
    return ioctl(master, TIOCSPTLCK, &unlock);
}

// The pty's other end, opened by the kernel from the master (Linux 4.13): no path lookup.
static inline int ckernel_pty_peer(int master) {
    return ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

// NS_GET_USERNS (Linux 4.9): an fd (close-on-exec) of the user namespace that owns the
// namespace open as fd.
static inline int ckernel_ns_get_userns(int fd) {
    return ioctl(fd, (unsigned long)0xb701 /* _IO(0xb7, 0x1) */);
}

static inline int ckernel_get_window_size(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

static inline int ckernel_set_window_size(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = {0};
    ws.ws_row = rows;
    ws.ws_col = cols;
    return ioctl(fd, TIOCSWINSZ, &ws);
}
// A non-blocking TCP connection to an IPv4 address, for the supervisor's probes: the fd
// (close-on-exec) in *fd; returns 0 when connected already, EINPROGRESS while connecting,
// or an errno (EINVAL for an address that is not IPv4 dotted decimal).
#include <arpa/inet.h>
#include <netinet/in.h>
static inline int ckernel_tcp_connect(const char *ipv4, unsigned short port, int *fd) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ipv4, &a.sin_addr) != 1) return EINVAL;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) { *fd = s; return 0; }
    int e = errno;
    if (e == EINPROGRESS) { *fd = s; return EINPROGRESS; }
    close(s);
    return e;
}

// SO_ERROR: how a non-blocking connect ended (0: connected).
static inline int ckernel_socket_error(int fd) {
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) return errno;
    return e;
}

// A socket bound to `address:port` and held, for a pod's hostPort: SOCK_STREAM is also
// listening, SOCK_DGRAM only bound. `family` AF_INET takes dotted decimal (NULL: every IPv4
// address); AF_INET6 takes an IPv6 address (NULL: every address, IPv4 included, as
// IPV6_V6ONLY is cleared). The fd (close-on-exec) in *fd; returns 0 or an errno (EINVAL for
// an address that does not parse).
static inline int ckernel_bind_port(int family, int type, const char *address, unsigned short port, int *fd) {
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (address && inet_pton(AF_INET, address, &a->sin_addr) != 1) return EINVAL;
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (address && inet_pton(AF_INET6, address, &a->sin6_addr) != 1) return EINVAL;
        len = sizeof *a;
    }
    int s = socket(family, type | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    int zero = 0, one = 1;
    if (family == AF_INET6 && !address && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0) goto fail;
    // As a listener of Go's or nginx's: a port in TIME_WAIT from earlier connections is
    // free to listen on. Linux never lets two listeners share a port through it.
    if (type == SOCK_STREAM && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) goto fail;
    if (bind(s, (struct sockaddr *)&ss, len) < 0) goto fail;
    if (type == SOCK_STREAM && listen(s, 16) < 0) goto fail;
    *fd = s;
    return 0;
fail:;
    int e = errno;
    close(s);
    return e;
}

// memfd_create(2), close-on-exec, by number: Swift's Glibc module leaves it out.
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
static inline int ckernel_memfd(const char *name) {
    return (int)syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);
}
#endif

// Unix seqpacket sockets, for a pod's attach socket (the supervisor listens, `podrec
// attach` connects) and for a pty master handed back by the spawn shim: each send is one
// packet, kept whole, and a closed peer reads as 0 bytes. Every fd is close-on-exec.
#ifdef __linux__
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>

// A listening socket at `path` (its mode left to the caller), non-blocking: the fd in *fd,
// or an errno (ENAMETOOLONG for a path longer than sun_path).
static inline int ckernel_unix_listen(const char *path, int *fd) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) return ENAMETOOLONG;
    strcpy(a.sun_path, path);
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) {
        int e = errno;
        close(s);
        return e;
    }
    *fd = s;
    return 0;
}

// A blocking connection to the socket at `path`: the fd in *fd, or an errno.
static inline int ckernel_unix_connect(const char *path, int *fd) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) return ENAMETOOLONG;
    strcpy(a.sun_path, path);
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) return errno;
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(s);
        return e;
    }
    *fd = s;
    return 0;
}

// accept, then non-blocking and close-on-exec (accept4 needs _GNU_SOURCE, which a
// header imported into Swift does not have).
static inline int ckernel_unix_accept(int fd) {
    int s = accept(fd, NULL, NULL);
    if (s < 0) return -1;
    if (fcntl(s, F_SETFD, FD_CLOEXEC) < 0 || fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

static inline int ckernel_seqpacket_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

// One packet without SIGPIPE for a peer that has gone (EPIPE instead).
static inline long ckernel_send_packet(int fd, const void *bytes, unsigned long count, int nonblocking) {
    return send(fd, bytes, count, MSG_NOSIGNAL | (nonblocking ? MSG_DONTWAIT : 0));
}

// One fd passed with SCM_RIGHTS, received close-on-exec; -1 with errno (EAGAIN: none yet,
// ENOMSG: a packet that carried none).
static inline int ckernel_receive_fd(int socket) {
    char byte;
    struct iovec iov = { &byte, 1 };
    union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.space;
    m.msg_controllen = sizeof control.space;
    if (recvmsg(socket, &m, MSG_DONTWAIT | 0x40000000 /* MSG_CMSG_CLOEXEC */) < 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) { errno = ENOMSG; return -1; }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}
#endif
