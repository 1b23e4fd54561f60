/* rng.c - seeded random streams and the bulk Gaussian generator.
 *
 * WHY HAND-WRITTEN (and not GSL): the SGD step at N = 1e4 draws 3e4
 * Gaussians and must be >= 10x faster than NumPy (~9.5 ns/sample), so the
 * Gaussian draw has to cost well under 1 ns.  GSL's generators are called
 * one number at a time through function pointers and cannot vectorise.
 * Measured with bench/gauss.sh (gcc 12 -O2, AMD EPYC with AVX-512, 2 vCPU
 * VM shared with other jobs; medians of 9 interleaved repetitions in a quiet
 * spell, the load on this VM changes timings by up to 2x):
 *     cl_rng_gauss_fill (AVX-512 path), n = 3e4  0.51 ns/sample
 *     cl_rng_gauss_fill (AVX-512 path), n = 3e5  0.53 ns/sample
 *     cl_rng_gauss_fill (AVX2 path), n = 3e4     0.89 ns/sample
 *     cl_rng_gauss_fill (baseline SSE2 path)     2.47 ns/sample
 *     cl_rng_gauss (scalar)                      3.65 ns/sample
 *     gsl_ran_gaussian_ziggurat + mt19937       10.5  ns/sample (20x fill)
 *     gsl_ran_gaussian_ziggurat + taus2          5.2  ns/sample (10x fill)
 * (taus2 was the fastest GSL generator tried.)  A 3e4-sample fill takes
 * ~16 us vs ~285 us for NumPy.  (The previous version, which handled the
 * rejected candidates with branches inside the fill loop, ran at 0.90-0.93
 * ns/sample on the AVX-512 path, 1.37 on AVX2.)  On top of speed we get
 * what GSL lacks: stream r of seed s is a pure function of (r, s), and the
 * state can be serialised and resumed bit-identically.
 *
 * Generator.  Eight xoshiro256+ lanes stored as s[4][8] (word-major, lane
 * minor) so that one step of all lanes is a handful of 8-wide integer vector
 * ops, plus one scalar lane (xoshiro256++, whose low bits are also good, since
 * cl_rng_u64 hands out all 64 bits) used for scalar draws and for the rare
 * slow paths of the ziggurat.  From the lane outputs (xoshiro256+) only bits
 * 3..63 are used: the three lowest bits of xoshiro256+ have low linear
 * complexity.
 *
 * Seeding.  All 36 state words are the output of a splitmix64 chain started
 * from hash(seed, stream), so the stream is a pure function of (seed, stream)
 * and independent of whatever else is allocated.
 *
 * Gaussians.  Marsaglia-Tsang ziggurat, 256 layers, r = 3.6541528853610088.
 * A 64-bit word u gives the layer i = u >> 56, the sign = bit 55 and the
 * 52-bit uniform j = bits 3..54; the candidate is x = j * x_i / 2^52 and it
 * is accepted at once when j < k_i = floor(2^52 x_{i-1} / x_i) (98.5% of
 * the time).  Otherwise: layer 0 (base strip) -> Marsaglia's tail method;
 * layer i > 0 -> wedge test of this (i, x) with a fresh uniform U; if the
 * wedge test rejects, the slot receives a fresh complete sample (scalar
 * ziggurat) from the scalar lane.  Output = (accepted first candidate) or
 * (fresh N(0,1)), and since an accepted candidate is exactly N(0,1)
 * distributed, so is the output.
 *
 * cl_rng_gauss_fill works on chunks of CHUNK = 512 samples:
 *   (a) 8 lanes -> buffer of uint64: first XR = 2 rounds (16 words) kept as
 *       the chunk's wedge uniforms, then one word per sample;
 *   (b) every sample's candidate x (with its sign) is written to the output
 *       unconditionally, and the positions that failed the fast test are
 *       appended to a list without branches (AVX-512: vpcompressd of the
 *       slot numbers; AVX2: 16-entry shuffle table; default: store + add).
 *       The 52-bit integer -> double conversion uses the exact 2^52
 *       magic-number trick (needs no AVX-512DQ).  The table look-ups are one
 *       16-byte load of the interleaved {x_i / 2^52, k_i} per sample, split
 *       with unpack instructions (vpgatherqq was measured slower on this
 *       EPYC).  The AVX-512 variant fuses (a) and (b) in one loop, (b)
 *       running LAG rounds behind (a), so that the look-ups overlap the
 *       generator's integer work;
 *   (c) fix-up of the listed slots (~1.5% of them): the first 16 get their
 *       wedge test with the chunk's 16 lane uniforms, in a loop without
 *       data-dependent branches that also lists the slots needing the scalar
 *       lane (layer 0 -> tail method; wedge rejection -> fresh sample); those
 *       are then done in slot order.  The rare further slots (more than 16
 *       rejections in a chunk: ~0.2% of the chunks) take the old
 *       branchy path (wedge uniform from the scalar lane) in slot order
 *       after them.  The wedge test uses chord squeezes (one 64-byte table
 *       line per layer) so exp() runs in only ~6% of the wedge tests.
 * (a) and (b) exist in three variants (AVX-512F and AVX2 intrinsics, and a
 * portable one that GCC compiles to SSE2), selected at run time with
 * __builtin_cpu_supports.  They use only integer operations, one exact
 * int -> double conversion and one correctly rounded multiply per sample (no
 * FMA; the project compiles with -ffp-contract=off), and (c) is common
 * scalar code, so every variant produces bit-identical output (checked by
 * tests/test_rng.c).  The environment variable CLDYN_RNG_ISA=default|avx2|
 * avx512f, read by cl_rng_alloc, caps the variant used by that generator
 * (for tests and benchmarks; results do not depend on it).
 *
 * Prefix property: the first m values of fill(rng, out, n) are the same for
 * every n >= m (from the same state); the state afterwards differs.  It
 * holds because the wedge uniforms of a chunk are drawn before its
 * candidates (a fixed place in the lane stream), and the scalar lane is
 * consumed slot by slot in increasing order, its use for a slot depending
 * only on that slot and the slots before it.
 */
