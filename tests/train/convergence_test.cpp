// Issue #2, acceptance 4 (and #17 for Llama): training `small` and `llama-small` on the Brown
// corpus for a few hundred steps drives the validation loss well below the unigram entropy of the
// corpus: the loss of the best model that ignores context. The test prints both numbers.
// Brown is tokenized by bytes here: with GPT-2's 50K vocabulary (Llama 3's 128K), the output
// projection takes most of the FLOPs and the model needs ~10x more steps to leave the unigram
// plateau than a CI run can afford (bench/RESULTS.md records such runs for both tokenizers). The
// training loop is the same.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/run.h"
#include "parti/data/token_file.h"

namespace parti {
namespace {

namespace fs = std::filesystem;

double unigram_entropy(const data::TokenFile& f) {
  std::map<uint32_t, double> counts;
  for (uint32_t t : f.tokens) counts[t] += 1.0;
  double h = 0.0;
  const auto n = static_cast<double>(f.tokens.size());
  for (const auto& [token, c] : counts) h -= c / n * std::log(c / n);
  return h;
}

// Byte-level Brown, prepared by the first test that needs it (meta.json is written last).
fs::path byte_brown() {
  const fs::path dir = fs::temp_directory_path() / "parti_convergence" / "brown";
  if (!fs::exists(dir / "meta.json")) {
    auto r = test::parti("prepare --corpus brown --tokenizer byte --out " + dir.string());
    EXPECT_EQ(r.status, 0) << r.output;
  }
  return dir;
}

void expect_below_unigram(const std::string& model) {
  const fs::path dir = byte_brown();
  const double train_h = unigram_entropy(data::read_token_file((dir / "train.bin").string()));
  const double val_h = unigram_entropy(data::read_token_file((dir / "val.bin").string()));
  const std::string log = (dir.parent_path() / (model + ".jsonl")).string();
  fs::remove(log);
  auto r = test::parti("train --data " + dir.string() + " --model " + model +
                       PARTI_CONVERGENCE_FLAGS + " --log " + log);
  ASSERT_EQ(r.status, 0) << r.output;
  std::istringstream lines(test::slurp(log));
  std::string line, last;
  while (std::getline(lines, line)) last = line;
  const auto record = nlohmann::json::parse(last);
  const double val = record.at("val_loss").get<double>();
  std::cout << "unigram entropy (nats/token): train " << train_h << ", val " << val_h << "\n"
            << "after " << record.at("step") << " steps: train loss " << record.at("loss")
            << ", val loss " << val << " (" << val_h - val << " nats below the val unigram)\n";
  EXPECT_LT(val, val_h - PARTI_CONVERGENCE_MARGIN) << model;
}

TEST(Convergence, SmallOnBrownGoesWellBelowTheUnigramEntropy) { expect_below_unigram("small"); }

TEST(Convergence, LlamaSmallOnBrownGoesWellBelowTheUnigramEntropy) {
  expect_below_unigram("llama-small");
}

}  // namespace
}  // namespace parti
