// `anetrain vocab` with SentencePiece (see vocab_train.h): the trainer options of
// llama2.c's tinystories.py train_vocab, the export of its tokenizer.py.
extern "C" {
#include "data/tokenizer_write.h"
#include "base/util.h"
}
#include "data/vocab_train.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/tokenizer_write.h"

extern "C" const int vocab_supported = 1;

// SentencePiece logs every step to stderr and has no switch for it in this version:
// hide it while it trains, and report its Status ourselves.
struct quiet_stderr {
    int saved = dup(2);
    quiet_stderr()
    {
        std::FILE *null = std::fopen("/dev/null", "w");
        if (saved >= 0 && null) dup2(fileno(null), 2);
        if (null) std::fclose(null);
    }
    ~quiet_stderr()
    {
        if (saved >= 0) dup2(saved, 2), close(saved);
    }
};

// The piece as llama2.c's tokenizer.py writes it: BOS and EOS spelled "\n<s>\n" and
// "\n</s>\n", U+2581 (the SentencePiece space) as ' '; byte pieces keep their <0xHH>
// spelling, which run.c decodes to the byte.
static std::string llama2c_piece(const sentencepiece::SentencePieceProcessor &sp, int id)
{
    if (id == sp.bos_id()) return "\n<s>\n";
    if (id == sp.eos_id()) return "\n</s>\n";
    std::string p = sp.IdToPiece(id), out;
    for (size_t i = 0; i < p.size();) {
        if (p.compare(i, 3, "\xe2\x96\x81") == 0) out += ' ', i += 3;
        else out += p[i++];
    }
    return out;
}

extern "C" int vocab_train(const char *in, int size, const char *out, struct ant_err *e)
{
    std::unordered_map<std::string, std::string> args = {
        {"input", in}, {"model_type", "bpe"}, {"vocab_size", std::to_string(size)},
        {"self_test_sample_size", "0"}, {"input_format", "text"},
        {"character_coverage", "1.0"}, {"num_threads", "2"}, {"split_digits", "true"},
        {"allow_whitespace_only_pieces", "true"}, {"byte_fallback", "true"},
        {"unk_surface", " \xe2\x81\x87 "}, {"normalization_rule_name", "identity"},
    };
    if (access(in, R_OK) != 0) return ant_errf(e, "%s: cannot read", in);
    std::string proto;
    sentencepiece::util::Status st;
    {
        quiet_stderr q;
        st = sentencepiece::SentencePieceTrainer::Train(args, nullptr, &proto);
    }
    if (!st.ok()) return ant_errf(e, "%s: SentencePiece: %s", in, st.ToString().c_str());
    sentencepiece::SentencePieceProcessor sp;
    st = sp.LoadFromSerializedProto(proto);
    if (!st.ok()) return ant_errf(e, "%s: SentencePiece: %s", in, st.ToString().c_str());
    int n = sp.GetPieceSize();
    std::vector<std::string> pieces(n);
    std::vector<const char *> piece(n);
    std::vector<int> len(n);
    std::vector<float> score(n);
    for (int i = 0; i < n; i++) {
        pieces[i] = llama2c_piece(sp, i);
        piece[i] = pieces[i].data();
        len[i] = (int)pieces[i].size();
        score[i] = sp.GetScore(i);
    }
    return tokenizer_write(out, n, piece.data(), len.data(), score.data(), e);
}
