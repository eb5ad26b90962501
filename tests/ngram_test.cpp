// Tests of the byte n-gram baseline (engine/text/ngram.h): every probability checked against a
// brute-force Kneser-Ney written here from the definition (scanning the text for each count, no
// tables), and the distributions summing to one.
#include "ngram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

using namespace px;

namespace {

// c_k(g) for the k-gram g: raw occurrences at the top order, else the number of distinct
// left neighbours (the start of the text counts as one when g begins the text).
double brute_count(const std::string& text, const std::string& g, int top) {
    const int k = int(g.size());
    if (k == top) {
        double n = 0;
        for (size_t i = 0; i + g.size() <= text.size(); ++i)
            n += text.compare(i, g.size(), g) == 0;
        return n;
    }
    std::set<int> left;
    for (size_t i = 0; i + g.size() <= text.size(); ++i)
        if (text.compare(i, g.size(), g) == 0) left.insert(i == 0 ? -1 : uint8_t(text[i - 1]));
    return double(left.size());
}

double brute_discount(const std::string& text, int k, int top) {
    std::set<std::string> grams;
    for (size_t i = 0; i + k <= text.size(); ++i)
        grams.insert(text.substr(i, k));
    double n1 = 0, n2 = 0;
    for (const std::string& g : grams) {
        const double c = brute_count(text, g, top);
        n1 += c == 1, n2 += c == 2;
    }
    return n1 == 0 ? 0.5 : std::clamp(n1 / (n1 + 2 * n2), 0.05, 0.95);
}

double brute_prob(const std::string& text, int top, const std::string& history, uint8_t w) {
    const int use = std::min<int>(top, int(history.size()) + 1);
    double p = 1.0 / 256;
    for (int k = 1; k <= use; ++k) {
        const std::string h = history.substr(history.size() - (k - 1));
        double total = 0, distinct = 0;
        for (int x = 0; x < 256; ++x) {
            const double c = brute_count(text, h + char(x), top);
            total += c, distinct += c > 0;
        }
        if (total == 0) continue;
        const double d = brute_discount(text, k, top);
        const double c = brute_count(text, h + char(w), top);
        p = std::max(c - d, 0.0) / total + d * distinct / total * p;
    }
    return p;
}

} // namespace

TEST_CASE("probabilities equal a brute-force Kneser-Ney") {
    const std::string text = "abracadabra, the cat sat on the mat; the bat ate the rat.";
    for (int order : {1, 2, 3, 4}) {
        const NgramModel m = train_ngram(text, order);
        for (const std::string history : {"", "t", "th", "the", "xth", "zz", "e c", " a"})
            for (uint8_t w : {'a', 'b', 'e', ' ', 'z', '\n'}) {
                INFO("order " << order << " history '" << history << "' next " << char(w));
                CHECK(ngram_prob(m, history, w) ==
                      doctest::Approx(brute_prob(text, order, history, w)).epsilon(1e-12));
            }
    }
}

TEST_CASE("every distribution sums to one") {
    const std::string text = "she sells sea shells by the sea shore\nthe shells she sells are sea shells\n";
    for (int order : {1, 2, 3, 5, 8}) {
        const NgramModel m = train_ngram(text, order);
        for (const std::string history : {"", "s", "sh", "she", " sea", "qqqqqqq", "shells "}) {
            double sum = 0;
            for (int w = 0; w < 256; ++w)
                sum += ngram_prob(m, history, uint8_t(w));
            CHECK(sum == doctest::Approx(1.0).epsilon(1e-12));
        }
    }
}

TEST_CASE("code length: history from the text itself; higher orders fit repetitive text better") {
    const std::string text = "to be or not to be, that is the question. to be or not to be.";
    const NgramModel m3 = train_ngram(text, 3);
    double bits = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const size_t from = i > 2 ? i - 2 : 0;
        bits -= std::log2(ngram_prob(m3, text.substr(from, i - from), uint8_t(text[i])));
    }
    CHECK(ngram_bits(m3, text) == doctest::Approx(bits).epsilon(1e-12));
    CHECK(ngram_bits(train_ngram(text, 1), text) > ngram_bits(m3, text));
    // An order-1 model of a text of one repeated byte still leaves room for every other byte.
    const NgramModel one = train_ngram("aaaa", 1);
    CHECK(ngram_prob(one, "", 'b') > 0);
    CHECK(ngram_prob(one, "", 'a') > 0.5);
}
