#include "gpt_u8.h"

#include "cpu_fast.h"
#include "debuginfo.h"
#include "dtype.h"
#include "gpt_build.h"
#include "layout.h"
#include "ops/op_params.h"
#include "ops/qint_ops.h"
#include "protocol.h"
#include "quant.h"
#include "tokenizer_image.h"
#include "vm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>

namespace px {

namespace {

// QATTENTION's fixed point (PROTOCOL.md §16.3): the scaled score difference z has kF fraction
// bits and each probability kP; the builder's multipliers depend on both.
constexpr int kAttnF = qint::kF, kAttnP = qint::kP;

// The tensors of one layer that calibrate_gpt records, in the order the float32 prefill writes
// them (BLOCK of docs/gpt-program.md; "" for its two APPENDs). "mlp.gelu" is FMATMUL's fused
// output; "mlp.fc" (before GELU) is added by the host.
const char* const kBlockOutputs[13] = {"ln_1.out", "attn.q",   "attn.k",    "attn.v", "",
                                       "",         "attn.out", "attn.proj", "x_attn", "ln_2.out",
                                       "mlp.gelu", "mlp.proj", "x_out"};

std::string layer_prefix(uint32_t i) {
    return "layer" + std::to_string(i) + ".";
}

double gelu_tanh(double x) {
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

} // namespace

// ---- Calibration ----

std::vector<std::string> gpt_prefill_output_names(uint32_t layers, bool all_logits) {
    std::vector<std::string> names = {"emb", "pos", "x0"};
    for (uint32_t i = 0; i < layers; ++i)
        for (const char* s : kBlockOutputs)
            names.push_back(*s ? layer_prefix(i) + s : "");
    names.push_back("ln_f.out");
    if (!all_logits) names.push_back("ln_last");
    names.push_back("logits");
    return names;
}

Status run_gpt_float_prefill(const Image& program, const GptRegions& regions, std::span<const int32_t> ids,
                             const GptWeights* weights, const GptActivationVisitor& visit,
                             const PlanExecutor* executor) {
    const GptConfig& c = regions.config;
    if (regions.weights_u8)
        return make_error(ErrorCode::Usage,
                          "the float32 prefill needs a float32 GPT program, not the uint8 one");
    if (ids.empty() || ids.size() > c.context)
        return make_error(ErrorCode::Usage, "the float32 prefill runs 1 to " + std::to_string(c.context) +
                                                " tokens (the context), not " + std::to_string(ids.size()));
    if (regions.sample_pcs.empty())
        return make_error(ErrorCode::Invalid, "the float32 program has no SAMPLE");
    if (weights && weights->layers.size() != c.layers)
        return make_error(ErrorCode::Usage, "the weights do not match the program's config (layers)");
    const uint32_t d = c.width, stop_pc = regions.sample_pcs.front();
    const std::vector<std::string> names = gpt_prefill_output_names(c.layers, regions.all_logits);

    Image run_img = program;
    if (Status st = set_gpt_prompt(run_img, regions, ids, 1); !st) return st.error();
    const uint32_t steps = run_img.width; // a prefill runs fewer instructions than row 0 has pixels
    VmState vm = make_vm(std::move(run_img), steps);
    const PlanExecutor fast = executor ? *executor : fast_executor();
    for (size_t k = 0; vm.status == VmStatus::Ready && vm.pc != stop_pc; ++k) {
        const StepResult r = step(vm, nullptr, fast);
        if (vm.status == VmStatus::Trapped)
            return make_error(ErrorCode::Invalid, "the float32 program trapped: " + describe_trap(vm.trap));
        if (k >= names.size() || names[k].empty()) continue;
        const Decoded dec = decode(image_fetch(vm.image), vm.image.width, r.executed_pc);
        const uint32_t row = dec.ins.operand[2];
        auto out = read_float_matrix(vm.image, row, DType::F32);
        if (!out) return out.error();
        const MatrixHeader h = decode_header(vm.image.pixel(0, row));
        const std::vector<double> values(out->begin(), out->end()); // exact
        if (Status st = visit(names[k], h.rows, h.cols, values); !st) return st;
        // The MLP's input: the activation before GELU is ln @ W_fc + b_fc, computed here.
        const std::string suffix = "ln_2.out";
        if (weights && names[k].size() > suffix.size() && names[k].ends_with(suffix)) {
            const uint32_t layer = uint32_t(std::stoul(names[k].substr(5)));
            const GptLayerWeights& l = weights->layers[layer];
            const size_t rows = out->size() / d, n = 4 * size_t(d);
            std::vector<double> fc(rows * n);
            std::vector<double> acc(n);
            for (size_t t = 0; t < rows; ++t) {
                for (size_t j = 0; j < n; ++j)
                    acc[j] = l.c_fc_bias[j];
                for (size_t i = 0; i < d; ++i) {
                    const double a = (*out)[t * d + i];
                    const float* wr = l.c_fc_weight.data() + i * n;
                    for (size_t j = 0; j < n; ++j)
                        acc[j] += a * wr[j];
                }
                for (size_t j = 0; j < n; ++j)
                    fc[t * n + j] = acc[j];
            }
            if (Status st = visit(layer_prefix(layer) + "mlp.fc", uint32_t(rows), uint32_t(n), fc); !st)
                return st;
        }
    }
    if (vm.status != VmStatus::Ready)
        return make_error(ErrorCode::Invalid, "the float32 program halted before its SAMPLE");
    return Ok{};
}

Result<GptCalibration> calibrate_gpt(const GptConfig& c, const GptWeights& w, const Bpe& tokenizer,
                                     std::span<const int32_t> ids, uint32_t max_windows) {
    if (ids.empty()) return make_error(ErrorCode::Usage, "calibration: the text has no tokens");
    GptBuildOptions o;
    o.max_new_tokens = 1;
    auto img = build_gpt(c, w, tokenizer, o);
    if (!img) return img.error();
    auto regions = find_gpt_regions(*img);
    if (!regions) return regions.error();
    GptCalibration cal;
    // The tensors the uint8 graph quantizes: not its gathers (they copy wte and wpe codes) nor the
    // head (the exact int32 products).
    const GptActivationVisitor note = [&](const std::string& name, uint32_t, uint32_t,
                                          std::span<const double> values) -> Status {
        if (name == "emb" || name == "pos" || name == "ln_last" || name == "logits") return Ok{};
        for (double v : values) {
            auto [it, fresh] = cal.ranges.try_emplace(name, v, v);
            if (!fresh) it->second = {std::min(it->second.first, v), std::max(it->second.second, v)};
        }
        return Ok{};
    };
    for (size_t start = 0; start < ids.size(); start += c.context) {
        if (max_windows && cal.windows == max_windows) break;
        const std::span<const int32_t> window =
            ids.subspan(start, std::min<size_t>(c.context, ids.size() - start));
        if (Status st = run_gpt_float_prefill(*img, *regions, window, &w, note); !st)
            return make_error(st.error().code, "calibration: " + st.error().message);
        cal.tokens += window.size();
        ++cal.windows;
    }
    return cal;
}

// ---- The uint8 program ----

namespace {

struct Slot {
    std::string name;
    DType type = DType::U8;
    MatrixHeader reserve;
    std::vector<uint8_t> u8;          // u8 contents (empty: scratch or state)
    std::vector<int32_t> i32;         // i32 contents
    std::optional<QuantParams> quant; // written to the symbols as scale / zero_point
};

// One rounding multiplier for QMATMUL and friends; the real value must be positive and < 2^30.
Result<Multiplier> multiplier(double real, const std::string& what) {
    auto m = quantize_multiplier(real);
    if (!m) return make_error(ErrorCode::Usage, what + ": " + m.error().message);
    return m;
}

// Two multipliers with one shift (QADD): the larger one sets the shift, the smaller follows.
Result<std::pair<Multiplier, int32_t>> common_multipliers(double a, double b, const std::string& what) {
    auto big = multiplier(std::max(a, b), what);
    if (!big) return big.error();
    const double small = std::min(a, b);
    const int32_t m_small = int32_t(std::llround(std::ldexp(small, big->shift)));
    Multiplier ma = *big, mb = *big;
    (a >= b ? mb : ma).m = m_small;
    return std::pair{ma, mb.m};
}

Rgba i32_pixel(int32_t v) {
    return i32_to_rgba(v);
}

} // namespace

Result<Image> build_gpt_u8(const GptConfig& c, const GptWeights& w, const Bpe& tokenizer,
                           const GptCalibration& cal, const GptBuildOptions& options) {
    using gpt_detail::columns;
    using gpt_detail::Emitter;
    using gpt_detail::transpose;
    const uint32_t d = c.width, V = c.vocab, C = c.context, L = c.layers, H = c.heads;
    if (Status st = gpt_detail::check_gpt_build(c, w, tokenizer, options); !st) return st.error();
    if (4 * d > 8192) return make_error(ErrorCode::Usage, "QLAYERNORM takes rows of at most 8192 elements");

    // Activation scales from the calibration ranges.
    std::map<std::string, QuantParams> act;
    auto need = [&](const std::string& name) -> std::optional<Error> {
        auto it = cal.ranges.find(name);
        if (it == cal.ranges.end())
            return make_error(ErrorCode::Usage, "the calibration has no range for \"" + name + "\"");
        act[name] = choose_quant_params(it->second.first, it->second.second);
        return std::nullopt;
    };
    std::vector<std::string> act_names = {"x0", "ln_f.out"};
    for (uint32_t i = 0; i < L; ++i)
        for (const char* s : {"ln_1.out", "attn.q", "attn.k", "attn.v", "attn.out", "attn.proj", "x_attn",
                              "ln_2.out", "mlp.fc", "mlp.gelu", "mlp.proj", "x_out"})
            act_names.push_back(layer_prefix(i) + s);
    for (const std::string& n : act_names)
        if (auto e = need(n)) return *e;

    // Weights: per-tensor asymmetric uint8 over each matrix's own range.
    auto range_of = [](const std::vector<float>& v) {
        auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        return choose_quant_params(*lo, *hi);
    };
    auto codes = [](const std::vector<float>& v, const QuantParams& q) {
        std::vector<uint8_t> out(v.size());
        for (size_t i = 0; i < v.size(); ++i)
            out[i] = quantize(v[i], q);
        return out;
    };
    auto biases = [](const std::vector<float>& v, double scale) {
        std::vector<int32_t> out(v.size());
        for (size_t i = 0; i < v.size(); ++i)
            out[i] = quantize_bias(v[i], scale);
        return out;
    };

    std::vector<Slot> slots;
    std::map<std::string, size_t> index;
    auto add = [&](Slot s) {
        index[s.name] = slots.size();
        slots.push_back(std::move(s));
    };
    auto add_u8 = [&](const std::string& name, uint32_t rows, uint32_t cols, std::vector<uint8_t> v,
                      std::optional<QuantParams> q) {
        add({name, DType::U8, {cols, rows}, std::move(v), {}, q});
    };
    auto add_i32 = [&](const std::string& name, uint32_t rows, uint32_t cols, std::vector<int32_t> v,
                       std::optional<QuantParams> q = std::nullopt) {
        add({name, DType::I32, {cols, rows}, {}, std::move(v), q});
    };
    std::map<std::string, QuantParams> wq; // weight quantization, by region name
    auto add_weight = [&](const std::string& name, uint32_t rows, uint32_t cols,
                          const std::vector<float>& v) {
        wq[name] = range_of(v);
        add_u8(name, rows, cols, codes(v, wq[name]), wq[name]);
    };
    // QLAYERNORM's 2 x N gain/bias rows (PROTOCOL.md §16): G = gamma 2^(shift-16) / s_c and
    // B = beta 2^shift / s_c, with the largest shift (up to 40) that keeps both below 2^30.
    std::map<std::string, uint8_t> ln_shift;
    std::optional<Error> failed;
    auto add_ln = [&](const std::string& name, const std::vector<float>& gamma,
                      const std::vector<float>& beta, const QuantParams& out) {
        double gmax = 0, bmax = 0;
        for (size_t j = 0; j < gamma.size(); ++j)
            gmax = std::max(gmax, std::abs(double(gamma[j])) / out.scale),
            bmax = std::max(bmax, std::abs(double(beta[j])) / out.scale);
        int shift = 40;
        while (shift > 17 && (std::ldexp(gmax, shift - 16) >= 0x1p30 || std::ldexp(bmax, shift) >= 0x1p30))
            --shift;
        if (std::ldexp(gmax, shift - 16) >= 0x1p30 || std::ldexp(bmax, shift) >= 0x1p30) {
            if (!failed)
                failed = make_error(ErrorCode::Usage, name + ": gain or bias too large for its output scale");
            shift = 17;
        }
        std::vector<int32_t> v(2 * gamma.size());
        for (size_t j = 0; j < gamma.size(); ++j) {
            v[j] = int32_t(std::llround(std::ldexp(double(gamma[j]) / out.scale, shift - 16)));
            v[gamma.size() + j] = int32_t(std::llround(std::ldexp(double(beta[j]) / out.scale, shift)));
        }
        ln_shift[name] = uint8_t(shift);
        add_i32(name, 2, uint32_t(gamma.size()), std::move(v));
    };

    add_weight("wte", V, d, w.wte);
    add_u8("wte_t", d, V, transpose(slots.back().u8, V, d), wq["wte"]);
    add_weight("wpe", C, d, w.wpe);
    for (uint32_t i = 0; i < L; ++i) {
        const GptLayerWeights& l = w.layers[i];
        const std::string p = layer_prefix(i);
        add_ln(p + "ln_1.gain_bias", l.ln_1_weight, l.ln_1_bias, act[p + "ln_1.out"]);
        const char* qkv[3] = {"q", "k", "v"};
        for (uint32_t k = 0; k < 3; ++k) {
            const std::string wn = p + "attn.w" + qkv[k];
            add_weight(wn, d, d, columns(l.c_attn_weight, d, 3 * d, k * d, d));
            const double s = act[p + "ln_1.out"].scale * wq[wn].scale;
            add_i32(p + "attn.b" + qkv[k], 1, d, biases(columns(l.c_attn_bias, 1, 3 * d, k * d, d), s),
                    QuantParams{s, 0});
        }
        add_weight(p + "attn.c_proj.weight", d, d, l.attn_proj_weight);
        {
            const double s = act[p + "attn.out"].scale * wq[p + "attn.c_proj.weight"].scale;
            add_i32(p + "attn.c_proj.bias", 1, d, biases(l.attn_proj_bias, s), QuantParams{s, 0});
        }
        add_ln(p + "ln_2.gain_bias", l.ln_2_weight, l.ln_2_bias, act[p + "ln_2.out"]);
        add_weight(p + "mlp.c_fc.weight", d, 4 * d, l.c_fc_weight);
        {
            const double s = act[p + "ln_2.out"].scale * wq[p + "mlp.c_fc.weight"].scale;
            add_i32(p + "mlp.c_fc.bias", 1, 4 * d, biases(l.c_fc_bias, s), QuantParams{s, 0});
        }
        // GELU as a table over the 256 codes of its input (QLUT).
        std::vector<uint8_t> table(256);
        for (int q = 0; q < 256; ++q)
            table[q] = quantize(gelu_tanh(dequantize(q, act[p + "mlp.fc"])), act[p + "mlp.gelu"]);
        add_u8(p + "mlp.gelu_table", 1, 256, std::move(table), std::nullopt);
        add_weight(p + "mlp.c_proj.weight", 4 * d, d, l.mlp_proj_weight);
        {
            const double s = act[p + "mlp.gelu"].scale * wq[p + "mlp.c_proj.weight"].scale;
            add_i32(p + "mlp.c_proj.bias", 1, d, biases(l.mlp_proj_bias, s), QuantParams{s, 0});
        }
    }
    add_ln("ln_f.gain_bias", w.ln_f_weight, w.ln_f_bias, act["ln_f.out"]);
    if (failed) return *failed;

    // State (the float32 program's names and types, caches in uint8).
    add_i32("tokens", C + 1, 1, {});
    add_i32("next_token", 1, 1, {});
    add_i32("rng_state", 1, 1, {});
    add_i32("loop_counter", 1, 1, {});
    for (uint32_t i = 0; i < L; ++i) {
        add_u8(layer_prefix(i) + "attn.k_cache", C, d, {}, act[layer_prefix(i) + "attn.k"]);
        add_u8(layer_prefix(i) + "attn.v_cache", C, d, {}, act[layer_prefix(i) + "attn.v"]);
    }
    const uint32_t logit_rows = options.all_logits ? C : 1;
    const double logit_scale = act["ln_f.out"].scale * wq["wte"].scale;
    add_i32("logits_i32", logit_rows, V, {}, QuantParams{logit_scale, 0});
    add({"logits", DType::F32, {V, logit_rows}, {}, {}, std::nullopt});
    add({"logits_penalized", DType::F32, {V, 1}, {}, {}, std::nullopt});
    // Activations: one region per tensor, so each has one scale (shapes follow the pass).
    add_u8("emb", C, d, {}, wq["wte"]);
    add_u8("pos", C, d, {}, wq["wpe"]);
    for (const std::string& n : act_names) {
        const bool wide = n.ends_with("mlp.fc") || n.ends_with("mlp.gelu");
        add_u8(n, C, wide ? 4 * d : d, {}, act[n]);
    }
    if (!options.all_logits) add_u8("ln_last", 1, d, {}, act["ln_f.out"]);

    // Width and allocation as the float32 builder: row 0 holds both passes, at most 7 pixels an
    // instruction (WIDE, opcode, up to 5 parameter pixels).
    const uint32_t pass = 3 + 14 * L + 3 + 5; // embed, blocks, head, PENALIZE SAMPLE APPEND LOOP HALT
    const uint32_t row0 = 7 * (2 * pass + (options.all_logits ? 0 : 1));
    std::vector<MatrixHeader> shapes;
    for (const Slot& s : slots)
        shapes.push_back(s.reserve);
    auto size = gpt_detail::size_gpt_image(shapes, row0, tokenizer, c.parameters());
    if (!size) return size.error();
    const uint32_t width = size->width;
    const Allocation& al = size->rows;
    Image img = make_image(width, size->height);
    auto row = [&](const std::string& name) { return al.rows[index.at(name)]; };
    for (size_t i = 0; i < slots.size(); ++i) {
        const Slot& s = slots[i];
        const uint32_t r = al.rows[i];
        if (!s.u8.empty()) {
            if (Status st = write_matrix(img, r, s.reserve, s.u8); !st) return st.error();
        } else if (!s.i32.empty()) {
            img.set_pixel(0, r, encode_header(s.reserve));
            for (size_t k = 0; k < s.i32.size(); ++k)
                img.set_pixel(element_x(k, width), uint32_t(element_y(k, r, width)), i32_pixel(s.i32[k]));
        } else {
            img.set_pixel(0, r, encode_header(s.reserve)); // scratch or state: a header, zero elements
        }
    }

    // ---- row 0 ----
    Emitter e{img};
    auto q_of = [&](const std::string& region) -> const QuantParams& {
        return *slots[index.at(region)].quant;
    };
    auto zp = [&](const std::string& region) { return uint8_t(q_of(region).zero_point); };
    auto gather = [&](const std::string& table, const std::string& by, const std::string& out,
                      GatherMode mode, uint8_t by_type) {
        gpt_detail::emit_gather(e, {row(table), row(by), row(out)}, mode, 0, by_type);
    };
    auto qadd = [&](const std::string& a, const std::string& b, const std::string& out) -> Status {
        const double sc = q_of(out).scale;
        auto m = common_multipliers(q_of(a).scale / sc, q_of(b).scale / sc, "QADD into " + out);
        if (!m) return m.error();
        QAddParams p;
        p.za = zp(a), p.zb = zp(b), p.zc = zp(out), p.shift = m->first.shift;
        p.ma = m->first.m, p.mb = m->second;
        e.emit(Opcode::QADD, {row(a), row(b), row(out)}, encode_params(p));
        return Ok{};
    };
    auto qmatmul = [&](const std::string& a, const std::string& b, const std::string& out,
                       const std::string& bias) -> Status {
        auto m = multiplier(q_of(a).scale * q_of(b).scale / q_of(out).scale, "QMATMUL into " + out);
        if (!m) return m.error();
        QMatmulParams p;
        p.za = zp(a), p.zb = zp(b), p.zc = zp(out), p.shift = m->shift, p.multiplier = m->m;
        p.bias_row = uint16_t(row(bias));
        e.emit(Opcode::QMATMUL, {row(a), row(b), row(out)}, encode_params(p));
        return Ok{};
    };
    auto qlayernorm = [&](const std::string& a, const std::string& gb, const std::string& out) {
        const double sa = q_of(a).scale;
        const double E = std::nearbyint(c.layer_norm_eps * double(d) * double(d) / (sa * sa));
        const int32_t eps = int32_t(std::clamp(E, 0.0, double(std::numeric_limits<int32_t>::max())));
        QLayerNormParams p;
        p.za = zp(a), p.zc = zp(out), p.shift = ln_shift.at(gb), p.eps = eps;
        e.emit(Opcode::QLAYERNORM, {row(a), row(gb), row(out)}, encode_params(p));
    };
    auto append = [&](const std::string& a, const std::string& out) {
        gpt_detail::emit_append(e, row(a), row(out), C, 0);
    };
    auto qattention = [&](const std::string& p) -> Status {
        const double sq = q_of(p + "attn.q").scale, sk = q_of(p + "attn.k").scale;
        const double sv = q_of(p + "attn.v").scale, so = q_of(p + "attn.out").scale;
        auto ms = multiplier(sq * sk / std::sqrt(double(c.head_width())) * std::ldexp(1.0, kAttnF),
                             p + "attn: the score multiplier");
        if (!ms) return ms.error();
        auto mo = multiplier(sv / (so * std::ldexp(1.0, kAttnP)), p + "attn: the output multiplier");
        if (!mo) return mo.error();
        QAttentionParams a;
        a.zq = zp(p + "attn.q"), a.zk = zp(p + "attn.k"), a.zv = zp(p + "attn.v"), a.zc = zp(p + "attn.out");
        a.v_row = uint16_t(row(p + "attn.v_cache")), a.heads = uint16_t(H);
        a.ms = ms->m, a.mo = mo->m, a.shift_s = ms->shift, a.shift_o = mo->shift;
        e.emit(Opcode::QATTENTION, {row(p + "attn.q"), row(p + "attn.k_cache"), row(p + "attn.out")},
               encode_params(a));
        return Ok{};
    };
    auto block = [&](uint32_t i) -> Status {
        const std::string p = layer_prefix(i);
        const std::string x_in = i == 0 ? "x0" : layer_prefix(i - 1) + "x_out";
        qlayernorm(x_in, p + "ln_1.gain_bias", p + "ln_1.out");
        for (const char* k : {"q", "k", "v"})
            if (Status st = qmatmul(p + "ln_1.out", p + "attn.w" + k, p + "attn." + k, p + "attn.b" + k); !st)
                return st;
        append(p + "attn.k", p + "attn.k_cache");
        append(p + "attn.v", p + "attn.v_cache");
        if (Status st = qattention(p); !st) return st;
        if (Status st =
                qmatmul(p + "attn.out", p + "attn.c_proj.weight", p + "attn.proj", p + "attn.c_proj.bias");
            !st)
            return st;
        if (Status st = qadd(x_in, p + "attn.proj", p + "x_attn"); !st) return st;
        qlayernorm(p + "x_attn", p + "ln_2.gain_bias", p + "ln_2.out");
        if (Status st = qmatmul(p + "ln_2.out", p + "mlp.c_fc.weight", p + "mlp.fc", p + "mlp.c_fc.bias");
            !st)
            return st;
        e.emit(Opcode::QLUT, {row(p + "mlp.fc"), row(p + "mlp.gelu_table"), row(p + "mlp.gelu")}, {});
        if (Status st =
                qmatmul(p + "mlp.gelu", p + "mlp.c_proj.weight", p + "mlp.proj", p + "mlp.c_proj.bias");
            !st)
            return st;
        return qadd(p + "x_attn", p + "mlp.proj", p + "x_out");
    };
    const std::string x_last = layer_prefix(L - 1) + "x_out";
    auto head = [&](bool last_row_only) {
        qlayernorm(x_last, "ln_f.gain_bias", "ln_f.out");
        std::string in = "ln_f.out";
        if (last_row_only) {
            gather("ln_f.out", "ln_f.out", "ln_last", GatherMode::Last, 0);
            in = "ln_last";
        }
        QMatmul32Params p;
        p.za = zp(in), p.zb = zp("wte_t");
        e.emit(Opcode::QMATMUL32, {row(in), row("wte_t"), row("logits_i32")}, encode_params(p));
        QConvertParams dq;
        dq.dtype = {3, 0, 1, 0};
        dq.scale_bits = std::bit_cast<uint32_t>(float(logit_scale));
        dq.zero_point = 0;
        e.emit(Opcode::DEQUANT, {row("logits_i32"), 0, row("logits")}, encode_params(dq));
    };
    const gpt_detail::PassEndRows ends{row("logits"),    row("logits_penalized"), row("tokens"),
                                       row("rng_state"), row("next_token"),       row("loop_counter")};
    std::vector<uint32_t> loop_targets;
    auto tail = [&]() { gpt_detail::emit_pass_end(e, ends, options, C, loop_targets); };
    // Prefill, then decode (docs/gpt-program.md: the same two passes as the float32 program);
    // both LOOPs jump to the decode pass.
    uint32_t decode_pc = 0;
    for (bool decode_pass : {false, true}) {
        if (decode_pass) decode_pc = e.x;
        gather("wte", decode_pass ? "next_token" : "tokens", "emb", GatherMode::Index, 3);
        gather("wpe", "tokens", "pos", decode_pass ? GatherMode::Last : GatherMode::Prefix, 3);
        if (Status st = qadd("emb", "pos", "x0"); !st) return st.error();
        for (uint32_t i = 0; i < L; ++i)
            if (Status st = block(i); !st) return st.error();
        head(!decode_pass && !options.all_logits);
        tail();
    }
    gpt_detail::set_loop_targets(img, loop_targets, decode_pc);
    if (e.x > width) return make_error(ErrorCode::Usage, "internal: row 0 overflowed the width");

    // ---- debug symbols, the build chunk, the tokenizer, the prompt and the sampling settings ----
    std::vector<Region> regions;
    for (size_t i = 0; i < slots.size(); ++i) {
        Region r = gpt_detail::symbol_region(slots[i].name, al.rows[i], slots[i].reserve, slots[i].type);
        if (slots[i].quant) r.scale = slots[i].quant->scale, r.zero_point = slots[i].quant->zero_point;
        regions.push_back(std::move(r));
    }
    nlohmann::json chunk = {
        {"version", 1},
        {"model", "gpt"},
        {"dtype", "u8"},
        {"layers", L},
        {"width", d},
        {"heads", H},
        {"context", C},
        {"vocab", V},
        {"layer_norm_eps", c.layer_norm_eps},
        {"attention_scale", float(1.0 / std::sqrt(double(c.head_width())))},
        {"logits", options.all_logits ? "all" : "last"},
        {"calibration", {{"tokens", cal.tokens}, {"windows", cal.windows}, {"clip", "min-max"}}}};
    if (Status st =
            gpt_detail::finish_gpt_image(img, std::move(regions), chunk, al.height, tokenizer, options);
        !st)
        return st.error();
    return img;
}

} // namespace px
