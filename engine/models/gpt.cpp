#include "gpt.h"

#include "fmath.h"

#include "debuginfo.h"
#include "dtype.h"
#include "gpt_build.h"
#include "layout.h"
#include "npz.h"
#include "ops/gen_ops.h"
#include "ops/op_params.h"
#include "pixellm.h" // SplitMix64
#include "protocol.h"
#include "tokenizer_image.h"
#include "vm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace px {

// ---- config.json ----

uint64_t GptConfig::parameters() const {
    const uint64_t d = width;
    return uint64_t(vocab) * d + uint64_t(context) * d + uint64_t(layers) * (12 * d * d + 13 * d) + 2 * d;
}

Result<GptConfig> parse_gpt_config(std::string_view json_text, const std::string& name) {
    nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::Usage, name + ": not a JSON object");
    auto bad = [&](const std::string& what) { return make_error(ErrorCode::Usage, name + ": " + what); };
    auto str = [&](const char* key, const char* want) -> std::string {
        if (!j.contains(key)) return std::string("\"") + key + "\" is missing (want \"" + want + "\")";
        if (!j[key].is_string() || j[key].get<std::string>() != want)
            return std::string("\"") + key + "\" is " + j[key].dump() + ", want \"" + want + "\"";
        return "";
    };
    for (auto [key, want] : {std::pair{"model", "gpt"}, std::pair{"activation", "gelu_tanh"}})
        if (std::string e = str(key, want); !e.empty()) return bad(e);
    if (!j.contains("tied_head") || !j["tied_head"].is_boolean() || !j["tied_head"].get<bool>())
        return bad("\"tied_head\" must be true (the head is wte transposed; docs/gpt-weights.md)");
    if (j.contains("dtype") && j["dtype"] != "float32")
        return bad("\"dtype\" is " + j["dtype"].dump() + ", want \"float32\"");
    GptConfig c;
    auto uint_field = [&](const char* key, uint32_t lo, uint32_t hi, uint32_t& out) -> std::string {
        if (!j.contains(key)) return std::string("\"") + key + "\" is missing";
        const auto& v = j[key];
        if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
            return std::string("\"") + key + "\" is " + v.dump() + ", want an integer " + std::to_string(lo) +
                   ".." + std::to_string(hi);
        out = uint32_t(v.get<int64_t>());
        return "";
    };
    // Bounds: every matrix header holds 16-bit rows and columns (PROTOCOL.md §3): the MLP is
    // d x 4d, the head d x V, the sequence C + 1 rows.
    for (auto [key, lo, hi, out] :
         {std::tuple{"layers", 1u, 1000u, &c.layers}, std::tuple{"width", 1u, 16383u, &c.width},
          std::tuple{"heads", 1u, 16383u, &c.heads}, std::tuple{"context", 1u, 65534u, &c.context},
          std::tuple{"vocab", 1u, 65535u, &c.vocab}})
        if (std::string e = uint_field(key, lo, hi, *out); !e.empty()) return bad(e);
    if (c.width % c.heads != 0)
        return bad("\"heads\" " + std::to_string(c.heads) + " does not divide \"width\" " +
                   std::to_string(c.width));
    if (j.contains("head_width") && j["head_width"] != c.width / c.heads)
        return bad("\"head_width\" is " + j["head_width"].dump() +
                   ", want width / heads = " + std::to_string(c.width / c.heads));
    if (j.contains("mlp_width") && j["mlp_width"] != 4 * c.width)
        return bad("\"mlp_width\" is " + j["mlp_width"].dump() +
                   ", want 4 * width = " + std::to_string(4 * c.width));
    if (!j.contains("layer_norm_eps") || !j["layer_norm_eps"].is_number())
        return bad("\"layer_norm_eps\" is missing or not a number");
    c.layer_norm_eps = j["layer_norm_eps"].get<double>();
    const float eps32 = float(c.layer_norm_eps);
    if (!(c.layer_norm_eps >= 0) || !std::isfinite(eps32) || (eps32 != 0 && !std::isnormal(eps32)) ||
        (eps32 != 0 && std::bit_cast<uint32_t>(eps32) <= 0x00800000u))
        return bad("\"layer_norm_eps\" " + j["layer_norm_eps"].dump() +
                   " is not 0 or a positive normal float32 above 2^-126 (PROTOCOL.md §11.6)");
    return c;
}

Result<GptConfig> read_gpt_config(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(ErrorCode::Io, path + ": cannot open");
    std::stringstream s;
    s << f.rdbuf();
    return parse_gpt_config(s.str(), path);
}

// ---- best.npz ----

namespace {

std::string shape_text(const std::vector<uint64_t>& s) {
    std::string t = "[";
    for (size_t i = 0; i < s.size(); ++i)
        t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
}

struct NpzReader {
    const std::map<std::string, NpyArray>& arrays;
    const std::string& file;
    std::string error;
    std::vector<float> get(const std::string& key, std::vector<uint64_t> shape) {
        if (!error.empty()) return {};
        auto it = arrays.find(key);
        if (it == arrays.end()) {
            error = file + ": array '" + key + "' is missing (want " + shape_text(shape) +
                    ", docs/gpt-weights.md)";
            return {};
        }
        const NpyArray& a = it->second;
        if (a.shape != shape) {
            error = file + ": array '" + key + "' has shape " + shape_text(a.shape) + ", want " +
                    shape_text(shape);
            return {};
        }
        if (a.dtype != NpyDtype::F32 && a.dtype != NpyDtype::F64) {
            error = file + ": array '" + key + "' is " + std::string(npy_dtype_descr(a.dtype)) +
                    ", want float32 (<f4) or float64 (<f8)";
            return {};
        }
        const std::vector<double> v = a.as_double();
        return std::vector<float>(v.begin(), v.end());
    }
};

} // namespace

