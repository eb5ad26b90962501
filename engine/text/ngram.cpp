#include "ngram.h"

#include <algorithm>
#include <cmath>

namespace px {
namespace {

// The last k bytes ending just before `end`, packed first byte highest.
uint64_t pack(std::string_view s, size_t end, int k) {
    uint64_t key = 0;
    for (size_t i = end - size_t(k); i < end; ++i)
        key = key << 8 | uint8_t(s[i]);
    return key;
}

double ney_discount(const std::unordered_map<uint64_t, uint64_t>& counts) {
    uint64_t n1 = 0, n2 = 0;
    for (const auto& [key, c] : counts)
        n1 += c == 1, n2 += c == 2;
    if (n1 == 0) return 0.5; // nothing seen once: any D in (0, 1) keeps mass for the lower order
    return std::clamp(double(n1) / double(n1 + 2 * n2), 0.05, 0.95);
}

} // namespace

NgramModel train_ngram(std::string_view text, int order) {
    order = std::clamp(order, 1, kNgramMaxOrder);
    NgramModel m;
    m.order = order;
    m.counts.resize(order);
    m.contexts.resize(order);
    m.discount.resize(order);
    // Highest order: raw counts of every order-gram in the text.
    for (size_t end = size_t(order); end <= text.size(); ++end)
        ++m.counts[order - 1][pack(text, end, order)];
    // Lower orders: continuation counts, the number of distinct bytes seen before each k-gram.
    // The start of the text counts as one more such "byte" before the text's first k-gram.
    for (int k = order - 1; k >= 1; --k) {
        auto& counts = m.counts[k - 1];
        const uint64_t mask = (uint64_t(1) << (8 * k)) - 1; // k < order <= 8
        for (const auto& [key, c] : m.counts[k])
            ++counts[key & mask];
        if (text.size() >= size_t(k)) ++counts[pack(text, size_t(k), k)];
    }
    for (int k = 1; k <= order; ++k) {
        for (const auto& [key, c] : m.counts[k - 1]) {
            NgramContext& ctx = m.contexts[k - 1][key >> 8];
            ctx.total += c;
            ++ctx.distinct;
        }
        m.discount[k - 1] = ney_discount(m.counts[k - 1]);
    }
    return m;
}

double ngram_prob(const NgramModel& m, std::string_view history, uint8_t next) {
    const int top = std::min<int>(m.order, int(history.size()) + 1);
    double p = 1.0 / 256.0;
    for (int k = 1; k <= top; ++k) {
        const uint64_t h = pack(history, history.size(), k - 1);
        const auto ctx = m.contexts[k - 1].find(h);
        if (ctx == m.contexts[k - 1].end()) continue; // unseen context: the lower order's estimate
        const auto cnt = m.counts[k - 1].find(h << 8 | next);
        const double c = cnt == m.counts[k - 1].end() ? 0.0 : double(cnt->second);
        const double d = m.discount[k - 1], total = double(ctx->second.total);
        p = std::max(c - d, 0.0) / total + d * double(ctx->second.distinct) / total * p;
    }
    return p;
}

double ngram_bits(const NgramModel& m, std::string_view text) {
    double bits = 0;
    const size_t span = size_t(m.order - 1);
    for (size_t i = 0; i < text.size(); ++i) {
        const size_t from = i > span ? i - span : 0;
        bits -= std::log2(ngram_prob(m, text.substr(from, i - from), uint8_t(text[i])));
    }
    return bits;
}

} // namespace px
