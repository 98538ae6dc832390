/* jansson helpers (see json_util.h). */
#include "formats/json_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

int json_parse(const char *path, const char *buf, size_t n, json_t **root, struct ant_err *e)
{
    json_error_t je;
    *root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je);
    if (!*root)
        return ant_errf(e, "%s: bad JSON at byte %d: %s", path, je.position, je.text);
    return 0;
}

int json_read_file(const char *path, size_t max_bytes, json_t **root, struct ant_err *e)
{
    uint64_t size;
    *root = NULL;
    FILE *f = file_open_read(path, &size, e);
    if (!f) return -1;
    if (size > max_bytes) {
        fclose(f);
        return ant_errf(e, "%s: %llu bytes, more than the %zu a JSON file here may have", path,
                        (unsigned long long)size, max_bytes);
    }
    char *buf = malloc(size ? size : 1);
    int rc = buf ? 0 : ant_errf(e, "%s: out of memory", path);
    if (rc == 0 && fread(buf, 1, size, f) != size)
        rc = ant_errf(e, "%s: read failed: %s", path, ferror(f) ? strerror(errno) : "short read");
    if (rc == 0) rc = json_parse(path, buf, size, root, e);
    free(buf);
    fclose(f);
    return rc;
}

int json_int_field(const char *path, const json_t *obj, const char *key, int required,
                   int64_t def, int64_t lo, int64_t hi, int64_t *out, struct ant_err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) return ant_errf(e, "%s: %s is missing", path, key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v)) return ant_errf(e, "%s: %s is not an integer", path, key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return ant_errf(e, "%s: %s is %lld, outside %lld..%lld", path, key, (long long)x,
                        (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

int json_pos_real_field(const char *path, const json_t *obj, const char *key, double def,
                        double *out, struct ant_err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v)) return ant_errf(e, "%s: %s is not a number", path, key);
    double x = json_number_value(v);
    if (!isfinite(x) || x <= 0) return ant_errf(e, "%s: %s is %g, must be > 0", path, key, x);
    *out = x;
    return 0;
}

int json_bool_field(const char *path, const json_t *obj, const char *key, int def, int *out,
                    struct ant_err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) return ant_errf(e, "%s: %s is not true or false", path, key);
    *out = json_is_true(v);
    return 0;
}
