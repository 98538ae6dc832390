/* Recognise model, tokenizer and checkpoint files by their magic (see model_sniff.h). */
#include "formats/model_sniff.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/le.h"

/* A protobuf varint at p[*i..n); -1 if it runs off the end or past 10 bytes. */
static long long varint(const unsigned char *p, size_t n, size_t *i)
{
    unsigned long long v = 0;
    for (int shift = 0; *i < n && shift < 64; shift += 7) {
        unsigned char b = p[(*i)++];
        v |= (unsigned long long)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v > (1ULL << 40) ? -1 : (long long)v;
    }
    return -1;
}

/* SentencePiece's ModelProto starts with its first piece: field 1 (pieces, bytes),
 * holding field 1 (piece, bytes) and then field 2 (score, float): 0a L 0a l <piece> 15. */
static int is_sentencepiece(const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (n < 8 || p[i++] != 0x0a || varint(p, n, &i) < 2 || i >= n || p[i++] != 0x0a) return 0;
    long long len = varint(p, n, &i);
    return len > 0 && (size_t)len < n && i + (size_t)len < n && p[i + (size_t)len] == 0x15;
}

/* tokenizer.bin: int32 max_token_length, then (float score, int32 len <= max, bytes). */
static int is_tokenizer_bin(const unsigned char *p, size_t n)
{
    if (n < 12) return 0;
    uint32_t maxlen = le_rd32(p), len = le_rd32(p + 8);
    return maxlen >= 1 && maxlen <= 1024 && len >= 1 && len <= maxlen;
}

/* No magic: a version-0 model.bin has 7 small positive ints (vocab_size may be
 * negative); a tokenizer.bin has one small int, then a float (0 for <unk>). */
static int is_llama2c_v0(const unsigned char *h)
{
    int32_t v[7];
    memcpy(v, h, sizeof v);
    for (int i = 0; i < 7; i++)
        if (i != 5 && (v[i] <= 0 || v[i] > (1 << 24))) return 0;
    return v[5] != 0 && v[5] > -(1 << 24) && v[5] < (1 << 24);
}

static int is_folder_with(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, R_OK) == 0;
}

int model_sniff(const char *path, enum ant_file_kind *kind, struct ant_err *e)
{
    struct stat st;
    *kind = ANT_FILE_UNKNOWN;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        *kind = is_folder_with(path, "config.json") ? ANT_FILE_HF_FOLDER : ANT_FILE_FOLDER;
        return 0;
    }
    uint64_t size;
    FILE *f = file_open_read(path, &size, e);
    if (!f) return -1;
    unsigned char h[64] = {0};
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    uint64_t st_len = le_rd64(h);
    if (n >= 8 && !memcmp(h, "ANETCKPT", 8)) *kind = ANT_FILE_CKPT;
    else if (n >= 8 && le_rd32(h) == ANT_LLAMA2C_MAGIC)
        *kind = le_rd32(h + 4) == 1 ? ANT_FILE_LLAMA2C_V1
              : le_rd32(h + 4) == 2 ? ANT_FILE_LLAMA2C_V2 : ANT_FILE_LLAMA2C_AKXX;
    else if (n >= 4 && !memcmp(h, "GGUF", 4)) *kind = ANT_FILE_GGUF;
    else if (n >= 9 && st_len >= 2 && st_len <= size - 8 && h[8] == '{')
        *kind = ANT_FILE_SAFETENSORS;
    else if (n >= 4 && !memcmp(h, "PK\3\4", 4)) *kind = ANT_FILE_PYTORCH;
    else if (n >= 2 && h[0] == 0x80 && h[1] >= 2 && h[1] <= 5) *kind = ANT_FILE_PYTORCH;
    else if (is_sentencepiece(h, n)) *kind = ANT_FILE_SENTENCEPIECE;
    else if (n >= 28 && is_llama2c_v0(h)) *kind = ANT_FILE_LLAMA2C_V0;
    else if (is_tokenizer_bin(h, n)) *kind = ANT_FILE_TOKENIZER_BIN;
    return 0;
}

const char *model_kind_name(enum ant_file_kind k)
{
    switch (k) {
    case ANT_FILE_CKPT: return "an anetrain checkpoint";
    case ANT_FILE_LLAMA2C_V0: return "a llama2.c model.bin (version 0)";
    case ANT_FILE_LLAMA2C_V1: return "a llama2.c model.bin (version 1, fp32)";
    case ANT_FILE_LLAMA2C_V2: return "a llama2.c model.bin (version 2, Q8_0)";
    case ANT_FILE_LLAMA2C_AKXX: return "a llama2.c model.bin of an unknown version";
    case ANT_FILE_SAFETENSORS: return "a safetensors file";
    case ANT_FILE_GGUF: return "a GGUF file (llama.cpp)";
    case ANT_FILE_SENTENCEPIECE: return "a SentencePiece model (tokenizer.model)";
    case ANT_FILE_TOKENIZER_BIN: return "a llama2.c tokenizer.bin";
    case ANT_FILE_PYTORCH: return "a PyTorch file (torch.save)";
    case ANT_FILE_HF_FOLDER: return "a Hugging Face model folder";
    case ANT_FILE_FOLDER: return "a folder without config.json";
    case ANT_FILE_UNKNOWN: break;
    }
    return "not a model file anetrain knows";
}

const char *model_kind_advice(enum ant_file_kind k)
{
    switch (k) {
    case ANT_FILE_LLAMA2C_AKXX:
        return "anetrain reads versions 0, 1 and 2 of llama2.c's export.py";
    case ANT_FILE_SAFETENSORS:
        return "pass the Hugging Face folder that holds it and its config.json";
    case ANT_FILE_GGUF:
        return "convert it to a Hugging Face folder (safetensors) or a llama2.c model.bin";
    case ANT_FILE_SENTENCEPIECE:
        return "it is a tokenizer, not a model: export it to tokenizer.bin with llama2.c's "
               "tokenizer.py and pass that with --tokenizer";
    case ANT_FILE_TOKENIZER_BIN: return "it is a tokenizer, not a model: pass it with --tokenizer";
    case ANT_FILE_PYTORCH:
        return "export it with llama2.c's export.py (model.bin) or save it as safetensors";
    case ANT_FILE_FOLDER:
        return "a Hugging Face model folder holds config.json and model.safetensors";
    case ANT_FILE_UNKNOWN:
        return "anetrain reads its checkpoints, llama2.c model.bin (versions 0-2) and "
               "Hugging Face Llama folders";
    default: return "";
    }
}
