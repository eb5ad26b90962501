#include "gpt_lens.h"

#include "compare.h"
#include "cpu_fast.h"
#include "dtype.h"
#include "gpt_u8.h"
#include "inspect.h"
#include "layout.h"
#include "opcodes.h"
#include "vm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace px {

std::string gpt_reference_mismatch(const GptConfig& reference, const GptConfig& program) {
    const GptConfig &r = reference, &p = program;
    if (p.layers == r.layers && p.width == r.width && p.heads == r.heads && p.context == r.context &&
        p.vocab == r.vocab)
        return "";
    return "the float32 program's config (" + std::to_string(r.layers) + " layers, width " +
           std::to_string(r.width) + ", " + std::to_string(r.heads) + " heads, context " +
           std::to_string(r.context) + ", vocabulary " + std::to_string(r.vocab) +
           ") differs from the uint8 program's (" + std::to_string(p.layers) + ", " +
           std::to_string(p.width) + ", " + std::to_string(p.heads) + ", " + std::to_string(p.context) +
           ", " + std::to_string(p.vocab) + ")";
}

Result<GptFloatReference> open_gpt_float_reference(Image program, const GptRegions& u8_regions) {
    auto regions = find_gpt_regions(program);
    if (!regions) return make_error(regions.error().code, "the float32 program: " + regions.error().message);
    if (regions->weights_u8)
        return make_error(ErrorCode::Usage,
                          "the reference is a uint8 program; open the float32 one beside it");
    if (const std::string why = gpt_reference_mismatch(regions->config, u8_regions.config); !why.empty())
        return make_error(ErrorCode::Usage, why);
    auto weights = read_gpt_weights(program, *regions);
    if (!weights) return make_error(weights.error().code, "the float32 program: " + weights.error().message);
    return GptFloatReference{std::move(program), std::move(*regions), std::move(*weights), fast_executor()};
}

namespace {

// The pcs of row 0's instructions whose matrix output is `row`, in order.
std::vector<uint32_t> writers_of(const Image& image, uint32_t row) {
    std::vector<uint32_t> pcs;
    for (const Decoded& d : decode_row0(image).instructions) {
        if (d.truncated) break;
        if (const OpcodeInfo* info = d.ins.info)
            for (int k = 0; k < 3; ++k)
                if ((info->operands[k] == OperandKind::MatrixOut ||
                     info->operands[k] == OperandKind::MatrixInOut) &&
                    d.ins.operand[k] == row)
                    pcs.push_back(d.ins.pc);
    }
    return pcs;
}

std::string region_label(const Region& r) {
    return r.name + " (row " + std::to_string(r.row) + ")";
}

} // namespace

Result<GptActivationPositions> gpt_activation_positions(const Image& image, const GptRegions& regions,
                                                        const Region& region, uint32_t pc) {
    const std::string label = region_label(region);
    if (region.row == 0 || region.row >= image.height)
        return make_error(ErrorCode::Usage, label + " is outside the image");
    const std::vector<uint32_t> writers = writers_of(image, region.row);
    if (writers.empty()) return make_error(ErrorCode::Usage, label + ": no instruction writes it");
    const MatrixHeader h = decode_header(image.pixel(0, region.row));
    auto tokens = read_i32_matrix(image, regions.tokens);
    if (!tokens) return tokens.error();
    // The pass pc is in ends at the first APPEND into `tokens` at or after pc; it began after the
    // one before. A writer between the pass's start and pc ran in this pass.
    std::vector<uint32_t> appends = regions.token_append_pcs;
    std::sort(appends.begin(), appends.end());
    const auto end = std::lower_bound(appends.begin(), appends.end(), pc);
    const bool in_pass = end != appends.end();
    const uint32_t pass_start = end == appends.begin() ? 0 : *std::prev(end) + 1;
    const bool this_pass = in_pass && std::any_of(writers.begin(), writers.end(),
                                                  [&](uint32_t w) { return w >= pass_start && w < pc; });
    // Before the first pass writes it, the region holds what the file held: the header as
    // reserved, or a former run's values, for positions nothing here can tell.
    if (pass_start == 0 && !this_pass)
        return make_error(ErrorCode::Usage, label + " is not written yet in this run: step past pc " +
                                                std::to_string(writers.front()));
    const uint64_t n = tokens->size();
    const uint64_t sequence = this_pass ? n : n - std::min<uint64_t>(n, 1);
    if (h.rows > sequence)
        return make_error(ErrorCode::Invalid, label + " holds " + std::to_string(h.rows) +
                                                  " rows but the sequence it belongs to has " +
                                                  std::to_string(sequence) + " tokens");
    if (h.rows == 0 || h.cols == 0) return make_error(ErrorCode::Invalid, label + " holds no rows");
    GptActivationPositions at;
    at.rows = h.rows;
    at.cols = h.cols;
    at.sequence = uint32_t(sequence);
    at.first = uint32_t(sequence - h.rows);
    return at;
}

std::vector<std::string> gpt_lens_activations(const GptRegions& regions, const std::vector<Region>& symbols) {
    std::vector<std::string> out;
    auto add = [&](const std::string& name) {
        if (std::any_of(symbols.begin(), symbols.end(), [&](const Region& r) { return r.name == name; }))
            out.push_back(name);
    };
    for (const std::string& name : gpt_prefill_output_names(regions.config.layers, regions.all_logits)) {
        if (name.empty()) continue;
        if (name == "logits") add("logits_i32");
        add(name);
        if (name.ends_with(".ln_2.out")) add(name.substr(0, name.size() - 9) + ".mlp.fc");
    }
    return out;
}