Result<GptWeights> gpt_weights_from_npz(const std::map<std::string, NpyArray>& arrays, const GptConfig& c,
                                        const std::string& name) {
    NpzReader r{arrays, name, {}};
    const uint64_t d = c.width, V = c.vocab, T = c.context;
    GptWeights w;
    w.wte = r.get("wte", {V, d});
    w.wpe = r.get("wpe", {T, d});
    for (uint32_t i = 0; i < c.layers; ++i) {
        const std::string h = "h." + std::to_string(i) + ".";
        GptLayerWeights l;
        l.ln_1_weight = r.get(h + "ln_1.weight", {d});
        l.ln_1_bias = r.get(h + "ln_1.bias", {d});
        l.c_attn_weight = r.get(h + "attn.c_attn.weight", {d, 3 * d});
        l.c_attn_bias = r.get(h + "attn.c_attn.bias", {3 * d});
        l.attn_proj_weight = r.get(h + "attn.c_proj.weight", {d, d});
        l.attn_proj_bias = r.get(h + "attn.c_proj.bias", {d});
        l.ln_2_weight = r.get(h + "ln_2.weight", {d});
        l.ln_2_bias = r.get(h + "ln_2.bias", {d});
        l.c_fc_weight = r.get(h + "mlp.c_fc.weight", {d, 4 * d});
        l.c_fc_bias = r.get(h + "mlp.c_fc.bias", {4 * d});
        l.mlp_proj_weight = r.get(h + "mlp.c_proj.weight", {4 * d, d});
        l.mlp_proj_bias = r.get(h + "mlp.c_proj.bias", {d});
        w.layers.push_back(std::move(l));
    }
    w.ln_f_weight = r.get("ln_f.weight", {d});
    w.ln_f_bias = r.get("ln_f.bias", {d});
    if (!r.error.empty()) return make_error(ErrorCode::Usage, r.error);
    // A layer beyond the config is a config/weights mismatch, not something to ignore silently.
    if (arrays.count("h." + std::to_string(c.layers) + ".ln_1.weight"))
        return make_error(ErrorCode::Usage, name + ": has array 'h." + std::to_string(c.layers) +
                                                ".ln_1.weight' but the config says " +
                                                std::to_string(c.layers) + " layers");
    return w;
}

Result<GptWeights> load_gpt_weights(const std::string& path, const GptConfig& config) {
    auto arrays = read_npz(path);
    if (!arrays) return arrays.error();
    return gpt_weights_from_npz(*arrays, config, path);
}

namespace {

// n normals N(0, sd) from rng (pixellm.h's SplitMix64 and Box-Muller, one value per two draws).
std::vector<float> normals(SplitMix64& rng, uint64_t n, double sd) {
    std::vector<float> v(n);
    for (float& x : v)
        x = float(sd * rng.normal());
    return v;
}

} // namespace

GptWeights random_gpt_weights(const GptConfig& c, uint64_t seed) {
    SplitMix64 rng{seed};
    const uint64_t d = c.width;
    const double sd = 0.02, sd_proj = 0.02 / std::sqrt(2.0 * double(c.layers));
    GptWeights w;
    w.wte = normals(rng, uint64_t(c.vocab) * d, sd);
    w.wpe = normals(rng, uint64_t(c.context) * d, sd);
    for (uint32_t l = 0; l < c.layers; ++l) {
        GptLayerWeights L;
        L.ln_1_weight.assign(d, 1.0f), L.ln_1_bias.assign(d, 0.0f);
        L.c_attn_weight = normals(rng, d * 3 * d, sd), L.c_attn_bias.assign(3 * d, 0.0f);
        L.attn_proj_weight = normals(rng, d * d, sd_proj), L.attn_proj_bias.assign(d, 0.0f);
        L.ln_2_weight.assign(d, 1.0f), L.ln_2_bias.assign(d, 0.0f);
        L.c_fc_weight = normals(rng, d * 4 * d, sd), L.c_fc_bias.assign(4 * d, 0.0f);
        L.mlp_proj_weight = normals(rng, 4 * d * d, sd_proj), L.mlp_proj_bias.assign(d, 0.0f);
        w.layers.push_back(std::move(L));
    }
    w.ln_f_weight.assign(d, 1.0f), w.ln_f_bias.assign(d, 0.0f);
    return w;
}

