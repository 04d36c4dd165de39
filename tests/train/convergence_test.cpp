// Issue #2, acceptance 4 and issue #17, acceptance 4: training drives the validation loss below
// the unigram entropy of the corpus, the loss of the best model that ignores context. The test
// prints both numbers. GPT-2 `small` learns byte-level Brown (with GPT-2's 50K vocabulary the
// output projection takes most of the FLOPs and the model needs ~10x more steps to leave the
// unigram plateau than a CI run can afford; bench/RESULTS.md records such runs). `llama-tiny`
// learns Brown in Llama 3's tokens (128,256 ids, 34K of them in Brown): the costliest test of the
// suite (300 steps of a 128K-column output projection, ~5 minutes on two cores), kept because it
// is the only check that the Llama family with its own tokenizer learns real text. `llama-small`
// gets there too (validation 7.122) at 2.7x the time.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/run.h"
#include "parti/data/token_file.h"
#include "support/scratch.h"

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

void expect_below_unigram(const std::string& model, const std::string& tokenizer,
                          const std::string& flags, double margin) {
  const fs::path dir = test::shared_brown(tokenizer);
  const double train_h = unigram_entropy(data::read_token_file((dir / "train.bin").string()));
  const double val_h = unigram_entropy(data::read_token_file((dir / "val.bin").string()));
  const std::string log = test::scratch(model + "-" + tokenizer + ".jsonl");
  auto r =
      test::parti("train --data " + dir.string() + " --model " + model + flags + " --log " + log);
  ASSERT_EQ(r.status, 0) << r.output;
  std::istringstream lines(test::slurp(log));
  std::string line, last;
  while (std::getline(lines, line)) last = line;
  const auto record = nlohmann::json::parse(last);
  const double val = record.at("val_loss").get<double>();
  std::cout << tokenizer << " tokens, unigram entropy (nats/token): train " << train_h << ", val "
            << val_h << "\n"
            << "after " << record.at("step") << " steps: train loss " << record.at("loss")
            << ", val loss " << val << " (" << val_h - val << " nats below the val unigram)\n";
  EXPECT_LT(val, val_h - margin) << model;
}

TEST(Convergence, SmallOnByteBrownGoesWellBelowTheUnigramEntropy) {
  expect_below_unigram("small", "byte", PARTI_CONVERGENCE_FLAGS, 0.45);
}

TEST(Convergence, LlamaTinyOnLlama3BrownGoesBelowTheUnigramEntropy) {
  // Measured: validation 7.103 against a unigram entropy of 7.230 (bench/RESULTS.md).
  expect_below_unigram("llama-tiny", "llama3", PARTI_LLAMA3_CONVERGENCE_FLAGS, 0.03);
}

}  // namespace
}  // namespace parti
