/* kerasinit.bridge.rng._jax_native: the C kernels of rng="jax" (the CPU path).
 *
 * The same arithmetic as threefry.py (Threefry-2x32, both JAX layouts) and xla.py (XLA:CPU's
 * float32 uniform, normal and truncated normal: erf_inv, log1p, log with the per-version FMA
 * profile), then Keras's `x * stddev + mean` in two float32 operations. Every FMA that the
 * NumPy code emulates is an fmaf() call (correctly rounded, subnormals included); every other
 * operation is a plain float operation, and the build turns floating-point contraction off
 * (-ffp-contract=off), so no other product is fused. The NumPy implementation is the
 * fallback and the tests compare the two bit for bit on every input of each transform.
 *
 * On x86-64 with GCC or Clang the kernels are compiled three times, for the baseline ISA, for
 * AVX2+FMA and for AVX-512 (fmaf() is then one instruction and the loops vectorize), and the
 * best one the CPU runs is chosen at import. Values are computed in blocks of BLOCK lanes in
 * stack arrays and written straight into the caller's float32 buffer: contiguous, or any
 * strided view (an odometer over up to MAXDIM dimensions; 2-D transposed views in tiles).
 * No heap memory; loops run without the GIL.
 *
 * Interface (abi() == 1; the Python caller validates every argument and address):
 *   words(k0, k1, n, start, stop, layout, addr)            uint32 words of [start, stop)
 *   transform(kind, half, in_addr, out_addr, count, a, b)   float32 of 23-bit mantissas
 *   sample(kind, half, layout, k0, k1, n, start, stop, addr, first, shape, strides,
 *          a, b, sd, mu)                                     values of [start, stop)
 * kind: 0 uniform(minval a, maxval b), 1 normal, 2 truncated normal (sample scales 1 and 2
 * by sd, mu). half: 1 for the "half" FMA profile (jaxlib 0.10), 0 for "q3r" (0.4.38).
 * layout: 0 partitionable, 1 original. Element i goes to ((float *)addr)[i - first] when
 * shape is empty, else to the element of the strided view (shape, strides in elements) at
 * the row-major multi-index of i.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h> /* llabs */
#include <stdint.h>
#include <string.h>

/* Selects of two computed values (both branches of log1p and erf_inv are evaluated) need no
 * trap semantics; without this GCC keeps them as branches and the loops do not vectorize.
 * It changes no value (the default floating-point environment never traps). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#define ABI 1
#define BLOCK 256
#define MAXDIM 16

#if (defined(__GNUC__) || defined(__clang__))
#define INLINE static inline __attribute__((always_inline))
#else
#define INLINE static inline
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define KI_X86 1
#define TARGET_AVX2 __attribute__((target("avx2,fma")))
#if defined(__clang__)
#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,fma")))
#else /* GCC's generic tuning would keep 256-bit vectors */
#define TARGET_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,fma,prefer-vector-width=512")))
#endif
#else
#define KI_X86 0
#endif

/* ---- constants (float32 values, exact) ---------------------------------------------- */
#define SQRT2 0x1.6a09e6p+0f
#define NORMAL_LO -0x1.fffffep-1f
#define TRUNC_LO -0x1.e8b430p-1f
#define TRUNC_SPAN 0x1.e8b430p+0f
#define TRUNC_CLIP 0x1.fffffep+0f
#define LOG1P_CUT 0x1.a8279ap-2f
#define LOG_SQRTHF 0x1.6a09e6p-1f
#define LOG_Q1 -0x1.bd0106p-13f
#define LOG_Q2 0x1.63p-1f
#define MIN_NORMAL 0x1p-126f

static const float ERFINV_SMALL[9] = {
    0x1.e2cb10p-26f, 0x1.70966cp-22f, -0x1.d8e6aep-19f, -0x1.26b582p-18f, 0x1.ca65b6p-13f,
    -0x1.48a810p-10f, -0x1.11c9dep-8f, 0x1.f91ec6p-3f, 0x1.805c5ep+0f};