#include "cldyn/rng.h"

#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CL_RNG_X86 1
#include <immintrin.h>
#else
#define CL_RNG_X86 0
#endif

#define ZIG_R 3.6541528853610087963519472518
#define ZIG_N 256
#define CHUNK 512 /* samples per chunk, multiple of 16 */
#define XR 2      /* lane rounds of wedge uniforms per chunk */
#define LAG 12    /* AVX-512: rounds between generation and use, even */
_Static_assert(LAG >= XR && LAG % 2 == 0 && CHUNK % 16 == 0, "LAG, XR, CHUNK");
#define M52 ((UINT64_C(1) << 52) - 1)
#define MAGIC52 UINT64_C(0x4330000000000000) /* bits of 2^52 */
#define TWO52 4503599627370496.0
#define SIGNBIT (UINT64_C(1) << 63)

enum { ISA_DEFAULT = 0, ISA_AVX2 = 1, ISA_AVX512F = 2 };

/* Per-layer data of the fast test, interleaved so that one 16-byte load
 * fetches both (the vector kernels split them with unpack instructions). */
struct zig_wk {
    double w;  /* x_i / 2^52 */
    int64_t k; /* fast acceptance bound on j: floor(2^52 x_{i-1} / x_i) */
};

/* Per-layer data of the wedge test (layers 1..255), one cache line each.
 * Wedge squeeze: with t = (x_i - x) / (x_i - x_{i-1}) and
 * y = f_i + U (f_{i-1} - f_i), the curve in (t, U) coordinates lies between
 * the chord U = t and U = t - gap (convex layers, x_{i-1} >= 1) or
 * U = t + gap (concave layers, x_i <= 1).  Hence U < t + lo accepts,
 * U >= t + hi rejects, and exp() is only needed in the thin band between
 * (about 6% of the wedge tests).  Entry 0 (base strip, handled by the tail
 * method) has x = inv = lo = hi = 0, so that its test rejects without exp. */
struct zig_wedge {
    double x;   /* x_i */
    double inv; /* 1 / (x_i - x_{i-1}) */
    double lo, hi;
    double f;  /* f_i = exp(-x_i^2 / 2) */
    double df; /* f_{i-1} - f_i */
    double pad_[2];
};

struct cl_rng {
    alignas(64) uint64_t s[4][CL_RNG_LANES]; /* vector lanes, xoshiro256+ */
    uint64_t t[4];                           /* scalar lane, xoshiro256++ */
    int isa;                                 /* best code path allowed */
    /* Ziggurat tables (recomputed at alloc, not part of the state). */
    alignas(64) struct zig_wk wk[ZIG_N];
    alignas(64) struct zig_wedge wedge[ZIG_N];
};

/* ------------------------------------------------------------------ */
/* Bit helpers                                                          */

