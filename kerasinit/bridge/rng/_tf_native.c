/* kerasinit.bridge.rng._tf_native: C kernels for rng="tensorflow" (TensorFlow's CPU stateless
 * random ops, float32, Linux/glibc), bit-identical to the NumPy code in tensorflow.py, libm.py
 * and philox.py (the tests compare the two on every input of each transform).
 *
 * - Philox-4x32-10 for counters base + o (o a 64-bit block offset: counter words
 *   (o mod 2^32, o >> 32, c2, c3)), LANES = 32 blocks at a time.
 * - uniform: (1.m - 1) * span + low, each operation in float32.
 * - Box-Muller with glibc's logf and sincosf (Arm optimized-routines, glibc >= 2.27) evaluated
 *   in double exactly as the C library does, operation by operation. The build turns off
 *   floating-point contraction (-ffp-contract=off): a fused multiply-add would change bits.
 * - truncated normal: output group g (four values) reads blocks 256 g, 256 g + 1, ... and keeps
 *   the first four candidates with |x| < 2.
 *
 * Three variants of the per-batch code: portable C, AVX2 and AVX-512F intrinsics (x86-64 with
 * GCC or clang; import picks the best the CPU runs; define KI_NO_SIMD to build only the
 * portable one). All are integer ops plus double/float adds, multiplies, conversions and
 * sqrt, which IEEE 754 rounds the same everywhere; the tests run each against NumPy.
 *
 * Output: raw float32 addresses (validated by the Python caller), contiguous or a strided
 * view (written in tiles when its last axis is strided). The loops run without the GIL, so
 * several Python threads fill chunks of one tensor in parallel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(KI_NO_SIMD)
#define KI_AVX2 1 /* AVX2 and AVX-512 paths, chosen at import by what the CPU has */
#include <immintrin.h>
#endif

#define LANES 32 /* blocks per batch (several vectors per word: independent multiply chains) */
#define NV8 (LANES / 8)
#define NV16 (LANES / 16)
#define PHILOX_A 0xD2511F53u
#define PHILOX_B 0xCD9E8D57u
#define WEYL0 0x9E3779B9u
#define WEYL1 0xBB67AE85u
#define MANT 0x7FFFFFu
#define ONE_BITS 0x3F800000u
#define TRUNC_RESERVED 256u

typedef struct {
    uint32_t k0, k1, c2, c3;
} stream_t;

static inline float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* ---- Philox-4x32-10 ------------------------------------------------------------------ */

/* Blocks at offsets start + stride * j, j < LANES, into w[word][j]. */
static inline void philox_lanes(const stream_t *s, uint64_t start, uint64_t stride,
                                uint32_t w[4][LANES]) {
    uint32_t x0[LANES], x1[LANES], x2[LANES], x3[LANES];
    for (int j = 0; j < LANES; j++) {
        uint64_t o = start + stride * (uint64_t)j;
        x0[j] = (uint32_t)o;
        x1[j] = (uint32_t)(o >> 32);
        x2[j] = s->c2;
        x3[j] = s->c3;
    }
    uint32_t k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; r++) {
        for (int j = 0; j < LANES; j++) {
            uint64_t pa = (uint64_t)PHILOX_A * x0[j];
            uint64_t pb = (uint64_t)PHILOX_B * x2[j];
            uint32_t n0 = (uint32_t)(pb >> 32) ^ x1[j] ^ k0;
            uint32_t n2 = (uint32_t)(pa >> 32) ^ x3[j] ^ k1;
            x1[j] = (uint32_t)pb;
            x3[j] = (uint32_t)pa;
            x0[j] = n0;
            x2[j] = n2;
        }
        k0 += WEYL0;
        k1 += WEYL1;
    }
    memcpy(w[0], x0, sizeof x0);
    memcpy(w[1], x1, sizeof x1);
    memcpy(w[2], x2, sizeof x2);
    memcpy(w[3], x3, sizeof x3);
}

/* One block (scalar), for the truncated normal's rare extra blocks. */
static inline void philox_one(const stream_t *s, uint64_t o, uint32_t w[4]) {
    uint32_t x0 = (uint32_t)o, x1 = (uint32_t)(o >> 32), x2 = s->c2, x3 = s->c3;
    uint32_t k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; r++) {
        uint64_t pa = (uint64_t)PHILOX_A * x0;
        uint64_t pb = (uint64_t)PHILOX_B * x2;
        uint32_t n0 = (uint32_t)(pb >> 32) ^ x1 ^ k0;
        uint32_t n2 = (uint32_t)(pa >> 32) ^ x3 ^ k1;
        x1 = (uint32_t)pb;
        x3 = (uint32_t)pa;
        x0 = n0;
        x2 = n2;
        k0 += WEYL0;
        k1 += WEYL1;
    }
    w[0] = x0;
    w[1] = x1;
    w[2] = x2;
    w[3] = x3;
}

/* ---- glibc logf and sincosf, emulated ------------------------------------------------- */

static const double LOGF_INVC[16] = {
    0x1.661ec79f8f3bep+0, 0x1.571ed4aaf883dp+0, 0x1.49539f0f010bp+0, 0x1.3c995b0b80385p+0,
    0x1.30d190c8864a5p+0, 0x1.25e227b0b8eap+0,  0x1.1bb4a4a1a343fp+0, 0x1.12358f08ae5bap+0,
    0x1.0953f419900a7p+0, 0x1p+0,               0x1.e608cfd9a47acp-1, 0x1.ca4b31f026aap-1,
    0x1.b2036576afce6p-1, 0x1.9c2d163a1aa2dp-1, 0x1.886e6037841edp-1, 0x1.767dcf5534862p-1,
};
static const double LOGF_LOGC[16] = {
    -0x1.57bf7808caadep-2, -0x1.2bef0a7c06ddbp-2, -0x1.01eae7f513a67p-2, -0x1.b31d8a68224e9p-3,
    -0x1.6574f0ac07758p-3, -0x1.1aa2bc79c81p-3,   -0x1.a4e76ce8c0e5ep-4, -0x1.1973c5a611cccp-4,
    -0x1.252f438e10c1ep-5, 0x0p+0,                0x1.aa5aa5df25984p-5,  0x1.c5e53aa362eb4p-4,
    0x1.526e57720db08p-3,  0x1.bc2860d22477p-3,   0x1.1058bc8a07ee1p-2,  0x1.4043057b6ee09p-2,
};
#define LOGF_OFF 0x3F330000u
#define LN2 0x1.62e42fefa39efp-1
#define LOGF_A0 (-0x1.00ea348b88334p-2)
#define LOGF_A1 0x1.5575b0be00b6ap-2
#define LOGF_A2 (-0x1.ffffef20a4123p-2)
#define EPS_BITS 0x33D6BF95u /* float32(1e-7): TF clamps u1 = 0 to it */

#define SC_C0 1.0
#define SC_C1 (-0x1.ffffffd0c621cp-2)
#define SC_C2 0x1.55553e1068f19p-5
#define SC_C3 (-0x1.6c087e89a359dp-10)
#define SC_C4 0x1.99343027bf8c3p-16
#define SC_S1 (-0x1.555545995a603p-3)
#define SC_S2 0x1.1107605230bc4p-7
#define SC_S3 (-0x1.994eb3774cf24p-13)
#define HPI 0x1.921FB54442D18p0
#define HPI_INV_2_24 0x1.45F306DC9C883p+23
#define TOP12_TINY 0x398u
#define TWO_PI_2_23 (6.283185307179586 * 0x1p-23) /* TF: 2.0f * M_PI (double) * u2 */

