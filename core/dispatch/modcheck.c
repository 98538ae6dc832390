/* Vetting a module file before dlopen (modcheck.h). */
#include <config.h>

#include "dispatch/modcheck.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HAVE_ELF_H
#include <elf.h>
#endif

#define PATH_CAP 1024

/* ---- which file ----------------------------------------------------------------- */

/* The value of KEY='...' or KEY=... on a line of a libtool .la file, or "". */
static void la_value(const char *text, const char *key, char *out, size_t cap)
{
    size_t n = strlen(key);
    out[0] = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, n) || p[n] != '=') continue;
        p += n + 1;
        int quoted = *p == '\'';
        p += quoted;
        size_t k = strcspn(p, quoted ? "'\n" : "\n");
        snprintf(out, cap, "%.*s", (int)k, p);
        return;
    }
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int resolve_la(const char *la, char *file, size_t cap, char *why, size_t why_cap)
{
    char text[16384], dlname[256], installed[8], libdir[PATH_CAP], dir[PATH_CAP];
    FILE *f = fopen(la, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f) fclose(f);
    if (!f) return snprintf(why, why_cap, "cannot read %s: %s", la, strerror(errno)), -1;
    text[n] = 0;
    la_value(text, "dlname", dlname, sizeof dlname);
    la_value(text, "installed", installed, sizeof installed);
    la_value(text, "libdir", libdir, sizeof libdir);
    if (!dlname[0] || strchr(dlname, '/'))
        return snprintf(why, why_cap, "%s names no shared library (dlname)", la), -1;
    const char *slash = strrchr(la, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - la) : 1, slash ? la : ".");
    /* libltdl's order (find_module): installed -> libdir, else .libs; then next to it */
    if (!strcmp(installed, "yes") && libdir[0]) snprintf(file, cap, "%s/%s", libdir, dlname);
    else snprintf(file, cap, "%s/.libs/%s", dir, dlname);
    if (is_file(file)) return 0;
    snprintf(file, cap, "%s/%s", dir, dlname);
    if (is_file(file)) return 0;
    return snprintf(why, why_cap, "%s names %s, which is not there", la, dlname), -1;
}

int modcheck_resolve(const char *stem, char *file, size_t cap, char *why, size_t why_cap)
{
#ifdef __APPLE__
    static const char shlib_ext[] = ".dylib";
#else
    static const char shlib_ext[] = ".so";
#endif
    char la[PATH_CAP + 8];
    snprintf(la, sizeof la, "%s.la", stem);
    struct stat st;
    if (stat(la, &st) == 0 && S_ISREG(st.st_mode)) return resolve_la(la, file, cap, why, why_cap);
    snprintf(file, cap, "%s%s", stem, shlib_ext);
    if (is_file(file)) return 0;
    snprintf(file, cap, "%s.so", stem);   /* a plain .so on macOS too */
    if (is_file(file)) return 0;
    return snprintf(why, why_cap, "no %s or %s%s", la, stem, shlib_ext), -1;
}

/* ---- is it a loadable object for this machine ------------------------------------- */

#if defined(HAVE_ELF_H) && !defined(__APPLE__)
#if UINTPTR_MAX > 0xffffffffu
typedef Elf64_Ehdr Ehdr;
typedef Elf64_Phdr Phdr;
#define HOST_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr Ehdr;
typedef Elf32_Phdr Phdr;
#define HOST_CLASS ELFCLASS32
#endif

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__powerpc__)
#define HOST_MACHINE (HOST_CLASS == ELFCLASS64 ? EM_PPC64 : EM_PPC)
#elif defined(__s390__)
#define HOST_MACHINE EM_S390
#elif defined(__riscv) && defined(EM_RISCV)
#define HOST_MACHINE EM_RISCV
#else
#define HOST_MACHINE 0   /* unknown here: the dynamic loader still checks it */
#endif

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "aarch64";
    case EM_ARM: return "arm";
    case EM_PPC64: return "ppc64";
    case EM_PPC: return "ppc";
    case EM_S390: return "s390";
    default: return "another machine";
    }
}

/* off + n * each bytes lie within size (no overflow). */
static int within(uint64_t off, uint64_t n, uint64_t each, uint64_t size)
{
    return off <= size && (each == 0 || n <= (size - off) / each);
}