static inline double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Scalar lane: xoshiro256++. */
static inline uint64_t next_scalar(cl_rng *rng)
{
    uint64_t *s = rng->t;
    const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* ------------------------------------------------------------------ */
/* Allocation, seeding, state                                           */

static void zig_tables(cl_rng *rng)
{
    const double m1 = TWO52;
    double w[ZIG_N], f[ZIG_N];
    double dn = ZIG_R, tn = ZIG_R;
    /* Area of each layer: r f(r) + tail integral. */
    const double vn = ZIG_R * exp(-0.5 * ZIG_R * ZIG_R) +
                      sqrt(M_PI / 2.0) * erfc(ZIG_R / M_SQRT2);
    const double q = vn / exp(-0.5 * dn * dn);

    rng->wk[0].k = (int64_t)((dn / q) * m1);
    rng->wk[1].k = 0;
    w[0] = q / m1;
    w[ZIG_N - 1] = dn / m1;
    f[0] = 1.0;
    f[ZIG_N - 1] = exp(-0.5 * dn * dn);
    for (int i = ZIG_N - 2; i >= 1; i--) {
        dn = sqrt(-2.0 * log(vn / dn + exp(-0.5 * dn * dn)));
        rng->wk[i + 1].k = (int64_t)((dn / tn) * m1);
        tn = dn;
        f[i] = exp(-0.5 * dn * dn);
        w[i] = dn / m1;
    }
    for (int i = 0; i < ZIG_N; i++)
        rng->wk[i].w = w[i];

    memset(&rng->wedge[0], 0, sizeof rng->wedge[0]);
    for (int i = 1; i < ZIG_N; i++) {
        struct zig_wedge *z = &rng->wedge[i];
        const double xh = w[i] * m1, xl = w[i - 1] * m1;
        const double lo = (i == 1) ? 0.0 : xl; /* x_0 = 0 */
        const double fh = f[i - 1], fl = f[i];
        z->x = xh;
        z->inv = 1.0 / (xh - lo);
        z->f = fl;
        z->df = fh - fl;
        z->pad_[0] = z->pad_[1] = 0.0;
        double gap = 0.0;
        for (int q = 1; q < 256; q++) {
            const double t = q / 256.0;
            const double x = xh - t * (xh - lo);
            const double g = (exp(-0.5 * x * x) - fl) / (fh - fl);
            const double e = fabs(g - t);
            if (e > gap)
                gap = e;
        }
        gap = 1.01 * gap + 1e-12; /* grid and rounding margin */
        if (lo >= 1.0) { /* convex: t - gap <= curve <= t */
            z->lo = -gap;
            z->hi = 0.0;
        } else if (xh <= 1.0) { /* concave: t <= curve <= t + gap */
            z->lo = 0.0;
            z->hi = gap;
        } else { /* inflection point inside: always use exp() */
            z->lo = -2.0;
            z->hi = 2.0;
        }
    }
}

static int isa_detect(void)
{
    int isa = ISA_DEFAULT;
#if CL_RNG_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        isa = ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt"))
        isa = ISA_AVX512F;
#endif
    const char *env = getenv("CLDYN_RNG_ISA");
    if (env) {
        int cap = isa;
        if (strcmp(env, "default") == 0)
            cap = ISA_DEFAULT;
        else if (strcmp(env, "avx2") == 0)
            cap = ISA_AVX2;
        if (cap < isa)
            isa = cap;
    }
    return isa;
}

cl_status cl_rng_alloc(uint64_t seed, uint64_t stream, cl_rng **out, char *err)
{
    size_t sz = (sizeof(cl_rng) + 63) & ~(size_t)63;
    *out = NULL;
    cl_rng *rng = aligned_alloc(64, sz);
    if (!rng)
        return cl_fail(err, CL_ENOMEM, "rng: out of memory");
    memset(rng, 0, sizeof *rng);

    /* hash(seed, stream) -> start of a splitmix64 chain. */
    uint64_t h = mix64(seed ^ UINT64_C(0x6a09e667f3bcc909));
    h = mix64(h ^ mix64(stream + UINT64_C(0xbb67ae8584caa73b)));
    for (int l = 0; l < CL_RNG_LANES; l++) {
        for (int j = 0; j < 4; j++)
            rng->s[j][l] = splitmix64(&h);
        if (!(rng->s[0][l] | rng->s[1][l] | rng->s[2][l] | rng->s[3][l]))
            rng->s[0][l] = 1; /* all-zero state is a fixed point */
    }
    for (int j = 0; j < 4; j++)
        rng->t[j] = splitmix64(&h);
    if (!(rng->t[0] | rng->t[1] | rng->t[2] | rng->t[3]))
        rng->t[0] = 1;

    rng->isa = isa_detect();
    zig_tables(rng);
    *out = rng;
    return CL_OK;
}

void cl_rng_free(cl_rng *rng)
{
    free(rng);
}

void cl_rng_copy(cl_rng *dst, const cl_rng *src)
{
    if (dst != src)
        memcpy(dst, src, sizeof *dst);
}

#define STATE_WORDS (4 * CL_RNG_LANES + 4)

size_t cl_rng_state_size(void)
{
    return STATE_WORDS * 8;
}

/* The state is serialised as little-endian 64-bit words: s[0][0..8),
 * s[1][..], s[2][..], s[3][..], then t[0..4). */
void cl_rng_get_state(const cl_rng *rng, void *buf)
{
    unsigned char *p = buf;
    uint64_t words[STATE_WORDS];
    memcpy(words, rng->s, sizeof rng->s);
    memcpy(words + 4 * CL_RNG_LANES, rng->t, sizeof rng->t);
    for (int i = 0; i < STATE_WORDS; i++)
        for (int b = 0; b < 8; b++)
            p[8 * i + b] = (unsigned char)(words[i] >> (8 * b));
}

void cl_rng_set_state(cl_rng *rng, const void *buf)
{
    const unsigned char *p = buf;
    uint64_t words[STATE_WORDS];
    for (int i = 0; i < STATE_WORDS; i++) {
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v |= (uint64_t)p[8 * i + b] << (8 * b);
        words[i] = v;
    }
    memcpy(rng->s, words, sizeof rng->s);
    memcpy(rng->t, words + 4 * CL_RNG_LANES, sizeof rng->t);
}

/* ------------------------------------------------------------------ */
/* Scalar draws                                                         */

uint64_t cl_rng_u64(cl_rng *rng)
{
    return next_scalar(rng);
}

double cl_rng_uniform(cl_rng *rng)
{
    return (double)(next_scalar(rng) >> 11) * 0x1.0p-53;
}

double cl_rng_uniform_pos(cl_rng *rng)
{
    /* (j + 1/2) 2^-52, j < 2^52: in [2^-53, 1 - 2^-53], exact. */
    return ((double)(next_scalar(rng) >> 12) + 0.5) * 0x1.0p-52;
}

/* Marsaglia's tail method: |x| > r with density prop. to exp(-x^2/2). */
static double zig_tail(cl_rng *rng, int neg)
{
    double x, y;
    do {
        x = -log(cl_rng_uniform_pos(rng)) / ZIG_R;
        y = -log(cl_rng_uniform_pos(rng));
    } while (y + y < x * x);
    return neg ? -(ZIG_R + x) : (ZIG_R + x);
}

static inline double zig_candidate(const cl_rng *rng, uint64_t u, unsigned *idx,
                                   int64_t *j)
{
    *idx = (unsigned)(u >> 56);
    *j = (int64_t)((u >> 3) & M52);
    double d = u2d((uint64_t)*j | MAGIC52) - TWO52;
    return d * rng->wk[*idx].w;
}

/* Wedge test of layer i >= 1 for |x| in [x_{i-1}, x_i): is the point
 * (x, f_i + U (f_{i-1} - f_i)) under the curve?  Squeezes first; the
 * result is computed without branches except for the rare exp() band. */
static inline int zig_wedge(const cl_rng *rng, unsigned i, double x, double U)
{
    const struct zig_wedge *z = &rng->wedge[i];
    const double t = (z->x - x) * z->inv;
    const int acc = U < t + z->lo;
    const int band = U < t + z->hi; /* and not acc: need exp() */
    if (__builtin_expect(band > acc, 0))
        return z->f + U * z->df < exp(-0.5 * x * x);
    return acc;
}

/* Slow path of cl_rng_gauss: finish the rejected candidate u, then retry
 * with fresh candidates until one is accepted. */
static __attribute__((noinline)) double gauss_slow(cl_rng *rng, uint64_t u)
{
    for (;;) {
        unsigned idx;
        int64_t j;
        const double x = zig_candidate(rng, u, &idx, &j);
        const int neg = (int)((u >> 55) & 1);
        if (j < rng->wk[idx].k)
            return neg ? -x : x;
        if (idx == 0)
            return zig_tail(rng, neg);
        if (zig_wedge(rng, idx, x, cl_rng_uniform(rng)))
            return neg ? -x : x;
        u = next_scalar(rng);
    }
}

double cl_rng_gauss(cl_rng *rng)
{
    const uint64_t u = next_scalar(rng);
    unsigned idx;
    int64_t j;
    const double x = zig_candidate(rng, u, &idx, &j);
    if (__builtin_expect(j < rng->wk[idx].k, 1))
        return u2d(d2u(x) | ((u << 8) & SIGNBIT));
    return gauss_slow(rng, u);
}

/* ------------------------------------------------------------------ */
/* Bulk generation                                                      */

/* Advance the 8 vector lanes by `rounds` steps, writing the raw outputs
 * round by round to buf (buf[8 r + l] = output of lane l at step r). */
#if defined(__GNUC__) || defined(__clang__)
typedef uint64_t u64x8 __attribute__((vector_size(64)));
#endif

static void lanes_raw(uint64_t (*restrict s)[CL_RNG_LANES],
                      uint64_t *restrict buf, size_t rounds)
{
#if defined(__GNUC__) || defined(__clang__)
    u64x8 s0, s1, s2, s3;
    memcpy(&s0, s[0], sizeof s0);
    memcpy(&s1, s[1], sizeof s1);
    memcpy(&s2, s[2], sizeof s2);
    memcpy(&s3, s[3], sizeof s3);
    for (size_t r = 0; r < rounds; r++) {
        const u64x8 u = s0 + s3;
        const u64x8 t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 45) | (s3 >> 19);
        memcpy(buf + r * CL_RNG_LANES, &u, sizeof u);
    }
    memcpy(s[0], &s0, sizeof s0);
    memcpy(s[1], &s1, sizeof s1);
    memcpy(s[2], &s2, sizeof s2);
    memcpy(s[3], &s3, sizeof s3);
#else
    for (size_t r = 0; r < rounds; r++) {
        for (int l = 0; l < CL_RNG_LANES; l++) {
            buf[r * CL_RNG_LANES + l] = s[0][l] + s[3][l];
            const uint64_t t = s[1][l] << 17;
            s[2][l] ^= s[0][l];
            s[3][l] ^= s[1][l];
            s[1][l] ^= s[2][l];
            s[0][l] ^= s[3][l];
            s[2][l] ^= t;
            s[3][l] = rotl(s[3][l], 45);
        }
    }
#endif
}

