// compare.h — A/B comparison of two images and statistics of a matrix's values, GUI-free.
//
// pxdbg compares the CPU image with the GPU's, or now with any earlier step, and shows per region
// how many pixels differ and by how much (the maximum and mean absolute difference of the
// elements' values); its weight statistics show mean, std, min, max, the zero-point share and a
// histogram over a chosen range. Values are the elements' real stored values: a uint8 code in the
// R channel, or a whole int32 pixel for matrices that an instruction writes or reads as int32
// (QMATMUL32's output, the bias rows of QMATMUL and QMATMUL32), as inspect.h's element_type says.
#pragma once
#include "debuginfo.h"
#include "image.h"
#include "inspect.h"

#include <cstdint>
#include <string>
#include <vector>

namespace px {

// Element types (ElementType, element_type, element_value) come from inspect.h.

// Differences between two images of the same size inside one region (or row 0, or the pixels of
// no region). count: pixels whose RGBA differ (any channel, header included). max_abs and
// mean_abs: over the region's elements (header excluded), |value_a - value_b| in the element
// type; mean over all elements, not only those that differ.
struct RegionDiff {
    std::string name; // region name, "row 0" or "other pixels"
    uint32_t row = 0; // header row (0 for row 0 and for "other pixels")
    ElementType type = ElementType::U8;
    uint64_t pixels = 0;   // pixels compared
    uint64_t count = 0;    // pixels that differ
    uint64_t elements = 0; // elements compared for max_abs / mean_abs
    uint64_t max_abs = 0;
    double mean_abs = 0;
    uint32_t first_x = 0, first_y = 0; // first differing pixel (row-major), when count > 0
};
struct ImageDiff {
    uint64_t count = 0;              // differing pixels in the whole image
    std::vector<RegionDiff> regions; // row 0, then each region in `regions` order, then "other pixels"
    std::string error;               // non-empty when the sizes differ (then nothing is compared)
};
// Regions are read with the shape their header has in `a`; a pixel belongs to the first region
// that contains it (as region_at).
ImageDiff diff_by_region(const Image& a, const Image& b, const std::vector<Region>& regions,
                         const Row0Listing& row0);

// Statistics of a matrix's element values (stored values; `real` ones apply scale and zero point).
struct ValueStats {
    uint64_t count = 0;
    double mean = 0, std = 0; // population standard deviation
    int64_t min = 0, max = 0;
    uint64_t zero_point_count = 0; // elements equal to the zero point (real value 0)
    double zero_point_share = 0;
    int64_t zero_point = 0; // the region's zero point, 0 when it has none
};
ValueStats value_stats(const std::vector<int64_t>& values, int64_t zero_point);

// Histogram of values over [lo, hi] in `bins` equal bins (the last one closed); values outside
// are counted in below / above. bins >= 1 and lo < hi, else every value is below or above.
struct Histogram {
    double lo = 0, hi = 0;
    std::vector<uint64_t> bins;
    uint64_t below = 0, above = 0;
};
Histogram histogram(const std::vector<int64_t>& values, double lo, double hi, uint32_t bins);

// The element values of the matrix at `row` in its type. Fails as read_matrix does.
Result<std::vector<int64_t>> matrix_values(const Image& image, uint32_t row, ElementType type);

} // namespace px
