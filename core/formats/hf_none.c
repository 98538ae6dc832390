/* Hugging Face folders in a build without jansson: say what is missing. */
#include "formats/hf.h"

const int hf_supported = 0;

#define NO_JSON "this anetrain was built without JSON support: install libjansson-dev and " \
                "reconfigure to read or write Hugging Face folders"

int hf_read(const char *dir, struct ant_model_config *cfg, float **weights, struct ant_err *e)
{
    *weights = 0;
    return ant_errf(e, "%s: %s", dir, NO_JSON);
}

int hf_write(const char *dir, const struct ant_model_config *cfg, const float *weights,
             struct ant_err *e)
{
    return ant_errf(e, "%s: %s", dir, NO_JSON);
}
