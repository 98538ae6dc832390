/* The Apple device: the real Neural Engine through the private AppleNeuralEngine
 * framework, in plain C over the objc runtime, CoreFoundation and IOSurface, following
 * docs/ane.md §1.2 call for call (§1.11 for doing it from C).
 *
 * WARNING: this file has never been compiled or run by us. We have no Mac; it is
 * built only where configure finds macOS (HAVE_APPLE_ANE). Everything it computes
 * besides the framework calls (the weights dictionary's entries, the temp-dir layout,
 * surface properties, the compile cache) lives in device_apple_logic.c, which the
 * tests run everywhere; program checking and the compile budget live in device.c.
 * Treat the first run on hardware as the first test of this file. */
#include <config.h>

#include <CoreFoundation/CoreFoundation.h>
#include <IOSurface/IOSurface.h>
#include <dlfcn.h>
#include <objc/message.h>
#include <objc/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ane/device/device_apple_logic.h"
#include "ane/device/device_impl.h"

#define FRAMEWORK "/System/Library/PrivateFrameworks/AppleNeuralEngine.framework/AppleNeuralEngine"

void *objc_autoreleasePoolPush(void);
void objc_autoreleasePoolPop(void *pool);

struct apple_dev {
    void *fw;
    Class desc_cls, model_cls, request_cls, surface_cls;   /* §1.1 */
    char tmpdir[ANE_PATH_MAX], home[ANE_PATH_MAX];
};

struct apple_prog {
    id model;                     /* retained _ANEInMemoryModel */
    struct ane_tmp_layout tmp;
};

static SEL sel(const char *s) { return sel_registerName(s); }

/* "what: <NSError description>" into e. */
static int ns_error(struct ant_err *e, const char *what, id err)
{
    char buf[512] = "no error object";
    if (err) {
        CFStringRef d = CFErrorCopyDescription((CFErrorRef)(void *)err);
        if (d) CFStringGetCString(d, buf, sizeof buf, kCFStringEncodingUTF8), CFRelease(d);
    }
    return ant_errf(e, "%s: %s", what, buf);
}

static CFNumberRef num64(long long v) { return CFNumberCreate(NULL, kCFNumberLongLongType, &v); }