std::map<std::string, NpyArray> gpt_weights_to_npz(const GptWeights& w, const GptConfig& c) {
    const uint64_t d = c.width, V = c.vocab, T = c.context;
    std::map<std::string, NpyArray> a;
    a["wte"] = make_npy_f32({V, d}, w.wte);
    a["wpe"] = make_npy_f32({T, d}, w.wpe);
    for (uint32_t i = 0; i < w.layers.size(); ++i) {
        const std::string h = "h." + std::to_string(i) + ".";
        const GptLayerWeights& l = w.layers[i];
        a[h + "ln_1.weight"] = make_npy_f32({d}, l.ln_1_weight);
        a[h + "ln_1.bias"] = make_npy_f32({d}, l.ln_1_bias);
        a[h + "attn.c_attn.weight"] = make_npy_f32({d, 3 * d}, l.c_attn_weight);
        a[h + "attn.c_attn.bias"] = make_npy_f32({3 * d}, l.c_attn_bias);
        a[h + "attn.c_proj.weight"] = make_npy_f32({d, d}, l.attn_proj_weight);
        a[h + "attn.c_proj.bias"] = make_npy_f32({d}, l.attn_proj_bias);
        a[h + "ln_2.weight"] = make_npy_f32({d}, l.ln_2_weight);
        a[h + "ln_2.bias"] = make_npy_f32({d}, l.ln_2_bias);
        a[h + "mlp.c_fc.weight"] = make_npy_f32({d, 4 * d}, l.c_fc_weight);
        a[h + "mlp.c_fc.bias"] = make_npy_f32({4 * d}, l.c_fc_bias);
        a[h + "mlp.c_proj.weight"] = make_npy_f32({4 * d, d}, l.mlp_proj_weight);
        a[h + "mlp.c_proj.bias"] = make_npy_f32({d}, l.mlp_proj_bias);
    }
    a["ln_f.weight"] = make_npy_f32({d}, w.ln_f_weight);
    a["ln_f.bias"] = make_npy_f32({d}, w.ln_f_bias);
    return a;
}

// ---- The program ----

namespace {

// One region of the image: its name, element type, the rows x cols it reserves (a cache or the
// sequence reserves its capacity), and its contents when the builder writes them.
struct Slot {
    std::string name;
    DType type = DType::F32;
    MatrixHeader reserve;      // what allocation reserves and the symbols declare
    std::vector<float> values; // f32 weights (empty: scratch or state)
};

// Upper bound of row 0's pixels: 5 per instruction (WIDE, opcode, up to 3 parameter pixels).
uint32_t instruction_count(const GptConfig& c, bool all_logits) {
    const uint32_t pass =
        3 + 13 * c.layers + 2 + 5; // embed, blocks, LN + head, PENALIZE SAMPLE APPEND LOOP HALT
    return 2 * pass + (all_logits ? 0 : 1);
}

} // namespace