/* The kernels: for `rounds` rounds of 8 samples, advance the 8 lanes, keep
 * the raw words in buf (needed by the fix-up), write the fast-path
 * candidate (with its sign) of every slot to out, and append the slots that
 * failed the fast test, in increasing order, to rej; return their number.
 * No data-dependent branches: the rejected slots are appended with a
 * compress (AVX-512), a 16-entry shuffle table (AVX2) or an unconditional
 * store plus a conditional increment (default).  rej needs room for
 * 8 * rounds + 16 entries (the vector variants store whole vectors past the
 * last entry).  All variants compute exactly the same bits. */

#define KERNEL_ARGS                                                          \
    uint64_t(*restrict s)[CL_RNG_LANES], uint64_t *restrict buf,             \
        double *restrict out, uint32_t *restrict rej,                        \
        const struct zig_wk *restrict wk, size_t first, size_t rounds

/* Portable version (baseline x86-64: SSE2). */
static size_t kernel_default(KERNEL_ARGS)
{
    lanes_raw(s, buf, first + rounds);
    buf += CL_RNG_LANES * first;
    size_t nrej = 0;
    for (size_t i = 0; i < CL_RNG_LANES * rounds; i++) {
        const uint64_t u = buf[i];
        const struct zig_wk e = wk[u >> 56];
        const int64_t j = (int64_t)((u >> 3) & M52);
        const double d = u2d((uint64_t)j | MAGIC52) - TWO52;
        out[i] = u2d(d2u(d * e.w) | ((u << 8) & SIGNBIT));
        rej[nrej] = (uint32_t)i;
        nrej += (size_t)(j >= e.k);
    }
    return nrej;
}

