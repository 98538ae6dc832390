#include <config.h>
#include <anetrain/backend.h>
#include <ltdl.h>
#include <stdio.h>
int main(void)
{
    LTDL_SET_PRELOADED_SYMBOLS();
    lt_dlinit();
    lt_dlhandle h = lt_dlopen("ant_cpu.la");
    if (!h) h = lt_dlopenext("ant_cpu");
    printf("handle %p %s\n", (void *)h, h ? "" : lt_dlerror());
    if (h) {
        int (*entry)(const struct ant_host *, const struct ant_backend **) =
            (int (*)(const struct ant_host *, const struct ant_backend **))lt_dlsym(h, "ant_backend_entry");
        const struct ant_backend *b = NULL;
        if (entry) entry(NULL, &b);
        printf("entry %p name %s info %s\n", (void *)entry, b ? b->name : "?", lt_dlgetinfo(h)->filename);
    }
    return 0;
}
