// gpt_view.cpp — see gpt_view.h.
#include "gpt_view.h"

#include "dtype.h"
#include "layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace px {

Result<std::vector<float>> gpt_last_logits(const Image& image, const GptRegions& regions) {
    const uint32_t row = regions.logits;
    if (row == 0 || row >= image.height)
        return make_error(ErrorCode::Invalid, "logits: row " + std::to_string(row) + " is outside the image");
    const MatrixHeader h = decode_header(image.pixel(0, row));
    if (h.rows == 0 || h.cols == 0)
        return make_error(ErrorCode::Invalid, "logits (row " + std::to_string(row) + ") is empty");
    if (h.cols != regions.config.vocab)
        return make_error(ErrorCode::Invalid, "logits (row " + std::to_string(row) + ") is " +
                                                  std::to_string(h.cols) + " wide, the vocabulary " +
                                                  std::to_string(regions.config.vocab));
    auto all = read_float_matrix(image, row, DType::F32);
    if (!all) return all.error();
    return std::vector<float>(all->end() - h.cols, all->end());
}

namespace {
// max over the finite values; -inf when there is none.
double finite_max(std::span<const float> logits) {
    double m = -std::numeric_limits<double>::infinity();
    for (float v : logits)
        if (std::isfinite(v)) m = std::max(m, double(v));
    return m;
}
double exp_sum(std::span<const float> logits, double m) {
    double s = 0;
    for (float v : logits)
        if (!std::isnan(v)) s += std::exp(double(v) - m); // -inf adds 0
    return s;
}
} // namespace

double gpt_probability(std::span<const float> logits, int32_t id) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (id < 0 || size_t(id) >= logits.size() || std::isnan(logits[size_t(id)])) return nan;
    const double m = finite_max(logits);
    if (!std::isfinite(m)) return nan;
    return std::exp(double(logits[size_t(id)]) - m) / exp_sum(logits, m);
}

std::vector<GptCandidate> gpt_top_k(std::span<const float> logits, uint32_t k) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < logits.size(); ++i)
        if (!std::isnan(logits[i])) ids.push_back(int32_t(i));
    const size_t n = std::min<size_t>(k, ids.size());
    std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(n), ids.end(), [&](int32_t a, int32_t b) {
        return logits[size_t(a)] != logits[size_t(b)] ? logits[size_t(a)] > logits[size_t(b)] : a < b;
    });
    const double m = finite_max(logits), s = exp_sum(logits, m);
    std::vector<GptCandidate> out;
    for (size_t i = 0; i < n; ++i) {
        const float v = logits[size_t(ids[i])];
        out.push_back(
            {ids[i], v,
             std::isfinite(m) ? std::exp(double(v) - m) / s : std::numeric_limits<double>::quiet_NaN()});
    }
    return out;
}

std::string gpt_token_bytes(const Bpe& bpe, int32_t id) {
    if (id < 0 || size_t(id) >= bpe.vocab.size()) return {};
    return bpe.vocab[size_t(id)];
}

std::string escape_bytes(std::string_view bytes) {
    std::string s;
    for (unsigned char c : bytes) {
        if (c == '\\')
            s += "\\\\";
        else if (c == '\n')
            s += "\\n";
        else if (c == '\t')
            s += "\\t";
        else if (c == '\r')
            s += "\\r";
        else if (c >= 0x20 && c < 0x7F)
            s += char(c);
        else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02X", c);
            s += buf;
        }
    }
    return s;
}

} // namespace px