/* sqrtf(-2 logf(u1)) for u1 = m 2^-23 (m = 0: 1e-7f); m < 2^23. */
static inline float radius_m(uint32_t m) {
    float u1 = (float)(int32_t)m * 0x1p-23f; /* exact */
    uint32_t zero = 0u - (uint32_t)(m == 0); /* all ones for m = 0 */
    uint32_t ix = (f2u(u1) & ~zero) | (EPS_BITS & zero);
    uint32_t tmp = ix - LOGF_OFF;
    uint32_t i = (tmp >> 19) & 15u;
    int32_t k = (int32_t)tmp >> 23;
    uint32_t iz = ix - (tmp & (0x1FFu << 23));
    double z = (double)u2f(iz);
    double r = z * LOGF_INVC[i] - 1.0;
    double y0 = LOGF_LOGC[i] + (double)k * LN2;
    double r2 = r * r;
    double y = LOGF_A1 * r + LOGF_A2;
    y = LOGF_A0 * r2 + y;
    y = y * r2 + (y0 + r);
    float lg = (float)y;
    return sqrtf(-2.0f * lg); /* correctly rounded, as float64 sqrt rounded once */
}

/* glibc sincosf of y = float32(2 pi m 2^-23), m < 2^23 (so 0 <= y < 2 pi). Below 0.75 glibc
 * skips the reduction; there n = 0 anyway and x - 0 * pi/2 = x, so one formula serves both. */
static inline void sincos_m(uint32_t m, float *sp, float *cp) {
    float y = (float)((double)(int32_t)m * TWO_PI_2_23);
    double x = (double)y;
    int32_t n = ((int32_t)(x * HPI_INV_2_24) + 0x800000) >> 24;
    x = x - (double)n * HPI;
    double sign = (double)(1 - ((n + 1) & 2));
    double x2 = x * x;
    double xs = x * sign;
    double x4 = x2 * x2;
    double x3 = x2 * xs;
    double c2 = SC_C3 + x2 * SC_C4;
    double s1 = SC_S2 + x2 * SC_S3;
    double c1 = SC_C0 + x2 * SC_C1;
    double x5 = x3 * x2;
    double x6 = x4 * x2;
    double s = xs + x3 * SC_S1;
    double c = c1 + x4 * SC_C2;
    uint32_t sf = f2u((float)(s + x5 * s1));
    uint32_t cf = f2u((float)(c + x6 * c2)) ^ ((uint32_t)(n & 2) << 30); /* negated if n & 2 */
    uint32_t odd = 0u - (uint32_t)(n & 1);                 /* quadrants 1, 3 swap sin, cos */
    uint32_t so = (sf & ~odd) | (cf & odd);
    uint32_t co = (cf & ~odd) | (sf & odd);
    uint32_t tiny = 0u - (uint32_t)((f2u(y) >> 20) < TOP12_TINY); /* sin y = y, cos y = 1 */
    *sp = u2f((so & ~tiny) | (f2u(y) & tiny));
    *cp = u2f((co & ~tiny) | (ONE_BITS & tiny));
}

/* ---- kernels: a batch is LANES blocks = 4 LANES values ------------------------------ */

enum { KIND_UNIFORM = 0, KIND_NORMAL = 1, KIND_TRUNCATED = 2 };

/* Candidates of the truncated normal for one block's words (f0 f1 from w0 w1, f2 f3 from
 * w2 w3: sine first). */
static inline void block_normals(const uint32_t w[4], float f[4]) {
    float r = radius_m(w[0] & MANT);
    sincos_m(w[1] & MANT, &f[0], &f[1]);
    f[0] *= r;
    f[1] *= r;
    r = radius_m(w[2] & MANT);
    sincos_m(w[3] & MANT, &f[2], &f[3]);
    f[2] *= r;
    f[3] *= r;
}

/* Complete a truncated-normal group: keep, in stream order, the accepted ones of its first
 * `ncand` candidates (from blocks 256 g .. 256 g + ncand / 4 - 1), then read the next blocks
 * (TF reads on past its 256-block reservation if it must; probability ~ 0.045^1020). */
static void truncated_finish(const stream_t *s, uint64_t g, const float *cand, int ncand,
                             float out4[4]) {
    int have = 0;
    for (int q = 0; q < ncand && have < 4; q++) {
        if (fabsf(cand[q]) < 2.0f) out4[have++] = cand[q];
    }
    for (uint64_t step = (uint64_t)ncand / 4; have < 4; step++) {
        uint32_t w[4];
        float f[4];
        philox_one(s, g * TRUNC_RESERVED + step, w);
        block_normals(w, f);
        for (int q = 0; q < 4 && have < 4; q++) {
            if (fabsf(f[q]) < 2.0f) out4[have++] = f[q];
        }
    }
}

/* The four Box-Muller candidates of each of the blocks at offsets[j], j < count <= LANES. */
static void blocks_scalar(const stream_t *s, const uint64_t *offsets, int count, float *f) {
    for (int j = 0; j < count; j++) {
        uint32_t w[4];
        philox_one(s, offsets[j], w);
        block_normals(w, f + 4 * j);
    }
}

/* Portable batch: blocks start + stride j (j < LANES) into v[4 j + q]. Uniform and normal
 * values are final (scaled by a, b); truncated-normal values are the unscaled candidates of
 * each group's first block. Returns a bit mask of the groups (truncated) that rejected any. */
static unsigned batch_scalar(const stream_t *s, uint64_t start, uint64_t stride, int kind,
                             float a, float b, float *v) {
    uint32_t w[4][LANES];
    philox_lanes(s, start, stride, w);
    unsigned bad = 0;
    if (kind == KIND_UNIFORM) {
        for (int j = 0; j < LANES; j++) {
            for (int q = 0; q < 4; q++) {
                float u = u2f((w[q][j] & MANT) | ONE_BITS) - 1.0f;
                u = u * a;
                v[4 * j + q] = u + b;
            }
        }
        return 0;
    }
    for (int j = 0; j < LANES; j++) {
        uint32_t wj[4] = {w[0][j], w[1][j], w[2][j], w[3][j]};
        float f[4];
        block_normals(wj, f);
        for (int q = 0; q < 4; q++) {
            if (kind == KIND_NORMAL) {
                float x = f[q] * a;
                v[4 * j + q] = x + b;
            } else {
                v[4 * j + q] = f[q];
                if (!(fabsf(f[q]) < 2.0f)) bad |= 1u << j;
            }
        }
    }
    return bad;
}

#ifdef KI_AVX2
#define AVX2_FN __attribute__((target("avx2")))

AVX2_FN static inline void mulhilo8(__m256i x, __m256i m, __m256i *hi, __m256i *lo) {
    __m256i pe = _mm256_mul_epu32(x, m);                        /* lanes 0, 2, 4, 6 */
    __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m); /* lanes 1, 3, 5, 7 */
    *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

