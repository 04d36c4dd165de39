#include "parti/data/corpus.h"

#include <gtest/gtest.h>

#include "parti/core/check.h"

namespace parti::data {
namespace {

TEST(Corpus, BrownTagsAreStrippedAndTextRejoined) {
  const std::string tagged =
      "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd ``/`` no/at evidence/nn ''/'' ,/, "
      "Atlanta's/np$ 1/2/cd (/( yes/rb )/) ./.\n\n\n\tHe/pps did/dod n't/* go/vb ?/.\n";
  EXPECT_EQ(brown_to_text(tagged),
            "The Fulton County said \"no evidence\", Atlanta's 1/2 (yes).\nHe didn't go?\n");
}

TEST(Corpus, EmptyCorpusIsAnError) {
  auto tok = make_tokenizer("byte", "");
  EXPECT_THROW(prepare_corpus({}, *tok, 0.1, false), DataError);
  EXPECT_THROW(prepare_corpus({{"a", ""}, {"b", ""}}, *tok, 0.1, false), DataError);
}

TEST(Corpus, SplitSpreadsValidationDocuments) {
  auto tok = make_tokenizer("byte", "");
  std::vector<Document> docs;
  for (int i = 0; i < 10; ++i) docs.push_back({std::to_string(i), std::string(1, char('a' + i))});
  PreparedCorpus p = prepare_corpus(docs, *tok, 0.2, false);
  EXPECT_EQ(p.val_documents, 2);
  EXPECT_EQ(p.train_documents, 8);
  // docs 4 and 9 go to validation: floor((i+1)*0.2) > floor(i*0.2); EOT after each document
  EXPECT_EQ(p.val.tokens, (std::vector<uint32_t>{'e', 256, 'j', 256}));
  EXPECT_EQ(p.train.tokens.size(), 16u);
  EXPECT_THROW(prepare_corpus(docs, *tok, 0.01, false), DataError);  // no validation document
}

// Streaming (issue #19): batches of any size give the same ids in the same order as one batch;
// only one batch is held at a time.
TEST(Corpus, BatchesOfAnySizeGiveTheSameTokens) {
  auto tok = make_tokenizer("gpt2", "");
  std::vector<Document> docs = read_brown(default_brown_dir());
  docs.resize(30);
  const PreparedCorpus whole = prepare_corpus(docs, *tok, 0.1, false);
  for (size_t batch : {size_t{1}, size_t{20'000}, size_t{1} << 30}) {
    SCOPED_TRACE(batch);
    std::vector<uint32_t> train, val;
    auto into = [](std::vector<uint32_t>& out) {
      return [&out](const std::vector<int32_t>& ids) {
        for (int32_t id : ids) out.push_back(static_cast<uint32_t>(id));
      };
    };
    CorpusTokenizer corpus(*tok, 0.1, into(train), into(val), false, 0, batch);
    for (const Document& d : docs) corpus.add(Document(d));
    const CorpusCounts& counts = corpus.finish();
    EXPECT_EQ(train, whole.train.tokens);
    EXPECT_EQ(val, whole.val.tokens);
    EXPECT_EQ(counts.train_documents, 27);
    EXPECT_EQ(counts.val_documents, 3);
    EXPECT_EQ(counts.train_tokens + counts.val_tokens, train.size() + val.size());
  }
}

}  // namespace
}  // namespace parti::data
