// `parti train --config run.toml` (issue #19): a TOML file of `train` flags, keys named as the
// flags without their dashes, at the top level or in a [train] table:
//   data = "data/brown"      model = "small"     lr = 3e-3     pp-layers = [2, 2]    sp = true
// A flag also given on the command line keeps the command line's value. Every run with a
// checkpoint folder writes its resolved flags to <ckpt-dir>/run.toml in the same form; fed back
// with --config, it reproduces the run (bit for bit: values are written so they read back equal).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace parti::cli {

// args: the command line without the program's name. When args[0] is `train` and holds
// `--config PATH` (or `--config=PATH`), returns args with that pair replaced by the file's flags
// (placed before the others), skipping any flag the command line gives; else args as they are.
// `known(flag)` says whether `train` has the flag. Throws ConfigError naming the file, and the
// key or the line.
std::vector<std::string> expand_config(const std::vector<std::string>& args,
                                       const std::function<bool(const std::string&)>& known);

// The TOML of `cmd`'s options after parsing: each with a value (given, from a file or a
// default), except the names in `skip` (long names without dashes).
// `resolved`: values (as text) for options given no value and no default, by long name.
std::string resolved_toml(const CLI::App& cmd, const std::vector<std::string>& skip,
                          const std::map<std::string, std::string>& resolved = {});

}  // namespace parti::cli