/* Philox for LANES blocks (offsets o[j]) as NV8 vectors of eight per word. */
AVX2_FN static inline void philox_avx2(const stream_t *s, const uint64_t *o, __m256i x[4][NV8]) {
    uint32_t lo[LANES], hi[LANES];
    for (int j = 0; j < LANES; j++) {
        lo[j] = (uint32_t)o[j];
        hi[j] = (uint32_t)(o[j] >> 32);
    }
    for (int h = 0; h < NV8; h++) {
        x[0][h] = _mm256_loadu_si256((const __m256i *)(lo + 8 * h));
        x[1][h] = _mm256_loadu_si256((const __m256i *)(hi + 8 * h));
        x[2][h] = _mm256_set1_epi32((int)s->c2);
        x[3][h] = _mm256_set1_epi32((int)s->c3);
    }
    const __m256i ma = _mm256_set1_epi32((int)PHILOX_A), mb = _mm256_set1_epi32((int)PHILOX_B);
    uint32_t k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; r++) {
        __m256i vk0 = _mm256_set1_epi32((int)k0), vk1 = _mm256_set1_epi32((int)k1);
        for (int h = 0; h < NV8; h++) {
            __m256i hia, loa, hib, lob;
            mulhilo8(x[0][h], ma, &hia, &loa);
            mulhilo8(x[2][h], mb, &hib, &lob);
            x[0][h] = _mm256_xor_si256(_mm256_xor_si256(hib, x[1][h]), vk0);
            x[2][h] = _mm256_xor_si256(_mm256_xor_si256(hia, x[3][h]), vk1);
            x[1][h] = lob;
            x[3][h] = loa;
        }
        k0 += WEYL0;
        k1 += WEYL1;
    }
}

/* radius_m for four m (int32 lanes), in the same double operations. */
AVX2_FN static inline __m128 radius4(__m128i m) {
    __m128 u1 = _mm_mul_ps(_mm_cvtepi32_ps(m), _mm_set1_ps(0x1p-23f));
    __m128i zero = _mm_cmpeq_epi32(m, _mm_setzero_si128());
    __m128i ix = _mm_or_si128(_mm_andnot_si128(zero, _mm_castps_si128(u1)),
                              _mm_and_si128(zero, _mm_set1_epi32((int)EPS_BITS)));
    __m128i tmp = _mm_sub_epi32(ix, _mm_set1_epi32((int)LOGF_OFF));
    __m128i i = _mm_and_si128(_mm_srli_epi32(tmp, 19), _mm_set1_epi32(15));
    __m128i k = _mm_srai_epi32(tmp, 23);
    __m128i iz = _mm_sub_epi32(ix, _mm_and_si128(tmp, _mm_set1_epi32((int)(0x1FFu << 23))));
    __m256d z = _mm256_cvtps_pd(_mm_castsi128_ps(iz));
    __m256d invc = _mm256_i32gather_pd(LOGF_INVC, i, 8);
    __m256d logc = _mm256_i32gather_pd(LOGF_LOGC, i, 8);
    __m256d r = _mm256_sub_pd(_mm256_mul_pd(z, invc), _mm256_set1_pd(1.0));
    __m256d y0 = _mm256_add_pd(logc, _mm256_mul_pd(_mm256_cvtepi32_pd(k), _mm256_set1_pd(LN2)));
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(LOGF_A1), r),
                              _mm256_set1_pd(LOGF_A2));
    y = _mm256_add_pd(_mm256_mul_pd(_mm256_set1_pd(LOGF_A0), r2), y);
    y = _mm256_add_pd(_mm256_mul_pd(y, r2), _mm256_add_pd(y0, r));
    __m128 lg = _mm256_cvtpd_ps(y);
    return _mm_sqrt_ps(_mm_mul_ps(_mm_set1_ps(-2.0f), lg));
}

/* sincos_m for four m. */
AVX2_FN static inline void sincos4(__m128i m, __m128 *sp, __m128 *cp) {
    __m128 y = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtepi32_pd(m), _mm256_set1_pd(TWO_PI_2_23)));
    __m256d x = _mm256_cvtps_pd(y);
    __m128i n = _mm256_cvttpd_epi32(_mm256_mul_pd(x, _mm256_set1_pd(HPI_INV_2_24)));
    n = _mm_srai_epi32(_mm_add_epi32(n, _mm_set1_epi32(0x800000)), 24);
    x = _mm256_sub_pd(x, _mm256_mul_pd(_mm256_cvtepi32_pd(n), _mm256_set1_pd(HPI)));
    __m128i sgn = _mm_sub_epi32(_mm_set1_epi32(1),
                                _mm_and_si128(_mm_add_epi32(n, _mm_set1_epi32(1)),
                                              _mm_set1_epi32(2)));
    __m256d sign = _mm256_cvtepi32_pd(sgn);
    __m256d x2 = _mm256_mul_pd(x, x);
    __m256d xs = _mm256_mul_pd(x, sign);
    __m256d x4 = _mm256_mul_pd(x2, x2);
    __m256d x3 = _mm256_mul_pd(x2, xs);
    __m256d c2 = _mm256_add_pd(_mm256_set1_pd(SC_C3), _mm256_mul_pd(x2, _mm256_set1_pd(SC_C4)));
    __m256d s1 = _mm256_add_pd(_mm256_set1_pd(SC_S2), _mm256_mul_pd(x2, _mm256_set1_pd(SC_S3)));
    __m256d c1 = _mm256_add_pd(_mm256_set1_pd(SC_C0), _mm256_mul_pd(x2, _mm256_set1_pd(SC_C1)));
    __m256d x5 = _mm256_mul_pd(x3, x2);
    __m256d x6 = _mm256_mul_pd(x4, x2);
    __m256d sv = _mm256_add_pd(xs, _mm256_mul_pd(x3, _mm256_set1_pd(SC_S1)));
    __m256d cv = _mm256_add_pd(c1, _mm256_mul_pd(x4, _mm256_set1_pd(SC_C2)));
    __m128 sf = _mm256_cvtpd_ps(_mm256_add_pd(sv, _mm256_mul_pd(x5, s1)));
    __m128 cf = _mm256_cvtpd_ps(_mm256_add_pd(cv, _mm256_mul_pd(x6, c2)));
    __m128i neg = _mm_slli_epi32(_mm_and_si128(n, _mm_set1_epi32(2)), 30);
    cf = _mm_xor_ps(cf, _mm_castsi128_ps(neg));
    __m128 odd = _mm_castsi128_ps(
        _mm_cmpeq_epi32(_mm_and_si128(n, _mm_set1_epi32(1)), _mm_set1_epi32(1)));
    __m128 so = _mm_blendv_ps(sf, cf, odd);
    __m128 co = _mm_blendv_ps(cf, sf, odd);
    __m128 tiny = _mm_castsi128_ps(_mm_cmplt_epi32(
        _mm_srli_epi32(_mm_castps_si128(y), 20), _mm_set1_epi32((int)TOP12_TINY)));
    *sp = _mm_blendv_ps(so, y, tiny);
    *cp = _mm_blendv_ps(co, _mm_set1_ps(1.0f), tiny);
}