Result<Image> build_gpt(const GptConfig& c, const GptWeights& w, const Bpe& tokenizer,
                        const GptBuildOptions& options) {
    using gpt_detail::columns;
    using gpt_detail::Emitter;
    using gpt_detail::transpose;
    const uint32_t d = c.width, V = c.vocab, C = c.context, L = c.layers;
    if (Status st = gpt_detail::check_gpt_build(c, w, tokenizer, options); !st) return st.error();

    // Every region, in allocation order: weights, then state and scratch.
    std::vector<Slot> slots;
    std::map<std::string, size_t> index;
    auto add = [&](const std::string& name, DType t, uint32_t rows, uint32_t cols,
                   std::vector<float> v = {}) {
        index[name] = slots.size();
        slots.push_back({name, t, {cols, rows}, std::move(v)});
    };
    add("wte", DType::F32, V, d, w.wte);
    add("wte_t", DType::F32, d, V, transpose(w.wte, V, d));
    add("wpe", DType::F32, C, d, w.wpe);
    for (uint32_t i = 0; i < L; ++i) {
        const GptLayerWeights& l = w.layers[i];
        const std::string p = "layer" + std::to_string(i) + ".";
        add(p + "ln_1.gain", DType::F32, 1, d, l.ln_1_weight);
        add(p + "ln_1.bias", DType::F32, 1, d, l.ln_1_bias);
        const char* qkv[3] = {"q", "k", "v"};
        for (uint32_t k = 0; k < 3; ++k) {
            add(p + "attn.w" + qkv[k], DType::F32, d, d, columns(l.c_attn_weight, d, 3 * d, k * d, d));
            add(p + "attn.b" + qkv[k], DType::F32, 1, d, columns(l.c_attn_bias, 1, 3 * d, k * d, d));
        }
        add(p + "attn.c_proj.weight", DType::F32, d, d, l.attn_proj_weight);
        add(p + "attn.c_proj.bias", DType::F32, 1, d, l.attn_proj_bias);
        add(p + "ln_2.gain", DType::F32, 1, d, l.ln_2_weight);
        add(p + "ln_2.bias", DType::F32, 1, d, l.ln_2_bias);
        add(p + "mlp.c_fc.weight", DType::F32, d, 4 * d, l.c_fc_weight);
        add(p + "mlp.c_fc.bias", DType::F32, 1, 4 * d, l.c_fc_bias);
        add(p + "mlp.c_proj.weight", DType::F32, 4 * d, d, l.mlp_proj_weight);
        add(p + "mlp.c_proj.bias", DType::F32, 1, d, l.mlp_proj_bias);
    }
    add("ln_f.gain", DType::F32, 1, d, w.ln_f_weight);
    add("ln_f.bias", DType::F32, 1, d, w.ln_f_bias);
    add("tokens", DType::I32, C + 1, 1);
    add("next_token", DType::I32, 1, 1);
    add("rng_state", DType::I32, 1, 1);
    add("loop_counter", DType::I32, 1, 1);
    for (uint32_t i = 0; i < L; ++i) {
        add("layer" + std::to_string(i) + ".attn.k_cache", DType::F32, C, d);
        add("layer" + std::to_string(i) + ".attn.v_cache", DType::F32, C, d);
    }
    add("logits", DType::F32, options.all_logits ? C : 1, V);
    add("logits_penalized", DType::F32, 1, V);
    for (const char* s : {"x", "x2", "pos", "ln", "q", "k", "v", "attn", "proj"})
        add(s, DType::F32, C, d);
    add("mlp", DType::F32, C, 4 * d);
    if (!options.all_logits) add("ln_last", DType::F32, 1, d);

    // Width: the smallest power of two from 256 that holds row 0 and keeps the height within
    // PROTOCOL.md §8's 16384 rows.
    std::vector<MatrixHeader> shapes;
    for (const Slot& s : slots)
        shapes.push_back(s.reserve);
    const uint32_t row0 = 5 * instruction_count(c, options.all_logits);
    auto size = gpt_detail::size_gpt_image(shapes, row0, tokenizer, c.parameters());
    if (!size) return size.error();
    const uint32_t width = size->width;
    const Allocation& al = size->rows;
    Image img = make_image(width, size->height);
    auto row = [&](const std::string& name) { return al.rows[index.at(name)]; };
    for (size_t i = 0; i < slots.size(); ++i) {
        const Slot& s = slots[i];
        if (s.values.empty()) {
            img.set_pixel(0, al.rows[i], encode_header(s.reserve)); // scratch: a header, zero elements
            continue;
        }
        if (Status st = write_float_matrix(img, al.rows[i], s.reserve, DType::F32, s.values); !st)
            return st.error();
    }

    // ---- row 0 ----
    Emitter e{img};
    const FloatDtypes f32{1, 1, 1, 0};
    auto gather = [&](const std::string& table, const std::string& by, const std::string& out,
                      GatherMode mode, uint8_t by_type) {
        gpt_detail::emit_gather(e, {row(table), row(by), row(out)}, mode, 1, by_type);
    };
    auto fadd = [&](const std::string& a, const std::string& b, const std::string& out) {
        FBinaryParams p;
        p.dtype = f32;
        e.emit(Opcode::FADD, {row(a), row(b), row(out)}, encode_params(p));
    };
    auto fmatmul = [&](const std::string& a, const std::string& b, const std::string& out,
                       const std::string& bias, FActivation act) {
        FMatmulParams p;
        p.dtype = f32;
        p.bias_row = bias.empty() ? 0 : uint16_t(row(bias));
        p.activation = uint8_t(act);
        e.emit(Opcode::FMATMUL, {row(a), row(b), row(out)}, encode_params(p));
    };
    const uint32_t eps_bits = fm::bits(float(c.layer_norm_eps));
    auto layernorm = [&](const std::string& a, const std::string& gain, const std::string& bias,
                         const std::string& out) {
        LayerNormParams p;
        p.dtype = f32;
        p.bias_row = uint16_t(row(bias));
        p.eps_bits = eps_bits;
        e.emit(Opcode::LAYERNORM, {row(a), row(gain), row(out)}, encode_params(p));
    };
    auto append = [&](const std::string& a, const std::string& out) {
        gpt_detail::emit_append(e, row(a), row(out), C, 1);
    };
    const float scale = float(1.0 / std::sqrt(double(c.head_width())));
    auto block = [&](uint32_t i) {
        const std::string p = "layer" + std::to_string(i) + ".";
        layernorm("x", p + "ln_1.gain", p + "ln_1.bias", "ln");
        fmatmul("ln", p + "attn.wq", "q", p + "attn.bq", FActivation::None);
        fmatmul("ln", p + "attn.wk", "k", p + "attn.bk", FActivation::None);
        fmatmul("ln", p + "attn.wv", "v", p + "attn.bv", FActivation::None);
        append("k", p + "attn.k_cache");
        append("v", p + "attn.v_cache");
        FAttentionParams fa;
        fa.dtype = f32;
        fa.v_row = uint16_t(row(p + "attn.v_cache"));
        fa.heads = uint16_t(c.heads);
        fa.scale = fm::bits(scale);
        e.emit(Opcode::FATTENTION, {row("q"), row(p + "attn.k_cache"), row("attn")}, encode_params(fa));
        fmatmul("attn", p + "attn.c_proj.weight", "proj", p + "attn.c_proj.bias", FActivation::None);
        fadd("x", "proj", "x2"); // the residual stream alternates x -> x2 -> x: no in-place add
        layernorm("x2", p + "ln_2.gain", p + "ln_2.bias", "ln");
        fmatmul("ln", p + "mlp.c_fc.weight", "mlp", p + "mlp.c_fc.bias", FActivation::Gelu);
        fmatmul("mlp", p + "mlp.c_proj.weight", "proj", p + "mlp.c_proj.bias", FActivation::None);
        fadd("x2", "proj", "x");
    };
    const gpt_detail::PassEndRows ends{row("logits"),    row("logits_penalized"), row("tokens"),
                                       row("rng_state"), row("next_token"),       row("loop_counter")};
    std::vector<uint32_t> loop_targets;
    auto tail = [&]() { gpt_detail::emit_pass_end(e, ends, options, C, loop_targets); };
    // Prefill over the T tokens of the sequence.
    gather("wte", "tokens", "x2", GatherMode::Index, 3);
    gather("wpe", "tokens", "pos", GatherMode::Prefix, 3);
    fadd("x2", "pos", "x");
    for (uint32_t i = 0; i < L; ++i)
        block(i);
    layernorm("x", "ln_f.gain", "ln_f.bias", "ln");
    if (options.all_logits) {
        fmatmul("ln", "wte_t", "logits", "", FActivation::None);
    } else {
        gather("ln", "ln", "ln_last", GatherMode::Last, 1);
        fmatmul("ln_last", "wte_t", "logits", "", FActivation::None);
    }
    tail();
    // Decode: one token at position rows(tokens) - 1.
    const uint32_t decode_pc = e.x;
    gather("wte", "next_token", "x2", GatherMode::Index, 3);
    gather("wpe", "tokens", "pos", GatherMode::Last, 3);
    fadd("x2", "pos", "x");
    for (uint32_t i = 0; i < L; ++i)
        block(i);
    layernorm("x", "ln_f.gain", "ln_f.bias", "ln");
    fmatmul("ln", "wte_t", "logits", "", FActivation::None);
    tail();
    gpt_detail::set_loop_targets(img, loop_targets, decode_pc);
    if (e.x > width) return make_error(ErrorCode::Usage, "internal: row 0 overflowed the width");

    // ---- debug symbols, the build chunk, the tokenizer, the prompt and the sampling settings ----
    std::vector<Region> regions;
    for (size_t i = 0; i < slots.size(); ++i)
        regions.push_back(
            gpt_detail::symbol_region(slots[i].name, al.rows[i], slots[i].reserve, slots[i].type));
    nlohmann::json chunk = {{"version", 1},
                            {"model", "gpt"},
                            {"layers", L},
                            {"width", d},
                            {"heads", c.heads},
                            {"context", C},
                            {"vocab", V},
                            {"layer_norm_eps", c.layer_norm_eps},
                            {"attention_scale", scale},
                            {"logits", options.all_logits ? "all" : "last"}};
    if (Status st =
            gpt_detail::finish_gpt_image(img, std::move(regions), chunk, al.height, tokenizer, options);
        !st)
        return st.error();
    return img;
}

