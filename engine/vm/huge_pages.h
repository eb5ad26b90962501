// huge_pages.h — asking the kernel for transparent huge pages under large buffers.
//
// A buffer is backed page by page on first touch. For the buffers of many megabytes a program run
// builds once (an image's pixels, a packed weight matrix) that is one page fault every 4 KiB, and
// on this project's virtual machines a fault costs about 12 us (touching a fresh 600 KB buffer took
// 1.7 ms): `pxi generate` on the float32 GPT made 25,058 of them, 6,170 with the advice below. Where
// the kernel offers transparent huge pages on request (madvise mode, Debian's default), each
// 2 MiB-aligned stretch of an advised buffer is backed by one fault. A buffer under 2 MiB gains
// nothing alone: KeepArena below puts many of them (an executor's packed weights and cache
// copies) into shared advised chunks. Advice only: where it is not available nothing changes,
// and the contents never depend on it.
#pragma once
#include <cstddef>
#include <map>
#include <new>
#include <type_traits>
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

// Where an executor keeps the buffers it builds once and reuses (packed weights, attention cache
// copies: cpu_fast.cpp), carved from chunks of whole huge pages. Most of a small model's packed
// weights are under 2 MiB: allocated one by one, each is backed 4 KiB at a time, and `pxi
// generate`'s first prefill on the float32 GPT spent most of its 55 ms on those faults (6,100 of
// them). Here they share advised chunks, one fault per 2 MiB. Freed blocks go back to the chunk
// (first fit, neighbours merged) and are reused; chunks are returned when the arena is destroyed.
// Blocks are 64-byte aligned. Neither copied nor moved (vectors hold a pointer to it); not
// thread-safe (an executor allocates from its calling thread only).
class KeepArena {
  public:
    KeepArena() = default;
    ~KeepArena();
    KeepArena(const KeepArena&) = delete;
    KeepArena& operator=(const KeepArena&) = delete;

    void* allocate(size_t bytes);
    void deallocate(void* p, size_t bytes);
    size_t chunk_bytes() const; // reserved from the system, in all chunks
    size_t free_bytes() const;  // of that, in free blocks

    static constexpr size_t kAlign = 64;
    static constexpr size_t kMinChunk = size_t(8) << 20;

  private:
    struct Chunk {
        char* p;
        size_t bytes;
    };
    std::vector<Chunk> chunks_;
    std::map<char*, size_t> free_; // free blocks by address
};

// A std::vector allocator that takes its storage from a KeepArena, or, without one, from
// HugeAligned<T, 64> (default-constructed vectors: cpu_gemm's own workspaces). Vectors moved or
// swapped carry their arena with them.
template <class T> struct ArenaAllocator {
    using value_type = T;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_copy_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    template <class U> struct rebind { using other = ArenaAllocator<U>; };
    KeepArena* arena = nullptr;
    ArenaAllocator() = default;
    explicit ArenaAllocator(KeepArena* a) : arena(a) {}
    template <class U> ArenaAllocator(const ArenaAllocator<U>& o) : arena(o.arena) {}
    T* allocate(size_t n) {
        if (arena) return static_cast<T*>(arena->allocate(n * sizeof(T)));
        return HugeAligned<T, 64>().allocate(n);
    }
    void deallocate(T* p, size_t n) {
        if (arena) return arena->deallocate(p, n * sizeof(T));
        HugeAligned<T, 64>().deallocate(p, n);
    }
    template <class U> bool operator==(const ArenaAllocator<U>& o) const { return arena == o.arena; }
};
template <class T> using ArenaVector = std::vector<T, ArenaAllocator<T>>;

// Makes v empty, its storage from now on taken from `arena` (which must outlive it).
template <class T> void use_arena(ArenaVector<T>& v, KeepArena* arena) {
    v = ArenaVector<T>(ArenaAllocator<T>(arena));
}

} // namespace px