/* Box-Muller of eight word pairs: sin * r and cos * r. */
AVX2_FN static inline void box_muller8(__m256i a, __m256i b, __m256 *s, __m256 *c) {
    const __m256i mant = _mm256_set1_epi32((int)MANT);
    a = _mm256_and_si256(a, mant);
    b = _mm256_and_si256(b, mant);
    __m128 r0 = radius4(_mm256_castsi256_si128(a));
    __m128 r1 = radius4(_mm256_extracti128_si256(a, 1));
    __m128 s0, c0, s1, c1;
    sincos4(_mm256_castsi256_si128(b), &s0, &c0);
    sincos4(_mm256_extracti128_si256(b, 1), &s1, &c1);
    __m256 r = _mm256_set_m128(r1, r0);
    *s = _mm256_mul_ps(_mm256_set_m128(s1, s0), r);
    *c = _mm256_mul_ps(_mm256_set_m128(c1, c0), r);
}

/* Store word-major vectors (a, b, c, d = values q = 0..3 of eight blocks) block-major. */
AVX2_FN static inline void store4x8(float *v, __m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 t0 = _mm256_unpacklo_ps(a, b), t1 = _mm256_unpackhi_ps(a, b);
    __m256 t2 = _mm256_unpacklo_ps(c, d), t3 = _mm256_unpackhi_ps(c, d);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(v, _mm256_permute2f128_ps(u0, u1, 0x20));
    _mm256_storeu_ps(v + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
    _mm256_storeu_ps(v + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(v + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}

AVX2_FN static unsigned batch_avx2(const stream_t *s, uint64_t start, uint64_t stride,
                                   int kind, float a, float b, float *v) {
    __m256i x[4][NV8];
    uint64_t o[LANES];
    for (int j = 0; j < LANES; j++) o[j] = start + stride * (uint64_t)j;
    philox_avx2(s, o, x);
    __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    unsigned bad = 0;
    for (int h = 0; h < NV8; h++) {
        __m256 f[4];
        if (kind == KIND_UNIFORM) {
            for (int q = 0; q < 4; q++) {
                __m256i m = _mm256_or_si256(_mm256_and_si256(x[q][h], _mm256_set1_epi32(MANT)),
                                            _mm256_set1_epi32((int)ONE_BITS));
                __m256 u = _mm256_sub_ps(_mm256_castsi256_ps(m), _mm256_set1_ps(1.0f));
                f[q] = _mm256_add_ps(_mm256_mul_ps(u, va), vb);
            }
        } else {
            box_muller8(x[0][h], x[1][h], &f[0], &f[1]);
            box_muller8(x[2][h], x[3][h], &f[2], &f[3]);
            if (kind == KIND_NORMAL) {
                for (int q = 0; q < 4; q++) f[q] = _mm256_add_ps(_mm256_mul_ps(f[q], va), vb);
            } else {
                const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
                const __m256 two = _mm256_set1_ps(2.0f);
                __m256 ok = _mm256_cmp_ps(_mm256_and_ps(f[0], absmask), two, _CMP_LT_OQ);
                for (int q = 1; q < 4; q++)
                    ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_and_ps(f[q], absmask), two,
                                                         _CMP_LT_OQ));
                bad |= (unsigned)(~_mm256_movemask_ps(ok) & 0xFF) << (8 * h);
            }
        }
        store4x8(v + 32 * h, f[0], f[1], f[2], f[3]);
    }
    return bad;
}
AVX2_FN static void blocks_avx2(const stream_t *s, const uint64_t *offsets, int count,
                               float *f) {
    uint64_t o[LANES];
    for (int j = 0; j < LANES; j++) o[j] = offsets[j < count ? j : 0];
    __m256i x[4][NV8];
    philox_avx2(s, o, x);
    float v[4 * LANES];
    for (int h = 0; h < NV8; h++) {
        __m256 c[4];
        box_muller8(x[0][h], x[1][h], &c[0], &c[1]);
        box_muller8(x[2][h], x[3][h], &c[2], &c[3]);
        store4x8(v + 32 * h, c[0], c[1], c[2], c[3]);
    }
    memcpy(f, v, (size_t)count * 4 * sizeof(float));
}

/* ---- AVX-512 (F): 16 Philox lanes per vector, eight doubles per vector ---------------- */
#define AVX512_FN __attribute__((target("avx512f")))

AVX512_FN static inline void mulhilo16(__m512i x, __m512i m, __m512i *hi, __m512i *lo) {
    __m512i pe = _mm512_mul_epu32(x, m);
    __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
    *lo = _mm512_mask_blend_epi32((__mmask16)0xAAAA, pe, _mm512_slli_epi64(po, 32));
    *hi = _mm512_mask_blend_epi32((__mmask16)0xAAAA, _mm512_srli_epi64(pe, 32), po);
}

AVX512_FN static inline void philox_avx512(const stream_t *s, const uint64_t *o,
                                           __m512i x[4][NV16]) {
    uint32_t lo[LANES], hi[LANES];
    for (int j = 0; j < LANES; j++) {
        lo[j] = (uint32_t)o[j];
        hi[j] = (uint32_t)(o[j] >> 32);
    }
    for (int h = 0; h < NV16; h++) {
        x[0][h] = _mm512_loadu_si512((const void *)(lo + 16 * h));
        x[1][h] = _mm512_loadu_si512((const void *)(hi + 16 * h));
        x[2][h] = _mm512_set1_epi32((int)s->c2);
        x[3][h] = _mm512_set1_epi32((int)s->c3);
    }
    const __m512i ma = _mm512_set1_epi32((int)PHILOX_A), mb = _mm512_set1_epi32((int)PHILOX_B);
    uint32_t k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; r++) {
        __m512i vk0 = _mm512_set1_epi32((int)k0), vk1 = _mm512_set1_epi32((int)k1);
        for (int h = 0; h < NV16; h++) {
            __m512i hia, loa, hib, lob;
            mulhilo16(x[0][h], ma, &hia, &loa);
            mulhilo16(x[2][h], mb, &hib, &lob);
            x[0][h] = _mm512_xor_si512(_mm512_xor_si512(hib, x[1][h]), vk0);
            x[2][h] = _mm512_xor_si512(_mm512_xor_si512(hia, x[3][h]), vk1);
            x[1][h] = lob;
            x[3][h] = loa;
        }
        k0 += WEYL0;
        k1 += WEYL1;
    }
}

/* A 16-entry double table lookup: two registers and one permute instead of a gather. */
AVX512_FN static inline __m512d lookup16(const double *t, __m256i i) {
    return _mm512_permutex2var_pd(_mm512_loadu_pd(t), _mm512_cvtepi32_epi64(i),
                                  _mm512_loadu_pd(t + 8));
}

