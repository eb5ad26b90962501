// gpt_view.cpp — see gpt_view.h.
#include "gpt_view.h"

#include "dtype.h"
#include "fmath.h"
#include "inspect.h"
#include "layout.h"
#include "ops/float_ops.h"
#include "ops/gen_ops.h"
#include "ops/qint_ops.h"
#include "vm.h"

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

std::vector<float> gpt_attention_probs(std::span<const float> q_row, std::span<const float> keys,
                                       uint32_t width, uint32_t heads, uint32_t head, uint32_t n,
                                       float scale) {
    // fattention_f32's inner loop for one (t, h): the same calls in the same order.
    const uint32_t hd = width / heads;
    const size_t col = size_t(head) * hd;
    const float sc = fm::canon(scale);
    std::vector<float> p(n);
    for (uint32_t j = 0; j < n; ++j)
        p[j] = fm::mul(fm::dot(&q_row[col], 1, &keys[size_t(j) * width + col], 1, hd), sc);
    fm::softmax_row(p.data(), p.data(), n);
    return p;
}

std::vector<double> gpt_sample_probabilities(std::span<const float> logits, const GptSampling& sampling,
                                             std::span<const int32_t> sequence) {
    const uint32_t n = uint32_t(logits.size());
    std::vector<double> p(n, 0.0);
    if (n == 0) return p;
    std::vector<uint32_t> bits(n);
    for (uint32_t i = 0; i < n; ++i)
        bits[i] = fm::canon_bits(fm::bits(logits[i]));
    const size_t window = sampling.penalty_window == 0
                              ? sequence.size()
                              : std::min<size_t>(sampling.penalty_window, sequence.size());
    std::vector<uint32_t> said;
    for (int32_t t : sequence.last(window))
        if (t >= 0 && uint32_t(t) < n) said.push_back(uint32_t(t));
    penalize_bits(bits.data(), n, said.data(), said.size(),
                  fm::canon_bits(fm::bits(sampling.presence_penalty)));
    const SampleWeights w =
        sample_weights(bits.data(), n, fm::canon_bits(fm::bits(sampling.temperature)), sampling.top_k);
    if (w.greedy) {
        p[w.top] = 1.0;
        return p;
    }
    for (uint32_t i = 0; i < n; ++i)
        p[i] = w.total > 0 ? double(w.e[i]) / double(w.total) : 0.0;
    return p;
}

std::vector<GptCandidate> gpt_top_k(std::span<const float> logits, uint32_t k, const GptSampling& sampling,
                                    std::span<const int32_t> sequence) {
    std::vector<GptCandidate> top = gpt_top_k(logits, k);
    const std::vector<double> p = gpt_sample_probabilities(logits, sampling, sequence);
    for (GptCandidate& c : top)
        c.sample_probability = p[size_t(c.id)];
    return top;
}

size_t GptAttention::known() const {
    return size_t(std::count_if(step.begin(), step.end(), [](uint64_t s) { return s != 0; }));
}

