#include "compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace px {

namespace {

// |a - b| of two element values (exact for uint8 and int32, which fit a double); see RegionDiff.
double abs_diff(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INFINITY;
    if (a == b) return 0; // equal infinities too
    return std::fabs(a - b);
}

// The largest difference among the elements one pixel holds (two for f16).
double pixel_diff(const uint8_t* pa, const uint8_t* pb, DType type) {
    const Rgba a{pa[0], pa[1], pa[2], pa[3]}, b{pb[0], pb[1], pb[2], pb[3]};
    double d = abs_diff(element_value(a, type), element_value(b, type));
    if (type == DType::F16) d = std::max(d, abs_diff(element_value(a, type, 1), element_value(b, type, 1)));
    return d;
}

} // namespace

ImageDiff diff_by_region(const Image& a, const Image& b, const std::vector<Region>& regions,
                         const Row0Listing& row0) {
    ImageDiff out;
    if (a.width != b.width || a.height != b.height) {
        out.error = "sizes differ: " + std::to_string(a.width) + "x" + std::to_string(a.height) + " vs " +
                    std::to_string(b.width) + "x" + std::to_string(b.height);
        return out;
    }
    // Slot of each pixel: 0 = row 0, 1 + i = regions[i], last = other pixels.
    const size_t other = regions.size() + 1;
    out.regions.resize(regions.size() + 2);
    out.regions[0].name = "row 0";
    for (size_t i = 0; i < regions.size(); ++i) {
        out.regions[1 + i].name = regions[i].name;
        out.regions[1 + i].row = regions[i].row;
        out.regions[1 + i].type = element_type(row0, regions[i].row, &regions[i]);
    }
    out.regions[other].name = "other pixels";
    std::vector<uint32_t> slot(size_t(a.width) * a.height, uint32_t(other));
    std::vector<uint8_t> is_element(slot.size(), 0);
    for (uint32_t x = 0; x < a.width; ++x)
        slot[x] = 0;
    // Later regions must not take pixels of earlier ones (region_at's first-match rule): fill
    // back to front so the earliest region writes last.
    for (size_t i = regions.size(); i-- > 0;) {
        const Region& r = regions[i];
        if (r.row == 0 || r.row >= a.height) continue;
        const MatrixHeader h = decode_header(a.pixel(0, r.row));
        Region typed = r; // the header's shape now, in the region's type (f16: half the pixels)
        typed.shape = r.shape.elements() == 0 ? MatrixHeader{} : h; // scalar: one pixel
        for (const Rect& rc : region_rects(typed, a.width))
            for (uint32_t y = rc.y; y < rc.y + rc.h && y < a.height; ++y)
                for (uint32_t x = rc.x; x < rc.x + rc.w; ++x) {
                    const size_t k = size_t(y) * a.width + x;
                    slot[k] = uint32_t(1 + i);
                    is_element[k] = !(x == 0 && y == r.row);
                }
    }
    for (size_t k = 0; k < slot.size(); ++k) {
        RegionDiff& d = out.regions[slot[k]];
        const uint8_t* pa = a.rgba.data() + k * 4;
        const uint8_t* pb = b.rgba.data() + k * 4;
        d.pixels++;
        const bool differs = std::memcmp(pa, pb, 4) != 0;
        if (differs) {
            if (d.count++ == 0) d.first_x = uint32_t(k % a.width), d.first_y = uint32_t(k / a.width);
            out.count++;
        }
        if (!is_element[k]) continue;
        d.elements++;
        if (!differs) continue;
        const double diff = pixel_diff(pa, pb, d.type);
        d.max_abs = std::max(d.max_abs, diff);
        d.mean_abs += diff; // a sum until the end
    }
    for (RegionDiff& d : out.regions)
        d.mean_abs = d.elements ? d.mean_abs / double(d.elements) : 0;
    return out;
}

ValueStats value_stats(const std::vector<double>& values, int64_t zero_point) {
    ValueStats s;
    s.zero_point = zero_point;
    s.count = values.size();
    if (values.empty()) return s;
    double sum = 0;
    uint64_t finite = 0;
    for (const double v : values) {
        if (std::isnan(v)) {
            s.nan++;
            continue;
        }
        if (std::isinf(v)) {
            s.inf++;
            continue;
        }
        s.min = finite ? std::min(s.min, v) : v;
        s.max = finite ? std::max(s.max, v) : v;
        ++finite;
        sum += v;
        s.zero_point_count += v == double(zero_point);
    }
    if (finite == 0) return s;
    s.mean = sum / double(finite);
    double sq = 0; // two passes: no catastrophic cancellation for int32 logits
    for (const double v : values)
        if (std::isfinite(v)) sq += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(sq / double(finite));
    s.zero_point_share = double(s.zero_point_count) / double(values.size());
    return s;
}

Histogram histogram(const std::vector<double>& values, double lo, double hi, uint32_t bins) {
    Histogram h;
    h.lo = lo;
    h.hi = hi;
    h.bins.assign(std::max<uint32_t>(bins, 1), 0);
    const bool valid = bins >= 1 && lo < hi && std::isfinite(lo) && std::isfinite(hi);
    for (const double v : values) {
        if (std::isnan(v)) {
            h.nan++;
            continue;
        }
        if (!valid || v < lo) {
            h.below++;
            continue;
        }
        if (v > hi) {
            h.above++;
            continue;
        }
        size_t k = size_t((v - lo) / (hi - lo) * bins);
        h.bins[std::min<size_t>(k, bins - 1)]++; // v == hi goes to the last bin
    }
    return h;
}

Result<std::vector<double>> matrix_values(const Image& image, uint32_t row, DType type) {
    auto m = read_typed_matrix(image, row, type); // checks the row and the fit
    if (!m) return m.error();
    return std::move(m->stored);
}

} // namespace px