static const float ERFINV_LARGE[9] = {
    -0x1.a3e136p-13f, 0x1.a76ad6p-14f, 0x1.61b8e4p-10f, -0x1.e17bcep-9f, 0x1.7824f6p-8f,
    -0x1.f38baep-8f, 0x1.354afcp-7f, 0x1.006db6p+0f, 0x1.6a9efcp+1f};
static const float LOG1P_DEN[6] = {
    0x1.e2035ap+3f, 0x1.4c30b6p+6f, 0x1.bb865ap+7f, 0x1.351946p+8f, 0x1.b0db14p+7f,
    0x1.e0f304p+5f};
#define LOG1P_NUM0 0x1.7bc096p-15f
static const float LOG1P_NUM[6] = {
    0x1.fe818ap-2f, 0x1.a509f4p+2f, 0x1.de9738p+4f, 0x1.e798ecp+5f, 0x1.c8e75ap+5f,
    0x1.40a202p+4f};
static const float LOG_P[9] = {
    0x1.204376p-4f, -0x1.d7a370p-4f, 0x1.de4a34p-4f, -0x1.fcba9ep-4f, 0x1.23d37ep-3f,
    -0x1.555ca0p-3f, 0x1.999d58p-3f, -0x1.fffff8p-3f, 0x1.555554p-2f};

INLINE float as_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

INLINE uint32_t as_u32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---- Threefry-2x32, 20 rounds ---------------------------------------------------------- */
#define ROTL(x, r) (((x) << (r)) | ((x) >> (32 - (r))))
#define MIX(r) \
    do {                  \
        a += b;           \
        b = ROTL(b, r);   \
        b ^= a;           \
    } while (0)
#define GROUP_A MIX(13); MIX(15); MIX(26); MIX(6)
#define GROUP_B MIX(17); MIX(29); MIX(16); MIX(24)

/* In place over arrays: counters (x0, x1) in, words out. */
INLINE void threefry(uint32_t k0, uint32_t k1, uint32_t *x0, uint32_t *x1, int cnt) {
    const uint32_t k2 = k0 ^ k1 ^ 0x1BD11BDAu;
    for (int j = 0; j < cnt; j++) {
        uint32_t a = x0[j] + k0, b = x1[j] + k1;
        GROUP_A; a += k1; b += k2 + 1u;
        GROUP_B; a += k2; b += k0 + 2u;
        GROUP_A; a += k0; b += k1 + 3u;
        GROUP_B; a += k1; b += k2 + 4u;
        GROUP_A; a += k2; b += k0 + 5u;
        x0[j] = a;
        x1[j] = b;
    }
}

/* The words of elements [i0, i0 + cnt) of an n-value draw (a block within one layout
 * segment: the caller splits at 2^32 multiples (partitionable) and at ceil(n/2) (original)). */
INLINE void words_block(uint32_t k0, uint32_t k1, int layout, uint64_t n, uint64_t i0, int cnt,
                        uint32_t *out) {
    uint32_t x0[BLOCK];
    if (layout == 0) {
        const uint32_t hi = (uint32_t)(i0 >> 32), lo = (uint32_t)i0;
        for (int j = 0; j < cnt; j++) {
            x0[j] = hi;
            out[j] = lo + (uint32_t)j;
        }
        threefry(k0, k1, x0, out, cnt);
        for (int j = 0; j < cnt; j++) out[j] ^= x0[j];
        return;
    }
    const uint64_t half = (n + 1) / 2;
    const int second = i0 >= half;
    const uint64_t c0 = second ? i0 - half : i0; /* counters c0 .. c0 + cnt - 1 */
    uint32_t x1[BLOCK];
    for (int j = 0; j < cnt; j++) {
        x0[j] = (uint32_t)c0 + (uint32_t)j;
        x1[j] = (uint32_t)c0 + (uint32_t)j + (uint32_t)half;
    }
    if (c0 + half <= n && n < c0 + half + (uint64_t)cnt) x1[n - c0 - half] = 0; /* odd-n pad */
    threefry(k0, k1, x0, x1, cnt);
    memcpy(out, second ? x1 : x0, (size_t)cnt * 4);
}