// ---- Finding the parts again ----

Result<GptWeights> read_gpt_weights(const Image& img, const GptRegions& regions) {
    auto info = read_debug_info(img);
    if (!info) return info.error();
    std::map<std::string, uint32_t> rows;
    for (const Region& r : info.value().regions)
        rows[r.name] = r.row;
    const GptConfig& c = regions.config;
    const uint32_t d = c.width;
    // Every weight is one f32 pixel of the image, so a config with more parameters than the image
    // has pixels cannot be read back; refusing it first bounds what is allocated below by the
    // image (a hostile pxos.gpt's width 16383 made each layer's c_attn 3.2 GB before any read).
    if (c.parameters() > uint64_t(img.width) * img.height)
        return make_error(ErrorCode::Invalid, std::string(kGptKey) + ": " + std::to_string(c.parameters()) +
                                                  " parameters cannot fit in a " + std::to_string(img.width) +
                                                  " x " + std::to_string(img.height) + " image");
    std::optional<Error> failed;
    auto get = [&](const std::string& name, uint32_t r, uint32_t cols) -> std::vector<float> {
        if (failed) return {};
        auto it = rows.find(name);
        if (it == rows.end()) {
            failed = make_error(ErrorCode::Usage, "the image has no region \"" + name + "\"");
            return {};
        }
        auto v = read_float_matrix(img, it->second, DType::F32);
        if (!v) {
            failed = v.error();
            return {};
        }
        if (v.value().size() != size_t(r) * cols) {
            failed = make_error(ErrorCode::Usage, "region \"" + name + "\" (row " +
                                                      std::to_string(it->second) + ") is not " +
                                                      std::to_string(r) + " x " + std::to_string(cols));
            return {};
        }
        return std::move(v.value());
    };
    // Columns [from, from + n) of `out` (rows x cols) become the rows x n block `part`.
    auto put_columns = [](std::vector<float>& out, uint32_t rows_, uint32_t cols, uint32_t from,
                          const std::vector<float>& part, uint32_t n) {
        if (part.size() != size_t(rows_) * n) return;
        for (uint32_t r = 0; r < rows_; ++r)
            std::copy_n(part.begin() + size_t(r) * n, n, out.begin() + size_t(r) * cols + from);
    };
    GptWeights w;
    w.wte = get("wte", c.vocab, d);
    w.wpe = get("wpe", c.context, d);
    for (uint32_t i = 0; i < c.layers && !failed; ++i) {
        const std::string p = "layer" + std::to_string(i) + ".";
        GptLayerWeights l;
        l.ln_1_weight = get(p + "ln_1.gain", 1, d);
        l.ln_1_bias = get(p + "ln_1.bias", 1, d);
        l.c_attn_weight.assign(size_t(d) * 3 * d, 0.0f);
        l.c_attn_bias.assign(size_t(3) * d, 0.0f);
        const char* qkv[3] = {"q", "k", "v"};
        for (uint32_t k = 0; k < 3; ++k) {
            put_columns(l.c_attn_weight, d, 3 * d, k * d, get(p + "attn.w" + qkv[k], d, d), d);
            put_columns(l.c_attn_bias, 1, 3 * d, k * d, get(p + "attn.b" + qkv[k], 1, d), d);
        }
        l.attn_proj_weight = get(p + "attn.c_proj.weight", d, d);
        l.attn_proj_bias = get(p + "attn.c_proj.bias", 1, d);
        l.ln_2_weight = get(p + "ln_2.gain", 1, d);
        l.ln_2_bias = get(p + "ln_2.bias", 1, d);
        l.c_fc_weight = get(p + "mlp.c_fc.weight", d, 4 * d);
        l.c_fc_bias = get(p + "mlp.c_fc.bias", 1, 4 * d);
        l.mlp_proj_weight = get(p + "mlp.c_proj.weight", 4 * d, d);
        l.mlp_proj_bias = get(p + "mlp.c_proj.bias", 1, d);
        w.layers.push_back(std::move(l));
    }
    w.ln_f_weight = get("ln_f.gain", 1, d);
    w.ln_f_bias = get("ln_f.bias", 1, d);
    if (failed) return *failed;
    return w;
}

