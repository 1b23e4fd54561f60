/* tests/test_rng.c - cl_rng: reproducibility, state, and the normal law of
 * cl_rng_gauss_fill / cl_rng_gauss.  All seeds are fixed, so the statistical
 * checks are deterministic; thresholds are ~5 standard errors (moments) or
 * the 1% level (KS). */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cldyn/rng.h"

#define ZIG_R 3.6541528853610087963519472518
#define ZIG_X1 0.21524189598487156 /* top layer of the ziggurat */

static double *xmalloc_d(size_t n)
{
    double *p = malloc(n * sizeof *p);
    cr_assert(p != NULL);
    return p;
}

static cl_rng *xalloc(uint64_t seed, uint64_t stream)
{
    cl_rng *r;
    cl_rng_alloc(seed, stream, &r, NULL);
    cr_assert(r != NULL);
    return r;
}

/* ------------------------------------------------------------------ */
/* Statistics helpers                                                  */

/* Mean, variance and 4th moment of N(0,1) samples, each within 5 s.e. */
static void check_moments(const double *x, size_t n, const char *what)
{
    double s1 = 0, s2 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = x[i], v2 = v * v;
        cr_assert(isfinite(v), "%s: non-finite sample at %zu", what, i);
        s1 += v;
        s2 += v2;
        s4 += v2 * v2;
    }
    const double dn = (double)n;
    const double m1 = s1 / dn, m2 = s2 / dn, m4 = s4 / dn;
    /* Var(x) = 1, Var(x^2) = 2, Var(x^4) = E x^8 - 9 = 96 */
    cr_assert(fabs(m1) < 5 * sqrt(1.0 / dn), "%s: mean %g", what, m1);
    cr_assert(fabs(m2 - 1) < 5 * sqrt(2.0 / dn), "%s: E x^2 = %g", what, m2);
    cr_assert(fabs(m4 - 3) < 5 * sqrt(96.0 / dn), "%s: E x^4 = %g (kurtosis)",
              what, m4);
}

/* Probability that |x| lies in [a, b) for N(0,1) samples, vs exact, 5 s.e. */
static void check_band(const double *x, size_t n, double a, double b,
                       const char *what)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = fabs(x[i]);
        c += (v >= a && v < b);
    }
    const double p = 2.0 * (gsl_cdf_ugaussian_P(b) - gsl_cdf_ugaussian_P(a));
    const double dn = (double)n;
    const double phat = (double)c / dn;
    const double se = sqrt(p * (1 - p) / dn);
    cr_assert(fabs(phat - p) < 5 * se,
              "%s: P(%g <= |x| < %g) = %g, expected %g (se %g)", what, a, b,
              phat, p, se);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov against the normal CDF at the 1% level. */
static void check_ks(const double *x_in, size_t n, const char *what)
{
    double *x = xmalloc_d(n);
    memcpy(x, x_in, n * sizeof *x);
    qsort(x, n, sizeof *x, cmp_double);
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        const double F = gsl_cdf_ugaussian_P(x[i]);
        const double lo = F - (double)i / (double)n;
        const double hi = (double)(i + 1) / (double)n - F;
        if (lo > d)
            d = lo;
        if (hi > d)
            d = hi;
    }
    free(x);
    const double crit = 1.6276 / sqrt((double)n); /* asymptotic 1% */
    cr_assert(d < crit, "%s: KS D = %g >= %g", what, d, crit);
}

/* Chi-square of a 160-bin histogram on [-4, 4) plus 2 overflow bins. */
static void check_hist(const double *x, size_t n, const char *what)
{
    enum { NB = 160 };
    double cnt[NB + 2] = {0};
    for (size_t i = 0; i < n; i++) {
        const double v = x[i];
        int b;
        if (v < -4)
            b = NB;
        else if (v >= 4)
            b = NB + 1;
        else
            b = (int)((v + 4) * (NB / 8.0));
        if (b >= NB + 2)
            b = NB + 1;
        cnt[b] += 1;
    }
    double chi2 = 0;
    for (int b = 0; b < NB + 2; b++) {
        double p;
        if (b == NB)
            p = gsl_cdf_ugaussian_P(-4);
        else if (b == NB + 1)
            p = gsl_cdf_ugaussian_Q(4);
        else
            p = gsl_cdf_ugaussian_P(-4 + (b + 1) * 8.0 / NB) -
                gsl_cdf_ugaussian_P(-4 + b * 8.0 / NB);
        const double e = p * (double)n;
        chi2 += (cnt[b] - e) * (cnt[b] - e) / e;
    }
    const double pval = gsl_cdf_chisq_Q(chi2, NB + 1);
    cr_assert(pval > 1e-4, "%s: histogram chi2 = %g, p = %g", what, chi2,
              pval);
}