void gpt_lens_stats(GptLens& lens) {
    const size_t n = lens.difference.size();
    double sum_abs = 0, sum_sq = 0, ref_sq = 0;
    size_t within = 0;
    lens.max_abs = 0;
    lens.max_row = lens.max_col = 0;
    for (size_t i = 0; i < n; ++i) {
        const double d = std::fabs(lens.difference[i]);
        sum_abs += d;
        sum_sq += d * d;
        ref_sq += lens.reference[i] * lens.reference[i];
        if (d <= lens.scale / 2) ++within;
        if (d > lens.max_abs) {
            lens.max_abs = d;
            lens.max_row = lens.at.cols ? uint32_t(i / lens.at.cols) : 0;
            lens.max_col = lens.at.cols ? uint32_t(i % lens.at.cols) : 0;
        }
    }
    lens.mean_abs = n ? sum_abs / double(n) : 0;
    lens.rms = n ? std::sqrt(sum_sq / double(n)) : 0;
    lens.reference_rms = n ? std::sqrt(ref_sq / double(n)) : 0;
    lens.relative = ref_sq > 0 ? std::sqrt(sum_sq / ref_sq) : 0;
    // A float region (the logits after DEQUANT) has no quantization step of its own.
    lens.within_half_step = dtype_is_float(lens.type) ? std::numeric_limits<double>::quiet_NaN()
                            : n                       ? double(within) / double(n)
                                                      : 0;
}

Result<GptLens> gpt_quant_lens(const Image& image, const GptRegions& regions,
                               const std::vector<Region>& symbols, uint32_t pc,
                               const GptFloatReference& reference, const std::string& name) {
    if (!regions.weights_u8)
        return make_error(ErrorCode::Usage, "the quantization lens needs the uint8 program");
    const auto it =
        std::find_if(symbols.begin(), symbols.end(), [&](const Region& r) { return r.name == name; });
    if (it == symbols.end()) return make_error(ErrorCode::Usage, "no region named " + name);
    const Region& region = *it;
    // The reference for the head's int32 products is the float32 program's logits (the same
    // real values: scale s(ln_f.out) s(wte), zero point 0).
    const std::string ref_name = name == "logits_i32" ? "logits" : name;
    GptLens lens;
    lens.name = name;
    lens.type = region.type();
    if (lens.type == DType::U8 || lens.type == DType::I32) {
        if (!region.scale)
            return make_error(ErrorCode::Usage,
                              region_label(region) + " has no scale in the symbols: not an activation");
        lens.scale = *region.scale;
        lens.zero_point = region.zero_point.value_or(0);
    }
    auto at = gpt_activation_positions(image, regions, region, pc);
    if (!at) return at.error();
    lens.at = *at;
    auto codes = matrix_values(image, region.row, lens.type);
    if (!codes) return codes.error();
    lens.quantized.resize(codes->size());
    for (size_t i = 0; i < codes->size(); ++i)
        lens.quantized[i] = lens.type == DType::F32 || lens.type == DType::F16
                                ? (*codes)[i]
                                : lens.scale * ((*codes)[i] - double(lens.zero_point));

    auto tokens = read_i32_matrix(image, regions.tokens);
    if (!tokens) return tokens.error();
    const std::span<const int32_t> ids = std::span<const int32_t>(*tokens).first(lens.at.sequence);
    std::optional<std::vector<double>> found;
    uint32_t found_rows = 0, found_cols = 0;
    const GptActivationVisitor capture = [&](const std::string& n, uint32_t rows, uint32_t cols,
                                             std::span<const double> values) -> Status {
        if (n == ref_name) {
            found.emplace(values.begin(), values.end());
            found_rows = rows;
            found_cols = cols;
        }
        return Ok{};
    };
    if (Status st = run_gpt_float_prefill(reference.program, reference.regions, ids, &reference.weights,
                                          capture, &reference.executor);
        !st)
        return make_error(st.error().code, "the float32 reference: " + st.error().message);
    if (!found)
        return make_error(ErrorCode::Usage,
                          region_label(region) + " is not an activation the float32 program computes");
    // The reference holds every position of the prefill (or the last one, for a last-row head);
    // the region holds the last at.rows of them.
    if (found_cols != lens.at.cols || found_rows < lens.at.rows)
        return make_error(ErrorCode::Invalid,
                          region_label(region) + " is " + std::to_string(lens.at.rows) + " x " +
                              std::to_string(lens.at.cols) + " but the float32 program's " + ref_name +
                              " is " + std::to_string(found_rows) + " x " + std::to_string(found_cols));
    const size_t skip = size_t(found_rows - lens.at.rows) * found_cols;
    lens.reference.assign(found->begin() + ptrdiff_t(skip), found->end());
    lens.difference.resize(lens.reference.size());
    for (size_t i = 0; i < lens.reference.size(); ++i)
        lens.difference[i] = lens.quantized[i] - lens.reference[i];
    gpt_lens_stats(lens);
    return lens;
}

Result<std::vector<GptCandidate>> gpt_reference_top_k(const GptFloatReference& reference,
                                                      std::span<const int32_t> ids, uint32_t k) {
    std::vector<float> last;
    const GptActivationVisitor capture = [&](const std::string& n, uint32_t, uint32_t cols,
                                             std::span<const double> values) -> Status {
        if (n == "logits" && cols && values.size() >= cols)
            last.assign(values.end() - ptrdiff_t(cols), values.end()); // float32 values, exact
        return Ok{};
    };
    if (Status st = run_gpt_float_prefill(reference.program, reference.regions, ids, nullptr, capture,
                                          &reference.executor);
        !st)
        return make_error(st.error().code, "the float32 reference: " + st.error().message);
    if (last.empty()) return make_error(ErrorCode::Invalid, "the float32 reference wrote no logits");
    return gpt_top_k(last, k);
}

} // namespace px