Result<GptRegions> find_gpt_regions(const Image& img) {
    const TextChunk* chunk = find_text(img, std::string(kGptKey));
    if (!chunk)
        return make_error(ErrorCode::Invalid, "not a GPT program: no " + std::string(kGptKey) +
                                                  " text chunk (pxi gpt writes it)");
    nlohmann::json j = nlohmann::json::parse(chunk->text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1)
        return make_error(ErrorCode::Invalid, std::string(kGptKey) + ": malformed or unknown version");
    GptRegions g;
    try {
        g.config.layers = j.at("layers").get<uint32_t>();
        g.config.width = j.at("width").get<uint32_t>();
        g.config.heads = j.at("heads").get<uint32_t>();
        g.config.context = j.at("context").get<uint32_t>();
        g.config.vocab = j.at("vocab").get<uint32_t>();
        g.config.layer_norm_eps = j.at("layer_norm_eps").get<double>();
        g.all_logits = j.at("logits").get<std::string>() == "all";
        g.weights_u8 = j.value("dtype", std::string("f32")) == "u8";
    } catch (const nlohmann::json::exception& ex) {
        return make_error(ErrorCode::Invalid, std::string(kGptKey) + ": " + ex.what());
    }
    // The same bounds as config.json's (a hostile chunk must not size a write past the image).
    const GptConfig& k = g.config;
    if (k.layers < 1 || k.layers > 1000 || k.width < 1 || k.width > 16383 || k.heads < 1 ||
        k.width % k.heads || k.context < 1 || k.context > 65534 || k.vocab < 1 || k.vocab > 65535)
        return make_error(ErrorCode::Invalid, std::string(kGptKey) + ": sizes out of range: " + chunk->text);
    auto dbg = read_debug_info(img);
    if (!dbg) return dbg.error();
    std::map<std::string, const Region*> by_name;
    for (const Region& r : dbg->regions)
        by_name[r.name] = &r;
    std::string missing;
    auto find = [&](const std::string& name, MatrixHeader want) -> uint32_t {
        auto it = by_name.find(name);
        if (it == by_name.end()) {
            if (missing.empty()) missing = "region '" + name + "' is missing from the debug symbols";
            return 0;
        }
        const Region& r = *it->second;
        if (r.shape != want || r.row == 0 || r.row >= img.height ||
            !typed_matrix_fits(r.row, want, r.type(), img.width, img.height)) {
            if (missing.empty())
                missing = "region '" + name + "' at row " + std::to_string(r.row) + " is " +
                          std::to_string(r.shape.rows) + " x " + std::to_string(r.shape.cols) + ", want " +
                          std::to_string(want.rows) + " x " + std::to_string(want.cols) + " inside the image";
            return 0;
        }
        return r.row;
    };
    const uint32_t d = g.config.width, C = g.config.context, V = g.config.vocab;
    g.tokens = find("tokens", {1, C + 1});
    g.tokens_capacity = C + 1;
    g.next_token = find("next_token", {1, 1});
    g.rng_state = find("rng_state", {1, 1});
    g.loop_counter = find("loop_counter", {1, 1});
    g.logits_capacity = g.all_logits ? C : 1;
    g.logits = find("logits", {V, g.logits_capacity});
    if (by_name.count("logits_penalized")) g.logits_penalized = find("logits_penalized", {V, 1});
    for (uint32_t i = 0; i < g.config.layers; ++i) {
        g.k_cache.push_back(find("layer" + std::to_string(i) + ".attn.k_cache", {d, C}));
        g.v_cache.push_back(find("layer" + std::to_string(i) + ".attn.v_cache", {d, C}));
    }
    if (!missing.empty()) return make_error(ErrorCode::Invalid, missing);
    // Row 0: the SAMPLE and PENALIZE instructions and the APPENDs into the sequence.
    const PixelFetch fetch = image_fetch(img);
    for (uint32_t pc = 0; pc < img.width;) {
        const Decoded dec = decode(fetch, img.width, pc);
        if (dec.truncated || !dec.ins.info) break;
        const Instruction& ins = dec.ins;
        if (ins.opcode == uint8_t(Opcode::SAMPLE)) g.sample_pcs.push_back(pc);
        if (ins.opcode == uint8_t(Opcode::PENALIZE)) g.penalize_pcs.push_back(pc);
        if (ins.opcode == uint8_t(Opcode::APPEND) && ins.operand[2] == g.tokens)
            g.token_append_pcs.push_back(pc);
        pc += ins.length;
    }
    if (g.sample_pcs.empty() || g.token_append_pcs.empty())
        return make_error(ErrorCode::Invalid,
                          "not a GPT program: row 0 has no SAMPLE or no APPEND into 'tokens'");
    return g;
}

