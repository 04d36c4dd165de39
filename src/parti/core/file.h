// Reading a whole file with the system's reason on failure: IoError "PATH: cannot open: No such
// file or directory (errno 2)", also for a folder given as a file (EISDIR) or a read error.
#pragma once

#include <string>

namespace parti::core {

std::string read_file(const std::string& path);

}  // namespace parti::core
