/* What a model-like file is, told by its first bytes (and, for a folder, the files in
 * it), so every reader can name what the user handed it and say what to use instead. */
#ifndef ANT_MODEL_SNIFF_H
#define ANT_MODEL_SNIFF_H

#include "base/util.h"

enum ant_file_kind {
    ANT_FILE_UNKNOWN,
    ANT_FILE_CKPT,            /* our checkpoint: "ANETCKPT" */
    ANT_FILE_LLAMA2C_V0,      /* 7 x int32 header, fp32 body (no magic: by elimination) */
    ANT_FILE_LLAMA2C_V1,      /* "ak42" (0x616b3432) + version 1 */
    ANT_FILE_LLAMA2C_V2,      /* "ak42" + version 2 (Q8_0) */
    ANT_FILE_LLAMA2C_AKXX,    /* "ak42" with a version we do not know */
    ANT_FILE_SAFETENSORS,     /* u64 LE header length + '{' */
    ANT_FILE_GGUF,            /* "GGUF" */
    ANT_FILE_SENTENCEPIECE,   /* a SentencePiece ModelProto (protobuf) */
    ANT_FILE_TOKENIZER_BIN,   /* llama2.c tokenizer.bin */
    ANT_FILE_PYTORCH,         /* a zip (torch.save) or a pickle */
    ANT_FILE_HF_FOLDER,       /* a folder with config.json */
    ANT_FILE_FOLDER,          /* any other folder */
};

#define ANT_LLAMA2C_MAGIC 0x616b3432u   /* "ak42" as llama2.c's export.py writes it */

/* Kind of path; -1 only when it cannot be opened (e names it). */
int model_sniff(const char *path, enum ant_file_kind *kind, struct ant_err *e);

/* "a llama2.c model.bin (version 1)", "a GGUF file", ... */
const char *model_kind_name(enum ant_file_kind k);
/* For a file anetrain cannot use as a model: what to do instead ("" if it can). */
const char *model_kind_advice(enum ant_file_kind k);

#endif