/* ---- XLA:CPU float32 transforms ---------------------------------------------------------- */
/* np.maximum(a, b): NaN from either side, b when equal (max(-0, +0) = +0, as in XLA). */
INLINE float maxnp(float a, float b) { return ((a > b) | (a != a)) ? a : b; }

INLINE float unit(uint32_t m) { return as_float(m | 0x3F800000u) - 1.0f; }

INLINE float xla_logf(float v) {
    v = maxnp(v, MIN_NORMAL);
    const int32_t bits = (int32_t)as_u32(v);
    float ef = (float)((bits >> 23) - 126);
    const float m = as_float((uint32_t)((bits & (int32_t)0x807FFFFF) | 0x3F000000));
    const int low = m < LOG_SQRTHF;
    float x = m - 1.0f;
    const float xm = x + m, ef1 = ef - 1.0f;
    x = low ? xm : x;
    ef = low ? ef1 : ef;
    const float z = x * x;
    const float x3 = z * x;
    const float *p = LOG_P;
    const float y0 = fmaf(fmaf(x, p[0], p[1]), x, p[2]);
    const float y1 = fmaf(fmaf(x, p[3], p[4]), x, p[5]);
    const float y2 = fmaf(fmaf(x, p[6], p[7]), x, p[8]);
    float t = fmaf(y0, x3, y1);
    t = fmaf(t, x3, y2);
    t = fmaf(t, x3, ef * LOG_Q1);
    return fmaf(ef, LOG_Q2, fmaf(z, -0.5f, x) + t);
}

INLINE float xla_log1p(float q, int half) {
    const float big = xla_logf(1.0f + q);
    const float *D = LOG1P_DEN, *N = LOG1P_NUM;
    float d = fmaf(1.0f, q, D[0]);
    d = fmaf(d, q, D[1]);
    d = fmaf(d, q, D[2]);
    d = fmaf(d, q, D[3]);
    d = fmaf(d, q, D[4]);
    d = fmaf(d, q, D[5]);
    float nm = fmaf(LOG1P_NUM0, q, N[0]);
    nm = fmaf(nm, q, N[1]);
    nm = fmaf(nm, q, N[2]);
    nm = fmaf(nm, q, N[3]);
    nm = fmaf(nm, q, N[4]);
    nm = fmaf(nm, q, N[5]);
    const float r = nm / d;
    const float x2 = q * q;
    const float x3 = q * x2;
    const float tail = half ? fmaf(x2, -0.5f, x3 * r) : fmaf(x3, r, x2 * -0.5f);
    const float small = q + tail;
    return fabsf(q) >= LOG1P_CUT ? big : small;
}

INLINE float xla_erf_inv(float x, int half) {
    const float w = -xla_log1p(x * -x, half);
    const float t = w - 2.5f;
    const float *S = ERFINV_SMALL, *L = ERFINV_LARGE;
    float p = fmaf(S[0], t, S[1]);
    p = fmaf(p, t, S[2]);
    p = fmaf(p, t, S[3]);
    p = fmaf(p, t, S[4]);
    p = fmaf(p, t, S[5]);
    p = fmaf(p, t, S[6]);
    p = fmaf(p, t, S[7]);
    p = fmaf(p, t, S[8]);
    const float tl = sqrtf(w) - 3.0f;
    float pl = fmaf(L[0], tl, L[1]);
    pl = fmaf(pl, tl, L[2]);
    pl = fmaf(pl, tl, L[3]);
    pl = fmaf(pl, tl, L[4]);
    pl = fmaf(pl, tl, L[5]);
    pl = fmaf(pl, tl, L[6]);
    pl = fmaf(pl, tl, L[7]);
    pl = fmaf(pl, tl, L[8]);
    p = w >= 5.0f ? pl : p;
    return p * x;
}