AVX512_FN static inline __m256 radius8(__m256i m) {
    __m256 u1 = _mm256_mul_ps(_mm256_cvtepi32_ps(m), _mm256_set1_ps(0x1p-23f));
    __m256i zero = _mm256_cmpeq_epi32(m, _mm256_setzero_si256());
    __m256i ix = _mm256_or_si256(_mm256_andnot_si256(zero, _mm256_castps_si256(u1)),
                                 _mm256_and_si256(zero, _mm256_set1_epi32((int)EPS_BITS)));
    __m256i tmp = _mm256_sub_epi32(ix, _mm256_set1_epi32((int)LOGF_OFF));
    __m256i i = _mm256_and_si256(_mm256_srli_epi32(tmp, 19), _mm256_set1_epi32(15));
    __m256i k = _mm256_srai_epi32(tmp, 23);
    __m256i iz = _mm256_sub_epi32(ix,
                                  _mm256_and_si256(tmp, _mm256_set1_epi32((int)(0x1FFu << 23))));
    __m512d z = _mm512_cvtps_pd(_mm256_castsi256_ps(iz));
    __m512d r = _mm512_sub_pd(_mm512_mul_pd(z, lookup16(LOGF_INVC, i)), _mm512_set1_pd(1.0));
    __m512d y0 = _mm512_add_pd(lookup16(LOGF_LOGC, i),
                               _mm512_mul_pd(_mm512_cvtepi32_pd(k), _mm512_set1_pd(LN2)));
    __m512d r2 = _mm512_mul_pd(r, r);
    __m512d y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(LOGF_A1), r),
                              _mm512_set1_pd(LOGF_A2));
    y = _mm512_add_pd(_mm512_mul_pd(_mm512_set1_pd(LOGF_A0), r2), y);
    y = _mm512_add_pd(_mm512_mul_pd(y, r2), _mm512_add_pd(y0, r));
    __m256 lg = _mm512_cvtpd_ps(y);
    return _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), lg));
}

AVX512_FN static inline void sincos8(__m256i m, __m256 *sp, __m256 *cp) {
    __m256 y = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtepi32_pd(m), _mm512_set1_pd(TWO_PI_2_23)));
    __m512d x = _mm512_cvtps_pd(y);
    __m256i n = _mm512_cvttpd_epi32(_mm512_mul_pd(x, _mm512_set1_pd(HPI_INV_2_24)));
    n = _mm256_srai_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(0x800000)), 24);
    x = _mm512_sub_pd(x, _mm512_mul_pd(_mm512_cvtepi32_pd(n), _mm512_set1_pd(HPI)));
    __m256i sgn = _mm256_sub_epi32(_mm256_set1_epi32(1),
                                   _mm256_and_si256(_mm256_add_epi32(n, _mm256_set1_epi32(1)),
                                                    _mm256_set1_epi32(2)));
    __m512d sign = _mm512_cvtepi32_pd(sgn);
    __m512d x2 = _mm512_mul_pd(x, x);
    __m512d xs = _mm512_mul_pd(x, sign);
    __m512d x4 = _mm512_mul_pd(x2, x2);
    __m512d x3 = _mm512_mul_pd(x2, xs);
    __m512d c2 = _mm512_add_pd(_mm512_set1_pd(SC_C3), _mm512_mul_pd(x2, _mm512_set1_pd(SC_C4)));
    __m512d s1 = _mm512_add_pd(_mm512_set1_pd(SC_S2), _mm512_mul_pd(x2, _mm512_set1_pd(SC_S3)));
    __m512d c1 = _mm512_add_pd(_mm512_set1_pd(SC_C0), _mm512_mul_pd(x2, _mm512_set1_pd(SC_C1)));
    __m512d x5 = _mm512_mul_pd(x3, x2);
    __m512d x6 = _mm512_mul_pd(x4, x2);
    __m512d sv = _mm512_add_pd(xs, _mm512_mul_pd(x3, _mm512_set1_pd(SC_S1)));
    __m512d cv = _mm512_add_pd(c1, _mm512_mul_pd(x4, _mm512_set1_pd(SC_C2)));
    __m256 sf = _mm512_cvtpd_ps(_mm512_add_pd(sv, _mm512_mul_pd(x5, s1)));
    __m256 cf = _mm512_cvtpd_ps(_mm512_add_pd(cv, _mm512_mul_pd(x6, c2)));
    __m256i neg = _mm256_slli_epi32(_mm256_and_si256(n, _mm256_set1_epi32(2)), 30);
    cf = _mm256_xor_ps(cf, _mm256_castsi256_ps(neg));
    __m256 odd = _mm256_castsi256_ps(
        _mm256_cmpeq_epi32(_mm256_and_si256(n, _mm256_set1_epi32(1)), _mm256_set1_epi32(1)));
    __m256 so = _mm256_blendv_ps(sf, cf, odd);
    __m256 co = _mm256_blendv_ps(cf, sf, odd);
    __m256 tiny = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
        _mm256_set1_epi32((int)TOP12_TINY), _mm256_srli_epi32(_mm256_castps_si256(y), 20)));
    *sp = _mm256_blendv_ps(so, y, tiny);
    *cp = _mm256_blendv_ps(co, _mm256_set1_ps(1.0f), tiny);
}

AVX512_FN static inline void box_muller8_512(__m256i a, __m256i b, __m256 *s, __m256 *c) {
    const __m256i mant = _mm256_set1_epi32((int)MANT);
    __m256 r = radius8(_mm256_and_si256(a, mant));
    __m256 sn, cs;
    sincos8(_mm256_and_si256(b, mant), &sn, &cs);
    *s = _mm256_mul_ps(sn, r);
    *c = _mm256_mul_ps(cs, r);
}

AVX512_FN static inline __m256i half512(__m512i x, int h) {
    return h ? _mm512_extracti64x4_epi64(x, 1) : _mm512_castsi512_si256(x);
}

AVX512_FN static unsigned batch_avx512(const stream_t *s, uint64_t start, uint64_t stride,
                                       int kind, float a, float b, float *v) {
    __m512i x[4][NV16];
    uint64_t o[LANES];
    for (int j = 0; j < LANES; j++) o[j] = start + stride * (uint64_t)j;
    philox_avx512(s, o, x);
    __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    unsigned bad = 0;
    for (int h = 0; h < NV8; h++) {
        __m256 f[4];
        __m256i w[4];
        for (int q = 0; q < 4; q++) w[q] = half512(x[q][h / 2], h % 2);
        if (kind == KIND_UNIFORM) {
            for (int q = 0; q < 4; q++) {
                __m256i m = _mm256_or_si256(_mm256_and_si256(w[q], _mm256_set1_epi32(MANT)),
                                            _mm256_set1_epi32((int)ONE_BITS));
                __m256 u = _mm256_sub_ps(_mm256_castsi256_ps(m), _mm256_set1_ps(1.0f));
                f[q] = _mm256_add_ps(_mm256_mul_ps(u, va), vb);
            }
        } else {
            box_muller8_512(w[0], w[1], &f[0], &f[1]);
            box_muller8_512(w[2], w[3], &f[2], &f[3]);
            if (kind == KIND_NORMAL) {
                for (int q = 0; q < 4; q++) f[q] = _mm256_add_ps(_mm256_mul_ps(f[q], va), vb);
            } else {
                const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
                const __m256 two = _mm256_set1_ps(2.0f);
                __m256 ok = _mm256_cmp_ps(_mm256_and_ps(f[0], absmask), two, _CMP_LT_OQ);
                for (int q = 1; q < 4; q++)
                    ok = _mm256_and_ps(ok, _mm256_cmp_ps(_mm256_and_ps(f[q], absmask), two,
                                                         _CMP_LT_OQ));
                bad |= (unsigned)(~_mm256_movemask_ps(ok) & 0xFF) << (8 * h);
            }
        }
        store4x8(v + 32 * h, f[0], f[1], f[2], f[3]);
    }
    return bad;
}

