#!/bin/sh
# The model and tokenizer formats through the program: export to llama2.c v0/v1/v2 and a
# Hugging Face folder, back again byte for byte; the tokenizer.bin written beside
# model.bin; --init-model taking its shape from any format, a disagreeing config named;
# `tokenize` and `vocab` end to end.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"
small_config "$cfg" 2
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/c.ckpt" --quiet > /dev/null 2>&1
ok $? "train a small model"

for v in 0 1 2; do
    "$ANETRAIN" export --ckpt "$tmp/c.ckpt" --version $v --out "$tmp/v$v/model.bin" 2>/dev/null ||
        { mkdir -p "$tmp/v$v" && "$ANETRAIN" export --ckpt "$tmp/c.ckpt" --version $v --out "$tmp/v$v/model.bin" 2>/dev/null; }
    "$ANETRAIN" export --model "$tmp/v$v/model.bin" --version $v --out "$tmp/v$v/again.bin" 2>/dev/null &&
        cmp -s "$tmp/v$v/model.bin" "$tmp/v$v/again.bin"
    ok $? "llama2.c version $v: export -> import -> export is byte-identical"
done
cmp -s "$tmp/v0/tokenizer.bin" "$tmp/v1/tokenizer.bin" && [ "$(wc -c < "$tmp/v0/tokenizer.bin")" -eq 2308 ]
ok $? "export writes the 256-entry byte tokenizer.bin (2308 bytes) beside model.bin"
# version 1 holds the same fp32 weights as version 0: converting gives version 0's bytes
"$ANETRAIN" export --model "$tmp/v1/model.bin" --out "$tmp/v1/as0.bin" 2>/dev/null &&
    cmp -s "$tmp/v1/as0.bin" "$tmp/v0/model.bin"
ok $? "version 1 -> version 0 gives the same file as a direct version 0 export"

if "$ANETRAIN" export --ckpt "$tmp/c.ckpt" --format hf --out "$tmp/hf" 2> "$tmp/err"; then
    "$ANETRAIN" export --model "$tmp/hf" --format hf --out "$tmp/hf2" 2>/dev/null &&
        cmp -s "$tmp/hf/model.safetensors" "$tmp/hf2/model.safetensors" &&
        cmp -s "$tmp/hf/config.json" "$tmp/hf2/config.json"
    ok $? "Hugging Face: export -> import -> export is byte-identical"
    "$ANETRAIN" export --model "$tmp/hf" --out "$tmp/hf0.bin" 2>/dev/null &&
        cmp -s "$tmp/hf0.bin" "$tmp/v0/model.bin"
    ok $? "Hugging Face -> llama2.c version 0 gives the direct export's bytes (permutation undone)"
    init_formats="$tmp/v0/model.bin $tmp/v1/model.bin $tmp/v2/model.bin $tmp/hf"
else
    grep -q "without JSON support" "$tmp/err"
    ok $? "without jansson, export --format hf says what to install"
    init_formats="$tmp/v0/model.bin $tmp/v1/model.bin $tmp/v2/model.bin"
fi

# --init-model: no model keys in the config, the shape comes from the file
printf 'train = { batch_size = 2; steps = 1; warmup_steps = 0; };\ncheckpoint = { every = 0; };\n' > "$tmp/bare.cfg"
# one checkpoint per run: a run refuses to overwrite the checkpoint of another
n=0
for m in $init_formats; do
    n=$((n + 1))
    "$ANETRAIN" train --config "$tmp/bare.cfg" --init-model "$m" --ckpt "$tmp/i$n.ckpt" --quiet \
        > /dev/null 2> "$tmp/err"
    ok $? "--init-model $(basename "$(dirname "$m")")/$(basename "$m"): shape taken from the file"
    [ -s "$tmp/err" ] && diag "$(head -c 300 "$tmp/err")"
done
printf 'model = { dim = 128; };\n' > "$tmp/dim.cfg"
"$ANETRAIN" train --config "$tmp/dim.cfg" --init-model "$tmp/v1/model.bin" --ckpt "$tmp/j.ckpt" \
    > /dev/null 2> "$tmp/err"
st=$?
[ $st -eq 1 ] && grep -q "model.bin has dim 64, but .*dim.cfg:1: model.dim is 128" "$tmp/err" &&
    [ "$(wc -l < "$tmp/err")" -eq 1 ]
ok $? "a config that disagrees: one line naming both values and the config line"
diag "$(cat "$tmp/err")"

printf 'GGUF\003\000\000\000xxxxxxxxxxxxxxxxxxxxxxxx' > "$tmp/m.gguf"
"$ANETRAIN" sample --model "$tmp/m.gguf" > /dev/null 2> "$tmp/err"
[ $? -eq 1 ] && grep -q "GGUF" "$tmp/err"
ok $? "a GGUF file is named as one, with what to use instead"

# tokenize with the byte tokenizer.bin: BOS, the dummy-prefix space, one id per byte
printf 'Hi there\n\n  ok  \n' > "$tmp/t.txt"
"$ANETRAIN" tokenize --tokenizer "$tmp/v0/tokenizer.bin" "$tmp/t.txt" "$tmp/t.bin" > /dev/null &&
    [ "$(od -An -v -tu2 "$tmp/t.bin" | tr -s ' \n' ' ')" = " 1 32 72 105 32 116 104 101 114 101 1 32 111 107 " ]
ok $? "tokenize: two documents, each BOS + ' ' + its bytes, uint16"

if "$ANETRAIN" vocab --size 300 "$tmp/t.txt" -o "$tmp/x.bin" 2> "$tmp/err" ||
   ! grep -q "without SentencePiece" "$tmp/err"; then
    i=0
    while [ $i -lt 300 ]; do
        echo "the cat sat on the mat $i. a dog ran to the cat and the cat ran away."
        echo "once upon a time there was a little girl named lily $i."
        i=$((i + 1))
    done > "$tmp/corpus.txt"
    "$ANETRAIN" vocab --size 350 "$tmp/corpus.txt" -o "$tmp/v.bin" > /dev/null 2> "$tmp/err"
    ok $? "vocab: a 350-token vocabulary trained"
    [ -s "$tmp/err" ] && diag "$(head -c 300 "$tmp/err")"
    # entries 0..3 by hand: <unk>, "\n<s>\n", "\n</s>\n", <0x00>
    od -An -v -c -j4 -N 60 "$tmp/v.bin" | tr -d ' \n' > "$tmp/head"
    grep -q '<unk>.*\\n<s>\\n.*\\n</s>\\n.*<0x00>' "$tmp/head"
    ok $? "vocab: <unk>, <s> and </s> spelled as llama2.c's tokenizer.py writes them, then <0x00>"
    "$ANETRAIN" tokenize --tokenizer "$tmp/v.bin" "$tmp/corpus.txt" "$tmp/c.bin" > "$tmp/out" &&
        [ "$(wc -c < "$tmp/c.bin")" -lt "$(wc -c < "$tmp/corpus.txt")" ]
    ok $? "tokenize with it: fewer tokens than bytes ($(cat "$tmp/out"))"
    "$ANETRAIN" sample --model "$tmp/v0/model.bin" --tokenizer "$tmp/v.bin" > /dev/null 2> "$tmp/err"
    [ $? -eq 1 ] && grep -q "vocab_size" "$tmp/err"
    ok $? "a 350-token tokenizer with a 256-token model is refused"
else
    ok 0 "# SKIP vocab: built without SentencePiece"
fi
tap_done
