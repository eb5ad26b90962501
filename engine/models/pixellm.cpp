#include "pixellm.h"

#include "debuginfo.h"
#include "layout.h"
#include "npz.h"
#include "protocol.h"
#include "vm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

namespace px {

// ---- Seeded values ----

uint64_t SplitMix64::next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double SplitMix64::uniform() {
    return (double(next() >> 11) + 0.5) / 9007199254740992.0;
}

double SplitMix64::normal() {
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

namespace {
std::vector<double> normals(SplitMix64& g, size_t n, double stddev) {
    std::vector<double> v(n);
    for (double& x : v)
        x = g.normal() * stddev;
    return v;
}
} // namespace

PixelLlmWeights seeded_weights(uint64_t seed) {
    SplitMix64 g{seed};
    PixelLlmWeights w;
    w.w_hidden = normals(g, size_t(kLlmIn) * kLlmHidden, std::sqrt(2.0 / kLlmIn));
    w.b_hidden = normals(g, kLlmHidden, 0.1);
    w.w_out = normals(g, size_t(kLlmHidden) * kLlmOut, std::sqrt(1.0 / kLlmHidden));
    w.b_out = normals(g, kLlmOut, 0.1);
    return w;
}

std::vector<double> seeded_input(uint64_t seed, uint64_t index) {
    SplitMix64 mix{seed ^ (index * 0xD1B54A32D192ED03ull)};
    SplitMix64 g{mix.next()};
    return normals(g, kLlmIn, 1.0);
}

Status check_weights(const PixelLlmWeights& w) {
    auto bad = [](const char* name, size_t got, size_t want) {
        return make_error(ErrorCode::Usage, std::string("weights: ") + name + " has " + std::to_string(got) +
                                                " values, the Pixel-LLM needs " + std::to_string(want));
    };
    if (w.w_hidden.size() != size_t(kLlmIn) * kLlmHidden)
        return bad("W_hidden", w.w_hidden.size(), kLlmIn * kLlmHidden);
    if (w.b_hidden.size() != kLlmHidden) return bad("b_hidden", w.b_hidden.size(), kLlmHidden);
    if (w.w_out.size() != size_t(kLlmHidden) * kLlmOut)
        return bad("W_out", w.w_out.size(), kLlmHidden * kLlmOut);
    if (w.b_out.size() != kLlmOut) return bad("b_out", w.b_out.size(), kLlmOut);
    auto finite = [](const std::vector<double>& v) {
        return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    };
    if (!finite(w.w_hidden) || !finite(w.b_hidden) || !finite(w.w_out) || !finite(w.b_out))
        return make_error(ErrorCode::Usage, "weights: a value is NaN or infinite");
    return Ok{};
}

// ---- Float reference ----

std::vector<double> float_forward(const PixelLlmWeights& w, const std::vector<double>& x,
                                  std::vector<double>* hidden_out) {
    std::vector<double> h(w.b_hidden);
    for (uint32_t k = 0; k < kLlmIn; ++k)
        for (uint32_t n = 0; n < kLlmHidden; ++n)
            h[n] += x[k] * w.w_hidden[size_t(k) * kLlmHidden + n];
    for (double& v : h)
        v = std::max(v, 0.0);
    std::vector<double> y(w.b_out);
    for (uint32_t k = 0; k < kLlmHidden; ++k) {
        if (h[k] == 0) continue;
        for (uint32_t n = 0; n < kLlmOut; ++n)
            y[n] += h[k] * w.w_out[size_t(k) * kLlmOut + n];
    }
    if (hidden_out) *hidden_out = std::move(h);
    return y;
}

Calibration calibrate(const PixelLlmWeights& w, uint64_t seed, uint32_t inputs) {
    Calibration c;
    std::vector<double> h;
    for (uint32_t i = 0; i < inputs; ++i) {
        const std::vector<double> x = seeded_input(seed, i);
        const std::vector<double> y = float_forward(w, x, &h);
        auto [xmin, xmax] = std::minmax_element(x.begin(), x.end());
        auto [hmin, hmax] = std::minmax_element(h.begin(), h.end());
        auto [ymin, ymax] = std::minmax_element(y.begin(), y.end());
        c.input_min = std::min(c.input_min, *xmin), c.input_max = std::max(c.input_max, *xmax);
        c.hidden_min = std::min(c.hidden_min, *hmin), c.hidden_max = std::max(c.hidden_max, *hmax);
        c.logits_min = std::min(c.logits_min, *ymin), c.logits_max = std::max(c.logits_max, *ymax);
    }
    return c;
}

// ---- Building the program ----

namespace {

QuantParams weight_params(const std::vector<double>& v) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    return choose_quant_params(*lo, *hi);
}

// Writes one instruction (WIDE prefix when a row operand exceeds 255) and its parameter pixels.
uint32_t emit(Image& img, uint32_t x, Opcode op, std::array<uint32_t, 3> rows,
              const std::vector<Rgba>& params) {
    if (rows[0] > 255 || rows[1] > 255 || rows[2] > 255)
        img.set_pixel(x++, 0,
                      {kWidePrefix, uint8_t(rows[0] >> 8), uint8_t(rows[1] >> 8), uint8_t(rows[2] >> 8)});
    img.set_pixel(x++, 0, {uint8_t(op), uint8_t(rows[0]), uint8_t(rows[1]), uint8_t(rows[2])});
    for (const Rgba& p : params)
        img.set_pixel(x++, 0, p);
    return x;
}

void write_i32_matrix(Image& img, uint32_t row, const std::vector<int32_t>& v) {
    img.set_pixel(0, row, encode_header({uint32_t(v.size()), 1}));
    for (size_t i = 0; i < v.size(); ++i)
        img.set_pixel(element_x(i, img.width), uint32_t(element_y(i, row, img.width)), i32_to_rgba(v[i]));
}

Region region(const std::string& name, uint32_t row, uint32_t rows, uint32_t cols, const QuantParams& q) {
    Region r;
    r.name = name, r.row = row, r.shape = {cols, rows}, r.scale = q.scale, r.zero_point = q.zero_point;
    r.from_symbols = true;
    return r;
}

} // namespace

namespace {

std::vector<float> to_f32(const std::vector<double>& v) {
    return std::vector<float>(v.begin(), v.end()); // round to nearest
}

// The shapes of both builds' matrices, in row order: input, W_hidden, b_hidden, hidden, W_out,
// b_out, logits (the enum { X, W1, B1, H, W2, B2, Y } the builders index them with).
std::vector<MatrixHeader> pixellm_shapes() {
    return {{kLlmIn, 1},           {kLlmHidden, kLlmIn}, {kLlmHidden, 1}, {kLlmHidden, 1},
            {kLlmOut, kLlmHidden}, {kLlmOut, 1},         {kLlmOut, 1}};
}

Region f32_region(const std::string& name, uint32_t row, uint32_t rows, uint32_t cols) {
    Region r;
    r.name = name, r.row = row, r.shape = {cols, rows}, r.dtype = DType::F32, r.from_symbols = true;
    return r;
}

// The float32 build: every matrix f32, each layer one FMATMUL with its bias and activation.
Result<Image> build_pixellm_f32(const PixelLlmWeights& w, const PixelLlmBuildOptions& options) {
    const std::vector<MatrixHeader> shapes = pixellm_shapes();
    const Allocation al = allocate_rows(shapes, kLlmWidth);
    enum { X, W1, B1, H, W2, B2, Y };
    const auto& r = al.rows;
    if (r[B2] > 65535) return make_error(ErrorCode::Usage, "the f32 Pixel-LLM does not fit 65535 rows");
    Image img = make_image(kLlmWidth, al.height);
    const std::vector<std::vector<float>> values = {
        std::vector<float>(kLlmIn, 0.0f),     to_f32(w.w_hidden), to_f32(w.b_hidden),
        std::vector<float>(kLlmHidden, 0.0f), to_f32(w.w_out),    to_f32(w.b_out),
        std::vector<float>(kLlmOut, 0.0f)};
    for (int k = X; k <= Y; ++k)
        if (Status st = write_float_matrix(img, r[k], shapes[k], DType::F32, values[k]); !st)
            return st.error();
    FMatmulParams p1;
    p1.bias_row = uint16_t(r[B1]), p1.activation = uint8_t(FActivation::Relu);
    FMatmulParams p2;
    p2.bias_row = uint16_t(r[B2]), p2.activation = uint8_t(FActivation::None);
    uint32_t x = emit(img, 0, Opcode::FMATMUL, {r[X], r[W1], r[H]}, encode_params(p1));
    x = emit(img, x, Opcode::FMATMUL, {r[H], r[W2], r[Y]}, encode_params(p2));
    emit(img, x, Opcode::HALT, {0, 0, 0}, {});

    DebugInfo info;
    info.regions = {f32_region("input", r[X], 1, kLlmIn),
                    f32_region("W_hidden", r[W1], kLlmIn, kLlmHidden),
                    f32_region("b_hidden", r[B1], 1, kLlmHidden),
                    f32_region("hidden", r[H], 1, kLlmHidden),
                    f32_region("W_out", r[W2], kLlmHidden, kLlmOut),
                    f32_region("b_out", r[B2], 1, kLlmOut),
                    f32_region("logits", r[Y], 1, kLlmOut)};
    write_debug_info(img, info);
    nlohmann::json prov = {
        {"version", 1}, {"model", "pixel-llm 128-128-1024"}, {"dtype", "f32"}, {"logits", "f32"}};
    if (options.seed) prov["seed"] = *options.seed;
    if (!options.weights_file.empty()) prov["weights"] = options.weights_file;
    set_text(img, std::string(kPixelLlmKey), prov.dump());
    return img;
}

} // namespace

Result<Image> build_pixellm(const PixelLlmWeights& w, const PixelLlmBuildOptions& options) {
    if (Status st = check_weights(w); !st) return st.error();
    if (options.dtype == DType::F32) return build_pixellm_f32(w, options);
    if (options.dtype != DType::U8)
        return make_error(ErrorCode::Usage, "the Pixel-LLM is built as u8 (quantized) or f32, not " +
                                                std::string(dtype_name(options.dtype)));
    const Calibration cal = calibrate(w);
    const QuantParams qx = choose_quant_params(cal.input_min, cal.input_max);
    const QuantParams qw1 = weight_params(w.w_hidden);
    const QuantParams qh = choose_quant_params(0.0, cal.hidden_max); // post-ReLU: zero point 0
    const QuantParams qw2 = weight_params(w.w_out);
    const QuantParams qb1{qx.scale * qw1.scale, 0};
    const QuantParams qb2{qh.scale * qw2.scale, 0};
    const QuantParams qy8 = choose_quant_params(cal.logits_min, cal.logits_max);
    const QuantParams qy = options.int32_logits ? qb2 : qy8;

    auto m1 = quantize_multiplier(qb1.scale / qh.scale);
    if (!m1) return m1.error();
    auto m2 = quantize_multiplier(qb2.scale / qy8.scale);
    if (!m2) return m2.error();

    const std::vector<MatrixHeader> shapes = pixellm_shapes();
    const Allocation al = allocate_rows(shapes, kLlmWidth);
    enum { X, W1, B1, H, W2, B2, Y };
    const auto& r = al.rows;
    Image img = make_image(kLlmWidth, al.height);

    auto put = [&](int which, const std::vector<uint8_t>& v) {
        return write_matrix(img, r[which], shapes[which], v);
    };
    Status st = put(X, std::vector<uint8_t>(kLlmIn, uint8_t(qx.zero_point))); // input = real zeros
    if (st) st = put(W1, quantize_all(w.w_hidden, qw1));
    if (st) st = put(H, std::vector<uint8_t>(kLlmHidden, 0));
    if (st) st = put(W2, quantize_all(w.w_out, qw2));
    if (st && !options.int32_logits) st = put(Y, std::vector<uint8_t>(kLlmOut, uint8_t(qy8.zero_point)));
    if (!st) return st.error();
    if (options.int32_logits) write_i32_matrix(img, r[Y], std::vector<int32_t>(kLlmOut, 0));
    std::vector<int32_t> b1(kLlmHidden), b2(kLlmOut);
    for (uint32_t i = 0; i < kLlmHidden; ++i)
        b1[i] = quantize_bias(w.b_hidden[i], qb1.scale);
    for (uint32_t i = 0; i < kLlmOut; ++i)
        b2[i] = quantize_bias(w.b_out[i], qb2.scale);
    write_i32_matrix(img, r[B1], b1);
    write_i32_matrix(img, r[B2], b2);

    QMatmulParams p1;
    p1.za = uint8_t(qx.zero_point), p1.zb = uint8_t(qw1.zero_point), p1.zc = uint8_t(qh.zero_point);
    p1.multiplier = m1->m, p1.shift = m1->shift, p1.bias_row = uint16_t(r[B1]);
    p1.clamp_lo = uint8_t(qh.zero_point), p1.clamp_hi = 255; // fused ReLU
    uint32_t x = emit(img, 0, Opcode::QMATMUL, {r[X], r[W1], r[H]}, encode_params(p1));
    if (options.int32_logits) {
        QMatmul32Params p2{uint8_t(qh.zero_point), uint8_t(qw2.zero_point), uint16_t(r[B2])};
        x = emit(img, x, Opcode::QMATMUL32, {r[H], r[W2], r[Y]}, encode_params(p2));
    } else {
        QMatmulParams p2;
        p2.za = uint8_t(qh.zero_point), p2.zb = uint8_t(qw2.zero_point), p2.zc = uint8_t(qy8.zero_point);
        p2.multiplier = m2->m, p2.shift = m2->shift, p2.bias_row = uint16_t(r[B2]);
        x = emit(img, x, Opcode::QMATMUL, {r[H], r[W2], r[Y]}, encode_params(p2));
    }
    emit(img, x, Opcode::HALT, {0, 0, 0}, {});

    DebugInfo info;
    info.regions = {region("input", r[X], 1, kLlmIn, qx),
                    region("W_hidden", r[W1], kLlmIn, kLlmHidden, qw1),
                    region("b_hidden", r[B1], 1, kLlmHidden, qb1),
                    region("hidden", r[H], 1, kLlmHidden, qh),
                    region("W_out", r[W2], kLlmHidden, kLlmOut, qw2),
                    region("b_out", r[B2], 1, kLlmOut, qb2),
                    region("logits", r[Y], 1, kLlmOut, qy)};
    write_debug_info(img, info);

    nlohmann::json prov = {
        {"version", 1},
        {"model", "pixel-llm 128-128-1024"},
        {"logits", options.int32_logits ? "int32" : "uint8"},
        {"calibration", {{"seed", kLlmCalibrationSeed}, {"inputs", kLlmCalibrationInputs}}}};
    if (options.seed) prov["seed"] = *options.seed;
    if (!options.weights_file.empty()) prov["weights"] = options.weights_file;
    set_text(img, std::string(kPixelLlmKey), prov.dump());
    return img;
}

// ---- Reading a built program ----

Result<PixelLlmIo> pixellm_io(const Image& program) {
    const TextChunk* prov = find_text(program, std::string(kPixelLlmKey));
    if (!prov)
        return make_error(ErrorCode::Invalid, "not a Pixel-LLM program: the " + std::string(kPixelLlmKey) +
                                                  " text chunk is missing (build one with `pxi pixellm`)");
    auto info = read_debug_info(program);
    if (!info) return info.error();
    PixelLlmIo io;
    bool have_x = false, have_y = false, have_w1 = false, have_w2 = false;
    for (const Region& reg : info->regions) {
        const QuantParams q{reg.scale.value_or(1.0), reg.zero_point.value_or(0)};
        if (reg.name == "input") io.input_row = reg.row, io.input = q, have_x = true;
        if (reg.name == "logits") io.logits_row = reg.row, io.logits = q, have_y = true;
        if (reg.name == "W_hidden") io.w_hidden_row = reg.row, have_w1 = true;
        if (reg.name == "W_out") io.w_out_row = reg.row, have_w2 = true;
    }
    if (!have_x || !have_y || !have_w1 || !have_w2)
        return make_error(ErrorCode::Invalid, std::string(kSymbolsKey) +
                                                  " lacks one of the regions input, W_hidden, W_out, logits");
    try {
        const auto pj = nlohmann::json::parse(prov->text);
        io.int32_logits = pj.value("logits", std::string("int32")) == "int32";
        const std::string dtype = pj.value("dtype", std::string("u8"));
        const auto t = parse_dtype(dtype);
        if (!t || (*t != DType::U8 && *t != DType::F32))
            return make_error(ErrorCode::Invalid, std::string(kPixelLlmKey) + ": dtype \"" + dtype +
                                                      "\" is not \"u8\" or \"f32\"");
        io.dtype = *t;
        if (io.dtype == DType::F32) io.int32_logits = false;
        if (pj.contains("seed")) io.seed = pj.at("seed").get<uint64_t>();
        io.weights_file = pj.value("weights", std::string());
    } catch (const std::exception& e) {
        return make_error(ErrorCode::Invalid,
                          std::string("malformed ") + std::string(kPixelLlmKey) + " chunk: " + e.what());
    }
    for (uint32_t row : {io.input_row, io.logits_row, io.w_hidden_row, io.w_out_row})
        if (row == 0 || row >= program.height)
            return make_error(ErrorCode::Invalid, "Pixel-LLM symbols name row " + std::to_string(row) +
                                                      ", outside the image's data rows");
    return io;
}

Status set_input_codes(Image& program, const PixelLlmIo& io, const std::vector<uint8_t>& codes) {
    if (codes.size() != kLlmIn)
        return make_error(ErrorCode::Usage, "the Pixel-LLM input has " + std::to_string(kLlmIn) +
                                                " values, got " + std::to_string(codes.size()));
    return write_matrix(program, io.input_row, {kLlmIn, 1}, codes);
}

Status set_input(Image& program, const PixelLlmIo& io, const std::vector<double>& x) {
    if (io.dtype == DType::F32) {
        if (x.size() != kLlmIn)
            return make_error(ErrorCode::Usage, "the Pixel-LLM input has " + std::to_string(kLlmIn) +
                                                    " values, got " + std::to_string(x.size()));
        return write_float_matrix(program, io.input_row, {kLlmIn, 1}, DType::F32, to_f32(x));
    }
    return set_input_codes(program, io, quantize_all(x, io.input));
}

Status set_region_from_npy(Image& program, const std::string& region, const NpyArray& values) {
    const std::vector<Region> regions = program_regions(program);
    const Region* r = nullptr;
    for (const Region& reg : regions)
        if (reg.name == region) r = &reg;
    if (!r)
        return make_error(ErrorCode::Usage,
                          "the program has no region named '" + region + "' in its symbols");
    const MatrixHeader h = decode_header(program.pixel(0, r->row));
    if (values.size() != h.elements())
        return make_error(ErrorCode::Usage, "region '" + region + "' (row " + std::to_string(r->row) +
                                                ") holds " + std::to_string(h.elements()) +
                                                " values; the input has " + std::to_string(values.size()));
    if (r->type() == DType::F32) { // a float32 region takes the values as they are (rounded to f32)
        if (values.dtype == NpyDtype::U8)
            return make_error(ErrorCode::Usage,
                              "region '" + region + "' holds f32 values; give a float array");
        return write_float_matrix(program, r->row, h, DType::F32, to_f32(values.as_double()));
    }
    std::vector<uint8_t> codes;
    if (values.dtype == NpyDtype::U8) {
        auto u8 = values.as_u8(region);
        if (!u8) return u8.error();
        codes = std::move(u8.value());
    } else {
        if (!r->scale || !r->zero_point)
            return make_error(ErrorCode::Usage,
                              "region '" + region +
                                  "' has no scale and zero point in its symbols; give uint8 codes");
        codes = quantize_all(values.as_double(), QuantParams{*r->scale, *r->zero_point});
    }
    return write_matrix(program, r->row, h, codes);
}

Result<std::vector<double>> read_logits(const Image& program, const PixelLlmIo& io) {
    const MatrixHeader h = decode_header(program.pixel(0, io.logits_row));
    if (io.dtype == DType::F32) {
        if (!(h == MatrixHeader{kLlmOut, 1}))
            return make_error(ErrorCode::Invalid, "logits at row " + std::to_string(io.logits_row) +
                                                      " are not a 1x" + std::to_string(kLlmOut) + " matrix");
        auto f = read_float_matrix(program, io.logits_row, DType::F32);
        if (!f) return f.error();
        return std::vector<double>(f->begin(), f->end());
    }
    if (!(h == MatrixHeader{kLlmOut, 1}) || !matrix_fits(io.logits_row, h, program.width, program.height))
        return make_error(ErrorCode::Invalid, "logits at row " + std::to_string(io.logits_row) +
                                                  " are not a 1x" + std::to_string(kLlmOut) + " matrix");
    std::vector<double> y(kLlmOut);
    for (uint32_t i = 0; i < kLlmOut; ++i) {
        const Rgba p =
            program.pixel(element_x(i, program.width), uint32_t(element_y(i, io.logits_row, program.width)));
        y[i] = io.int32_logits ? io.logits.scale * double(rgba_to_i32(p)) : dequantize(p[0], io.logits);
    }
    return y;
}

// ---- v0.0.3 raw arithmetic ----

Result<RawModel> raw_model(const Image& program, const PixelLlmIo& io, const PixelLlmWeights& w) {
    RawModel m;
    auto w1 = read_matrix(program, io.w_hidden_row);
    if (!w1) return w1.error();
    auto w2 = read_matrix(program, io.w_out_row);
    if (!w2) return w2.error();
    if (w1->size() != size_t(kLlmIn) * kLlmHidden || w2->size() != size_t(kLlmHidden) * kLlmOut)
        return make_error(ErrorCode::Invalid, "W_hidden or W_out in the program has the wrong size");
    m.w_hidden = std::move(w1.value());
    m.w_out = std::move(w2.value());
    m.b_hidden = quantize_all(w.b_hidden, weight_params(w.b_hidden));
    m.b_out = quantize_all(w.b_out, weight_params(w.b_out));
    m.input = io.input;
    const Calibration cal = calibrate(w);
    m.logits = choose_quant_params(cal.logits_min, cal.logits_max);
    return m;
}

std::vector<double> raw_forward(const RawModel& m, const std::vector<double>& x) {
    const std::vector<uint8_t> xq = quantize_all(x, m.input);
    auto h = matmul_u8(xq, {kLlmIn, 1}, m.w_hidden, {kLlmHidden, kLlmIn});
    h = add_u8(h, {kLlmHidden, 1}, m.b_hidden, {kLlmHidden, 1}); // RELU is the identity on bytes
    auto y = matmul_u8(h, {kLlmHidden, 1}, m.w_out, {kLlmOut, kLlmHidden});
    y = add_u8(y, {kLlmOut, 1}, m.b_out, {kLlmOut, 1});
    std::vector<double> out(kLlmOut);
    for (uint32_t i = 0; i < kLlmOut; ++i)
        out[i] = dequantize(y[i], m.logits);
    return out;
}

// ---- Running and measuring ----

Result<Image> run_on_cpu(const Image& program) {
    VmState vm = make_vm(program);
    run(vm);
    if (vm.status == VmStatus::Trapped) return make_error(ErrorCode::Invalid, describe_trap(vm.trap));
    return std::move(vm.image);
}

namespace {

size_t argmax(const std::vector<double>& v) {
    return size_t(std::max_element(v.begin(), v.end()) - v.begin());
}

bool in_top5(const std::vector<double>& v, size_t index) {
    // Ranked by value, ties by lower index: index is in the top 5 when fewer than 5 rank above it.
    size_t above = 0;
    for (size_t i = 0; i < v.size(); ++i)
        if (v[i] > v[index] || (v[i] == v[index] && i < index)) ++above;
    return above < 5;
}

double rel_l2(const std::vector<double>& q, const std::vector<double>& f) {
    double num = 0, den = 0;
    for (size_t i = 0; i < f.size(); ++i)
        num += (q[i] - f[i]) * (q[i] - f[i]), den += f[i] * f[i];
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

} // namespace

Result<AccuracyReport> measure_accuracy(const Image& program, const PixelLlmWeights& w, uint32_t n,
                                        uint64_t seed, const ProgramRunner& runner, bool versus_f32) {
    if (n == 0) return make_error(ErrorCode::Usage, "accuracy needs at least one input");
    auto io = pixellm_io(program);
    if (!io) return io.error();
    const bool quantized = io->dtype == DType::U8;
    std::optional<RawModel> raw;
    if (quantized) {
        auto m = raw_model(program, *io, w);
        if (!m) return m.error();
        raw = std::move(m.value());
    }
    // The f32 build of the same weights, for a quantized program's "against float32" figures.
    std::optional<Image> f32_work;
    std::optional<PixelLlmIo> f32_io;
    if (quantized && versus_f32) {
        PixelLlmBuildOptions o;
        o.dtype = DType::F32;
        o.seed = io->seed;
        o.weights_file = io->weights_file;
        auto img = build_pixellm(w, o);
        if (!img) return img.error();
        auto fio = pixellm_io(*img);
        if (!fio) return fio.error();
        f32_work = std::move(img.value());
        f32_io = *fio;
    }
    AccuracyReport rep;
    rep.inputs = n;
    rep.seed = seed;
    rep.dtype = io->dtype;
    AccuracyFigures vs_f32;
    auto add = [](AccuracyFigures& a, const std::vector<double>& q, const std::vector<double>& ref) {
        const size_t best = argmax(ref);
        a.top1_agreement += argmax(q) == best;
        a.top5_containment += in_top5(q, best);
        const double e = rel_l2(q, ref);
        a.rel_l2 += e;
        return e;
    };
    Image work = program;
    for (uint32_t i = 0; i < n; ++i) {
        const std::vector<double> x = seeded_input(seed, i);
        const std::vector<double> f = float_forward(w, x);
        if (Status st = set_input(work, *io, x); !st) return st.error();
        auto ran = runner(work);
        if (!ran) return ran.error();
        auto q = read_logits(*ran, *io);
        if (!q) return q.error();
        rep.max_rel_l2 = std::max(rep.max_rel_l2, add(rep.quantized, *q, f));
        if (raw) add(rep.raw, raw_forward(*raw, x), f);
        if (f32_work) {
            if (Status st = set_input(*f32_work, *f32_io, x); !st) return st.error();
            auto fr = run_on_cpu(*f32_work);
            if (!fr) return fr.error();
            auto fl = read_logits(*fr, *f32_io);
            if (!fl) return fl.error();
            add(vs_f32, *q, *fl);
        }
    }
    for (AccuracyFigures* a : {&rep.quantized, &rep.raw, &vs_f32}) {
        a->top1_agreement /= n;
        a->top5_containment /= n;
        a->rel_l2 /= n;
    }
    if (f32_work) rep.vs_f32 = vs_f32;
    return rep;
}

Result<PixelLlmWeights> program_weights(const PixelLlmIo& io, const std::string& override_file) {
    const std::string file = override_file.empty() ? io.weights_file : override_file;
    if (!file.empty()) return load_npz_weights(file);
    if (io.seed) return seeded_weights(*io.seed);
    return make_error(ErrorCode::Usage,
                      "the program records neither a seed nor a weights file; pass --weights");
}

Status save_npz_weights(const PixelLlmWeights& w, const std::string& path) {
    auto f64 = [](std::vector<uint64_t> shape, const std::vector<double>& v) {
        NpyArray a;
        a.shape = std::move(shape);
        a.dtype = NpyDtype::F64;
        a.data.resize(v.size() * 8);
        for (size_t i = 0; i < v.size(); ++i) {
            const uint64_t bits = std::bit_cast<uint64_t>(v[i]);
            for (int k = 0; k < 8; ++k)
                a.data[i * 8 + k] = uint8_t(bits >> (8 * k));
        }
        return a;
    };
    if (Status st = check_weights(w); !st) return st;
    return write_npz({{"W_hidden", f64({kLlmIn, kLlmHidden}, w.w_hidden)},
                      {"b_hidden", f64({kLlmHidden}, w.b_hidden)},
                      {"W_out", f64({kLlmHidden, kLlmOut}, w.w_out)},
                      {"b_out", f64({kLlmOut}, w.b_out)}},
                     path);
}

Result<PixelLlmWeights> load_npz_weights(const std::string& path) {
    auto arrays = read_npz(path);
    if (!arrays) return arrays.error();
    PixelLlmWeights w;
    struct Want {
        const char* name;
        std::vector<uint64_t> shape;
        std::vector<double>* dst;
    };
    const Want wants[] = {{"W_hidden", {kLlmIn, kLlmHidden}, &w.w_hidden},
                          {"b_hidden", {kLlmHidden}, &w.b_hidden},
                          {"W_out", {kLlmHidden, kLlmOut}, &w.w_out},
                          {"b_out", {kLlmOut}, &w.b_out}};
    for (const Want& want : wants) {
        auto it = arrays->find(want.name);
        if (it == arrays->end())
            return make_error(ErrorCode::Invalid, path + ": no array " + want.name +
                                                      " (the Pixel-LLM needs W_hidden " +
                                                      "128x128, b_hidden 128, W_out 128x1024, b_out 1024)");
        const NpyArray& a = it->second;
        if (a.shape != want.shape &&
            !(want.shape.size() == 1 && a.shape == std::vector<uint64_t>{1, want.shape[0]})) {
            std::string got;
            for (uint64_t d : a.shape)
                got += (got.empty() ? "" : "x") + std::to_string(d);
            return make_error(ErrorCode::Invalid,
                              path + ": " + want.name + " has shape " + (got.empty() ? "()" : got) +
                                  ", expected " + std::to_string(want.shape[0]) +
                                  (want.shape.size() > 1 ? "x" + std::to_string(want.shape[1]) : ""));
        }
        *want.dst = a.as_double();
    }
    if (Status st = check_weights(w); !st)
        return make_error(st.error().code, path + ": " + st.error().message);
    return w;
}

} // namespace px