AVX512_FN static void blocks_avx512(const stream_t *s, const uint64_t *offsets, int count,
                                    float *f) {
    uint64_t o[LANES];
    for (int j = 0; j < LANES; j++) o[j] = offsets[j < count ? j : 0];
    __m512i x[4][NV16];
    philox_avx512(s, o, x);
    float v[4 * LANES];
    for (int h = 0; h < NV8; h++) {
        __m256 c[4];
        __m256i w[4];
        for (int q = 0; q < 4; q++) w[q] = half512(x[q][h / 2], h % 2);
        box_muller8_512(w[0], w[1], &c[0], &c[1]);
        box_muller8_512(w[2], w[3], &c[2], &c[3]);
        store4x8(v + 32 * h, c[0], c[1], c[2], c[3]);
    }
    memcpy(f, v, (size_t)count * 4 * sizeof(float));
}

AVX512_FN static void libm_avx512(float *r, float *s, float *c, uint32_t start, Py_ssize_t n) {
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i m = _mm256_add_epi32(_mm256_set1_epi32((int)(start + (uint32_t)i)),
                                     _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 sv, cv;
        _mm256_storeu_ps(r + i, radius8(m));
        sincos8(m, &sv, &cv);
        _mm256_storeu_ps(s + i, sv);
        _mm256_storeu_ps(c + i, cv);
    }
    for (; i < n; i++) {
        r[i] = radius_m(start + (uint32_t)i);
        sincos_m(start + (uint32_t)i, &s[i], &c[i]);
    }
}
#endif /* KI_AVX2 */

typedef void (*blocks_fn)(const stream_t *, const uint64_t *, int, float *);
static blocks_fn blocks = blocks_scalar;

typedef unsigned (*batch_fn)(const stream_t *, uint64_t, uint64_t, int, float, float, float *);
static batch_fn batch = batch_scalar;
static int simd_level = 0; /* 0: portable C, 1: AVX2, 2: AVX-512 */

/* ---- output: contiguous, or a strided view ------------------------------------------- */

#define MAX_DIMS 16

/* Where values go: `base` is element [0, ..., 0]; with nd == 0 the values are contiguous
 * from `base` on, else element (i0, ..., i{nd-1}) is base + sum(i_d * strides[d]). `pos`
 * follows the flat (row-major) index of the next value. */
typedef struct {
    float *base;
    int nd;
    Py_ssize_t shape[MAX_DIMS], strides[MAX_DIMS];
    Py_ssize_t idx[MAX_DIMS];
    float *ptr;
} sink_t;

static void sink_seek(sink_t *o, Py_ssize_t flat) {
    o->ptr = o->base;
    for (int d = o->nd - 1; d >= 0; d--) {
        o->idx[d] = flat % o->shape[d];
        flat /= o->shape[d];
        o->ptr += o->idx[d] * o->strides[d];
    }
}

/* Move the cursor from the start of a row (last index 0) to the start of the next row. */
static void sink_next_row(sink_t *o) {
    for (int d = o->nd - 2; d >= 0; d--) {
        o->ptr += o->strides[d];
        if (++o->idx[d] < o->shape[d]) return;
        o->idx[d] = 0;
        o->ptr -= o->shape[d] * o->strides[d];
    }
}

/* Write m values at the cursor of a strided sink and advance it (row-major order). */
static void sink_write(sink_t *o, const float *v, Py_ssize_t m) {
    int last = o->nd - 1;
    Py_ssize_t len = o->shape[last], st = o->strides[last];
    while (m > 0) {
        Py_ssize_t k = len - o->idx[last] < m ? len - o->idx[last] : m;
        float *p = o->ptr;
        for (Py_ssize_t t = 0; t < k; t++) p[t * st] = v[t];
        o->ptr += k * st;
        o->idx[last] += k;
        v += k;
        m -= k;
        if (o->idx[last] == len) {
            o->idx[last] = 0;
            o->ptr -= len * st;
            sink_next_row(o);
        }
    }
}

/* n values: value i is value i % 4 of block (uniform, normal) start + i / 4. */
static void run_blocks(int kind, float *out, Py_ssize_t n, stream_t s, uint64_t start, float a,
                       float b) {
    float tmp[4 * LANES];
    for (Py_ssize_t base = 0; base < n; base += 4 * LANES) {
        int full = n - base >= 4 * LANES;
        float *v = full ? out + base : tmp;
        batch(&s, start + (uint64_t)(base / 4), 1, kind, a, b, v);
        if (!full) memcpy(out + base, tmp, (size_t)(n - base) * sizeof(float));
    }
}

#define SUPER 2 /* batches whose rejecting groups are completed together */

/* For each 8-bit accept mask of eight candidates: how many are accepted, and the positions of
 * the first four (filled by init_accept_tables). */
static uint8_t ACCEPT_COUNT[256], ACCEPT_FIRST4[256][4];

static void init_accept_tables(void) {
    for (unsigned m = 0; m < 256; m++) {
        uint8_t have = 0;
        for (uint8_t q = 0; q < 8; q++) {
            if (m >> q & 1u) {
                if (have < 4) ACCEPT_FIRST4[m][have] = q;
                have++;
            }
        }
        ACCEPT_COUNT[m] = have > 4 ? 4 : have;
    }
}

/* n values: value i is value i % 4 of group start + i / 4. The first block of LANES groups at
 * a time; the groups that rejected a candidate (about 17 %) get their second block computed
 * LANES at a time too, and the very few still short finish one block at a time. */
static void run_truncated(float *out, Py_ssize_t n, stream_t s, uint64_t start, float sd,
                          float mu) {
    float tmp[4 * LANES * SUPER];
    uint64_t offsets[LANES];
    int idx[LANES * SUPER];
    float second[4 * LANES];
    for (Py_ssize_t base = 0; base < n; base += 4 * LANES * SUPER) {
        int full = n - base >= 4 * LANES * SUPER;
        float *v = full ? out + base : tmp;
        uint64_t first = start + (uint64_t)(base / 4);
        Py_ssize_t left = n - base < 4 * LANES * SUPER ? n - base : 4 * LANES * SUPER;
        int nbatch = (int)((left + 4 * LANES - 1) / (4 * LANES));
        int nbad = 0;
        for (int k = 0; k < nbatch; k++) {
            uint64_t g0 = first + (uint64_t)(k * LANES);
            unsigned bad = batch(&s, g0 * TRUNC_RESERVED, TRUNC_RESERVED, KIND_TRUNCATED, 1.0f,
                                 0.0f, v + 4 * LANES * k);
            for (int j = 0; bad; j++, bad >>= 1) idx[nbad] = k * LANES + j, nbad += bad & 1u;
        }
        for (int i0 = 0; i0 < nbad; i0 += LANES) {
            int count = nbad - i0 < LANES ? nbad - i0 : LANES;
            for (int j = 0; j < count; j++)
                offsets[j] = (first + (uint64_t)idx[i0 + j]) * TRUNC_RESERVED + 1;
            blocks(&s, offsets, count, second);
            for (int j = 0; j < count; j++) {
                float *g = v + 4 * idx[i0 + j];
                float cand[8] = {g[0], g[1], g[2], g[3], second[4 * j], second[4 * j + 1],
                                 second[4 * j + 2], second[4 * j + 3]};
                unsigned ok = 0;
                for (int q = 0; q < 8; q++) ok |= (unsigned)(fabsf(cand[q]) < 2.0f) << q;
                if (ACCEPT_COUNT[ok] == 4) { /* the usual case: pick the first four, no branches */
                    for (int q = 0; q < 4; q++) g[q] = cand[ACCEPT_FIRST4[ok][q]];
                } else {
                    truncated_finish(&s, first + (uint64_t)idx[i0 + j], cand, 8, g);
                }
            }
        }
        for (Py_ssize_t i = 0; i < left; i++) {
            float x = v[i] * sd;
            v[i] = x + mu;
        }
        if (!full) memcpy(out + base, tmp, (size_t)left * sizeof(float));
    }
}

