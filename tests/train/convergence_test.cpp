// Issue #2, acceptance 4: training `small` on the Brown corpus for a few hundred steps drives the
// validation loss well below the unigram entropy of the corpus: the loss of the best model that
// ignores context. The test prints both numbers.
// Brown is tokenized by bytes here: with GPT-2's 50K vocabulary, `small` spends two thirds of its
// FLOPs on the output projection and needs ~10x more steps to leave the unigram plateau than a
// CI run can afford (bench/RESULTS.md records such a run). The training loop is the same.
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

TEST(Convergence, SmallOnBrownGoesWellBelowTheUnigramEntropy) {
  const fs::path dir = fs::temp_directory_path() / "parti_convergence";
  fs::remove_all(dir);
  auto r = test::parti("prepare --corpus brown --tokenizer byte --out " + (dir / "brown").string());
  ASSERT_EQ(r.status, 0) << r.output;
  const double train_h = unigram_entropy(data::read_token_file((dir / "brown/train.bin").string()));
  const double val_h = unigram_entropy(data::read_token_file((dir / "brown/val.bin").string()));
  const std::string log = (dir / "log.jsonl").string();
  r = test::parti("train --data " + (dir / "brown").string() + PARTI_CONVERGENCE_FLAGS + " --log " +
                  log);
  ASSERT_EQ(r.status, 0) << r.output;
  std::istringstream lines(test::slurp(log));
  std::string line, last;
  while (std::getline(lines, line)) last = line;
  const auto record = nlohmann::json::parse(last);
  const double val = record.at("val_loss").get<double>();
  std::cout << "unigram entropy (nats/token): train " << train_h << ", val " << val_h << "\n"
            << "after " << record.at("step") << " steps: train loss " << record.at("loss")
            << ", val loss " << val << " (" << val_h - val << " nats below the val unigram)\n";
  EXPECT_LT(val, val_h - PARTI_CONVERGENCE_MARGIN);
}

}  // namespace
}  // namespace parti