#if CL_RNG_X86
/* AVX2: rej_lut4[m] lists the set bits of the 4-bit mask m (padded with
 * zeros), rej_cnt4 packs their numbers in nibbles. */
static const alignas(16) uint32_t rej_lut4[16][4] = {
    {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0},
    {2, 0, 0, 0}, {0, 2, 0, 0}, {1, 2, 0, 0}, {0, 1, 2, 0},
    {3, 0, 0, 0}, {0, 3, 0, 0}, {1, 3, 0, 0}, {0, 1, 3, 0},
    {2, 3, 0, 0}, {0, 2, 3, 0}, {1, 2, 3, 0}, {0, 1, 2, 3}};
#define REJ_CNT4 UINT64_C(0x4332322132212110)

__attribute__((target("avx2"))) static size_t kernel_avx2(KERNEL_ARGS)
{
    /* Lanes 0..3 in the "a" registers, 4..7 in the "b" registers. */
    __m256i s0a = _mm256_load_si256((const __m256i *)&s[0][0]);
    __m256i s0b = _mm256_load_si256((const __m256i *)&s[0][4]);
    __m256i s1a = _mm256_load_si256((const __m256i *)&s[1][0]);
    __m256i s1b = _mm256_load_si256((const __m256i *)&s[1][4]);
    __m256i s2a = _mm256_load_si256((const __m256i *)&s[2][0]);
    __m256i s2b = _mm256_load_si256((const __m256i *)&s[2][4]);
    __m256i s3a = _mm256_load_si256((const __m256i *)&s[3][0]);
    __m256i s3b = _mm256_load_si256((const __m256i *)&s[3][4]);
    const __m256i m52 = _mm256_set1_epi64x((long long)M52);
    const __m256i magic = _mm256_set1_epi64x((long long)MAGIC52);
    const __m256i sbit = _mm256_set1_epi64x((long long)SIGNBIT);
    const __m256d two52 = _mm256_set1_pd(TWO52);

#define XO_STEP_256(s0, s1, s2, s3, u)                                       \
    do {                                                                     \
        u = _mm256_add_epi64(s0, s3);                                        \
        const __m256i t_ = _mm256_slli_epi64(s1, 17);                        \
        s2 = _mm256_xor_si256(s2, s0);                                       \
        s3 = _mm256_xor_si256(s3, s1);                                       \
        s1 = _mm256_xor_si256(s1, s2);                                       \
        s0 = _mm256_xor_si256(s0, s3);                                       \
        s2 = _mm256_xor_si256(s2, t_);                                       \
        s3 = _mm256_or_si256(_mm256_slli_epi64(s3, 45),                      \
                             _mm256_srli_epi64(s3, 19));                     \
    } while (0)

    for (size_t r = 0; r < first + rounds; r++) {
        __m256i ua, ub;
        XO_STEP_256(s0a, s1a, s2a, s3a, ua);
        XO_STEP_256(s0b, s1b, s2b, s3b, ub);
        _mm256_storeu_si256((__m256i *)(buf + 8 * r), ua);
        _mm256_storeu_si256((__m256i *)(buf + 8 * r + 4), ub);
    }
    _mm256_store_si256((__m256i *)&s[0][0], s0a);
    _mm256_store_si256((__m256i *)&s[0][4], s0b);
    _mm256_store_si256((__m256i *)&s[1][0], s1a);
    _mm256_store_si256((__m256i *)&s[1][4], s1b);
    _mm256_store_si256((__m256i *)&s[2][0], s2a);
    _mm256_store_si256((__m256i *)&s[2][4], s2b);
    _mm256_store_si256((__m256i *)&s[3][0], s3a);
    _mm256_store_si256((__m256i *)&s[3][4], s3b);
#undef XO_STEP_256

    /* Table look-ups: one 16-byte load {w, k} per sample (on the AMD EPYC
     * we measured, vpgatherqq is slower than loads + inserts). */
    buf += CL_RNG_LANES * first;
    const unsigned char *ib = (const unsigned char *)buf + 7; /* top bytes */
    size_t nrej = 0;
    for (size_t i = 0; i < 8 * rounds; i += 4) {
        const unsigned char *p = ib + 8 * i;
        const __m256i u = _mm256_loadu_si256((const __m256i *)(buf + i));
        const __m256i j = _mm256_and_si256(_mm256_srli_epi64(u, 3), m52);
        const __m256d d = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(j, magic)), two52);
        const __m256i e02 = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_load_si128((const __m128i *)&wk[p[0]])),
            _mm_load_si128((const __m128i *)&wk[p[16]]), 1);
        const __m256i e13 = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_load_si128((const __m128i *)&wk[p[8]])),
            _mm_load_si128((const __m128i *)&wk[p[24]]), 1);
        const __m256d wv = _mm256_castsi256_pd(_mm256_unpacklo_epi64(e02, e13));
        const __m256i kv = _mm256_unpackhi_epi64(e02, e13);
        const __m256i x = _mm256_castpd_si256(_mm256_mul_pd(d, wv));
        const __m256i sg = _mm256_and_si256(_mm256_slli_epi64(u, 8), sbit);
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_or_si256(x, sg));
        /* acceptance mask k > j, 4 bits; rejection = complement */
        const unsigned acc = (unsigned)_mm256_movemask_pd(
            _mm256_castsi256_pd(_mm256_cmpgt_epi64(kv, j)));
        const unsigned m = ~acc & 0xF;
        _mm_storeu_si128((__m128i *)(rej + nrej),
                         _mm_add_epi32(_mm_set1_epi32((int)i),
                                       _mm_load_si128((const __m128i *)rej_lut4[m])));
        nrej += (size_t)((REJ_CNT4 >> (4 * m)) & 0xF);
    }
    return nrej;
}

