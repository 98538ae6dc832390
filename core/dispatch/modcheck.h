/* Vetting a backend module file before it is loaded. dlopen trusts the file: a
 * truncated shared object crashes the process (SIGBUS on a mapping past the end of the
 * file), and a lazily bound undefined symbol ends it at the first call. So the registry
 * first finds the file libltdl would open, checks its header and segments against its
 * size, and loads it once with every symbol resolved (RTLD_NOW) before libltdl opens it. */
#ifndef ANT_MODCHECK_H
#define ANT_MODCHECK_H

#include <stddef.h>

/* The shared object behind a module name without extension ("dir/ant_cpu"), in
 * libltdl's order: NAME.la (its dlname, in .libs/ then next to it, or in its libdir
 * once installed), then NAME.so (.dylib on macOS). -1 with the reason in why. */
int modcheck_resolve(const char *stem, char *file, size_t cap, char *why, size_t why_cap);

/* A regular file holding a shared object for this machine, whose program headers and
 * segments (and section headers) lie within the file: ELF checked in full where this
 * build is ELF, Mach-O by its magic on macOS. -1 with the reason in why. */
int modcheck_file(const char *file, char *why, size_t why_cap);

/* Load file with RTLD_NOW | RTLD_LOCAL so an unresolvable symbol is an error now, not a
 * crash later; returns the handle to keep open while libltdl opens the same file (it
 * then shares this fully bound copy), NULL with the loader's reason in why. */
void *modcheck_bind_now(const char *file, char *why, size_t why_cap);
void modcheck_release(void *handle);

#endif