static CFMutableDictionaryRef new_dict(void)
{
    return CFDictionaryCreateMutable(NULL, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
}

static int apple_open(struct ane_device *d, struct ant_err *e)
{
    struct apple_dev *a = calloc(1, sizeof *a);
    if (!a) return ant_errf(e, "out of memory");
    a->fw = dlopen(FRAMEWORK, RTLD_NOW);
    if (!a->fw) return free(a), ant_errf(e, "cannot load %s: %s", FRAMEWORK, dlerror());
    a->desc_cls = objc_getClass("_ANEInMemoryModelDescriptor");
    a->model_cls = objc_getClass("_ANEInMemoryModel");
    a->request_cls = objc_getClass("_ANERequest");
    a->surface_cls = objc_getClass("_ANEIOSurfaceObject");
    if (!a->desc_cls || !a->model_cls || !a->request_cls || !a->surface_cls)
        return free(a), ant_errf(e, "the AppleNeuralEngine framework lacks the _ANEInMemoryModel classes (§1.1)");
    /* NSTemporaryDirectory() (§1.11) */
    if (!confstr(_CS_DARWIN_USER_TEMP_DIR, a->tmpdir, sizeof a->tmpdir))
        snprintf(a->tmpdir, sizeof a->tmpdir, "%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(a->home, sizeof a->home, "%s", getenv("HOME") ? getenv("HOME") : "/tmp");
    d->impl_state = a;
    return 0;
}

static void apple_close(struct ane_device *d) { free(d->impl_state); }

/* The weights NSDictionary (§1.4): key -> {"offset": 0, "data": bytes}; empty, never nil. */
static CFDictionaryRef weights_dict(const struct ane_weights *w, struct ant_err *e)
{
    struct ane_dict_entry ent[256];
    int n = ane_dict_entries(w, ent, 256, e);
    if (n < 0) return NULL;
    CFMutableDictionaryRef dict = new_dict();
    for (int i = 0; i < n; i++) {
        CFMutableDictionaryRef one = new_dict();
        CFNumberRef off = num64((long long)ent[i].offset);
        CFDataRef data = CFDataCreate(NULL, ent[i].data, (CFIndex)ent[i].size);
        CFStringRef key = CFStringCreateWithCString(NULL, ent[i].key, kCFStringEncodingUTF8);
        CFDictionarySetValue(one, CFSTR("offset"), off);
        CFDictionarySetValue(one, CFSTR("data"), data);
        CFDictionarySetValue(dict, key, one);
        CFRelease(off), CFRelease(data), CFRelease(key), CFRelease(one);
    }
    return dict;
}

/* §1.2 steps 1-6: descriptor, model, temp dir, compile (or cache restore), load.
 *
 * TODO (on a Mac; this file has never been compiled): move to the shared on-disk cache
 * (kcache.h, docs/ane.md §18) and drop the per-key folder cache below
 * (ane_cache_dir/_restore/_store). Two hooks in ane_impl_apple:
 *   .cache_payload: ane_tmp_pack(&((struct apple_prog *)pg->impl)->tmp, out, n, e)
 *     (net.plist and data as the compiler left them, read right after compileWithQoS;
 *     apple_prog_free removes the temp dir, so this must run before it, which device.c
 *     guarantees by storing right after the compile).
 *   .cache_restore: the steps of this function up to the temp dir (descriptor, model,
 *     hexStringIdentifier, ane_tmp_layout, ane_tmp_write), then ane_tmp_unpack(&ap->tmp,
 *     payload, n, e) in place of compileWithQoS, then the loadWithQoS loop; return -2
 *     (entry discarded, program compiled) when unpacking or loading fails, -1 for
 *     failures before the temp dir. Factor the shared steps out of apple_compile. */
static int apple_compile(struct ane_device *d, struct ane_prog *pg, const char *mil, size_t len,
                         const struct ane_weights *w, struct mil_prog *p, int *compiled, struct ant_err *e)
{
    struct apple_dev *a = d->impl_state;
    struct apple_prog *ap = calloc(1, sizeof *ap);
    mil_prog_free(p);   /* checked already (device.c); the framework takes the text */
    if (!ap) return ant_errf(e, "out of memory");
    void *pool = objc_autoreleasePoolPush();
    int rc = -1;
    CFDataRef text = CFDataCreate(NULL, (const UInt8 *)mil, (CFIndex)len);
    CFDictionaryRef wd = weights_dict(w, e);
    CFDictionaryRef empty = new_dict();
    id err = nil, model = nil;
    if (!wd) goto out;
    id desc = ((id (*)(Class, SEL, id, id, id))objc_msgSend)(a->desc_cls, sel("modelWithMILText:weights:optionsPlist:"),
                                                              (id)(void *)text, (id)(void *)wd, nil);
    if (!desc) { ant_errf(e, "the MIL descriptor is nil (malformed MIL or weights, §1.7)"); goto out; }
    model = ((id (*)(Class, SEL, id))objc_msgSend)(a->model_cls, sel("inMemoryModelWithDescriptor:"), desc);
    if (!model) { ant_errf(e, "inMemoryModelWithDescriptor: returned nil"); goto out; }
    id hex = ((id (*)(id, SEL))objc_msgSend)(model, sel("hexStringIdentifier"));
    char hexid[256];
    if (!hex || !CFStringGetCString((CFStringRef)(void *)hex, hexid, sizeof hexid, kCFStringEncodingUTF8)) {
        ant_errf(e, "the model has no hexStringIdentifier");
        goto out;
    }
    if (ane_tmp_layout(&ap->tmp, a->tmpdir, hexid, w, e) || ane_tmp_write(&ap->tmp, mil, len, w, e)) goto out;
    char cache[ANE_PATH_MAX];
    int have_cache = ane_cache_dir(cache, sizeof cache, a->home, pg->key) == 0;
    int restored = have_cache ? ane_cache_restore(cache, &ap->tmp, e) : 0;
    if (restored < 0) goto out;
    *compiled = !restored;
    if (!restored) {
        BOOL ok = ((BOOL (*)(id, SEL, unsigned int, id, id *))objc_msgSend)(model, sel("compileWithQoS:options:error:"),
                                                                            ANE_QOS, (id)(void *)empty, &err);
        if (!ok) { ns_error(e, "compileWithQoS failed", err); goto out; }
        struct ant_err ce;
        if (have_cache && ane_cache_store(cache, &ap->tmp, &ce)) ant_log(ANT_LOG_WARN, "ane", "compile cache: %s", ce.msg);
    }
    for (int attempt = 0; attempt < 2; attempt++) {   /* §1.2 #6: retry once after 100 ms */
        err = nil;
        if (((BOOL (*)(id, SEL, unsigned int, id, id *))objc_msgSend)(model, sel("loadWithQoS:options:error:"),
                                                                      ANE_QOS, (id)(void *)empty, &err)) {
            rc = 0;
            break;
        }
        if (!attempt) usleep(100000);
    }
    if (rc) { ns_error(e, "loadWithQoS failed", err); goto out; }
    ap->model = (id)(void *)CFRetain((CFTypeRef)(void *)model);   /* outlive the pool */
    pg->impl = ap;
out:
    if (rc) {
        if (ap->tmp.dir[0]) ane_tmp_remove(&ap->tmp);
        ane_tmp_layout_free(&ap->tmp);
        free(ap);
    }
    if (text) CFRelease(text);
    if (wd) CFRelease(wd);
    CFRelease(empty);
    objc_autoreleasePoolPop(pool);
    return rc;
}

/* §1.2 #13-14 */
static void apple_prog_free(struct ane_device *d, struct ane_prog *pg)
{
    struct apple_prog *ap = pg->impl;
    if (!ap) return;
    void *pool = objc_autoreleasePoolPush();
    id err = nil;
    ((BOOL (*)(id, SEL, unsigned int, id *))objc_msgSend)(ap->model, sel("unloadWithQoS:error:"), ANE_QOS, &err);
    CFRelease((CFTypeRef)(void *)ap->model);
    objc_autoreleasePoolPop(pool);
    ane_tmp_remove(&ap->tmp);
    ane_tmp_layout_free(&ap->tmp);
    free(ap);
}

static void dict_set_size(CFMutableDictionaryRef dict, CFStringRef key, size_t v)
{
    CFNumberRef n = num64((long long)v);
    CFDictionarySetValue(dict, key, n);
    CFRelease(n);
}

/* §2.1: a flat byte buffer with the properties every upstream program uses. */
static int apple_surface_new(struct ane_surface *s, struct ant_err *e)
{
    struct ane_surface_props sp = ane_surface_props(s->bytes);
    CFMutableDictionaryRef props = new_dict();
    dict_set_size(props, kIOSurfaceWidth, sp.width);
    dict_set_size(props, kIOSurfaceHeight, sp.height);
    dict_set_size(props, kIOSurfaceBytesPerElement, sp.bytes_per_element);
    dict_set_size(props, kIOSurfaceBytesPerRow, sp.bytes_per_row);
    dict_set_size(props, kIOSurfaceAllocSize, sp.alloc_size);
    dict_set_size(props, kIOSurfacePixelFormat, (size_t)sp.pixel_format);
    IOSurfaceRef surf = IOSurfaceCreate(props);
    CFRelease(props);
    if (!surf) return ant_errf(e, "IOSurfaceCreate of %zu bytes failed", s->bytes);
    s->impl = (void *)surf;
    return 0;
}

static void apple_surface_free(struct ane_surface *s) { CFRelease((IOSurfaceRef)s->impl); }

/* §2.3: lock only around CPU access */
static void *apple_lock(struct ane_surface *s, int read_only)
{
    IOSurfaceLock((IOSurfaceRef)s->impl, read_only ? kIOSurfaceLockReadOnly : 0, NULL);
    return IOSurfaceGetBaseAddress((IOSurfaceRef)s->impl);
}

static void apple_unlock(struct ane_surface *s, int read_only)
{
    IOSurfaceUnlock((IOSurfaceRef)s->impl, read_only ? kIOSurfaceLockReadOnly : 0, NULL);
}

/* Wrapped surfaces and their indices 0..n-1 (§1.2 #8-9, §1.5). */
static void wrap(struct apple_dev *a, struct ane_surface *const *s, int n, CFMutableArrayRef objs, CFMutableArrayRef idx)
{
    for (int i = 0; i < n; i++) {
        id o = ((id (*)(Class, SEL, IOSurfaceRef))objc_msgSend)(a->surface_cls, sel("objectWithIOSurface:"),
                                                                (IOSurfaceRef)s[i]->impl);
        CFNumberRef k = num64(i);
        CFArrayAppendValue(objs, (const void *)o);
        CFArrayAppendValue(idx, k);
        CFRelease(k);
    }
}

static int apple_request_new(struct ane_request *r, struct ant_err *e)
{
    struct apple_dev *a = r->k->d->impl_state;
    void *pool = objc_autoreleasePoolPush();
    CFMutableArrayRef in = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    CFMutableArrayRef in_idx = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    CFMutableArrayRef out = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    CFMutableArrayRef out_idx = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    wrap(a, r->in, r->n_in, in, in_idx);
    wrap(a, r->out, r->n_out, out, out_idx);
    CFNumberRef proc = num64(0);   /* procedureIndex is an object: @0 (§1.2 #9) */
    id req = ((id (*)(Class, SEL, id, id, id, id, id, id, id))objc_msgSend)(
        a->request_cls, sel("requestWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:procedureIndex:"),
        (id)(void *)in, (id)(void *)in_idx, (id)(void *)out, (id)(void *)out_idx, nil, nil, (id)(void *)proc);
    if (req) r->impl = (void *)CFRetain((CFTypeRef)(void *)req);
    CFRelease(in), CFRelease(in_idx), CFRelease(out), CFRelease(out_idx), CFRelease(proc);
    objc_autoreleasePoolPop(pool);
    return req ? 0 : ant_errf(e, "_ANERequest creation failed");
}

static void apple_request_free(struct ane_request *r)
{
    if (r->impl) CFRelease((CFTypeRef)r->impl);
}

/* §1.2 #11: synchronous; outputs are valid on return. */
static int apple_eval(struct ane_request *r, struct ant_err *e)
{
    struct apple_prog *ap = r->k->pg->impl;
    void *pool = objc_autoreleasePoolPush();
    CFDictionaryRef empty = new_dict();
    id err = nil;
    BOOL ok = ((BOOL (*)(id, SEL, unsigned int, id, id, id *))objc_msgSend)(
        ap->model, sel("evaluateWithQoS:options:request:error:"), ANE_QOS, (id)(void *)empty, (id)r->impl, &err);
    int rc = ok ? 0 : ns_error(e, "evaluateWithQoS failed", err);
    CFRelease(empty);
    objc_autoreleasePoolPop(pool);
    return rc;
}

const struct ane_impl ane_impl_apple = {
    .name = "apple",
    .open = apple_open,
    .close = apple_close,
    .compile = apple_compile,
    .prog_free = apple_prog_free,
    /* .cache_payload, .cache_restore: see the TODO above apple_compile */
    .surface_new = apple_surface_new,
    .surface_free = apple_surface_free,
    .lock = apple_lock,
    .unlock = apple_unlock,
    .request_new = apple_request_new,
    .request_free = apple_request_free,
    .eval = apple_eval,
};
