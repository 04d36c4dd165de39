#include "parti/cli/config_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "parti/core/check.h"

namespace parti::cli {
namespace {

// The shortest text that reads back as the same double, with the "." or exponent TOML needs.
std::string shortest(double value) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  std::string out(text, end);
  if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
  return out;
}

// One value of an option of CLI11 type `type` as a TOML literal of that type (integers beyond
// TOML's 64-bit signed range stay strings).
std::string literal(const std::string& type, const std::string& text) {
  try {
    if (type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0) {
      return std::to_string(std::stoll(text));
    }
    if (type.rfind("FLOAT", 0) == 0) return shortest(std::stod(text));
  } catch (const std::exception&) {
  }
  std::ostringstream out;
  out << toml::value<std::string>(text);
  return out.str();
}

std::string scalar_text(const std::string& file, const std::string& key, const toml::node& v) {
  if (const auto* s = v.as_string()) return s->get();
  if (const auto* i = v.as_integer()) return std::to_string(i->get());
  if (const auto* b = v.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* f = v.as_floating_point()) return shortest(f->get());
  throw ConfigError(str_cat("--config ", file, ": ", key,
                            " must be a string, number, boolean or an array of "
                            "them"));
}

bool on_command_line(const std::vector<std::string>& args, const std::string& flag) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == flag || a.rfind(flag + "=", 0) == 0;
  });
}

// The file's flags as command-line words; `args` is the command line (its flags win).
std::vector<std::string> file_flags(const std::string& file, const std::vector<std::string>& args,
                                    const std::function<bool(const std::string&)>& known) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;  // line 0: the file could not be read at all
    const std::string where = at.line > 0 ? str_cat(":", at.line, ":", at.column) : "";
    throw ConfigError(str_cat("--config ", file, where, ": ", e.description()));
  }
  std::vector<std::string> words;
  auto add = [&](const std::string& key, const toml::node& value) {
    const std::string flag = "--" + key;
    PARTI_CHECK(known(flag), ConfigError, "--config ", file, ": ", key,
                " is not a flag of parti train");
    if (on_command_line(args, flag)) return;
    if (const auto* list = value.as_array()) {
      PARTI_CHECK(!list->empty(), ConfigError, "--config ", file, ": ", key, " is empty");
      words.push_back(flag);
      for (const toml::node& item : *list) words.push_back(scalar_text(file, key, item));
    } else {
      words.push_back(flag + "=" + scalar_text(file, key, value));
    }
  };
  for (const auto& [key, value] : root) {
    const std::string name(key.str());
    if (name == "train" && value.is_table()) {
      for (const auto& [inner, v] : *value.as_table()) add(std::string(inner.str()), v);
    } else {
      PARTI_CHECK(!value.is_table(), ConfigError, "--config ", file, ": [", name,
                  "] is not a section Parti reads (flags go at the top or under [train])");
      add(name, value);
    }
  }
  return words;
}

}  // namespace

std::vector<std::string> expand_config(const std::vector<std::string>& args,
                                       const std::function<bool(const std::string&)>& known) {
  if (args.empty() || args[0] != "train") return args;
  std::vector<std::string> rest;
  std::string file;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--config") {
      PARTI_CHECK(i + 1 < args.size(), ConfigError, "--config needs a file");
      file = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      file = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
    }
  }
  if (file.empty()) return args;
  std::vector<std::string> out = {"train"};
  for (std::string& word : file_flags(file, rest, known)) out.push_back(std::move(word));
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

std::string resolved_toml(const CLI::App& cmd, const std::vector<std::string>& skip,
                          const std::map<std::string, std::string>& resolved) {
  std::string out;
  for (const CLI::Option* opt : cmd.get_options()) {
    if (opt->get_lnames().empty()) continue;
    const std::string name = opt->get_lnames()[0];
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    if (opt->get_expected_max() == 0) {  // a flag: only when given (--no-x=false would flip x)
      if (opt->count() > 0) out += name + " = " + (opt->as<bool>() ? "true" : "false") + "\n";
      continue;
    }
    std::vector<std::string> values = opt->reduced_results();  // a flag given twice: its last
    if (values.empty() && !opt->get_default_str().empty()) values = {opt->get_default_str()};
    if (values.empty() && resolved.contains(name)) values = {resolved.at(name)};
    if (values.empty()) continue;
    std::string list;
    for (const std::string& text : values) {
      list += (list.empty() ? "" : ", ") + literal(opt->get_type_name(), text);
    }
    out += name + " = " + (opt->get_expected_max() > 1 ? "[" + list + "]" : list) + "\n";
  }
  return out;
}

}  // namespace parti::cli
