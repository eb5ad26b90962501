#include "compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace px {

namespace {

// Exact for both types (uint8 and int32 fit a double), so differences are exact too.
int64_t value_of(const uint8_t* p, ElementType type) {
    return int64_t(element_value({p[0], p[1], p[2], p[3]}, type));
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
        out.regions[1 + i].type = element_type(row0, regions[i].row);
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
        const MatrixHeader shape = r.shape.elements() == 0 ? MatrixHeader{} : h; // scalar: one pixel
        for (const Rect& rc : matrix_rects(r.row, shape, a.width))
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
        const int64_t va = value_of(pa, d.type);
        const int64_t vb = value_of(pb, d.type);
        const uint64_t diff = uint64_t(va > vb ? va - vb : vb - va);
        d.max_abs = std::max(d.max_abs, diff);
        d.mean_abs += double(diff); // a sum until the end
    }
    for (RegionDiff& d : out.regions)
        d.mean_abs = d.elements ? d.mean_abs / double(d.elements) : 0;
    return out;
}

ValueStats value_stats(const std::vector<int64_t>& values, int64_t zero_point) {
    ValueStats s;
    s.zero_point = zero_point;
    s.count = values.size();
    if (values.empty()) return s;
    s.min = s.max = values[0];
    double sum = 0;
    for (const int64_t v : values) {
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
        sum += double(v);
        s.zero_point_count += v == zero_point;
    }
    s.mean = sum / double(values.size());
    double sq = 0; // two passes: no catastrophic cancellation for int32 logits
    for (const int64_t v : values)
        sq += (double(v) - s.mean) * (double(v) - s.mean);
    s.std = std::sqrt(sq / double(values.size()));
    s.zero_point_share = double(s.zero_point_count) / double(values.size());
    return s;
}

Histogram histogram(const std::vector<int64_t>& values, double lo, double hi, uint32_t bins) {
    Histogram h;
    h.lo = lo;
    h.hi = hi;
    h.bins.assign(std::max<uint32_t>(bins, 1), 0);
    const bool valid = bins >= 1 && lo < hi && std::isfinite(lo) && std::isfinite(hi);
    for (const int64_t iv : values) {
        const double v = double(iv);
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

Result<std::vector<int64_t>> matrix_values(const Image& image, uint32_t row, ElementType type) {
    auto codes = read_matrix(image, row); // checks the row and the fit
    if (!codes) return codes.error();
    std::vector<int64_t> out(codes->size());
    for (uint64_t i = 0; i < out.size(); ++i)
        out[i] =
            value_of(image.at(element_x(i, image.width), uint32_t(element_y(i, row, image.width))), type);
    return out;
}

} // namespace px
