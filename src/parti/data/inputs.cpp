#include "parti/data/inputs.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "parti/core/check.h"

namespace parti::data {
namespace {

namespace fs = std::filesystem;

// A file read through zlib: gzip-compressed or plain alike (zlib reads a plain file as is).
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    PARTI_CHECK(file_ != nullptr, IoError, path, ": cannot open: ", os_error(errno));
    gzbuffer(file_, 1 << 17);
  }
  ~InputFile() { gzclose(file_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // The next line without its "\n" (a last line without one too); false at the end.
  bool line(std::string& out) {
    for (;;) {
      const char* start = buffer_.data() + pos_;
      const void* nl = std::memchr(buffer_.data() + scanned_, '\n', buffer_.size() - scanned_);
      if (nl != nullptr) {
        const auto length = static_cast<size_t>(static_cast<const char*>(nl) - start);
        out.assign(start, length);
        pos_ += length + 1;
        scanned_ = pos_;
        return true;
      }
      scanned_ = buffer_.size();
      if (!fill()) {  // fill() may have moved the buffer: `start` is stale here
        if (pos_ == buffer_.size()) return false;
        out.assign(buffer_, pos_);
        pos_ = scanned_ = buffer_.size();
        return true;
      }
    }
  }

  // Everything not read yet, byte for byte.
  std::string rest() {
    while (fill()) {
    }
    std::string out = buffer_.substr(pos_);
    pos_ = scanned_ = buffer_.size();
    return out;
  }

 private:
  static constexpr size_t kChunk = size_t{1} << 20;

  // Appends the next chunk; false at the end of the file. A damaged or truncated gzip stream is
  // an error naming the file.
  bool fill() {
    if (pos_ > 0) {
      buffer_.erase(0, pos_);
      scanned_ -= pos_;
      pos_ = 0;
    }
    const size_t old = buffer_.size();
    buffer_.resize(old + kChunk);
    errno = 0;
    const int n = gzread(file_, buffer_.data() + old, static_cast<unsigned>(kChunk));
    buffer_.resize(old + static_cast<size_t>(std::max(n, 0)));
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    PARTI_CHECK(n >= 0 && (n > 0 || code == Z_OK), DataError, path_, ": read failed: ",
                code == Z_ERRNO
                    ? os_error(errno)
                    : std::string(code == Z_BUF_ERROR ? "truncated gzip data" : message));
    return n > 0;
  }

  std::string path_;
  gzFile file_ = nullptr;
  std::string buffer_;
  size_t pos_ = 0;      // first byte not returned yet
  size_t scanned_ = 0;  // bytes before this hold no newline after pos_
};

bool is_blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f'; });
}

void read_text(const std::string& path, const InputOptions& options,
               const std::function<void(Document&&)>& emit) {
  InputFile in(path);
  if (options.doc_sep == "file") {
    std::string text = in.rest();
    if (!text.empty()) emit({path, std::move(text)});
    return;
  }
  const bool blank = options.doc_sep == "blank";
  std::string line, doc;
  bool open = false;  // doc has lines (it may still be "" for an empty first line)
  auto finish = [&] {
    if (!doc.empty()) emit({path, std::move(doc)});
    doc.clear();
    open = false;
  };
  while (in.line(line)) {
    const bool separator =
        blank ? is_blank(line) : (line == options.doc_sep || line == options.doc_sep + "\r");
    if (separator) {
      finish();
      continue;
    }
    if (open) doc += '\n';
    doc += line;
    open = true;
  }
  finish();
}

void read_jsonl(const std::string& path, const InputOptions& options,
                const std::function<void(Document&&)>& emit) {
  InputFile in(path);
  std::string line;
  for (size_t number = 1; in.line(line); ++number) {
    if (is_blank(line)) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw DataError(str_cat(path, ":", number, ": not a JSON object: ", e.what()));
    }
    auto field = record.is_object() ? record.find(options.field) : record.end();
    PARTI_CHECK(record.is_object() && field != record.end() && field->is_string(), DataError, path,
                ":", number, ": no string field \"", options.field, "\" (--field)");
    std::string text = field->get<std::string>();
    if (!text.empty()) emit({str_cat(path, ":", number), std::move(text)});
  }
}

void read_file_documents(const std::string& path, const InputOptions& options,
                         const std::function<void(Document&&)>& emit) {
  std::string kind = path;
  if (kind.ends_with(".gz")) kind.resize(kind.size() - 3);
  if (kind.ends_with(".jsonl")) {
    read_jsonl(path, options, emit);
  } else {
    read_text(path, options, emit);
  }
}

}  // namespace

std::vector<std::string> input_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& path : paths) {
    std::error_code error;
    if (!fs::is_directory(path, error)) {
      out.push_back(path);
      continue;
    }
    std::vector<std::string> files;
    for (fs::recursive_directory_iterator it(path, error), end; !error && it != end;
         it.increment(error)) {
      if (it->is_regular_file(error)) files.push_back(it->path().string());
    }
    PARTI_CHECK(!error, IoError, path, ": cannot list the folder: ", os_error(error.value()));
    std::sort(files.begin(), files.end());
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

void read_documents(const std::vector<std::string>& paths, const InputOptions& options,
                    const std::function<void(Document&&)>& emit) {
  PARTI_CHECK(!options.doc_sep.empty(), ConfigError,
              "--doc-sep is empty: give blank, file or a separator line");
  for (const std::string& file : input_files(paths)) {
    read_file_documents(file, options, emit);
  }
}

}  // namespace parti::data
