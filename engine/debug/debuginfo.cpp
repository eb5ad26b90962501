// debuginfo.cpp — `pxos.symbols` JSON (PROTOCOL.md §7) and region inference from row 0.
#include "debuginfo.h"

#include "quant.h"

#include "protocol.h"
#include "typing.h"
#include "vm.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace px {

namespace {

Error symbols_error(const std::string& what) {
    return make_error(ErrorCode::Invalid, "text chunk " + std::string(kSymbolsKey) + ": " + what);
}

bool fits_u16(const nlohmann::json& v) {
    return v.is_number_unsigned() && v.get<uint64_t>() <= 65535;
}

} // namespace

Result<DebugInfo> read_debug_info(const Image& image) {
    DebugInfo info;
    if (const TextChunk* src = find_text(image, std::string(kSourceKey))) info.source = src->text;
    const TextChunk* chunk = find_text(image, std::string(kSymbolsKey));
    if (!chunk) return info;
    nlohmann::json j = nlohmann::json::parse(chunk->text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return symbols_error("not valid JSON");
    if (!j.is_object()) return symbols_error("not a JSON object");
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int64_t>() != 1)
        return symbols_error("\"version\" must be 1");
    if (!j.contains("regions") || !j["regions"].is_array())
        return symbols_error("\"regions\" must be an array");
    size_t index = 0;
    for (const auto& r : j["regions"]) {
        const std::string where = "region " + std::to_string(index++);
        if (!r.is_object()) return symbols_error(where + " is not an object");
        if (!r.contains("name") || !r["name"].is_string())
            return symbols_error(where + ": \"name\" must be a string");
        for (const char* key : {"row", "rows", "cols"})
            if (!r.contains(key) || !fits_u16(r[key]))
                return symbols_error(where + ": \"" + key + "\" must be an integer 0..65535");
        Region region;
        region.name = r["name"].get<std::string>();
        region.row = r["row"].get<uint32_t>();
        region.shape = {r["cols"].get<uint32_t>(), r["rows"].get<uint32_t>()};
        region.from_symbols = true;
        if (r.contains("scale")) {
            if (!r["scale"].is_number()) return symbols_error(where + ": \"scale\" must be a number");
            region.scale = r["scale"].get<double>();
        }
        if (r.contains("zero_point")) {
            if (!r["zero_point"].is_number_integer())
                return symbols_error(where + ": \"zero_point\" must be an integer");
            region.zero_point = r["zero_point"].get<int32_t>();
        }
        if (r.contains("dtype")) {
            const auto t = r["dtype"].is_string() ? parse_dtype(r["dtype"].get<std::string>()) : std::nullopt;
            if (!t)
                return symbols_error(where + ": \"dtype\" must be one of \"u8\", \"f32\", \"f16\", \"i32\"");
            region.dtype = *t;
        }
        info.regions.push_back(std::move(region));
    }
    return info;
}

void write_debug_info(Image& image, const DebugInfo& info) {
    nlohmann::json regions = nlohmann::json::array();
    for (const Region& r : info.regions) {
        nlohmann::json o{{"name", r.name}, {"row", r.row}, {"rows", r.shape.rows}, {"cols", r.shape.cols}};
        if (r.scale) o["scale"] = *r.scale;
        if (r.zero_point) o["zero_point"] = *r.zero_point;
        if (r.dtype) o["dtype"] = std::string(dtype_name(*r.dtype));
        regions.push_back(std::move(o));
    }
    nlohmann::json j{{"version", 1}, {"regions", std::move(regions)}};
    set_text(image, std::string(kSymbolsKey), j.dump());
    if (!info.source.empty()) set_text(image, std::string(kSourceKey), info.source);
}

namespace {
// Fills each region's dtype the symbols left open from the instructions' uses (typing.h).
std::vector<Region> with_types(std::vector<Region> regions, const Image& image) {
    const MatrixTypes types = matrix_types(program_instructions(image));
    for (Region& r : regions)
        if (!r.dtype) r.dtype = types.of(r.row);
    std::stable_sort(regions.begin(), regions.end(),
                     [](const Region& a, const Region& b) { return a.row < b.row; });
    return regions;
}
} // namespace

std::vector<Region> program_regions(const Image& image) {
    std::vector<Region> regions;
    if (find_text(image, std::string(kSymbolsKey))) {
        auto info = read_debug_info(image);
        if (info.ok()) return with_types(std::move(info->regions), image);
    }
    if (image.width == 0 || image.height == 0) return regions;
    // Inference: walk row 0 up to the first HALT (or a decode failure), collecting operands.
    const PixelFetch fetch = image_fetch(image);
    auto add = [&](uint32_t row, bool scalar) {
        if (row < 1 || row >= image.height) return;
        for (const Region& r : regions)
            if (r.row == row) return;
        Region region;
        region.row = row;
        if (scalar) {
            region.name = "s" + std::to_string(row);
            region.shape = {0, 0}; // a single pixel: (0, row); matrix_rects gives just that pixel
        } else {
            region.name = "m" + std::to_string(row);
            region.shape = decode_header(image.pixel(0, row));
        }
        regions.push_back(std::move(region));
    };
    uint32_t pc = 0;
    while (pc < image.width) {
        const Decoded d = decode(fetch, image.width, pc);
        if (d.truncated || !d.ins.info) break;
        if (Opcode(d.ins.opcode) == Opcode::HALT) break;
        for (int k = 0; k < 3; ++k) {
            const OperandKind kind = d.ins.info->operands[k];
            if (kind == OperandKind::None) continue;
            add(d.ins.operand[k], kind == OperandKind::ScalarOut);
        }
        for (const uint32_t row : param_rows(d.ins))
            add(row, false); // QMATMUL's bias
        pc += d.ins.length;
    }
    return with_types(std::move(regions), image);
}

std::vector<Rect> region_rects(const Region& r, uint32_t width) {
    return typed_matrix_rects(r.row, r.shape, r.type(), width);
}

std::vector<Rect> matrix_rects_now(const std::vector<Region>& regions, const Image& image, uint32_t row) {
    if (row >= image.height || image.width < 1) return {};
    DType type = DType::U8;
    for (const Region& r : regions)
        if (r.row == row) type = r.type();
    return typed_matrix_rects(row, decode_header(image.pixel(0, row)), type, image.width);
}

const Region* region_at(const std::vector<Region>& regions, const Image& image, uint32_t x, uint32_t y) {
    if (image.width < 1) return nullptr;
    for (const Region& r : regions) {
        if (y < r.row) continue;
        if (x == 0 && y == r.row) return &r;
        if (image.width < 2) continue;
        for (const Rect& rect : region_rects(r, image.width))
            if (rect.contains(x, y)) return &r;
    }
    return nullptr;
}

bool region_written(const Region& r, uint32_t width, const std::vector<Rect>& written) {
    if (width < 2) return false;
    const auto overlap = [](const Rect& a, const Rect& b) {
        return !a.empty() && !b.empty() && uint64_t(a.x) < uint64_t(b.x) + b.w &&
               uint64_t(b.x) < uint64_t(a.x) + a.w && uint64_t(a.y) < uint64_t(b.y) + b.h &&
               uint64_t(b.y) < uint64_t(a.y) + a.h;
    };
    const std::vector<Rect> mine = region_rects(r, width);
    for (const Rect& w : written)
        for (const Rect& m : mine)
            if (overlap(w, m)) return true;
    return false;
}

} // namespace px