// ---- Prompt and sampling ----

namespace {

void write_i32(Image& img, uint32_t row, MatrixHeader h, std::span<const int32_t> v) {
    img.set_pixel(0, row, encode_header(h));
    for (size_t i = 0; i < v.size(); ++i)
        img.set_pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width)), i32_to_rgba(v[i]));
}

} // namespace

Status set_gpt_prompt(Image& img, const GptRegions& g, std::span<const int32_t> ids,
                      uint32_t max_new_tokens) {
    const uint32_t C = g.config.context, V = g.config.vocab;
    if (ids.empty()) return make_error(ErrorCode::Usage, "the prompt is empty: it needs at least one token");
    if (max_new_tokens == 0)
        return make_error(ErrorCode::Usage, "the number of new tokens must be at least 1");
    for (size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || uint32_t(ids[i]) >= V)
            return make_error(ErrorCode::Usage, "prompt token " + std::to_string(i) + " is " +
                                                    std::to_string(ids[i]) + ", outside the vocabulary 0.." +
                                                    std::to_string(V - 1));
    if (ids.size() > C)
        return make_error(ErrorCode::Usage, "the prompt has " + std::to_string(ids.size()) +
                                                " tokens, more than the context of " + std::to_string(C));
    if (uint64_t(ids.size()) + max_new_tokens > uint64_t(C) + 1)
        return make_error(ErrorCode::Usage, "the prompt's " + std::to_string(ids.size()) + " tokens and " +
                                                std::to_string(max_new_tokens) +
                                                " new tokens pass the context of " + std::to_string(C) +
                                                " (at most " + std::to_string(C + 1 - ids.size()) +
                                                " new tokens after this prompt)");
    write_i32(img, g.tokens, {1, uint32_t(ids.size())}, ids);
    const int32_t zero = 0, counter = int32_t(max_new_tokens - 1);
    write_i32(img, g.next_token, {1, 1}, std::span(&zero, 1));
    write_i32(img, g.loop_counter, {1, 1}, std::span(&counter, 1));
    for (uint32_t i = 0; i < g.config.layers; ++i) {
        img.set_pixel(0, g.k_cache[i], encode_header({g.config.width, 0}));
        img.set_pixel(0, g.v_cache[i], encode_header({g.config.width, 0}));
    }
    return Ok{};
}

uint64_t gpt_weight_bytes(const GptRegions& g) {
    const uint64_t d = g.config.width;
    return (g.weights_u8 ? 1 : 4) *
           (uint64_t(g.config.layers) * (12 * d * d + 9 * d) + uint64_t(g.config.vocab) * d);
}

GptSampling build_sampling(const GptBuildOptions& o) {
    return {o.temperature, o.top_k, o.seed, o.presence_penalty, o.penalty_window};
}

Status check_gpt_sampling(const GptSampling& s) {
    if (!(s.temperature >= 0) || !std::isfinite(s.temperature))
        return make_error(ErrorCode::Usage, "the temperature must be 0 or a positive finite number");
    if (s.top_k > 65535) return make_error(ErrorCode::Usage, "top-k must be at most 65535");
    if (!(s.presence_penalty >= 0) || !std::isfinite(s.presence_penalty))
        return make_error(ErrorCode::Usage, "the presence penalty must be 0 or a positive finite number");
    if (s.penalty_window > 65535)
        return make_error(ErrorCode::Usage, "the penalty window must be at most 65535");
    return Ok{};
}

namespace {
// The pc of every instruction in `pcs` decoded as `op` with 3 parameter pixels, or an error naming
// the pixel where one is not (the image changed since find_gpt_regions).
Status check_sampling_pcs(const Image& img, const std::vector<uint32_t>& pcs, Opcode op) {
    const PixelFetch fetch = image_fetch(img);
    for (uint32_t pc : pcs) {
        const Decoded dec = decode(fetch, img.width, pc);
        if (dec.truncated || dec.ins.opcode != uint8_t(op) || dec.ins.param_count != 3)
            return make_error(ErrorCode::Invalid, "no " + std::string(opcode_info(uint8_t(op))->name) +
                                                      " instruction at pixel (" + std::to_string(pc) +
                                                      ", 0)");
    }
    return Ok{};
}

// The float word (P2) and count (P3) of the SAMPLE or PENALIZE at pc (checked by
// check_sampling_pcs), read and written with the opcodes' own codec (PROTOCOL.md 13.5, 13.6).
ops::WordCountParams word_count_at(const Image& img, uint32_t pc) {
    return ops::decode_word_count(decode(image_fetch(img), img.width, pc).ins);
}
void set_word_count(Image& img, uint32_t pc, float word, uint32_t count) {
    const Instruction ins = decode(image_fetch(img), img.width, pc).ins;
    const std::vector<Rgba> params =
        ops::encode_word_count(ops::decode_word_count(ins).dtype, fm::bits(word), uint16_t(count), {0, 0});
    const uint32_t p2 = pc + ins.length - 2;
    img.set_pixel(p2, 0, params[1]);
    img.set_pixel(p2 + 1, 0, params[2]);
}
} // namespace

