// File operations on what Parti writes (checkpoints, prepared corpora, logs), each checked: a
// failure throws IoError naming the path and the system's reason with its errno ("No space left
// on device (errno 28)"), never a bare "write failed" or an unrelated library exception.
#pragma once

#include <string>

namespace parti::io {

void make_dirs(const std::string& dir);     // like mkdir -p
void remove_tree(const std::string& path);  // like rm -rf; a missing path is fine
void rename_path(const std::string& from, const std::string& to);
void sync_path(const std::string& path);  // fsync a file or a folder
// Creates or truncates `path` and writes `text` (not atomic: callers write into a temporary
// folder, or use write_text_atomically).
void write_text(const std::string& path, const std::string& text);
// path.tmp written, flushed to disk, renamed over `path`: readers see the old or the new text.
void write_text_atomically(const std::string& path, const std::string& text);
// Puts the finished folder `tmp` in place of `dir` in one step (renameat2's exchange when `dir`
// exists, then the old contents are removed): a reader of `dir` sees all of the old folder or
// all of the new one, and a failure before this call leaves `dir` as it was.
void replace_folder(const std::string& tmp, const std::string& dir);

}  // namespace parti::io
