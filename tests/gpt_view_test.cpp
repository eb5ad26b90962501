// gpt_view_test.cpp — engine/models/gpt_view: the last logits row, probabilities and top-k
// (against sums and products computed here in long double), byte escaping.
#include "gpt_view.h"

#include "dtype.h"
#include "layout.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace {

px::GptRegions regions_at(uint32_t row, uint32_t vocab) {
    px::GptRegions r;
    r.logits = row;
    r.config.vocab = vocab;
    return r;
}

} // namespace

TEST_CASE("gpt_last_logits reads the last row as the header says, and names the row on errors") {
    px::Image img = px::make_image(16, 8);
    const std::vector<float> v{1.0f, 2.0f, 3.0f, -4.0f, 0.5f, 7.25f};
    REQUIRE(px::write_float_matrix(img, 2, {3, 2}, px::DType::F32, v));
    auto last = px::gpt_last_logits(img, regions_at(2, 3));
    REQUIRE(last);
    CHECK(*last == std::vector<float>{-4.0f, 0.5f, 7.25f});
    auto wrong = px::gpt_last_logits(img, regions_at(2, 4));
    REQUIRE(!wrong);
    CHECK(wrong.error().message.find("row 2") != std::string::npos);
    REQUIRE(px::write_float_matrix(img, 5, {3, 0}, px::DType::F32, {}));
    auto empty = px::gpt_last_logits(img, regions_at(5, 3));
    REQUIRE(!empty);
    CHECK(empty.error().message.find("empty") != std::string::npos);
    CHECK(!px::gpt_last_logits(img, regions_at(99, 3)));
}

TEST_CASE("probabilities are the softmax, top-k is ordered by logit then id, NaN never a candidate") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const std::vector<float> l{2.0f, -1.0f, 2.0f, nan, 0.5f, -inf, 30.0f};
    long double s = 0;
    for (float x : l)
        if (!std::isnan(x)) s += std::exp((long double)x - 30.0L);
    for (int32_t i = 0; i < int32_t(l.size()); ++i) {
        const double p = px::gpt_probability(l, i);
        if (std::isnan(l[size_t(i)])) {
            CHECK(std::isnan(p));
            continue;
        }
        const double want = double(std::exp((long double)l[size_t(i)] - 30.0L) / s);
        CHECK(p == doctest::Approx(want).epsilon(1e-14));
    }
    CHECK(px::gpt_probability(l, 5) == 0.0); // -inf
    CHECK(std::isnan(px::gpt_probability(l, -1)));
    CHECK(std::isnan(px::gpt_probability(l, 7)));
    const auto top = px::gpt_top_k(l, 10);
    REQUIRE(top.size() == 6); // the NaN left out
    const int32_t order[6] = {6, 0, 2, 4, 1, 5};
    for (size_t i = 0; i < 6; ++i) {
        CHECK(top[i].id == order[i]);
        CHECK(top[i].logit == l[size_t(order[i])]);
        CHECK(top[i].probability == px::gpt_probability(l, order[i]));
    }
    CHECK(px::gpt_top_k(l, 2).size() == 2);
    CHECK(px::gpt_top_k(l, 0).empty());
    const std::vector<float> all_nan{nan, nan};
    CHECK(px::gpt_top_k(all_nan, 3).empty());
    CHECK(std::isnan(px::gpt_probability(all_nan, 0)));
}

TEST_CASE("escape_bytes shows every byte printably") {
    CHECK(px::escape_bytes("a b~") == "a b~");
    CHECK(px::escape_bytes(std::string("\n\t\r\\\x00\x7f\xe5", 7)) == "\\n\\t\\r\\\\\\x00\\x7F\\xE5");
    px::Bpe bpe;
    bpe.vocab = {"x", "yz"};
    CHECK(px::gpt_token_bytes(bpe, 1) == "yz");
    CHECK(px::gpt_token_bytes(bpe, 2).empty());
    CHECK(px::gpt_token_bytes(bpe, -1).empty());
}
