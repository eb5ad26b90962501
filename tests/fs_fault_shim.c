// fs_fault_shim.c — a test-only LD_PRELOAD library that makes one directory behave like a full
// file system or a read-only one, for any user (root included) and without mount privileges.
//
// Why: the write paths (docs/write-paths.md) must keep the previous file on ENOSPC and EROFS,
// but the test machines run as root, where a read-only directory (chmod) does not refuse writes,
// and mounting a small or read-only tmpfs needs CAP_SYS_ADMIN. The shim returns the errors the
// kernel would, at the same libc calls, for paths in one directory only:
//
//   PXOS_FS_FAULT_DIR=DIR   the directory (files directly in it; compared after realpath)
//   PXOS_FS_FAULT=MODE      enospc: files are created, but of the writes to a file opened there
//                           the first is short (half, at most 100 bytes) and the next fail with
//                           ENOSPC, like a disk that fills up;
//                           erofs: creating, opening for writing, renaming into or out of and
//                           making a directory there fail with EROFS, like a read-only mount;
//                           /PATH: the mode is the first word of the file PATH, read at each
//                           call (absent or empty: no fault), so a test can turn it on and off
//                           while the process runs.
//
// Intercepted: open/open64/openat/openat64/creat (with a write flag), mkstemp and its variants,
// write/pwrite/writev on a descriptor opened there (enospc), rename/renameat/renameat2 and mkdir
// (erofs), fopen for writing (erofs). Calls libc makes internally are not seen; the project's
// writers (px::write_file_atomic) call these functions directly. Built only for the tests.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { kNone = 0, kEnospc = 1, kErofs = 2 };
enum { kMaxFd = 65536, kFullAfter = 100 };

// Descriptors opened in the directory under enospc: 1 before their first write, 2 after (0: not one).
static int g_marked[kMaxFd];