/* One round of 8 samples of the AVX-512 kernel: stores the candidates and
 * returns the rejection mask. */
__attribute__((target("avx512f"))) static inline __mmask8
round_avx512(const uint64_t *restrict buf, double *restrict out,
             const struct zig_wk *restrict wk, size_t r)
{
    const __m512i m52 = _mm512_set1_epi64((long long)M52);
    const __m512i magic = _mm512_set1_epi64((long long)MAGIC52);
    const __m512i sbit = _mm512_set1_epi64((long long)SIGNBIT);
    const __m512d two52 = _mm512_set1_pd(TWO52);
    const unsigned char *p = (const unsigned char *)(buf + 8 * r) + 7;
    const __m512i u = _mm512_loadu_si512(buf + 8 * r);
    const __m512i j = _mm512_and_si512(_mm512_srli_epi64(u, 3), m52);
    const __m512d d =
        _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(j, magic)), two52);
#define WK(b) _mm_load_si128((const __m128i *)&wk[p[8 * (b)]])
#define PAIR(a, b) _mm256_inserti128_si256(_mm256_castsi128_si256(WK(a)), WK(b), 1)
    /* e0246 = {w0 k0 w2 k2 w4 k4 w6 k6}, e1357 likewise */
    const __m512i e0246 =
        _mm512_inserti64x4(_mm512_castsi256_si512(PAIR(0, 2)), PAIR(4, 6), 1);
    const __m512i e1357 =
        _mm512_inserti64x4(_mm512_castsi256_si512(PAIR(1, 3)), PAIR(5, 7), 1);