/* E[|x| - r | |x| > r] vs exact phi(r)/Q(r) - r, within 5 s.e. */
static void check_tail_shape(const double *x, size_t n, const char *what)
{
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs(x[i]) - ZIG_R;
        if (e > 0) {
            s += e;
            c++;
        }
    }
    cr_assert(c > 100, "%s: only %zu tail samples", what, c);
    const double phi = exp(-0.5 * ZIG_R * ZIG_R) / sqrt(2 * M_PI);
    const double Q = gsl_cdf_ugaussian_Q(ZIG_R);
    const double mu = phi / Q - ZIG_R;
    /* Var(|x| | |x| > r) = 1 + r phi/Q - (phi/Q)^2 */
    const double var = 1 + ZIG_R * phi / Q - (phi / Q) * (phi / Q);
    const double m = s / (double)c, se = sqrt(var / (double)c);
    cr_assert(fabs(m - mu) < 5 * se, "%s: tail mean excess %g, expected %g",
              what, m, mu);
}

/* All the law checks on a large sample. */
static void check_normal_law(const double *x, size_t n, const char *what)
{
    check_moments(x, n, what);
    check_hist(x, n, what);
    /* Tail beyond r: only reachable through Marsaglia's tail method. */
    check_band(x, n, ZIG_R, INFINITY, what);
    check_tail_shape(x, n, what);
    /* Top layer [0, x_1): its own layer (k_1 = 0) is pure wedge. */
    check_band(x, n, 0.0, ZIG_X1, what);
    /* A few wedge-heavy bands near the base and in the middle. */
    check_band(x, n, 3.0, ZIG_R, what);
    check_band(x, n, 1.0, 1.1, what);
    check_band(x, n, 0.1, 0.2, what);
}

/* ------------------------------------------------------------------ */
/* Reproducibility                                                     */

Test(rng, same_seed_stream_identical)
{
    cl_rng *a = xalloc(42, 7), *b = xalloc(42, 7);
    double xa[1000], xb[1000];
    cl_rng_gauss_fill(a, xa, 1000);
    cl_rng_gauss_fill(b, xb, 1000);
    cr_assert(memcmp(xa, xb, sizeof xa) == 0);
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(cl_rng_u64(a), cl_rng_u64(b));
        const double ga = cl_rng_gauss(a), gb = cl_rng_gauss(b);
        cr_assert(memcmp(&ga, &gb, sizeof ga) == 0);
    }
    cl_rng_free(a);
    cl_rng_free(b);
}

Test(rng, different_streams_and_seeds_differ)
{
    enum { NS = 16 };
    double x[NS][64];
    uint64_t u[NS];
    for (int s = 0; s < NS; s++) {
        /* streams 0..7 of seed 1, streams 0..7 of seed 2 */
        cl_rng *r = xalloc(1 + (uint64_t)(s / 8), (uint64_t)(s % 8));
        cl_rng_gauss_fill(r, x[s], 64);
        u[s] = cl_rng_u64(r);
        cl_rng_free(r);
    }
    for (int s = 0; s < NS; s++)
        for (int t = s + 1; t < NS; t++) {
            int same = 0;
            for (int i = 0; i < 64; i++)
                same += x[s][i] == x[t][i];
            cr_assert(same == 0, "streams %d and %d share %d values", s, t,
                      same);
            cr_assert_neq(u[s], u[t]);
        }
}

Test(rng, stream_independent_of_other_allocations)
{
    double ref[500], got[500];
    cl_rng *r = xalloc(2024, 3);
    cl_rng_gauss_fill(r, ref, 500);
    const uint64_t uref = cl_rng_u64(r);
    cl_rng_free(r);

    cl_rng *others[5];
    for (int i = 0; i < 5; i++) {
        others[i] = xalloc(2024, (uint64_t)i);
        double junk[37];
        cl_rng_gauss_fill(others[i], junk, 37);
    }
    r = xalloc(2024, 3);
    for (int i = 0; i < 5; i++)
        cl_rng_gauss(others[i]);
    cl_rng_gauss_fill(r, got, 500);
    cr_assert(memcmp(ref, got, sizeof ref) == 0);
    cr_assert_eq(cl_rng_u64(r), uref);
    cl_rng_free(r);
    for (int i = 0; i < 5; i++)
        cl_rng_free(others[i]);
}

/* ------------------------------------------------------------------ */
/* Normal law                                                          */

#define NBIG 4000000