INLINE float normal_of(uint32_t m, int half) {
    const float u = maxnp(NORMAL_LO, unit(m) * 2.0f + NORMAL_LO);
    return xla_erf_inv(u, half) * SQRT2;
}

INLINE float truncated_of(uint32_t m, int half) {
    const float u = maxnp(TRUNC_LO, fmaf(unit(m), TRUNC_SPAN, TRUNC_LO));
    const float z = xla_erf_inv(u, half) * SQRT2;
    return z < -TRUNC_CLIP ? -TRUNC_CLIP : (z > TRUNC_CLIP ? TRUNC_CLIP : z);
}

INLINE float uniform_of(uint32_t m, float lo, float span) {
    return maxnp(lo, fmaf(unit(m), span, lo));
}

/* Values of cnt mantissas (kind and half are constants after inlining: one loop each). */
INLINE void values_block(int kind, int half, float a, float b, const uint32_t *m, float *v,
                         int cnt) {
    if (kind == 0) {
        const float span = b - a;
        for (int j = 0; j < cnt; j++) v[j] = uniform_of(m[j], a, span);
    } else if (kind == 1) {
        if (half)
            for (int j = 0; j < cnt; j++) v[j] = normal_of(m[j], 1);
        else
            for (int j = 0; j < cnt; j++) v[j] = normal_of(m[j], 0);
    } else {
        if (half)
            for (int j = 0; j < cnt; j++) v[j] = truncated_of(m[j], 1);
        else
            for (int j = 0; j < cnt; j++) v[j] = truncated_of(m[j], 0);
    }
}

/* ---- jobs ---------------------------------------------------------------------------------- */
typedef struct {
    int kind, half, layout;
    uint32_t k0, k1;
    uint64_t n, first;
    float a, b, sd, mu;
    char *addr;
    int ndim;
    int64_t shape[MAXDIM], strides[MAXDIM];
} Job;

/* The largest block starting at i (below stop) inside one layout segment. */
INLINE int block_len(const Job *J, uint64_t i, uint64_t stop) {
    uint64_t end = stop - i < BLOCK ? stop : i + BLOCK;
    if (J->layout == 0) {
        const uint64_t wall = ((i >> 32) + 1) << 32;
        if (end > wall) end = wall;
    } else {
        const uint64_t half = (J->n + 1) / 2;
        if (i < half && end > half) end = half;
    }
    return (int)(end - i);
}

typedef struct {
    int64_t idx[MAXDIM];
    int64_t off;
} Cursor;

static void cursor_init(const Job *J, Cursor *c, uint64_t i) {
    c->off = 0;
    for (int d = J->ndim - 1; d >= 0; d--) {
        const uint64_t s = (uint64_t)J->shape[d];
        c->idx[d] = (int64_t)(i % s);
        i /= s;
        c->off += c->idx[d] * J->strides[d];
    }
}

/* Scatter cnt values of elements [i, i + cnt) in row-major order through the cursor. */
static void store(const Job *J, Cursor *c, const float *v, uint64_t cnt) {
    float *base = (float *)J->addr;
    const int last = J->ndim - 1;
    const int64_t s_last = J->strides[last], n_last = J->shape[last];
    uint64_t j = 0;
    while (j < cnt) {
        int64_t run = n_last - c->idx[last];
        if ((uint64_t)run > cnt - j) run = (int64_t)(cnt - j);
        float *dst = base + c->off;
        for (int64_t r = 0; r < run; r++) dst[r * s_last] = v[j + (uint64_t)r];
        j += (uint64_t)run;
        c->idx[last] += run;
        c->off += run * s_last;
        for (int d = last; d > 0 && c->idx[d] == J->shape[d]; d--) {
            c->off -= J->shape[d] * J->strides[d];
            c->idx[d] = 0;
            c->idx[d - 1]++;
            c->off += J->strides[d - 1];
        }
    }
}