static int check_elf(int fd, uint64_t size, char *why, size_t cap)
{
    Ehdr h;
    unsigned char id[4] = {0};
    if (pread(fd, id, 4, 0) < 0) return snprintf(why, cap, "read failed: %s", strerror(errno)), -1;
    if (memcmp(id, ELFMAG, size < 4 ? (size_t)size : 4))
        return snprintf(why, cap, "not a shared object (no ELF magic)"), -1;
    if (size < sizeof h)
        return snprintf(why, cap, "truncated: %" PRIu64 " bytes, an ELF header needs %zu", size,
                        sizeof h), -1;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
        return snprintf(why, cap, "read failed: %s", strerror(errno)), -1;
    if (h.e_ident[EI_CLASS] != HOST_CLASS)
        return snprintf(why, cap, "a %d-bit ELF object, this anetrain is %d-bit",
                        h.e_ident[EI_CLASS] == ELFCLASS64 ? 64 : 32,
                        HOST_CLASS == ELFCLASS64 ? 64 : 32), -1;
    const unsigned short one = 1;
    int host_data = *(const unsigned char *)&one ? ELFDATA2LSB : ELFDATA2MSB;
    if (h.e_ident[EI_DATA] != host_data)
        return snprintf(why, cap, "an ELF object of the other byte order"), -1;
    if (h.e_type != ET_DYN)
        return snprintf(why, cap, "not a shared object (ELF type %u)", (unsigned)h.e_type), -1;
    if (HOST_MACHINE && h.e_machine != HOST_MACHINE)
        return snprintf(why, cap, "built for %s (ELF machine %u), this anetrain runs on %s",
                        machine_name(h.e_machine), (unsigned)h.e_machine,
                        machine_name(HOST_MACHINE)), -1;
    if (h.e_phentsize != sizeof(Phdr) || h.e_phnum == 0 || h.e_phnum == 0xffff)
        return snprintf(why, cap, "bad program header table (%u entries of %u bytes)",
                        (unsigned)h.e_phnum, (unsigned)h.e_phentsize), -1;
    if (!within(h.e_phoff, h.e_phnum, sizeof(Phdr), size))
        return snprintf(why, cap, "truncated: the program headers end past the file's %" PRIu64
                        " bytes", size), -1;
    int dynamic = 0;
    for (unsigned i = 0; i < h.e_phnum; i++) {
        Phdr p;
        if (pread(fd, &p, sizeof p, (off_t)(h.e_phoff + (uint64_t)i * sizeof p)) != (ssize_t)sizeof p)
            return snprintf(why, cap, "read failed: %s", strerror(errno)), -1;
        dynamic |= p.p_type == PT_DYNAMIC;
        if (!within(p.p_offset, p.p_filesz, 1, size))
            return snprintf(why, cap, "truncated: segment %u needs bytes %" PRIu64 "..%" PRIu64
                            ", the file has %" PRIu64, i, (uint64_t)p.p_offset,
                            (uint64_t)p.p_offset + p.p_filesz, size), -1;
    }
    if (h.e_shnum && !within(h.e_shoff, h.e_shnum, h.e_shentsize, size))
        return snprintf(why, cap, "truncated: the section headers end past the file's %" PRIu64
                        " bytes", size), -1;
    if (!dynamic) return snprintf(why, cap, "not a shared object (no dynamic segment)"), -1;
    return 0;
}
#endif

#ifdef __APPLE__
static int check_macho(int fd, uint64_t size, char *why, size_t cap)
{
    /* thin 32/64-bit Mach-O and universal files, either byte order */
    static const uint32_t magics[] = {0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe,
                                      0xcafebabe, 0xbebafeca};
    uint32_t m = 0;
    if (size < 4 || pread(fd, &m, 4, 0) != 4)
        return snprintf(why, cap, "truncated: %" PRIu64 " bytes", size), -1;
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (m == magics[i]) return 0;
    return snprintf(why, cap, "not a shared object (no Mach-O magic)"), -1;
}
#endif

int modcheck_file(const char *file, char *why, size_t why_cap)
{
    struct stat st;
    if (stat(file, &st) != 0)
        return snprintf(why, why_cap, "%s: %s", file, strerror(errno)), -1;
    if (S_ISDIR(st.st_mode)) return snprintf(why, why_cap, "%s is a folder, not a module", file), -1;
    if (!S_ISREG(st.st_mode)) return snprintf(why, why_cap, "%s is not a regular file", file), -1;
    if (st.st_size == 0) return snprintf(why, why_cap, "%s is empty", file), -1;
    int fd = open(file, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return snprintf(why, why_cap, "%s: %s", file, strerror(errno)), -1;
    char inner[400];
    int rc = 0;
#if defined(__APPLE__)
    rc = check_macho(fd, (uint64_t)st.st_size, inner, sizeof inner);
#elif defined(HAVE_ELF_H)
    rc = check_elf(fd, (uint64_t)st.st_size, inner, sizeof inner);
#endif
    close(fd);
    if (rc < 0) snprintf(why, why_cap, "%s: %s", file, inner);
    return rc;
}

void *modcheck_bind_now(const char *file, char *why, size_t why_cap)
{
    dlerror();
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *msg = dlerror();
        snprintf(why, why_cap, "%s", msg ? msg : "the dynamic loader refused it");
    }
    return h;
}

void modcheck_release(void *handle)
{
    if (handle) dlclose(handle);
}
