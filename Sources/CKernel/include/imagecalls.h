// The image store's calls that Glibc's Swift module does not bring: <sys/xattr.h>, and
// makedev, a macro. One inline wrapper each; no logic.
#pragma once
#ifdef __linux__
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>

static inline int ckernel_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

static inline long ckernel_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return (long)fgetxattr(fd, name, value, size);
}

static inline int ckernel_mknodat_char(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor) {
    return mknodat(dirfd, name, S_IFCHR | mode, makedev(major, minor));
}
#endif