/* Values of elements [start, stop) into the contiguous dst. */
INLINE void run_sample(const Job *J, uint64_t start, uint64_t stop, float *dst) {
    uint32_t w[BLOCK];
    for (uint64_t i = start; i < stop;) {
        const int cnt = block_len(J, i, stop);
        float *v = dst + (i - start);
        words_block(J->k0, J->k1, J->layout, J->n, i, cnt, w);
        for (int j = 0; j < cnt; j++) w[j] >>= 9;
        values_block(J->kind, J->half, J->a, J->b, w, v, cnt);
        if (J->kind != 0) {
            const float sd = J->sd, mu = J->mu;
            for (int j = 0; j < cnt; j++) {
                const float s = v[j] * sd;
                v[j] = s + mu;
            }
        }
        i += (uint64_t)cnt;
    }
}

#define TILE_ROWS 16
#define TILE_COLS 256

/* Elements [start, stop) into the strided view, through stack buffers (no heap memory).
 * A 2-D view whose columns are further apart than its rows (the transposed view of a torch
 * Linear weight) is done in tiles of TILE_ROWS x TILE_COLS, written column by column: each
 * destination run of TILE_ROWS floats (a cache line when rows are adjacent) is written once. */
INLINE void run_strided(const Job *J, uint64_t start, uint64_t stop) {
    float v[TILE_ROWS * TILE_COLS];
    Cursor c;
    cursor_init(J, &c, start);
    uint64_t i = start, ra = 0, rb = 0;
    const uint64_t C = J->ndim == 2 ? (uint64_t)J->shape[1] : 0;
    const int tiled = J->ndim == 2 && llabs(J->strides[1]) > llabs(J->strides[0]);
    if (tiled) {
        ra = (start + C - 1) / C;
        rb = stop / C;
        if (ra >= rb) ra = rb = 0;
    }
    const uint64_t head_end = ra < rb ? ra * C : stop;
    while (i < head_end) { /* untiled: everything, or the head (the end of one row) */
        const uint64_t cnt = head_end - i < BLOCK ? head_end - i : BLOCK;
        run_sample(J, i, i + cnt, v);
        store(J, &c, v, cnt);
        i += cnt;
    }
    if (ra >= rb) return;
    const int64_t s0 = J->strides[0], s1 = J->strides[1];
    float *base = (float *)J->addr;
    for (uint64_t g = ra; g < rb; g += TILE_ROWS) {
        const uint64_t h = rb - g < TILE_ROWS ? rb - g : TILE_ROWS;
        for (uint64_t c0 = 0; c0 < C; c0 += TILE_COLS) {
            const uint64_t w = C - c0 < TILE_COLS ? C - c0 : TILE_COLS;
            for (uint64_t r = 0; r < h; r++)
                run_sample(J, (g + r) * C + c0, (g + r) * C + c0 + w, v + r * TILE_COLS);
            for (uint64_t col = 0; col < w; col++) {
                float *dst = base + (int64_t)(c0 + col) * s1 + (int64_t)g * s0;
                for (uint64_t r = 0; r < h; r++) dst[(int64_t)r * s0] = v[r * TILE_COLS + col];
            }
        }
    }
    i = rb * C; /* the tail: the start of one row */
    cursor_init(J, &c, i);
    while (i < stop) {
        const uint64_t cnt = stop - i < BLOCK ? stop - i : BLOCK;
        run_sample(J, i, i + cnt, v);
        store(J, &c, v, cnt);
        i += cnt;
    }
}

INLINE void run_any(const Job *J, uint64_t start, uint64_t stop) {
    if (J->ndim)
        run_strided(J, start, stop);
    else
        run_sample(J, start, stop, (float *)J->addr + (start - J->first));
}