Test(rng, gauss_fill_normal_law)
{
    double *x = xmalloc_d(NBIG);
    cl_rng *r = xalloc(123456789, 0);
    cl_rng_gauss_fill(r, x, NBIG);
    check_normal_law(x, NBIG, "fill");
    check_ks(x, 100000, "fill");
    cl_rng_free(r);
    free(x);
}

Test(rng, gauss_scalar_normal_law)
{
    double *x = xmalloc_d(NBIG);
    cl_rng *r = xalloc(987654321, 5);
    for (size_t i = 0; i < NBIG; i++)
        x[i] = cl_rng_gauss(r);
    check_normal_law(x, NBIG, "scalar");
    check_ks(x, 100000, "scalar");
    cl_rng_free(r);
    free(x);
}

/* Many short fills (odd sizes): the partial-chunk path keeps the law. */
Test(rng, gauss_fill_small_calls_normal_law)
{
    const size_t sizes[] = {1, 7, 255, 257, 1001, 3, 64, 9};
    const size_t n = 1000000;
    double *x = xmalloc_d(n + 1001);
    cl_rng *r = xalloc(77, 1);
    size_t k = 0, c = 0;
    while (k < n) {
        const size_t m = sizes[c++ % 8];
        cl_rng_gauss_fill(r, x + k, m);
        k += m;
    }
    check_moments(x, n, "small fills");
    check_ks(x, 100000, "small fills");
    cl_rng_free(r);
    free(x);
}

/* ------------------------------------------------------------------ */
/* Sizes, prefix property, dispatch                                    */

Test(rng, fill_odd_sizes_prefix)
{
    /* around the chunk sizes (256 before, 512 now) and lane rounds (8) */
    const size_t sizes[] = {1,   7,   8,   9,   63,   255,  256,
                            257, 511, 512, 513, 1001, 1025, 4099};
    cl_rng *base = xalloc(5, 5);
    double *ref = xmalloc_d(5000);
    cl_rng *r = xalloc(0, 0);
    cl_rng_copy(r, base);
    cl_rng_gauss_fill(r, ref, 5000);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const size_t n = sizes[s];
        /* exact-size heap block so that ASan catches any overrun */
        double *x = xmalloc_d(n);
        cl_rng_copy(r, base);
        cl_rng_gauss_fill(r, x, n);
        cr_assert(memcmp(x, ref, n * sizeof *x) == 0,
                  "fill(%zu) is not a prefix of fill(5000)", n);
        free(x);
    }
    /* n = 0 is a no-op: same state afterwards. */
    unsigned char s1[1024], s2[1024];
    cr_assert(cl_rng_state_size() <= sizeof s1);
    cl_rng_copy(r, base);
    cl_rng_get_state(r, s1);
    cl_rng_gauss_fill(r, NULL, 0);
    cl_rng_get_state(r, s2);
    cr_assert(memcmp(s1, s2, cl_rng_state_size()) == 0);
    free(ref);
    cl_rng_free(r);
    cl_rng_free(base);
}

/* The AVX-512 / AVX2 / baseline paths must give bit-identical output.
 * CLDYN_RNG_ISA (read by cl_rng_alloc) caps the path; paths the CPU lacks
 * fall back to the best available one, so the test is valid anywhere. */
Test(rng, fill_identical_across_isa_paths)
{
    const char *isas[] = {"default", "avx2", "avx512f"};
    const size_t n = 200003;
    double *ref = xmalloc_d(n), *x = xmalloc_d(n);
    double gref = 0;
    for (int v = 0; v < 3; v++) {
        cr_assert(setenv("CLDYN_RNG_ISA", isas[v], 1) == 0);
        cl_rng *r = xalloc(31337, 2);
        double *dst = v == 0 ? ref : x;
        cl_rng_gauss_fill(r, dst, n);
        cl_rng_gauss_fill(r, dst, 77); /* overwrite a prefix: odd tail */
        const double g = cl_rng_gauss(r);
        if (v == 0) {
            gref = g;
        } else {
            cr_assert(memcmp(ref, x, n * sizeof *x) == 0,
                      "path %s differs from default", isas[v]);
            cr_assert(memcmp(&g, &gref, sizeof g) == 0);
        }
        cl_rng_free(r);
    }
    unsetenv("CLDYN_RNG_ISA");
    free(ref);
    free(x);
}

/* ------------------------------------------------------------------ */
/* State                                                               */