#undef PAIR
#undef WK
    const __m512d wv = _mm512_castsi512_pd(_mm512_unpacklo_epi64(e0246, e1357));
    const __m512i kv = _mm512_unpackhi_epi64(e0246, e1357);
    const __m512i x = _mm512_castpd_si512(_mm512_mul_pd(d, wv));
    const __m512i xs =
        _mm512_ternarylogic_epi64(x, _mm512_slli_epi64(u, 8), sbit, 0xF8);
    _mm512_storeu_si512(out + 8 * r, xs);
    return _mm512_cmpge_epi64_mask(j, kv);
}

__attribute__((target("avx512f,popcnt"))) static size_t
kernel_avx512(KERNEL_ARGS)
{
    __m512i s0 = _mm512_load_si512(s[0]);
    __m512i s1 = _mm512_load_si512(s[1]);
    __m512i s2 = _mm512_load_si512(s[2]);
    __m512i s3 = _mm512_load_si512(s[3]);
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6,
                                          5, 4, 3, 2, 1, 0);
    size_t nrej = 0;
#define STEP(r)                                                              \
    do {                                                                     \
        const __m512i u = _mm512_add_epi64(s0, s3);                          \
        const __m512i t = _mm512_slli_epi64(s1, 17);                         \
        s2 = _mm512_xor_si512(s2, s0);                                       \
        s3 = _mm512_xor_si512(s3, s1);                                       \
        s1 = _mm512_xor_si512(s1, s2);                                       \
        s0 = _mm512_xor_si512(s0, s3);                                       \
        s2 = _mm512_xor_si512(s2, t);                                        \
        s3 = _mm512_rol_epi64(s3, 45);                                       \
        _mm512_storeu_si512(buf + (r) * 8, u);                               \
    } while (0)
    /* Generation and use of the lane words are fused in one loop, the use
     * lagging LAG rounds behind (faster than two loops: the look-ups
     * overlap the integer work of the generator). */
    const size_t total = first + rounds;
    const uint64_t *cb = buf + CL_RNG_LANES * first; /* candidates */
    const size_t lag = (LAG - first + 1) & ~(size_t)1; /* even */
    for (size_t r = 0;; r += 2) {
        if (r < total) {
            STEP(r);
            if (r + 1 < total)
                STEP(r + 1);
        }
        if (r >= lag) { /* rounds q, q + 1 are ready (lag >= LAG - first) */
            const size_t q = r - lag;
            if (q >= rounds)
                break;
            unsigned m = round_avx512(cb, out, wk, q);
            if (q + 1 < rounds)
                m |= (unsigned)round_avx512(cb, out, wk, q + 1) << 8;
            const __m512i slots =
                _mm512_add_epi32(iota, _mm512_set1_epi32((int)(8 * q)));
            _mm512_storeu_si512(rej + nrej,
                                _mm512_maskz_compress_epi32((__mmask16)m, slots));
            nrej += (size_t)__builtin_popcount(m);
        }
    }