Result<GptAttention> gpt_layer_attention(const History& history, const Image& current,
                                         const GptRegions& regions, uint32_t layer) {
    if (layer >= regions.k_cache.size())
        return make_error(ErrorCode::Usage, "layer " + std::to_string(layer) + ": the model has " +
                                                std::to_string(regions.k_cache.size()) + " layers");
    GptAttention a;
    a.layer = layer;
    a.heads = regions.config.heads;
    a.k_cache = regions.k_cache[layer];
    if (a.k_cache == 0 || a.k_cache >= current.height)
        return make_error(ErrorCode::Invalid, "layer" + std::to_string(layer) + ".attn.k_cache: row " +
                                                  std::to_string(a.k_cache) + " is outside the image");
    // The header is the image's, not the symbols': a hostile one must not size the probabilities
    // (heads x L x L floats). The cache holds at most `context` rows of `width` columns.
    const MatrixHeader hk_now = decode_header(current.pixel(0, a.k_cache));
    if (hk_now.rows > regions.config.context || (hk_now.rows > 0 && hk_now.cols != regions.config.width))
        return make_error(ErrorCode::Invalid,
                          "layer" + std::to_string(layer) + ".attn.k_cache: the header at row " +
                              std::to_string(a.k_cache) + " reads " + std::to_string(hk_now.rows) + " x " +
                              std::to_string(hk_now.cols) + ", want at most " +
                              std::to_string(regions.config.context) + " x " +
                              std::to_string(regions.config.width));
    if (uint64_t(a.heads) * hk_now.rows * hk_now.rows > kMaxAttentionProbabilities)
        return make_error(ErrorCode::Invalid,
                          "layer" + std::to_string(layer) + ": " + std::to_string(a.heads) + " heads over " +
                              std::to_string(hk_now.rows) +
                              " positions is more attention probabilities than a view holds");
    a.length = hk_now.rows;
    const size_t L = a.length;
    a.p.assign(size_t(a.heads) * L * L, std::numeric_limits<float>::quiet_NaN());
    a.step.assign(L, 0);
    size_t missing = L;
    Image img = current; // the image before history[i] once record i's patches are applied
    for (size_t i = history.size(); i-- > 0 && missing > 0;) {
        const UndoRecord& rec = history[i];
        for (const PixelPatch& patch : rec.patches)
            apply_patch(img, patch);
        const PixelFetch fetch = image_fetch(img);
        const Decoded dec = decode(fetch, img.width, rec.pc);
        const bool fl = dec.ins.opcode == uint8_t(Opcode::FATTENTION);
        if (dec.truncated || (!fl && dec.ins.opcode != uint8_t(Opcode::QATTENTION)) ||
            dec.ins.operand[1] != a.k_cache)
            continue;
        auto planned = plan_instruction(fetch, img.width, img.height, rec.pc);
        const Plan* plan = std::get_if<Plan>(&planned);
        if (!plan) continue; // the step trapped: it computed nothing
        const MatrixHeader hq = plan->shape[0], hk = plan->shape[1];
        const uint32_t D = hq.cols, T = hq.rows, Lk = hk.rows;
        const uint32_t heads = fl ? std::get<FAttentionParams>(plan->params).heads
                                  : std::get<QAttentionParams>(plan->params).heads;
        if (D != regions.config.width || heads != a.heads) continue; // not the model's own shape
        a.q = dec.ins.operand[0];
        a.op = fl ? "FATTENTION" : "QATTENTION";
        // The float kernel's scores and softmax (F.5, F.6), or the integer ones (§16.3: int32
        // scores, i-exp, probabilities of P bits, shown as p / 2^P, exact in float).
        std::vector<float> qf, kf;
        std::vector<uint8_t> qc, kc;
        if (fl) {
            a.scale = fm::canon(fm::from_bits(std::get<FAttentionParams>(plan->params).scale));
            qf = ops::gather_f32(img, dec.ins.operand[0], hq);
            kf = ops::gather_f32(img, a.k_cache, hk);
        } else {
            a.scale = 0;
            auto qr = read_matrix(img, dec.ins.operand[0]);
            auto kr = read_matrix(img, a.k_cache);
            if (!qr || !kr) continue;
            qc = std::move(*qr), kc = std::move(*kr);
        }
        const uint32_t hd = D / a.heads;
        std::vector<int32_t> score(Lk);
        std::vector<int64_t> pi(Lk);
        for (uint32_t t = 0; t < T; ++t) {
            const size_t pos = size_t(Lk) - T + t;
            if (pos >= L || a.step[pos] != 0) continue;
            a.step[pos] = rec.steps + 1;
            --missing;
            for (uint32_t h = 0; h < a.heads; ++h) {
                float* out = &a.p[(size_t(h) * L + pos) * L];
                const uint32_t n = uint32_t(pos + 1);
                if (fl) {
                    const std::vector<float> p = gpt_attention_probs(std::span(qf).subspan(size_t(t) * D, D),
                                                                     kf, D, a.heads, h, n, a.scale);
                    std::copy(p.begin(), p.end(), out);
                } else {
                    qint::probabilities_row(&qc[size_t(t) * D + size_t(h) * hd], &kc[size_t(h) * hd], D, hd,
                                            n, std::get<QAttentionParams>(plan->params), score.data(),
                                            pi.data());
                    for (uint32_t j = 0; j < n; ++j)
                        out[j] = float(std::ldexp(double(pi[j]), -qint::kP));
                }
            }
        }
    }
    return a;
}

namespace {
bool starts(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}
} // namespace

