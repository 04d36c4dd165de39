#include "parti/core/json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace parti {
namespace {

using nlohmann::json;

// The message a bad value gets, "" when it is read.
template <typename T>
std::string refusal(const std::string& text) {
  try {
    json_int<T>(json::parse(text));
    return "";
  } catch (const json::exception& e) {
    return e.what();
  }
}

TEST(JsonInt, ReadsIntegersAndIntegralFloatsThatFit) {
  EXPECT_EQ(json_int<int>(json::parse("1024")), 1024);
  EXPECT_EQ(json_int<int>(json::parse("-7")), -7);
  EXPECT_EQ(json_int<int>(json::parse("1024.0")), 1024);
  EXPECT_EQ(json_int<int>(json::parse("2147483647")), 2147483647);
  EXPECT_EQ(json_int<int>(json::parse("-2147483648.0")), -2147483647 - 1);
  EXPECT_EQ(json_int<uint64_t>(json::parse("18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(json_int<int64_t>(json::parse("-9223372036854775808")), INT64_MIN);
}

TEST(JsonInt, RefusesWhatACastWouldMangle) {
  // The fuzzer's find: a float far outside int's range reached a static_cast (undefined).
  EXPECT_NE(refusal<int>("6.5e102").find("not an integer of 31 bits"), std::string::npos);
  EXPECT_NE(refusal<int>("2147483648"), "");
  EXPECT_NE(refusal<int>("2147483648.0"), "");
  EXPECT_NE(refusal<int>("-2147483649"), "");
  EXPECT_NE(refusal<int>("3.7"), "");
  EXPECT_NE(refusal<int64_t>("9223372036854775808.0"), "");
  EXPECT_NE(refusal<uint64_t>("-1"), "");
  EXPECT_NE(refusal<uint64_t>("-1.0"), "");
  EXPECT_NE(refusal<int32_t>("4294967296"), "");
  EXPECT_NE(refusal<int>("true").find("type must be an integer, but is boolean"),
            std::string::npos);
  EXPECT_NE(refusal<int>("\"12\""), "");
  EXPECT_NE(refusal<int>("null"), "");
}

TEST(JsonInt, KeyWithFallbackAndArrays) {
  const json j = json::parse(R"({"bos": 3, "big": 1e300, "shape": [2, 3.0], "bad": [1, 0.5]})");
  EXPECT_EQ(json_int(j, "bos", -1), 3);
  EXPECT_EQ(json_int(j, "eot", -1), -1);
  EXPECT_THROW(json_int(j, "big", -1), json::out_of_range);
  EXPECT_EQ(json_ints<int64_t>(j.at("shape")), (std::vector<int64_t>{2, 3}));
  EXPECT_THROW(json_ints<int64_t>(j.at("bad")), json::out_of_range);
  EXPECT_THROW(json_ints<int64_t>(j.at("bos")), json::type_error);
}

}  // namespace
}  // namespace parti