#undef STEP
    _mm512_store_si512(s[0], s0);
    _mm512_store_si512(s[1], s1);
    _mm512_store_si512(s[2], s2);
    _mm512_store_si512(s[3], s3);
    return nrej;
}
#endif

/* (c) The rejected slots rej[0..nrej) (increasing).  The first XR * 8 of
 * them get their wedge test with the uniforms ext[] (lane words drawn at
 * the start of the chunk) in a loop without data-dependent branches
 * (except the rare exp() band), which also compacts the slots that need
 * the scalar lane: layer 0 (tail method) or wedge rejection (fresh
 * sample).  Then these, and the rare slots beyond the first XR * 8, are
 * finished in slot order with the scalar lane.  The scalar lane's use
 * depends only on the slots before, and ext[] is at a fixed place in the
 * lane stream: prefix property. */
static void fix_up(cl_rng *rng, const uint64_t *ext, const uint64_t *buf,
                   double *out, uint32_t *rej, size_t nrej)
{
    const size_t n1 = nrej < XR * CL_RNG_LANES ? nrej : XR * CL_RNG_LANES;
    size_t n2 = 0;
    for (size_t q = 0; q < n1; q++) {
        const uint32_t i = rej[q];
        const unsigned idx = (unsigned)(buf[i] >> 56);
        const double U = (double)(ext[q] >> 11) * 0x1.0p-53;
        const int acc = zig_wedge(rng, idx, fabs(out[i]), U); /* 0 if idx 0 */
        rej[n2] = i; /* n2 <= q: in place */
        n2 += (size_t)!acc;
    }
    for (size_t q = 0; q < n2; q++) {
        const uint32_t i = rej[q];
        const uint64_t u = buf[i];
        if (__builtin_expect((u >> 56) == 0, 0))
            out[i] = zig_tail(rng, (int)((u >> 55) & 1));
        else
            out[i] = cl_rng_gauss(rng);
    }
    for (size_t q = n1; q < nrej; q++) {
        const uint32_t i = rej[q];
        const uint64_t u = buf[i];
        const unsigned idx = (unsigned)(u >> 56);
        if (idx == 0)
            out[i] = zig_tail(rng, (int)((u >> 55) & 1));
        else if (!zig_wedge(rng, idx, fabs(out[i]), cl_rng_uniform(rng)))
            out[i] = cl_rng_gauss(rng);
    }
}

void cl_rng_gauss_fill(cl_rng *rng, double *out, size_t n)
{
    /* buf: XR rounds of wedge uniforms, then the candidates' words */
    alignas(64) uint64_t buf[XR * CL_RNG_LANES + CHUNK];
    alignas(64) double tmp[CHUNK];
    uint32_t rej[CHUNK + 16];
    const uint64_t *cb = buf + XR * CL_RNG_LANES;

    while (n > 0) {
        const size_t m = n < CHUNK ? n : CHUNK;
        const size_t rounds = (m + CL_RNG_LANES - 1) / CL_RNG_LANES;
        double *dst = (rounds * CL_RNG_LANES <= n) ? out : tmp;
        size_t nrej;
#if CL_RNG_X86
        if (rng->isa == ISA_AVX512F)
            nrej = kernel_avx512(rng->s, buf, dst, rej, rng->wk, XR, rounds);
        else if (rng->isa == ISA_AVX2)
            nrej = kernel_avx2(rng->s, buf, dst, rej, rng->wk, XR, rounds);
        else
#endif
            nrej = kernel_default(rng->s, buf, dst, rej, rng->wk, XR, rounds);
        if (dst == tmp) {
            memcpy(out, tmp, m * sizeof *out);
            while (nrej > 0 && rej[nrej - 1] >= m) /* slots past the end */
                nrej--;
        }
        fix_up(rng, buf, cb, out, rej, nrej);
        out += m;
        n -= m;
    }
}
