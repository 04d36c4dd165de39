// A user's corpus in its usual forms (issue #19): one text file, a folder of files, JSONL, their
// gzip forms, folders mixing them. The same documents in any form read back the same.
#include "parti/data/inputs.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "parti/core/check.h"
#include "support/scratch.h"

namespace parti::data {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string>& documents() {
  static const std::vector<std::string> docs = {
      "First document.\nIts second line, then a third:\n  indented.",
      "Ünïcödé — 東京 😀 and a tab\there", "{\"looks\": \"like JSON\"} but is text \"quoted\"",
      std::string(3'000'000, 'x') + " one line longer than zlib's and the reader's buffers",
      "last"};
  return docs;
}

std::string dir() { return test::scratch_dir().string(); }

void write(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

void write_gz(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

std::string joined(const std::string& separator) {
  std::string out;
  for (const std::string& d : documents()) out += (out.empty() ? "" : separator) + d;
  return out + "\n";
}

std::string jsonl() {
  std::string out;
  int id = 0;
  for (const std::string& d : documents()) {
    out += nlohmann::json{{"id", id++}, {"text", d}}.dump() + "\n";
    if (id == 2) out += "\n";  // blank lines are skipped
  }
  return out;
}

std::vector<std::string> read(const std::vector<std::string>& paths, InputOptions options = {}) {
  std::vector<std::string> out;
  read_documents(paths, options, [&](Document&& d) { out.push_back(std::move(d.text)); });
  return out;
}

std::string message(const std::vector<std::string>& paths, InputOptions options = {}) {
  try {
    read(paths, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Inputs, EveryFormHoldsTheSameDocuments) {
  const std::string d = dir();
  for (size_t i = 0; i < documents().size(); ++i) {
    write(d + "/files/doc" + std::to_string(i) + ".txt", documents()[i]);
  }
  write(d + "/one.txt", "\n\n" + joined("\n\n \t\n\r\n"));  // blank lines of any whitespace
  write(d + "/sep.txt", joined("\n<|endoftext|>\r\n"));
  write(d + "/docs.jsonl", jsonl());
  write_gz(d + "/one.txt.gz", joined("\n\n"));
  write_gz(d + "/docs.jsonl.gz", jsonl());
  write_gz(d + "/tree/b/docs.jsonl.gz", jsonl());
  write(d + "/tree/a/one.txt", joined("\n\n\n"));

  EXPECT_EQ(read({d + "/files"}, {"text", "file"}), documents());
  EXPECT_EQ(read({d + "/one.txt"}), documents());
  std::string unended = joined("\n\n");
  unended.pop_back();  // a last line without its newline, plain and compressed
  write(d + "/unended.txt", unended);
  write_gz(d + "/unended.jsonl.gz", jsonl().substr(0, jsonl().size() - 1));
  EXPECT_EQ(read({d + "/unended.txt"}), documents());
  EXPECT_EQ(read({d + "/unended.jsonl.gz"}), documents());
  EXPECT_EQ(read({d + "/sep.txt"}, {"text", "<|endoftext|>"}), documents());
  EXPECT_EQ(read({d + "/docs.jsonl"}), documents());
  EXPECT_EQ(read({d + "/one.txt.gz"}), documents());
  EXPECT_EQ(read({d + "/docs.jsonl.gz"}), documents());
  std::vector<std::string> twice = documents();
  twice.insert(twice.end(), documents().begin(), documents().end());
  EXPECT_EQ(read({d + "/tree"}), twice);  // a/ before b/, each file by its kind
  EXPECT_EQ(read({d + "/one.txt", d + "/docs.jsonl"}), twice);
}

TEST(Inputs, WholeFilesAreKeptByteForByte) {
  const std::string bytes = std::string("a\r\n\n\nb\0c\n", 9) + std::string(2'500'000, 'z');
  write(dir() + "/raw.bin", bytes);
  write_gz(dir() + "/raw.bin.gz", bytes);
  EXPECT_EQ(read({dir() + "/raw.bin"}, {"text", "file"}), std::vector<std::string>{bytes});
  EXPECT_EQ(read({dir() + "/raw.bin.gz"}, {"text", "file"}), std::vector<std::string>{bytes});
}

TEST(Inputs, BadInputsAreNamedWithTheirLine) {
  const std::string d = dir();
  write(d + "/bad.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n");
  EXPECT_NE(
      message({d + "/bad.jsonl"}).find(d + "/bad.jsonl:2: no string field \"text\" (--field)"),
      std::string::npos)
      << message({d + "/bad.jsonl"});
  write(d + "/body.jsonl", "{\"body\": \"x\", \"text\": 1}\n");
  EXPECT_EQ(read({d + "/body.jsonl"}, {"body", "blank"}), std::vector<std::string>{"x"});
  write(d + "/broken.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"no end}\n");
  EXPECT_NE(message({d + "/broken.jsonl"}).find(d + "/broken.jsonl:3: not a JSON object: "),
            std::string::npos)
      << message({d + "/broken.jsonl"});
  write(d + "/number.jsonl", "{\"text\": 5}\n");
  EXPECT_NE(message({d + "/number.jsonl"}).find("number.jsonl:1: no string field"),
            std::string::npos);
  // A gzip stream cut short, or damaged, is an error naming the file (not a shorter corpus).
  write_gz(d + "/cut.txt.gz", joined("\n\n"));
  fs::resize_file(d + "/cut.txt.gz", fs::file_size(d + "/cut.txt.gz") / 2);
  EXPECT_NE(message({d + "/cut.txt.gz"}).find(d + "/cut.txt.gz: read failed: truncated gzip data"),
            std::string::npos)
      << message({d + "/cut.txt.gz"});
  write_gz(d + "/whole.txt.gz", joined("\n\n"));  // each TEST runs in a process of its own
  std::string gz;
  {
    std::ifstream in(d + "/whole.txt.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(gz.size(), 60u);
  for (size_t i = 20; i < 60; ++i) gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  write(d + "/damaged.txt.gz", gz);
  EXPECT_NE(message({d + "/damaged.txt.gz"}).find(d + "/damaged.txt.gz: read failed: "),
            std::string::npos)
      << message({d + "/damaged.txt.gz"});
  EXPECT_NE(message({d + "/absent.txt"})
                .find("absent.txt: cannot open: No such file or directory "
                      "(errno 2)"),
            std::string::npos);
}

}  // namespace
}  // namespace parti::data
