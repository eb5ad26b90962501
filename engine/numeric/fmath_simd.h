// fmath_simd.h — fm::canon on a vector register, for the kernels written in intrinsics
// (fmath_vec.cpp's packs, cpu_fast.cpp's FMATMUL tile): NaN -> kNaN, |v| <= 2^-126 -> +0, every
// other lane unchanged, as fm::canon_bits (fmath.h) defines it. Only where PX_X86_KERNELS.
#pragma once
#include "fmath.h"
#include "kernel_clones.h"

#if PX_X86_KERNELS
#include <immintrin.h>

namespace px::fm {

PX_AVX512F_TARGET inline __m512 canon_avx512(__m512 v) {
    const __m512i bits = _mm512_castps_si512(v);
    const __m512i mag = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
    const __mmask16 kept = _mm512_cmpgt_epi32_mask(mag, _mm512_set1_epi32(int32_t(kMinNormal)));
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(mag, _mm512_set1_epi32(int32_t(kPosInf)));
    return _mm512_castsi512_ps(
        _mm512_mask_mov_epi32(_mm512_maskz_mov_epi32(kept, bits), nan, _mm512_set1_epi32(int32_t(kNaN))));
}

} // namespace px::fm
#endif
