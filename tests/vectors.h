// vectors.h — loads and checks the protocol test vectors of tests/vectors/ (format:
// tests/vectors/README.md). Header-only, so every executor's tests can run the same vectors:
//
//   for (const std::string& path : pxtest::vector_files()) {
//       auto v = pxtest::load_vector(path);           // px::Result<pxtest::Vector>
//       ... run v->image with v->step_limit on some executor ...
//       std::string diff = pxtest::check_vector(*v, final_image, status, steps, pc, trap);
//       CHECK_MESSAGE(diff.empty(), diff);
//   }
#pragma once
#include "image.h"
#include "protocol.h"
#include "result.h"
#include "vm.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef PXOS_SOURCE_DIR
#error "vectors.h needs PXOS_SOURCE_DIR (set by tests/CMakeLists.txt)"
#endif

namespace pxtest {

using PixelEntry = std::array<uint32_t, 6>; // x, y, r, g, b, a

struct VectorExpect {
    std::string status; // "halted" or "trapped"
    uint64_t steps = 0;
    uint32_t pc = 0;
    std::string trap; // trap name when trapped, e.g. "SHAPE_MISMATCH"
    uint32_t trap_x = 0, trap_y = 0;
    std::vector<PixelEntry> output; // every non-zero pixel of the final image, sorted by (y, x)
};

struct Vector {
    std::string path, name, description;
    px::Image image; // the input program
    uint64_t step_limit = px::kDefaultStepLimit;
    VectorExpect expect;
};

// Every tests/vectors/*.json, sorted by name.
inline std::vector<std::string> vector_files() {
    std::vector<std::string> files;
    const std::filesystem::path dir = std::filesystem::path(PXOS_SOURCE_DIR) / "tests" / "vectors";
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".json") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

namespace detail {
inline std::vector<PixelEntry> read_pixels(const nlohmann::json& list, uint32_t w, uint32_t h,
                                           const std::string& where) {
    std::vector<PixelEntry> out;
    for (const auto& p : list) {
        if (!p.is_array() || p.size() != 6)
            throw std::runtime_error(where + ": a pixel is not [x,y,r,g,b,a]");
        PixelEntry e{};
        for (size_t i = 0; i < 6; ++i)
            e[i] = p[i].get<uint32_t>();
        if (e[0] >= w || e[1] >= h) throw std::runtime_error(where + ": pixel outside the image");
        for (size_t i = 2; i < 6; ++i)
            if (e[i] > 255) throw std::runtime_error(where + ": a channel is above 255");
        out.push_back(e);
    }
    return out;
}
} // namespace detail

inline px::Result<Vector> load_vector(const std::string& path) {
    try {
        std::ifstream f(path);
        if (!f) return px::make_error(px::ErrorCode::Io, path + ": cannot open");
        const nlohmann::json j = nlohmann::json::parse(f);
        Vector v;
        v.path = path;
        v.name = j.at("name").get<std::string>();
        v.description = j.value("description", "");
        const uint32_t w = j.at("width").get<uint32_t>(), h = j.at("height").get<uint32_t>();
        if (w == 0 || h == 0 || w > px::kMaxDimension || h > px::kMaxDimension)
            return px::make_error(px::ErrorCode::Invalid, path + ": bad dimensions");
        v.image = px::make_image(w, h);
        for (const PixelEntry& e : detail::read_pixels(j.at("input"), w, h, path + " input"))
            v.image.set_pixel(e[0], e[1], {uint8_t(e[2]), uint8_t(e[3]), uint8_t(e[4]), uint8_t(e[5])});
        v.step_limit = j.value("step_limit", px::kDefaultStepLimit);
        const auto& x = j.at("expect");
        v.expect.status = x.at("status").get<std::string>();
        v.expect.steps = x.at("steps").get<uint64_t>();
        v.expect.pc = x.at("pc").get<uint32_t>();
        if (v.expect.status == "trapped") {
            v.expect.trap = x.at("trap").get<std::string>();
            v.expect.trap_x = x.at("trap_pixel").at(0).get<uint32_t>();
            v.expect.trap_y = x.at("trap_pixel").at(1).get<uint32_t>();
        } else if (v.expect.status != "halted") {
            return px::make_error(px::ErrorCode::Invalid, path + ": expect.status must be halted or trapped");
        }
        v.expect.output = detail::read_pixels(x.at("output"), w, h, path + " expect.output");
        return v;
    } catch (const std::exception& e) {
        return px::make_error(px::ErrorCode::Invalid, path + ": " + e.what());
    }
}

// Every non-zero pixel of an image, sorted by (y, x): the form of expect.output.
inline std::vector<PixelEntry> nonzero_pixels(const px::Image& img) {
    std::vector<PixelEntry> out;
    for (uint32_t y = 0; y < img.height; ++y)
        for (uint32_t x = 0; x < img.width; ++x) {
            const px::Rgba p = img.pixel(x, y);
            if (p[0] || p[1] || p[2] || p[3]) out.push_back({x, y, p[0], p[1], p[2], p[3]});
        }
    return out;
}

// Compares an executor's final state with the vector. Returns "" when it matches, else a
// readable report naming the vector and every difference (pixels: the first 20).
inline std::string check_vector(const Vector& v, const px::Image& final_image, const std::string& status,
                                uint64_t steps, uint32_t pc, const std::string& trap_name = "",
                                uint32_t trap_x = 0, uint32_t trap_y = 0) {
    std::ostringstream d;
    const VectorExpect& e = v.expect;
    if (status != e.status) d << "  status: got " << status << ", expected " << e.status << "\n";
    if (steps != e.steps) d << "  steps: got " << steps << ", expected " << e.steps << "\n";
    if (pc != e.pc) d << "  pc: got " << pc << ", expected " << e.pc << "\n";
    if (e.status == "trapped" && status == "trapped" &&
        (trap_name != e.trap || trap_x != e.trap_x || trap_y != e.trap_y))
        d << "  trap: got " << trap_name << " at (" << trap_x << "," << trap_y << "), expected " << e.trap
          << " at (" << e.trap_x << "," << e.trap_y << ")\n";
    if (final_image.width != v.image.width || final_image.height != v.image.height) {
        d << "  image size: got " << final_image.width << "x" << final_image.height << "\n";
    } else {
        auto at = [](const std::vector<PixelEntry>& list, size_t i) { return list[i]; };
        const std::vector<PixelEntry> got = nonzero_pixels(final_image);
        // Merge the two sorted lists and report pixels that differ.
        size_t i = 0, k = 0, shown = 0, total = 0;
        auto key = [](const PixelEntry& p) { return uint64_t(p[1]) << 32 | p[0]; };
        auto fmt = [](const PixelEntry& p) {
            return "(" + std::to_string(p[2]) + "," + std::to_string(p[3]) + "," + std::to_string(p[4]) +
                   "," + std::to_string(p[5]) + ")";
        };
        while (i < got.size() || k < e.output.size()) {
            std::string line;
            if (k == e.output.size() || (i < got.size() && key(at(got, i)) < key(e.output[k]))) {
                const PixelEntry& g = got[i++];
                line = "pixel (" + std::to_string(g[0]) + "," + std::to_string(g[1]) + "): got " + fmt(g) +
                       ", expected (0,0,0,0)";
            } else if (i == got.size() || key(e.output[k]) < key(got[i])) {
                const PixelEntry& x = e.output[k++];
                line = "pixel (" + std::to_string(x[0]) + "," + std::to_string(x[1]) +
                       "): got (0,0,0,0), expected " + fmt(x);
            } else {
                const PixelEntry& g = got[i++];
                const PixelEntry& x = e.output[k++];
                if (g != x)
                    line = "pixel (" + std::to_string(g[0]) + "," + std::to_string(g[1]) + "): got " +
                           fmt(g) + ", expected " + fmt(x);
            }
            if (line.empty()) continue;
            ++total;
            if (shown++ < 20) d << "  " << line << "\n";
        }
        if (total > 20) d << "  ... and " << (total - 20) << " more pixels differ\n";
    }
    const std::string diffs = d.str();
    if (diffs.empty()) return "";
    return "vector " + v.name + " (" + v.path + "): " + v.description + "\n" + diffs;
}

// The same, for a CPU VM state.
inline std::string check_vector(const Vector& v, const px::VmState& vm) {
    return check_vector(v, vm.image, std::string(px::status_name(vm.status)), vm.steps, vm.pc,
                        vm.status == px::VmStatus::Trapped ? std::string(px::trap_name(vm.trap.code)) : "",
                        vm.trap.x, vm.trap.y);
}

} // namespace pxtest
