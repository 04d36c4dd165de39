// The documents of a user's corpus (`parti prepare --text PATH...`), read one at a time:
//   a folder      every regular file under it (recursively), in byte order of their paths;
//   NAME.jsonl    one JSON object a line (blank lines skipped); the document is its `field`;
//   other files   text, cut into documents at `doc_sep`:
//                   "blank"  one or more blank (whitespace-only) lines end a document
//                            (nanoGPT's input.txt, paragraphs); the lines between are joined by
//                            "\n", without a final newline;
//                   "file"   the whole file is one document, byte for byte;
//                   else     a line equal to doc_sep (e.g. "<|endoftext|>") ends a document;
//   NAME.gz       the same, gzip-compressed (NAME.jsonl.gz, NAME.txt.gz: the kind is the name
//                 without ".gz").
// Empty documents are skipped. Errors (DataError) name the file and, for JSONL, the line.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "parti/data/corpus.h"

namespace parti::data {

struct InputOptions {
  std::string field = "text";     // JSONL: the document's key
  std::string doc_sep = "blank";  // text: how documents are separated (above)
};

// The files `paths` name, folders expanded (recursively, in byte order of their paths).
std::vector<std::string> input_files(const std::vector<std::string>& paths);

// Calls `emit` with each document of `paths`, in order.
void read_documents(const std::vector<std::string>& paths, const InputOptions& options,
                    const std::function<void(Document&&)>& emit);

}  // namespace parti::data
