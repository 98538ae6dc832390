/* Reading JSON with jansson (Hugging Face config.json, safetensors headers): one place
 * that words a missing, mistyped or out-of-range field as "FILE: field: reason". */
#ifndef ANT_JSON_UTIL_H
#define ANT_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* Parse buf[0..n) into *root (duplicate keys refused); errors name path and the byte. */
int json_parse(const char *path, const char *buf, size_t n, json_t **root, struct ant_err *e);
/* A whole file of at most max_bytes. */
int json_read_file(const char *path, size_t max_bytes, json_t **root, struct ant_err *e);

/* obj[key] as an integer in lo..hi; absent: *out = def if !required, else an error. */
int json_int_field(const char *path, const json_t *obj, const char *key, int required,
                   int64_t def, int64_t lo, int64_t hi, int64_t *out, struct ant_err *e);
/* obj[key] as a finite number > 0 (an integer is accepted). */
int json_pos_real_field(const char *path, const json_t *obj, const char *key, double def,
                        double *out, struct ant_err *e);
/* obj[key] as a boolean; absent: def. */
int json_bool_field(const char *path, const json_t *obj, const char *key, int def, int *out,
                    struct ant_err *e);

#endif