Test(rng, state_roundtrip_and_copy)
{
    cl_rng *a = xalloc(11, 22);
    double warm[333];
    cl_rng_gauss_fill(a, warm, 333);
    cl_rng_gauss(a);

    const size_t sz = cl_rng_state_size();
    cr_assert(sz >= 8 * (4 * CL_RNG_LANES + 4));
    unsigned char *st = malloc(sz);
    cr_assert(st != NULL);
    cl_rng_get_state(a, st);

    cl_rng *b = xalloc(999, 999); /* different stream, then overwritten */
    cl_rng_set_state(b, st);
    cl_rng *c = xalloc(1, 2);
    cl_rng_copy(c, a);

    double xa[1000], xb[1000], xc[1000];
    cl_rng_gauss_fill(a, xa, 1000);
    cl_rng_gauss_fill(b, xb, 1000);
    cl_rng_gauss_fill(c, xc, 1000);
    cr_assert(memcmp(xa, xb, sizeof xa) == 0);
    cr_assert(memcmp(xa, xc, sizeof xa) == 0);
    for (int i = 0; i < 100; i++) {
        const double ga = cl_rng_gauss(a), gb = cl_rng_gauss(b),
                     gc = cl_rng_gauss(c);
        cr_assert(memcmp(&ga, &gb, sizeof ga) == 0);
        cr_assert(memcmp(&ga, &gc, sizeof ga) == 0);
        const double ua = cl_rng_uniform(a), ub = cl_rng_uniform(b);
        cr_assert(memcmp(&ua, &ub, sizeof ua) == 0);
        cr_assert_eq(cl_rng_u64(a), cl_rng_u64(b));
        cl_rng_u64(c);
        cl_rng_uniform(c);
    }
    /* get_state of the resumed copy equals that of the original. */
    unsigned char *s1 = malloc(sz), *s2 = malloc(sz);
    cr_assert(s1 && s2);
    cl_rng_get_state(a, s1);
    cl_rng_get_state(b, s2);
    cr_assert(memcmp(s1, s2, sz) == 0);
    free(s1);
    free(s2);
    free(st);
    cl_rng_free(a);
    cl_rng_free(b);
    cl_rng_free(c);
}

/* ------------------------------------------------------------------ */
/* Uniforms                                                            */

Test(rng, uniform_ranges)
{
    cl_rng *r = xalloc(3, 4);
    const int n = 1000000;
    double s = 0, sp = 0;
    for (int i = 0; i < n; i++) {
        const double u = cl_rng_uniform(r);
        const double p = cl_rng_uniform_pos(r);
        cr_assert(u >= 0.0 && u < 1.0, "uniform %a", u);
        cr_assert(p > 0.0 && p < 1.0, "uniform_pos %a", p);
        s += u;
        sp += p;
    }
    const double se = sqrt(1.0 / 12.0 / n);
    cr_assert(fabs(s / n - 0.5) < 5 * se);
    cr_assert(fabs(sp / n - 0.5) < 5 * se);
    cl_rng_free(r);
}

/* Extreme scalar-lane outputs (0 and 2^64 - 1), crafted through the state
 * format documented in rng.h: uniform stays in [0, 1), uniform_pos in (0, 1).
 * Scalar lane = xoshiro256++: out = rotl(t0 + t3, 23) + t0. */
static void set_scalar_lane(cl_rng *r, const uint64_t t[4])
{
    const size_t sz = cl_rng_state_size();
    unsigned char *st = malloc(sz);
    cr_assert(st != NULL);
    cl_rng_get_state(r, st);
    for (int w = 0; w < 4; w++)
        for (int b = 0; b < 8; b++)
            st[8 * (4 * CL_RNG_LANES + w) + b] = (unsigned char)(t[w] >> (8 * b));
    cl_rng_set_state(r, st);
    free(st);
}

Test(rng, uniform_extremes)
{
    cl_rng *r = xalloc(1, 1);
    const uint64_t zero[4] = {0, 1, 1, 0};         /* next output 0 */
    const uint64_t ones[4] = {0, 1, 1, ~UINT64_C(0)}; /* next ~0 */

    set_scalar_lane(r, zero);
    cr_assert_eq(cl_rng_u64(r), 0);
    set_scalar_lane(r, zero);
    cr_assert(cl_rng_uniform(r) == 0.0);
    set_scalar_lane(r, zero);
    const double p0 = cl_rng_uniform_pos(r);
    cr_assert(p0 > 0.0 && p0 < 1.0, "uniform_pos(0 bits) = %a", p0);

    set_scalar_lane(r, ones);
    cr_assert_eq(cl_rng_u64(r), ~UINT64_C(0));
    set_scalar_lane(r, ones);
    const double u1 = cl_rng_uniform(r);
    cr_assert(u1 < 1.0 && u1 > 0.99, "uniform(1 bits) = %a", u1);
    set_scalar_lane(r, ones);
    const double p1 = cl_rng_uniform_pos(r);
    cr_assert(p1 < 1.0 && p1 > 0.99, "uniform_pos(1 bits) = %a", p1);
    cl_rng_free(r);
}
