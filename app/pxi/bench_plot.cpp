// The scaling plot of `pxi bench --plot`: log-log axes, one polyline per executor and a legend,
// drawn into a px::Image with a tiny rasterizer (filled rectangles, thick lines, a 5x7 bitmap
// font), so the tool needs nothing beyond the engine to make its own figure.
#include "bench.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace pxbench {
namespace {

using px::Image;
using px::Rgba;

// 5x7 glyphs, one byte a row, bit 4 the leftmost pixel. Upper case only: text is upper-cased.
struct Glyph {
    char c;
    uint8_t rows[7];
};
constexpr Glyph kFont[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'*', {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}}, {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
    {'@', {0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0E}}, {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
};

constexpr int kScale = 2;          // font pixels are 2x2 image pixels
constexpr int kCharW = 6 * kScale; // 5 columns and a space
constexpr int kCharH = 7 * kScale;
constexpr Rgba kWhite{255, 255, 255, 255};
constexpr Rgba kBlack{0, 0, 0, 255};
constexpr Rgba kGrid{220, 220, 220, 255};

void fill(Image& img, int x, int y, int w, int h, Rgba c) {
    const int x0 = std::max(x, 0), y0 = std::max(y, 0);
    const int x1 = std::min<int>(x + w, int(img.width)), y1 = std::min<int>(y + h, int(img.height));
    for (int yy = y0; yy < y1; ++yy)
        for (int xx = x0; xx < x1; ++xx)
            img.set_pixel(uint32_t(xx), uint32_t(yy), c);
}

// A line `thick` pixels wide: Bresenham's walk, a square stamped at every step.
void line(Image& img, int x0, int y0, int x1, int y1, int thick, Rgba c) {
    const int dx = std::abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    const int dy = -std::abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        fill(img, x0 - thick / 2, y0 - thick / 2, thick, thick, c);
        if (x0 == x1 && y0 == y1) break;
        const int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

void text(Image& img, int x, int y, const std::string& s, Rgba c) {
    for (char ch : s) {
        const char u = char(std::toupper(static_cast<unsigned char>(ch)));
        for (const Glyph& g : kFont) {
            if (g.c != u) continue;
            for (int r = 0; r < 7; ++r)
                for (int col = 0; col < 5; ++col)
                    if (g.rows[r] >> (4 - col) & 1)
                        fill(img, x + col * kScale, y + r * kScale, kScale, kScale, c);
        }
        x += kCharW;
    }
}

int text_width(const std::string& s) {
    return int(s.size()) * kCharW;
}

// "1E-3", "1E6": a decade's label.
std::string decade(int e) {
    return "1E" + std::to_string(e);
}

} // namespace

Image draw_scaling_plot(const std::string& title, const std::string& x_label, const std::string& y_label,
                        const std::vector<PlotSeries>& series) {
    // The legend goes below the axes, in two columns: with the peers there are too many lines for
    // a box inside the axes to stay clear of them.
    const int row_h = kCharH + 10, legend_rows = (int(series.size()) + 1) / 2;
    const int W = 960, plot_h = 640, H = plot_h + legend_rows * row_h + 16;
    const int left = 100, right = 30, top = 60, bottom = 80;
    Image img = px::make_image(W, H);
    fill(img, 0, 0, W, H, kWhite);

    double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
    for (const auto& s : series)
        for (auto [x, y] : s.points) {
            if (x <= 0 || y <= 0) continue;
            xmin = std::min(xmin, x), xmax = std::max(xmax, x);
            ymin = std::min(ymin, y), ymax = std::max(ymax, y);
        }
    if (xmax == 0) xmin = 1, xmax = 10, ymin = 1, ymax = 10;
    const int ex0 = int(std::floor(std::log10(xmin))),
              ex1 = std::max(ex0 + 1, int(std::ceil(std::log10(xmax))));
    const int ey0 = int(std::floor(std::log10(ymin))),
              ey1 = std::max(ey0 + 1, int(std::ceil(std::log10(ymax))));
    const int pw = W - left - right, ph = plot_h - top - bottom;
    auto px_x = [&](double x) { return left + int(std::lround((std::log10(x) - ex0) / (ex1 - ex0) * pw)); };
    auto px_y = [&](double y) {
        return top + ph - int(std::lround((std::log10(y) - ey0) / (ey1 - ey0) * ph));
    };

    // Decade grid, ticks and labels.
    for (int e = ex0; e <= ex1; ++e) {
        const int x = px_x(std::pow(10.0, e));
        line(img, x, top, x, top + ph, 1, kGrid);
        line(img, x, top + ph, x, top + ph + 6, 2, kBlack);
        text(img, x - text_width(decade(e)) / 2, top + ph + 12, decade(e), kBlack);
    }
    for (int e = ey0; e <= ey1; ++e) {
        const int y = px_y(std::pow(10.0, e));
        line(img, left, y, left + pw, y, 1, kGrid);
        line(img, left - 6, y, left, y, 2, kBlack);
        text(img, left - 10 - text_width(decade(e)), y - kCharH / 2, decade(e), kBlack);
    }
    line(img, left, top, left, top + ph, 2, kBlack);
    line(img, left, top + ph, left + pw, top + ph, 2, kBlack);
    text(img, (W - text_width(title)) / 2, 20, title, kBlack);
    text(img, left + (pw - text_width(x_label)) / 2, plot_h - 36, x_label, kBlack);
    text(img, 12, top - 30, y_label, kBlack);

    // Series: polylines through the points sorted by x, a square marker on each point.
    for (const auto& s : series) {
        auto pts = s.points;
        std::sort(pts.begin(), pts.end());
        for (size_t i = 0; i + 1 < pts.size(); ++i)
            line(img, px_x(pts[i].first), px_y(pts[i].second), px_x(pts[i + 1].first),
                 px_y(pts[i + 1].second), 3, s.color);
        for (auto [x, y] : pts)
            fill(img, px_x(x) - 4, px_y(y) - 4, 9, 9, s.color);
    }

    for (size_t i = 0; i < series.size(); ++i) {
        const int x = left + (i % 2 ? pw / 2 : 0), y = plot_h + 4 + int(i / 2) * row_h;
        line(img, x + 8, y + kCharH / 2, x + 38, y + kCharH / 2, 3, series[i].color);
        text(img, x + 48, y, series[i].name, kBlack);
    }
    return img;
}

} // namespace pxbench
