// huge_pages.h — asking the kernel for transparent huge pages under large buffers.
//
// A buffer is backed page by page on first touch. For the buffers of many megabytes a program run
// builds once (an image's pixels, a packed weight matrix) that is one page fault every 4 KiB, and
// on this project's virtual machines a fault costs about 12 us (touching a fresh 600 KB buffer took
// 1.7 ms): `pxi generate` on the float32 GPT made 25,058 of them, 6,170 with the advice below. Where
// the kernel offers transparent huge pages on request (madvise mode, Debian's default), each
// 2 MiB-aligned stretch of an advised buffer is backed by one fault. Buffers under 2 MiB (most of a
// small model's packed weights) gain nothing. Advice only: where it is not available nothing
// changes, and the contents never depend on it.
#pragma once
#include <cstddef>
#include <new>
#include <vector>

namespace px {

constexpr size_t kHugePageBytes = size_t(2) << 20;

// madvise(MADV_HUGEPAGE) over the 2 MiB-aligned part of [p, p + bytes), before it is touched.
void advise_huge_pages(void* p, size_t bytes);

// v.reserve(n), with the new storage advised when it is at least one huge page (call before the
// elements are written: resize, assign or a read into it).
template <class T, class A> void reserve_huge(std::vector<T, A>& v, size_t n) {
    if (n <= v.capacity()) return;
    v.reserve(n);
    if (n * sizeof(T) >= kHugePageBytes) advise_huge_pages(v.data(), n * sizeof(T));
}

// An allocator aligned to `Align` bytes whose large allocations are aligned to a huge page and
// advised (the packed weights' storage: cpu_fast.cpp).
template <class T, size_t Align = 64> struct HugeAligned {
    using value_type = T;
    template <class U> struct rebind { using other = HugeAligned<U, Align>; };
    HugeAligned() = default;
    template <class U> HugeAligned(const HugeAligned<U, Align>&) {}
    T* allocate(size_t n) {
        const size_t bytes = n * sizeof(T);
        if (bytes < kHugePageBytes) return static_cast<T*>(::operator new(bytes, std::align_val_t(Align)));
        T* p = static_cast<T*>(::operator new(bytes, std::align_val_t(kHugePageBytes)));
        advise_huge_pages(p, bytes);
        return p;
    }
    void deallocate(T* p, size_t n) {
        ::operator delete(p, std::align_val_t(n * sizeof(T) < kHugePageBytes ? Align : kHugePageBytes));
    }
    template <class U> bool operator==(const HugeAligned<U, Align>&) const { return true; }
};

} // namespace px
