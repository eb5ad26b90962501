// Tests of engine/compare: per-region differences, element types, value statistics and the
// histogram, each against a direct computation (region_at per pixel, sums over plain vectors).
#include "compare.h"
#include "history.h"
#include "png_io.h"
#include "quant.h"
#include "random_program.h"
#include "test_util.h"
#include "vm.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

using namespace px;
using namespace pxtest;

namespace {

// Brute force: each pixel's region by region_at (the debugger's own lookup), values by type.
void check_diff(const Image& a, const Image& b, const std::vector<Region>& regions, const Row0Listing& row0) {
    const ImageDiff got = diff_by_region(a, b, regions, row0);
    REQUIRE(got.error.empty());
    REQUIRE(got.regions.size() == regions.size() + 2);
    struct Acc {
        uint64_t pixels = 0, count = 0, elements = 0, max_abs = 0;
        double sum = 0;
    };
    std::map<std::string, Acc> want;
    uint64_t total = 0;
    for (uint32_t y = 0; y < a.height; ++y)
        for (uint32_t x = 0; x < a.width; ++x) {
            std::string name = "other pixels";
            bool element = false;
            DType type = DType::U8;
            if (y == 0) {
                name = "row 0";
            } else if (const Region* r = region_at(regions, a, x, y)) {
                name = r->name;
                element = !(x == 0 && y == r->row);
                type = element_type(row0, r->row, r);
            }
            Acc& acc = want[name];
            acc.pixels++;
            const Rgba pa = a.pixel(x, y), pb = b.pixel(x, y);
            if (pa != pb) acc.count++, total++;
            if (!element) continue;
            acc.elements++;
            int64_t va = pa[0], vb = pb[0];
            if (type == DType::I32) {
                int32_t ia, ib;
                std::memcpy(&ia, pa.data(), 4); // little-endian host, as PROTOCOL.md's int32 pixel
                std::memcpy(&ib, pb.data(), 4);
                va = ia, vb = ib;
            }
            const uint64_t d = uint64_t(std::llabs(va - vb));
            acc.max_abs = std::max(acc.max_abs, d);
            acc.sum += double(d);
        }
    CHECK(got.count == total);
    for (const RegionDiff& d : got.regions) {
        INFO("region " << d.name);
        const Acc& w = want[d.name];
        CHECK(d.pixels == w.pixels);
        CHECK(d.count == w.count);
        CHECK(d.elements == w.elements);
        CHECK(d.max_abs == w.max_abs);
        CHECK(d.mean_abs == doctest::Approx(w.elements ? w.sum / double(w.elements) : 0.0));
    }
}

} // namespace

TEST_CASE("per-region differences between steps of the Pixel-LLM match a per-pixel count") {
    auto loaded = load_png(source_path("assets/pixellm.pxi"));
    REQUIRE(loaded.ok());
    VmState vm = make_vm(loaded->image);
    History history;
    while (vm.status == VmStatus::Ready) {
        UndoRecord u;
        step(vm, &u);
        history.push_back(std::move(u));
    }
    REQUIRE(vm.status == VmStatus::Halted);
    const std::vector<Region> regions = program_regions(vm.image);
    const Row0Listing row0 = decode_row0(vm.image);
    // The logits and the output bias are int32 (QMATMUL32's output, its bias row); inputs are not.
    bool saw_logits = false;
    for (const Region& r : regions) {
        if (r.name == "logits" || r.name == "b_out") {
            CHECK(element_type(row0, r.row) == DType::I32);
            saw_logits |= r.name == "logits";
        }
        if (r.name == "x" || r.name.rfind("W", 0) == 0) CHECK(element_type(row0, r.row) == DType::U8);
    }
    CHECK(saw_logits);
    for (size_t k = 0; k < history.size(); k += 2) {
        INFO("now vs before step " << k + 1);
        check_diff(vm.image, image_before(history, vm.image, k), regions, row0);
    }
    // Identical images: nothing differs anywhere.
    const ImageDiff same = diff_by_region(vm.image, vm.image, regions, row0);
    CHECK(same.count == 0);
    for (const RegionDiff& d : same.regions)
        CHECK(d.max_abs == 0);
    // The logits differ from the loaded image's by more than a byte can: int32 values are compared.
    const ImageDiff d0 = diff_by_region(vm.image, loaded->image, regions, row0);
    for (const RegionDiff& d : d0.regions)
        if (d.name == "logits") {
            CHECK(d.count > 0);
            CHECK(d.type == DType::I32);
        }
}