/* ---- Python entry points -------------------------------------------------------------- */

static PyObject *abi(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(1);
}

typedef void (*fill_fn)(float *, Py_ssize_t, stream_t, uint64_t, float, float);

/* A strided output is written in tiles of TILE_R rows by up to TILE_C columns, from a
 * buffer of TILE_R (TILE_C + 4) floats (66 KiB per call, whatever the tensor's size). */
#define TILE_R 16
#define TILE_C 1024
#define TILE_BUF (TILE_R * (TILE_C + 4))
#define MAX_ROWS 256 /* rows per tile when they are short */

/* Values [f, f + m) of the stream (f any flat index) into buf; returns where they start. */
static const float *gen(fill_fn fn, float *buf, uint64_t f, Py_ssize_t m, const stream_t *s,
                        float a, float b) {
    Py_ssize_t off = (Py_ssize_t)(f % 4);
    fn(buf, off + m, *s, f / 4, a, b);
    return buf + off;
}

/* Write n values from flat index f on into the strided view o (cursor already at f). Rows
 * (the last axis) are written whole when contiguous; when the last axis is strided (a
 * transposed weight), TILE_R rows at a time column by column, so that consecutive writes
 * land in the same cache line (the rows are usually adjacent in memory) and a tile touches
 * at most TILE_C pages, instead of one cache line and one page per value. */
static void fill_strided(fill_fn fn, sink_t *o, Py_ssize_t n, const stream_t *s, uint64_t f,
                         float a, float b, float *buf) {
    int last = o->nd - 1;
    Py_ssize_t len = o->shape[last], st = o->strides[last];
    uint64_t end = f + (uint64_t)n;
    if (o->nd < 2 || st == 1) {
        while (f < end) {
            Py_ssize_t m = end - f < (uint64_t)(TILE_R * TILE_C) ? (Py_ssize_t)(end - f)
                                                                   : TILE_R * TILE_C;
            sink_write(o, gen(fn, buf, f, m, s, a, b), m);
            f += (uint64_t)m;
        }
        return;
    }
    while (f < end && f % (uint64_t)len != 0) { /* the head: the rest of the current row */
        Py_ssize_t m = len - (Py_ssize_t)(f % (uint64_t)len);
        if ((uint64_t)m > end - f) m = (Py_ssize_t)(end - f);
        if (m > TILE_C) m = TILE_C;
        sink_write(o, gen(fn, buf, f, m, s, a, b), m);
        f += (uint64_t)m;
    }
    while (end - f >= (uint64_t)len) { /* whole rows, in tiles */
        Py_ssize_t rows = (Py_ssize_t)((end - f) / (uint64_t)len);
        Py_ssize_t cap = len <= TILE_C ? TILE_R * TILE_C / len : TILE_R;
        if (cap > MAX_ROWS) cap = MAX_ROWS;
        if (rows > cap) rows = cap;
        float *row[MAX_ROWS];
        for (Py_ssize_t r = 0; r < rows; r++) {
            row[r] = o->ptr;
            sink_next_row(o);
        }
        if (len <= TILE_C) { /* the rows are one contiguous range of the stream */
            const float *v = gen(fn, buf, f, rows * len, s, a, b);
            for (Py_ssize_t c = 0; c < len; c++) {
                for (Py_ssize_t r = 0; r < rows; r++) row[r][c * st] = v[r * len + c];
            }
        } else {
            const float *v[TILE_R];
            for (Py_ssize_t c0 = 0; c0 < len; c0 += TILE_C) {
                Py_ssize_t w = len - c0 < TILE_C ? len - c0 : TILE_C;
                for (Py_ssize_t r = 0; r < rows; r++)
                    v[r] = gen(fn, buf + r * (TILE_C + 4), f + (uint64_t)(r * len + c0), w, s, a,
                               b);
                for (Py_ssize_t c = 0; c < w; c++) {
                    for (Py_ssize_t r = 0; r < rows; r++) row[r][(c0 + c) * st] = v[r][c];
                }
            }
        }
        f += (uint64_t)(rows * len);
    }
    while (f < end) { /* the tail: the start of the last row */
        Py_ssize_t m = end - f < (uint64_t)TILE_C ? (Py_ssize_t)(end - f) : TILE_C;
        sink_write(o, gen(fn, buf, f, m, s, a, b), m);
        f += (uint64_t)m;
    }
}

/* Read an optional (shape, strides) pair (strides in elements) into the sink. */
static int parse_layout(PyObject *shape, PyObject *strides, sink_t *o) {
    o->nd = 0;
    if (shape == Py_None && strides == Py_None) return 1;
    if (!PyTuple_Check(shape) || !PyTuple_Check(strides) ||
        PyTuple_GET_SIZE(shape) != PyTuple_GET_SIZE(strides) || PyTuple_GET_SIZE(shape) < 1 ||
        PyTuple_GET_SIZE(shape) > MAX_DIMS) {
        PyErr_SetString(PyExc_ValueError, "shape and strides: tuples of 1 to 16 ints, same length");
        return 0;
    }
    o->nd = (int)PyTuple_GET_SIZE(shape);
    for (int d = 0; d < o->nd; d++) {
        o->shape[d] = PyLong_AsSsize_t(PyTuple_GET_ITEM(shape, d));
        o->strides[d] = PyLong_AsSsize_t(PyTuple_GET_ITEM(strides, d));
        if (PyErr_Occurred()) return 0;
        if (o->shape[d] < 1) {
            PyErr_SetString(PyExc_ValueError, "shape entries must be >= 1");
            return 0;
        }
    }
    return 1;
}

static PyObject *fill(PyObject *args, const char *fmt, fill_fn fn) {
    unsigned long long addr, start;
    Py_ssize_t n;
    unsigned int k0, k1, c2, c3;
    double a, b;
    PyObject *shape = Py_None, *strides = Py_None;
    if (!PyArg_ParseTuple(args, fmt, &addr, &n, &k0, &k1, &c2, &c3, &start, &a, &b, &shape,
                          &strides))
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 0");
        return NULL;
    }
    sink_t o;
    o.base = (float *)(uintptr_t)addr;
    if (!parse_layout(shape, strides, &o)) return NULL;
    if (o.nd) {
        Py_ssize_t total = 1;
        for (int d = 0; d < o.nd; d++) total *= o.shape[d];
        if ((unsigned long long)total < 4 * start || total - (Py_ssize_t)(4 * start) < n) {
            PyErr_SetString(PyExc_ValueError, "the values run past the end of the view");
            return NULL;
        }
        sink_seek(&o, (Py_ssize_t)(4 * start));
    }
    stream_t s = {k0, k1, c2, c3};
    if (!o.nd) {
        Py_BEGIN_ALLOW_THREADS
        fn(o.base, n, s, (uint64_t)start, (float)a, (float)b);
        Py_END_ALLOW_THREADS
        Py_RETURN_NONE;
    }
    float *buf = (float *)PyMem_RawMalloc(TILE_BUF * sizeof(float));
    if (buf == NULL) return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    fill_strided(fn, &o, n, &s, 4 * (uint64_t)start, (float)a, (float)b, buf);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(buf);
    Py_RETURN_NONE;
}