INLINE void run_words(const Job *J, uint64_t start, uint64_t stop, uint32_t *out) {
    for (uint64_t i = start; i < stop;) {
        const int cnt = block_len(J, i, stop);
        words_block(J->k0, J->k1, J->layout, J->n, i, cnt, out + (i - start));
        i += (uint64_t)cnt;
    }
}

INLINE void run_transform(int kind, int half, float a, float b, const uint32_t *m, float *v,
                          uint64_t count) {
    for (uint64_t i = 0; i < count; i += BLOCK) {
        const int cnt = count - i < BLOCK ? (int)(count - i) : BLOCK;
        values_block(kind, half, a, b, m + i, v + i, cnt);
    }
}

static void sample_generic(const Job *J, uint64_t s, uint64_t e) { run_any(J, s, e); }
static void words_generic(const Job *J, uint64_t s, uint64_t e, uint32_t *o) {
    run_words(J, s, e, o);
}
static void transform_generic(int k, int h, float a, float b, const uint32_t *m, float *v,
                              uint64_t c) {
    run_transform(k, h, a, b, m, v, c);
}

#if KI_X86
TARGET_AVX2 static void sample_avx2(const Job *J, uint64_t s, uint64_t e) { run_any(J, s, e); }
TARGET_AVX2 static void words_avx2(const Job *J, uint64_t s, uint64_t e, uint32_t *o) {
    run_words(J, s, e, o);
}
TARGET_AVX2 static void transform_avx2(int k, int h, float a, float b, const uint32_t *m,
                                       float *v, uint64_t c) {
    run_transform(k, h, a, b, m, v, c);
}
TARGET_AVX512 static void sample_avx512(const Job *J, uint64_t s, uint64_t e) {
    run_any(J, s, e);
}
TARGET_AVX512 static void words_avx512(const Job *J, uint64_t s, uint64_t e, uint32_t *o) {
    run_words(J, s, e, o);
}
TARGET_AVX512 static void transform_avx512(int k, int h, float a, float b, const uint32_t *m,
                                           float *v, uint64_t c) {
    run_transform(k, h, a, b, m, v, c);
}
#endif

typedef struct {
    const char *name;
    void (*sample)(const Job *, uint64_t, uint64_t);
    void (*words)(const Job *, uint64_t, uint64_t, uint32_t *);
    void (*transform)(int, int, float, float, const uint32_t *, float *, uint64_t);
} Kernels;

static const Kernels KERNELS[] = {
    {"generic", sample_generic, words_generic, transform_generic},
#if KI_X86
    {"avx2+fma", sample_avx2, words_avx2, transform_avx2},
    {"avx512", sample_avx512, words_avx512, transform_avx512},
#endif
};

/* The best kernel set this CPU runs. */
static int best_level(void) {
#if KI_X86
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw"))
        return 2;
    return 1;
#else
    return 0;
#endif
}

/* The kernel set in use (an index into KERNELS). */
static int level = 0;

/* ---- Python interface ----------------------------------------------------------------------- */
static int parse_dims(PyObject *obj, int64_t *out, const char *what) {
    PyObject *seq = PySequence_Fast(obj, what);
    if (!seq) return -1;
    const Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    if (len > MAXDIM) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "%s: at most %d dimensions", what, MAXDIM);
        return -1;
    }
    for (Py_ssize_t d = 0; d < len; d++) {
        out[d] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, d));
        if (out[d] == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return (int)len;
}

static int check_range(uint64_t n, uint64_t start, uint64_t stop) {
    if (start > stop || stop > n) {
        PyErr_SetString(PyExc_ValueError, "need start <= stop <= n");
        return -1;
    }
    return 0;
}

static PyObject *py_abi(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyLong_FromLong(ABI);
}

