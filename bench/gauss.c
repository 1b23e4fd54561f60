/* bench/gauss.c - ns per standard normal sample: cl_rng_gauss_fill (bulk, on
 * each code path and for fills of 3e4 and 3e5 samples), cl_rng_gauss
 * (scalar), and GSL's gsl_ran_gaussian_ziggurat with the mt19937 and taus2
 * generators, all in the same process.
 *
 * The machine may be shared: every repetition times all methods once, in
 * turn (so that a burst of foreign load hits them alike), and the report
 * gives the median (and the best) over the repetitions.
 *
 * Usage: gauss [total_samples_per_method [repetitions]]
 *        (defaults 2e7 and 9)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cldyn/rng.h"

#define BLOCK 30000   /* one SGD step at N = 1e4 draws 3e4 Gaussians */
#define BIG 300000    /* ... and at N = 1e5, 3e5 */
#define MAXREPS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile double sink;

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum {
    M_FILL512, M_FILL2, M_FILL0, M_FILL512_BIG, M_SCALAR, M_MT, M_TAUS,
    NMETH
};
static const char *names[NMETH] = {
    "cl_rng_gauss_fill, AVX-512 path, n=3e4",
    "cl_rng_gauss_fill, AVX2 path,    n=3e4",
    "cl_rng_gauss_fill, default path, n=3e4",
    "cl_rng_gauss_fill, AVX-512 path, n=3e5",
    "cl_rng_gauss (scalar)",
    "gsl_ran_gaussian_ziggurat + mt19937",
    "gsl_ran_gaussian_ziggurat + taus2",
};

static cl_rng *alloc_isa(const char *isa)
{
    setenv("CLDYN_RNG_ISA", isa, 1);
    cl_rng *r;
    cl_rng_alloc(12345, 0, &r, NULL);
    unsetenv("CLDYN_RNG_ISA");
    if (!r)
        exit(1);
    return r;
}

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 20000000L;
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    if (reps < 1)
        reps = 1;
    if (reps > MAXREPS)
        reps = MAXREPS;
    long nblocks = total / BIG;
    if (nblocks < 1)
        nblocks = 1;
    total = nblocks * BIG; /* a multiple of both block sizes */

    double *buf = malloc(BIG * sizeof *buf);
    if (!buf)
        return 1;
    cl_rng *r512 = alloc_isa("avx512f"), *r2 = alloc_isa("avx2"),
           *r0 = alloc_isa("default");
    cl_rng *rs;
    cl_rng_alloc(12345, 1, &rs, NULL);
    gsl_rng *g_mt = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng *g_taus = gsl_rng_alloc(gsl_rng_taus2);
    if (!rs || !g_mt || !g_taus)
        return 1;
    gsl_rng_set(g_mt, 12345);
    gsl_rng_set(g_taus, 12345);

    double t[NMETH][MAXREPS];
    double acc = 0;

    for (int i = 0; i < 20; i++) /* warm up */
        cl_rng_gauss_fill(r512, buf, BLOCK);

    for (int rep = 0; rep < reps; rep++) {
        for (int m = 0; m < NMETH; m++) {
            double t0 = now();
            switch (m) {
            case M_FILL512:
            case M_FILL2:
            case M_FILL0: {
                cl_rng *r = m == M_FILL512 ? r512 : m == M_FILL2 ? r2 : r0;
                for (long b = 0; b < total / BLOCK; b++) {
                    cl_rng_gauss_fill(r, buf, BLOCK);
                    acc += buf[b % BLOCK];
                }
                break;
            }
            case M_FILL512_BIG:
                for (long b = 0; b < total / BIG; b++) {
                    cl_rng_gauss_fill(r512, buf, BIG);
                    acc += buf[b % BIG];
                }
                break;
            case M_SCALAR: {
                double s = 0;
                for (long i = 0; i < total; i++)
                    s += cl_rng_gauss(rs);
                acc += s;
                break;
            }
            default: {
                gsl_rng *g = m == M_MT ? g_mt : g_taus;
                double s = 0;
                for (long i = 0; i < total; i++)
                    s += gsl_ran_gaussian_ziggurat(g, 1.0);
                acc += s;
                break;
            }
            }
            t[m][rep] = 1e9 * (now() - t0) / (double)total;
        }
    }
    sink = acc;

    double med[NMETH];
    printf("samples per method and repetition: %ld, %d repetitions\n", total,
           reps);
    printf("%-40s %10s %10s\n", "", "median", "best");
    for (int m = 0; m < NMETH; m++) {
        qsort(t[m], (size_t)reps, sizeof(double), cmp_double);
        med[m] = reps % 2 ? t[m][reps / 2]
                          : 0.5 * (t[m][reps / 2 - 1] + t[m][reps / 2]);
        printf("%-40s %10.3f %10.3f ns/sample\n", names[m], med[m], t[m][0]);
    }
    const double f = med[M_FILL512];
    printf("ratios (medians, vs AVX-512 fill n=3e4): gsl_mt19937 %.1fx, "
           "gsl_taus2 %.1fx, scalar %.1fx\n",
           med[M_MT] / f, med[M_TAUS] / f, med[M_SCALAR] / f);
    printf("fill of 3e4 samples (one SGD step at N=1e4): %.2f us "
           "(NumPy at ~9.5 ns/sample: %.0f us)\n",
           f * BLOCK / 1e3, 9.5 * BLOCK / 1e3);

    gsl_rng_free(g_mt);
    gsl_rng_free(g_taus);
    cl_rng_free(r512);
    cl_rng_free(r2);
    cl_rng_free(r0);
    cl_rng_free(rs);
    free(buf);
    return 0;
}