static void uniform_kernel(float *o, Py_ssize_t n, stream_t s, uint64_t st, float a, float b) {
    run_blocks(KIND_UNIFORM, o, n, s, st, a, b);
}

static void normal_kernel(float *o, Py_ssize_t n, stream_t s, uint64_t st, float a, float b) {
    run_blocks(KIND_NORMAL, o, n, s, st, a, b);
}

static PyObject *py_uniform(PyObject *self, PyObject *args) {
    (void)self;
    return fill(args, "KnIIIIKdd|OO:uniform", uniform_kernel);
}

static PyObject *py_normal(PyObject *self, PyObject *args) {
    (void)self;
    return fill(args, "KnIIIIKdd|OO:normal", normal_kernel);
}

static PyObject *py_truncated_normal(PyObject *self, PyObject *args) {
    (void)self;
    return fill(args, "KnIIIIKdd|OO:truncated_normal", run_truncated);
}

static PyObject *py_philox(PyObject *self, PyObject *args) {
    (void)self;
    unsigned long long addr, start, stride;
    Py_ssize_t n;
    unsigned int k0, k1, c2, c3;
    if (!PyArg_ParseTuple(args, "KnIIIIKK:philox", &addr, &n, &k0, &k1, &c2, &c3, &start,
                          &stride))
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 0");
        return NULL;
    }
    stream_t s = {k0, k1, c2, c3};
    uint32_t *out = (uint32_t *)(uintptr_t)addr;
    Py_BEGIN_ALLOW_THREADS
    uint32_t w[4][LANES];
    for (Py_ssize_t base = 0; base < n; base += LANES) {
        philox_lanes(&s, (uint64_t)start + (uint64_t)stride * (uint64_t)base, stride, w);
        for (Py_ssize_t j = 0; j < LANES && base + j < n; j++) {
            for (int q = 0; q < 4; q++) out[4 * (base + j) + q] = w[q][j];
        }
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

#ifdef KI_AVX2
AVX2_FN static void libm_avx2(float *r, float *s, float *c, uint32_t start, Py_ssize_t n) {
    Py_ssize_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128i m = _mm_add_epi32(_mm_set1_epi32((int)(start + (uint32_t)i)),
                                  _mm_setr_epi32(0, 1, 2, 3));
        __m128 sv, cv;
        _mm_storeu_ps(r + i, radius4(m));
        sincos4(m, &sv, &cv);
        _mm_storeu_ps(s + i, sv);
        _mm_storeu_ps(c + i, cv);
    }
    for (; i < n; i++) {
        r[i] = radius_m(start + (uint32_t)i);
        sincos_m(start + (uint32_t)i, &s[i], &c[i]);
    }
}
#endif

/* The two transcendental steps alone, for m in [start, start + n), with the kernel variant in
 * use (the tests compare them with the NumPy emulation on all 2^23 inputs). */
static PyObject *py_libm(PyObject *self, PyObject *args) {
    (void)self;
    unsigned long long rad, sn, cs;
    unsigned int start;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "KKKIn:libm", &rad, &sn, &cs, &start, &n)) return NULL;
    if (n < 0 || (uint64_t)start + (uint64_t)n > (MANT + 1u)) {
        PyErr_SetString(PyExc_ValueError, "need 0 <= start <= start + n <= 2**23");
        return NULL;
    }
    float *r = (float *)(uintptr_t)rad, *s = (float *)(uintptr_t)sn, *c = (float *)(uintptr_t)cs;
    int level = simd_level;
    Py_BEGIN_ALLOW_THREADS
#ifdef KI_AVX2
    if (level == 2) {
        libm_avx512(r, s, c, start, n);
    } else if (level == 1) {
        libm_avx2(r, s, c, start, n);
    } else
#endif
    {
        (void)level;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint32_t m = start + (uint32_t)i;
            r[i] = radius_m(m);
            sincos_m(m, &s[i], &c[i]);
        }
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* The best kernel variant this CPU runs: 2 AVX-512F, 1 AVX2, 0 portable C. */
static int cpu_level(void) {
#ifdef KI_AVX2
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static void select_level(int level) {
    batch = batch_scalar;
    blocks = blocks_scalar;
#ifdef KI_AVX2
    if (level == 1) {
        batch = batch_avx2;
        blocks = blocks_avx2;
    } else if (level == 2) {
        batch = batch_avx512;
        blocks = blocks_avx512;
    }
#endif
    simd_level = level;
}

static PyObject *py_simd(PyObject *self, PyObject *args) {
    (void)self;
    int level = -1;
    if (!PyArg_ParseTuple(args, "|i:simd", &level)) return NULL;
    int previous = simd_level;
    if (level != -1) {
        if (level < 0 || level > 2) {
            PyErr_Format(PyExc_ValueError, "simd level must be 0, 1 or 2, got %d", level);
            return NULL;
        }
        if (level > cpu_level()) {
            PyErr_Format(PyExc_ValueError, "this CPU (or build) has no simd level %d", level);
            return NULL;
        }
        select_level(level);
    }
    return PyLong_FromLong(previous);
}

static PyMethodDef methods[] = {
    {"simd", py_simd, METH_VARARGS,
     "simd([level]): the kernel variant in use (0 portable C, 1 AVX2, 2 AVX-512); with level, "
     "select it "
     "(for tests; not thread-safe) and return the previous one."},
    {"abi", abi, METH_NOARGS, "Interface version of this extension (1)."},
    {"uniform", py_uniform, METH_VARARGS,
     "uniform(addr, n, k0, k1, c2, c3, start_block, span, low[, shape, strides]): n float32 "
     "values (flat indices 4 start_block on of the view given by shape and strides)."},
    {"normal", py_normal, METH_VARARGS,
     "normal(addr, n, k0, k1, c2, c3, start_block, stddev, mean[, shape, strides])."},
    {"truncated_normal", py_truncated_normal, METH_VARARGS,
     "truncated_normal(addr, n, k0, k1, c2, c3, start_group, stddev, mean[, shape, strides])."},
    {"philox", py_philox, METH_VARARGS,
     "philox(addr, n, k0, k1, c2, c3, start, stride): n blocks of four uint32 words."},
    {"libm", py_libm, METH_VARARGS,
     "libm(radius_addr, sin_addr, cos_addr, start, n): radius(m), sincosf(angle(m)), "
     "m in [start, start + n)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_tf_native", "C kernels for kerasinit's rng='tensorflow' samplers.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tf_native(void) {
    init_accept_tables();
    select_level(cpu_level());
    return PyModule_Create(&module);
}
