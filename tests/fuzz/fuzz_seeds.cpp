// Writes the fuzz targets' starting inputs, made by Parti's own writers so that they are what
// the readers normally see: `fuzz_seeds DIR` fills DIR/{safetensors,token_file,state_json,
// tokenizer}. libFuzzer mutates these (and what it finds) instead of starting from nothing.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "parti/data/token_file.h"
#include "parti/io/safetensors.h"
#include "parti/model/config.h"
#include "parti/train/config.h"
#include "parti/train/guard.h"

namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

void safetensors_seeds(const std::string& dir) {
  const std::vector<float> a = {1.0f, -2.0f, 3.5f, 0.25f, 8.0f, -1.0f};
  const std::vector<float> b = {0.5f, 0.125f};
  parti::io::write_safetensors(
      dir + "/parti.safetensors",
      {{"h.0.attn.c_attn.weight", {2, 3}, a.data()}, {"ln_f.bias", {2}, b.data()}},
      {{"step", "7"}, {"format", "pt"}});
  parti::io::write_safetensors(dir + "/scalar.safetensors", {{"x", {}, b.data()}}, {});
}

void token_file_seeds(const std::string& dir) {
  parti::data::write_token_file(dir + "/gpt2.bin", {50257, 50256, {464, 3290, 50256, 318, 257}});
  parti::data::write_token_file(dir + "/llama3.bin", {128256, 128001, {128000, 791, 128001}});
}

void state_json_seeds(const std::string& dir) {
  parti::train::TrainConfig cfg;
  cfg.model = parti::model::preset("tiny");
  nlohmann::ordered_json state;
  state["step"] = 12;
  state["config"] = parti::train::to_json(cfg);
  state["optimizer_step"] = 11;
  state["data_position"] = {{"next_step", 12}, {"seed", 1337}};
  parti::train::StepGuard guard(parti::train::GuardConfig{});
  for (int i = 0; i < 12; ++i) guard.judge(10.0 - 0.1 * i, 1.0);
  state["guard"] = guard.to_json();
  write_text(dir + "/state.json", state.dump(2));
  // Integers written as floats: integral ones fit, the others once reached a cast (undefined).
  state["step"] = 12.0;
  state["config"]["model"]["seq_len"] = 6.5e102;
  state["guard"]["skipped_total"] = -1e300;
  write_text(dir + "/floats.json", state.dump(2));
}

void tokenizer_seeds(const std::string& dir) {
  write_text(dir + "/english.txt",
             "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent "
             "primary election produced \"no evidence\" that any irregularities took place.\n\n"
             "It's 1,234.5 -- they'll've   gone?!\r\n\tDon't.");
  write_text(dir + "/unicode.txt", "naïve café — 東京 😀 ﷽ Ünïcödé\u00a0x\u200b y   \n\n");
  static const char invalid[] = "ok \xff\xfe \xc3 \xe2\x82 \xf0\x9f\x98 end";
  write_text(dir + "/invalid.txt", std::string(invalid, sizeof(invalid) - 1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  const std::string root = argv[1];
  const std::vector<std::pair<std::string, void (*)(const std::string&)>> targets = {
      {"safetensors", safetensors_seeds},
      {"token_file", token_file_seeds},
      {"state_json", state_json_seeds},
      {"tokenizer", tokenizer_seeds}};
  for (const auto& [name, write] : targets) {
    fs::create_directories(root + "/" + name);
    write(root + "/" + name);
  }
  return 0;
}