GptTreeNode gpt_model_tree(const std::vector<Region>& regions, uint32_t layers) {
    GptTreeNode root{"model", std::nullopt, {}};
    enum Group { Embedding, Layers, Output, State, Activations, Tokenizer, Other, GroupCount };
    const char* names[GroupCount] = {"embedding",   "layers",    "output", "state",
                                     "activations", "tokenizer", "other"};
    std::vector<GptTreeNode> groups;
    for (const char* n : names)
        groups.push_back({n, std::nullopt, {}});
    std::vector<GptTreeNode> layer(layers);
    for (uint32_t i = 0; i < layers; ++i)
        layer[i] = {"layer " + std::to_string(i),
                    std::nullopt,
                    {{"attention", std::nullopt, {}}, {"mlp", std::nullopt, {}}}};
    for (size_t r = 0; r < regions.size(); ++r) {
        const std::string& n = regions[r].name;
        GptTreeNode leaf{n, r, {}};
        if (n == "wte" || n == "wte_t" || n == "wpe") {
            groups[Embedding].children.push_back(leaf);
        } else if (starts(n, "layer")) {
            // layer{i}.<rest>
            const size_t dot = n.find('.');
            uint32_t i = 0;
            bool ok = dot != std::string::npos && dot > 5;
            for (size_t k = 5; ok && k < dot; ++k)
                ok = n[k] >= '0' && n[k] <= '9' && (i = i * 10 + uint32_t(n[k] - '0')) < layers;
            if (!ok) {
                groups[Other].children.push_back(leaf);
                continue;
            }
            const std::string_view rest = std::string_view(n).substr(dot + 1);
            const bool mlp = starts(rest, "mlp.") || starts(rest, "ln_2.");
            const bool attn = starts(rest, "attn.") || starts(rest, "ln_1.");
            if (mlp)
                layer[i].children[1].children.push_back(leaf);
            else if (attn)
                layer[i].children[0].children.push_back(leaf);
            else
                layer[i].children.push_back(leaf);
        } else if (starts(n, "ln_f.") || n == "logits" || n == "ln_last") {
            groups[Output].children.push_back(leaf);
        } else if (n == "tokens" || n == "next_token" || n == "rng_state" || n == "loop_counter") {
            groups[State].children.push_back(leaf);
        } else if (starts(n, "tokenizer")) {
            groups[Tokenizer].children.push_back(leaf);
        } else if (n == "x" || n == "x2" || n == "pos" || n == "ln" || n == "q" || n == "k" || n == "v" ||
                   n == "attn" || n == "proj" || n == "mlp") {
            groups[Activations].children.push_back(leaf);
        } else {
            groups[Other].children.push_back(leaf);
        }
    }
    groups[Layers].children = std::move(layer);
    for (GptTreeNode& g : groups)
        if (!g.children.empty()) root.children.push_back(std::move(g));
    return root;
}

Result<ValueStats> gpt_region_stats(const Image& image, const Region& region) {
    auto v = matrix_values(image, region.row, region.type());
    if (!v) return v.error();
    return value_stats(*v, region.zero_point.value_or(0));
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

Result<std::vector<uint32_t>> gpt_attention_pcs(const Image& image, const GptRegions& regions,
                                                uint32_t layer) {
    if (layer >= regions.k_cache.size())
        return make_error(ErrorCode::Usage, "layer " + std::to_string(layer) + ": the model has " +
                                                std::to_string(regions.k_cache.size()) + " layers");
    const uint32_t k_cache = regions.k_cache[layer];
    // Decoded, not planned: before the first step the caches are empty, and a plan would check
    // shapes that only the run makes valid. The whole row: the decode pass follows the HALT.
    std::vector<uint32_t> pcs;
    for (const Decoded& dec : decode_row0(image).instructions) {
        if (dec.truncated || !dec.ins.info) break;
        const Instruction& ins = dec.ins;
        const bool attention =
            ins.opcode == uint8_t(Opcode::FATTENTION) || ins.opcode == uint8_t(Opcode::QATTENTION);
        if (attention && ins.operand[1] == k_cache) pcs.push_back(ins.pc);
    }
    if (pcs.empty())
        return make_error(ErrorCode::Invalid,
                          "layer " + std::to_string(layer) +
                              ": row 0 has no attention instruction on its key cache (row " +
                              std::to_string(k_cache) + ")");
    return pcs;
}

} // namespace px
