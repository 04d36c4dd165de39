#include "parti/cli/commands.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "parti/core/check.h"
#include "parti/io/checkpoint.h"
#include "parti/train/config.h"

namespace parti::cli {

DataMeta read_data_meta(const std::string& dir) {
  const std::string path = dir + "/meta.json";
  std::ifstream in(path);
  PARTI_CHECK(in.good(), DataError, path, ": missing (is ", dir,
              " a folder made by `parti prepare`?)");
  try {
    nlohmann::json meta = nlohmann::json::parse(in);
    return {meta.at("tokenizer").get<std::string>(), meta.at("vocab_size").get<int>()};
  } catch (const nlohmann::json::exception& e) {
    throw DataError(str_cat(path, ": not a valid meta.json: ", e.what()));
  }
}

LoadedModel load_model(const std::string& ckpt) {
  LoadedModel out;
  out.dir = io::resolve_checkpoint(ckpt);
  const nlohmann::json state = io::read_checkpoint_state(out.dir);
  const nlohmann::json& config = state.at("config");
  out.gpt = std::make_unique<model::Gpt<float>>(train::model_from_json(config.at("model")));
  out.tokenizer = config.value("tokenizer", "gpt2");
  out.params.assign(out.gpt->table().total(), 0.0f);
  io::load_checkpoint(out.dir, {out.gpt->table(), out.params.data(), nullptr, nullptr});
  return out;
}

}  // namespace parti::cli