#define REAL(ret, name, ...)                                                                                 \
    static ret (*real_##name)(__VA_ARGS__);                                                                  \
    if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static ssize_t raw_read(int fd, void* buf, size_t n) {
    REAL(ssize_t, read, int, void*, size_t);
    return real_read(fd, buf, n);
}

static int mode_now(void) {
    const char* m = getenv("PXOS_FS_FAULT");
    if (!m || !*m) return kNone;
    char word[16] = {0};
    if (m[0] == '/') {
        REAL(int, open, const char*, int, ...);
        REAL(int, close, int);
        const int fd = real_open(m, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return kNone;
        const ssize_t n = raw_read(fd, word, sizeof word - 1);
        real_close(fd);
        if (n <= 0) return kNone;
        m = word;
    }
    if (strncmp(m, "enospc", 6) == 0) return kEnospc;
    if (strncmp(m, "erofs", 5) == 0) return kErofs;
    return kNone;
}

// Whether PATH (relative to the working directory) names an entry of PXOS_FS_FAULT_DIR.
static int in_dir(const char* path) {
    const char* dir = getenv("PXOS_FS_FAULT_DIR");
    if (!dir || !*dir || !path) return 0;
    char parent[PATH_MAX];
    const char* slash = strrchr(path, '/');
    if (!slash)
        strcpy(parent, ".");
    else if (slash == path)
        strcpy(parent, "/");
    else {
        const size_t n = (size_t)(slash - path);
        if (n >= sizeof parent) return 0;
        memcpy(parent, path, n);
        parent[n] = 0;
    }
    char a[PATH_MAX], b[PATH_MAX];
    if (!realpath(parent, a) || !realpath(dir, b)) return 0;
    return strcmp(a, b) == 0;
}

static int fault_for(const char* path) {
    const int m = mode_now();
    return m != kNone && in_dir(path) ? m : kNone;
}

static int writes(int flags) {
    return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0;
}

// After a successful open of PATH: remember the descriptor when writes to it are to fail.
static int opened(int fd, int fault) {
    if (fd >= 0 && fd < kMaxFd) __atomic_store_n(&g_marked[fd], fault == kEnospc ? 1 : 0, __ATOMIC_RELAXED);
    return fd;
}

static int refuse(int err) {
    errno = err;
    return -1;
}

// The mode argument open() and openat() take after flags when they create a file (in a variadic
// function: expanded inside it).
#define CREATE_MODE(flags)                                                                                   \
    mode_t mode = 0;                                                                                         \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                                                                   \
        va_list ap;                                                                                          \
        va_start(ap, flags);                                                                                 \
        mode = va_arg(ap, mode_t);                                                                           \
        va_end(ap);                                                                                          \
    }

#define OPEN_LIKE(name, ...)                                                                                 \
    int name(const char* path, int flags, ...) {                                                             \
        REAL(int, name, const char*, int, ...);                                                              \
        CREATE_MODE(flags);                                                                                  \
        const int fault = writes(flags) ? fault_for(path) : kNone;                                           \
        if (fault == kErofs) return refuse(EROFS);                                                           \
        return opened(real_##name(path, flags, mode), fault);                                                \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                                                    \
    int name(int dirfd, const char* path, int flags, ...) {                                                  \
        REAL(int, name, int, const char*, int, ...);                                                         \
        CREATE_MODE(flags);                                                                                  \
        const int fault = writes(flags) && (dirfd == AT_FDCWD || path[0] == '/') ? fault_for(path) : kNone;  \
        if (fault == kErofs) return refuse(EROFS);                                                           \
        return opened(real_##name(dirfd, path, flags, mode), fault);                                         \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

int creat(const char* path, mode_t mode) {
    return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

#define MKSTEMP_LIKE(name, types, params, args)                                                              \
    int name params {                                                                                        \
        REAL(int, name, types);                                                                              \
        const int fault = fault_for(tmpl);                                                                   \
        if (fault == kErofs) return refuse(EROFS);                                                           \
        return opened(real_##name args, fault);                                                              \
    }
#define P(...) __VA_ARGS__
MKSTEMP_LIKE(mkstemp, char*, (char* tmpl), (tmpl))
MKSTEMP_LIKE(mkstemp64, char*, (char* tmpl), (tmpl))
MKSTEMP_LIKE(mkostemp, P(char*, int), (char* tmpl, int flags), (tmpl, flags))
MKSTEMP_LIKE(mkostemp64, P(char*, int), (char* tmpl, int flags), (tmpl, flags))
MKSTEMP_LIKE(mkstemps, P(char*, int), (char* tmpl, int suffixlen), (tmpl, suffixlen))
MKSTEMP_LIKE(mkostemps, P(char*, int, int), (char* tmpl, int suffixlen, int flags), (tmpl, suffixlen, flags))

// How many of N bytes a write to FD may take now: all of them when FD is not one opened in the
// full directory; else the first write takes half (at most 100 bytes: a short write, as when the
// disk fills up part way), and every later one none (-1: ENOSPC).
static ssize_t room(int fd, size_t n) {
    if (fd < 0 || fd >= kMaxFd) return (ssize_t)n;
    const int state = __atomic_load_n(&g_marked[fd], __ATOMIC_RELAXED);
    if (state == 0 || mode_now() != kEnospc) return (ssize_t)n;
    const size_t take = state == 1 ? (n / 2 < kFullAfter ? n / 2 : kFullAfter) : 0;
    __atomic_store_n(&g_marked[fd], 2, __ATOMIC_RELAXED);
    return take ? (ssize_t)take : -1;
}

ssize_t write(int fd, const void* buf, size_t n) {
    REAL(ssize_t, write, int, const void*, size_t);
    const ssize_t k = n ? room(fd, n) : 0;
    if (k < 0) return refuse(ENOSPC);
    return real_write(fd, buf, (size_t)k);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
    REAL(ssize_t, pwrite, int, const void*, size_t, off_t);
    const ssize_t k = n ? room(fd, n) : 0;
    if (k < 0) return refuse(ENOSPC);
    return real_pwrite(fd, buf, (size_t)k, off);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
    return pwrite(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec* iov, int cnt) {
    REAL(ssize_t, writev, int, const struct iovec*, int);
    size_t total = 0;
    for (int i = 0; i < cnt; ++i)
        total += iov[i].iov_len;
    const ssize_t k = total ? room(fd, total) : 0;
    if (k < 0) return refuse(ENOSPC);
    if ((size_t)k == total) return real_writev(fd, iov, cnt);
    REAL(ssize_t, write, int, const void*, size_t); // the part that fits, from the first buffers
    size_t done = 0;
    for (int i = 0; i < cnt && done < (size_t)k; ++i) {
        const size_t part = iov[i].iov_len < (size_t)k - done ? iov[i].iov_len : (size_t)k - done;
        const ssize_t w = real_write(fd, iov[i].iov_base, part);
        if (w < 0) return done ? (ssize_t)done : -1;
        done += (size_t)w;
        if ((size_t)w < part) break;
    }
    return (ssize_t)done;
}

int close(int fd) {
    REAL(int, close, int);
    if (fd >= 0 && fd < kMaxFd) __atomic_store_n(&g_marked[fd], 0, __ATOMIC_RELAXED);
    return real_close(fd);
}

int rename(const char* from, const char* to) {
    REAL(int, rename, const char*, const char*);
    if (fault_for(from) == kErofs || fault_for(to) == kErofs) return refuse(EROFS);
    return real_rename(from, to);
}

int renameat(int fd1, const char* from, int fd2, const char* to) {
    REAL(int, renameat, int, const char*, int, const char*);
    if (fault_for(from) == kErofs || fault_for(to) == kErofs) return refuse(EROFS);
    return real_renameat(fd1, from, fd2, to);
}

int renameat2(int fd1, const char* from, int fd2, const char* to, unsigned flags) {
    REAL(int, renameat2, int, const char*, int, const char*, unsigned);
    if (fault_for(from) == kErofs || fault_for(to) == kErofs) return refuse(EROFS);
    return real_renameat2(fd1, from, fd2, to, flags);
}

int mkdir(const char* path, mode_t mode) {
    REAL(int, mkdir, const char*, mode_t);
    if (fault_for(path) == kErofs) return refuse(EROFS);
    return real_mkdir(path, mode);
}

FILE* fopen(const char* path, const char* how) {
    REAL(FILE*, fopen, const char*, const char*);
    if (how && strpbrk(how, "wa+") && fault_for(path) == kErofs) {
        errno = EROFS;
        return NULL;
    }
    return real_fopen(path, how);
}

FILE* fopen64(const char* path, const char* how) {
    return fopen(path, how);
}
