// compare.h — A/B comparison of two images and statistics of a matrix's values, GUI-free.
//
// pxdbg compares the CPU image with the GPU's, or now with any earlier step, and shows per region
// how many pixels differ and by how much (the maximum and mean absolute difference of the
// elements' values); its weight statistics show mean, std, min, max, the zero-point share and a
// histogram over a chosen range. Values are the elements' stored values in their type (dtype.h, as
// inspect.h's element_type says): a uint8 code in the R channel, a whole int32 pixel (QMATMUL32's
// output, the bias rows of QMATMUL and QMATMUL32), or a float32 / float16 value. Statistics of
// float matrices count NaN and infinities apart and are taken over the finite values.
#pragma once
#include "debuginfo.h"
#include "image.h"
#include "inspect.h"

#include <cstdint>
#include <string>
#include <vector>

namespace px {

// Element types (DType, element_type, element_value) come from dtype.h and inspect.h.

// Differences between two images of the same size inside one region (or row 0, or the pixels of
// no region). count: pixels whose RGBA differ (any channel, header included). max_abs and
// mean_abs: over the region's elements (header excluded), |value_a - value_b| in the element
// type; mean over all elements, not only those that differ.
struct RegionDiff {
    std::string name; // region name, "row 0" or "other pixels"
    uint32_t row = 0; // header row (0 for row 0 and for "other pixels")
    DType type = DType::U8;
    uint64_t pixels = 0;   // pixels compared
    uint64_t count = 0;    // pixels that differ
    uint64_t elements = 0; // element pixels compared for max_abs / mean_abs
    // Floats: a NaN against a number, or infinities of different sign, is an infinite difference;
    // NaN against NaN and equal infinities none (their pixels still count as differing).
    double max_abs = 0;
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
    uint64_t count = 0;            // every value, NaN and infinities included
    uint64_t nan = 0, inf = 0;     // values that are NaN, +-inf (left out of mean, std, min, max)
    double mean = 0, std = 0;      // population standard deviation, over the finite values
    double min = 0, max = 0;       // over the finite values (0 when there are none)
    uint64_t zero_point_count = 0; // elements equal to the zero point (real value 0)
    double zero_point_share = 0;
    int64_t zero_point = 0; // the region's zero point, 0 when it has none
};
ValueStats value_stats(const std::vector<double>& values, int64_t zero_point);

// Histogram of values over [lo, hi] in `bins` equal bins (the last one closed); values outside
// are counted in below / above (NaN in `nan`). bins >= 1 and lo < hi, else every value is below.
struct Histogram {
    double lo = 0, hi = 0;
    std::vector<uint64_t> bins;
    uint64_t below = 0, above = 0, nan = 0;
};
Histogram histogram(const std::vector<double>& values, double lo, double hi, uint32_t bins);

// The element values of the matrix at `row` in its type. Fails as read_typed_matrix does.
Result<std::vector<double>> matrix_values(const Image& image, uint32_t row, DType type);

} // namespace px