static PyObject *py_isa(PyObject *self, PyObject *args) {
    (void)self;
    int want = -1;
    if (!PyArg_ParseTuple(args, "|i", &want)) return NULL;
    const int before = level, best = best_level();
    if (want >= 0) level = want < best ? want : best;
    return PyUnicode_FromString(KERNELS[before].name);
}

static PyObject *py_words(PyObject *self, PyObject *args) {
    (void)self;
    Job J;
    memset(&J, 0, sizeof J);
    unsigned long long n, start, stop, addr;
    if (!PyArg_ParseTuple(args, "IIKKKiK", &J.k0, &J.k1, &n, &start, &stop, &J.layout, &addr))
        return NULL;
    J.n = n;
    if (check_range(n, start, stop)) return NULL;
    uint32_t *out = (uint32_t *)(uintptr_t)addr;
    Py_BEGIN_ALLOW_THREADS
    KERNELS[level].words(&J, start, stop, out);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_transform(PyObject *self, PyObject *args) {
    (void)self;
    int kind, half;
    unsigned long long in_addr, out_addr, count;
    double a, b;
    if (!PyArg_ParseTuple(args, "iiKKKdd", &kind, &half, &in_addr, &out_addr, &count, &a, &b))
        return NULL;
    const uint32_t *m = (const uint32_t *)(uintptr_t)in_addr;
    float *v = (float *)(uintptr_t)out_addr;
    const float fa = (float)a, fb = (float)b;
    half = half != 0;
    Py_BEGIN_ALLOW_THREADS
    KERNELS[level].transform(kind, half, fa, fb, m, v, count);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *py_sample(PyObject *self, PyObject *args) {
    (void)self;
    Job J;
    memset(&J, 0, sizeof J);
    unsigned long long n, start, stop, addr, first;
    PyObject *shape, *strides;
    double a, b, sd, mu;
    if (!PyArg_ParseTuple(args, "iiiIIKKKKKOOdddd", &J.kind, &J.half, &J.layout, &J.k0, &J.k1,
                          &n, &start, &stop, &addr, &first, &shape, &strides, &a, &b, &sd,
                          &mu))
        return NULL;
    J.n = n;
    J.first = first;
    J.half = J.half != 0;
    J.a = (float)a;
    J.b = (float)b;
    J.sd = (float)sd;
    J.mu = (float)mu;
    J.addr = (char *)(uintptr_t)addr;
    if (check_range(n, start, stop)) return NULL;
    const int nd = parse_dims(shape, J.shape, "shape");
    if (nd < 0) return NULL;
    if (parse_dims(strides, J.strides, "strides") != nd) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "shape and strides differ");
        return NULL;
    }
    J.ndim = nd;
    if (nd) {
        uint64_t total = 1;
        for (int d = 0; d < nd; d++) {
            if (J.shape[d] <= 0) {
                PyErr_SetString(PyExc_ValueError, "shape: positive sizes needed");
                return NULL;
            }
            total *= (uint64_t)J.shape[d];
        }
        if (total != n) {
            PyErr_SetString(PyExc_ValueError, "shape does not hold n values");
            return NULL;
        }
    } else if (start < first) {
        PyErr_SetString(PyExc_ValueError, "need first <= start");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    KERNELS[level].sample(&J, start, stop);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"abi", py_abi, METH_NOARGS, "Interface version of this extension (1)."},
    {"isa", py_isa, METH_VARARGS,
     "The kernel set in use ('generic', 'avx2+fma', 'avx512'); isa(k) switches to level k "
     "(0, 1, 2; capped at the CPU's best) and returns the previous one (tests)."},
    {"words", py_words, METH_VARARGS, "Threefry words of elements [start, stop)."},
    {"transform", py_transform, METH_VARARGS, "float32 values of 23-bit mantissas."},
    {"sample", py_sample, METH_VARARGS, "Values of elements [start, stop) into a buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_jax_native", "C kernels for kerasinit's rng='jax' samplers.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jax_native(void) {
    level = best_level();
    return PyModule_Create(&module);
}