Status set_gpt_sampling(Image& img, const GptRegions& g, const GptSampling& s) {
    if (Status st = check_gpt_sampling(s); !st) return st;
    if (s.presence_penalty != 0 && g.penalize_pcs.empty())
        return make_error(ErrorCode::Usage,
                          "this program has no PENALIZE instruction (it was built before the presence "
                          "penalty existed): rebuild it with pxi gpt to use one");
    // Every check before any write: the image is unchanged on error.
    if (Status st = check_sampling_pcs(img, g.sample_pcs, Opcode::SAMPLE); !st) return st;
    if (Status st = check_sampling_pcs(img, g.penalize_pcs, Opcode::PENALIZE); !st) return st;
    for (uint32_t pc : g.sample_pcs)
        set_word_count(img, pc, s.temperature, s.top_k);
    for (uint32_t pc : g.penalize_pcs)
        set_word_count(img, pc, s.presence_penalty, s.penalty_window);
    const int32_t seed = int32_t(s.seed);
    write_i32(img, g.rng_state, {1, 1}, std::span(&seed, 1));
    return Ok{};
}

Result<GptSampling> read_gpt_sampling(const Image& img, const GptRegions& g) {
    if (g.sample_pcs.empty()) return make_error(ErrorCode::Invalid, "the program has no SAMPLE");
    if (Status st = check_sampling_pcs(img, g.sample_pcs, Opcode::SAMPLE); !st) return st.error();
    if (Status st = check_sampling_pcs(img, g.penalize_pcs, Opcode::PENALIZE); !st) return st.error();
    GptSampling s;
    const ops::WordCountParams sample = word_count_at(img, g.sample_pcs.front());
    s.temperature = fm::canon(fm::from_bits(sample.word));
    s.top_k = sample.count;
    if (!g.penalize_pcs.empty()) {
        const ops::WordCountParams pen = word_count_at(img, g.penalize_pcs.front());
        s.presence_penalty = fm::canon(fm::from_bits(pen.word));
        s.penalty_window = pen.count;
    }
    auto seed = read_i32_matrix(img, g.rng_state);
    if (!seed) return seed.error();
    if (seed->size() != 1)
        return make_error(ErrorCode::Invalid,
                          "rng_state (row " + std::to_string(g.rng_state) + ") is not 1x1");
    s.seed = uint32_t((*seed)[0]);
    return s;
}

Result<std::vector<int32_t>> read_i32_matrix(const Image& img, uint32_t row) {
    if (row == 0 || row >= img.height)
        return make_error(ErrorCode::Invalid, "row " + std::to_string(row) + " is outside the image");
    const MatrixHeader h = decode_header(img.pixel(0, row));
    if (!typed_matrix_fits(row, h, DType::I32, img.width, img.height))
        return make_error(ErrorCode::Invalid,
                          "the matrix at row " + std::to_string(row) + " does not fit the image");
    std::vector<int32_t> v(h.elements());
    for (uint64_t i = 0; i < v.size(); ++i)
        v[i] = int32_t(element_bits(img, row, DType::I32, i));
    return v;
}

Result<GptEvalResult> gpt_eval(std::span<const int32_t> ids, uint64_t bytes, uint32_t context, uint32_t vocab,
                               const GptWindowLogits& logits) {
    if (ids.empty()) return make_error(ErrorCode::Usage, "the text has no tokens");
    if (bytes == 0) return make_error(ErrorCode::Usage, "the text has no bytes");
    if (context == 0 || vocab == 0)
        return make_error(ErrorCode::Usage, "context and vocabulary must be positive");
    const uint64_t N = ids.size(), C = context;
    GptEvalResult r;
    r.tokens = N, r.bytes = bytes;
    r.nats = std::log(double(vocab));
    // (first input, length) of each window; inputs ids[o .. o+len), targets ids[o+1 .. o+len+1).
    std::vector<std::pair<uint64_t, uint64_t>> windows;
    uint64_t o = 0;
    for (; o + C + 1 <= N; o += C)
        windows.push_back({o, C});
    const uint64_t done = o + 1; // tokens scored so far (the first one included)
    if (N > done) windows.push_back({done - 1, N - done});
    for (auto [start, len] : windows) {
        auto lg = logits(ids.subspan(start, len));
        if (!lg) return lg.error();
        if (lg->size() != len * vocab)
            return make_error(ErrorCode::Invalid, "the program gave " + std::to_string(lg->size()) +
                                                      " logits for a window of " + std::to_string(len) +
                                                      " tokens, want " + std::to_string(len * vocab));
        for (uint64_t t = 0; t < len; ++t) {
            const float* row = lg->data() + t * vocab;
            double m = -std::numeric_limits<double>::infinity();
            for (uint32_t v = 0; v < vocab; ++v)
                m = std::max(m, double(row[v]));
            double s = 0;
            for (uint32_t v = 0; v < vocab; ++v)
                s += std::exp(double(row[v]) - m);
            const double logp = double(row[ids[start + t + 1]]) - m - std::log(s);
            r.nats -= logp;
        }
    }
    r.windows = windows.size();
    r.loss_per_token = r.nats / double(N);
    r.perplexity = std::exp(r.loss_per_token);
    r.bits_per_byte = r.nats / std::log(2.0) / double(bytes);
    return r;
}

} // namespace px