TEST_CASE("per-region differences of random programs and random corruptions") {
    std::mt19937 rng(99);
    for (int n = 0; n < 100; ++n) {
        const Image program = random_program(rng);
        VmState vm = make_vm(program);
        run(vm);
        Image b = vm.image;
        for (int k = 0; k < 5; ++k)
            b.rgba[rng() % b.rgba.size()] ^= uint8_t(1 + rng() % 255);
        const std::vector<Region> regions = program_regions(vm.image);
        check_diff(vm.image, b, regions, decode_row0(vm.image));
        check_diff(vm.image, program, regions, decode_row0(vm.image));
    }
}

TEST_CASE("a size mismatch is an error, not a comparison") {
    const ImageDiff d = diff_by_region(make_image(3, 3), make_image(3, 4), {}, {});
    CHECK(d.error == "sizes differ: 3x3 vs 3x4");
    CHECK(d.regions.empty());
}

TEST_CASE("value statistics and histogram against direct sums") {
    const std::vector<double> v = {0, 128, 128, 255, 3, 128, -70000, 90000};
    const ValueStats s = value_stats(v, 128);
    double mean = 0;
    for (double x : v)
        mean += x;
    mean /= double(v.size());
    double var = 0;
    for (double x : v)
        var += (x - mean) * (x - mean);
    CHECK(s.count == 8);
    CHECK(s.mean == doctest::Approx(mean));
    CHECK(s.std == doctest::Approx(std::sqrt(var / 8)));
    CHECK(s.min == -70000);
    CHECK(s.max == 90000);
    CHECK(s.zero_point_count == 3);
    CHECK(s.zero_point_share == doctest::Approx(3.0 / 8));

    const Histogram h = histogram(v, 0, 256, 4); // bins of 64: [0,64) [64,128) [128,192) [192,256]
    REQUIRE(h.bins.size() == 4);
    CHECK(h.bins[0] == 2); // 0, 3
    CHECK(h.bins[1] == 0);
    CHECK(h.bins[2] == 3); // 128 x3
    CHECK(h.bins[3] == 1); // 255
    CHECK(h.below == 1);
    CHECK(h.above == 1);
    // The range follows what the user types: 0..8 in 8 bins puts each small value in its own bin.
    const Histogram small = histogram({0, 1, 2, 3, 8, 9}, 0, 8, 8);
    CHECK(small.bins == std::vector<uint64_t>{1, 1, 1, 1, 0, 0, 0, 1});
    CHECK(small.above == 1);
    // A range with lo >= hi counts nothing in the bins.
    const Histogram bad = histogram({1, 2}, 5, 5, 4);
    CHECK(bad.below == 2);
    CHECK(value_stats({}, 0).count == 0);
}

TEST_CASE("matrix_values reads int32 pixels whole and uint8 codes from R") {
    Image img = make_image(4, 4);
    put_matrix(img, 1, 1, 3, {1, 2, 3});
    img.set_pixel(2, 1, i32_to_rgba(-78));
    auto u = matrix_values(img, 1, DType::U8);
    REQUIRE(u.ok());
    CHECK(u.value() == std::vector<double>{1, double(i32_to_rgba(-78)[0]), 3});
    auto i = matrix_values(img, 1, DType::I32);
    REQUIRE(i.ok());
    CHECK(i.value()[1] == -78);
    CHECK(!matrix_values(img, 9, DType::U8).ok());
}
