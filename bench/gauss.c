/* bench/gauss.c - ns per standard normal sample: cl_rng_gauss_fill (bulk),
 * cl_rng_gauss (scalar), and GSL's gsl_ran_gaussian_ziggurat with the
 * mt19937 and taus2 generators, all in the same process.
 *
 * Usage: gauss [total_samples_per_method]   (default 2e7)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cldyn/rng.h"

#define BLOCK 30000 /* one SGD step at N = 1e4 draws 3e4 Gaussians */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile double sink;

/* Best of `reps` timings of `total` samples, in ns/sample. */
#define TIME_NS(expr_block, total, reps, result)                             \
    do {                                                                     \
        double best_ = 1e30;                                                 \
        for (int rep_ = 0; rep_ < (reps); rep_++) {                          \
            double t0_ = now();                                              \
            expr_block;                                                      \
            double dt_ = now() - t0_;                                        \
            if (dt_ < best_)                                                 \
                best_ = dt_;                                                 \
        }                                                                    \
        (result) = 1e9 * best_ / (double)(total);                            \
    } while (0)

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 20000000L;
    long nblocks = total / BLOCK;
    if (nblocks < 1)
        nblocks = 1;
    total = nblocks * BLOCK;
    const int reps = 5;

    double *buf = malloc(BLOCK * sizeof *buf);
    if (!buf)
        return 1;
    cl_rng *rng = cl_rng_alloc(12345, 0);
    if (!rng)
        return 1;

    double t_fill, t_scalar, t_mt, t_taus;
    double acc = 0;

    /* warm up */
    for (int i = 0; i < 20; i++)
        cl_rng_gauss_fill(rng, buf, BLOCK);

    TIME_NS(
        {
            for (long b = 0; b < nblocks; b++) {
                cl_rng_gauss_fill(rng, buf, BLOCK);
                acc += buf[b % BLOCK];
            }
        },
        total, reps, t_fill);

    TIME_NS(
        {
            double s = 0;
            for (long i = 0; i < total; i++)
                s += cl_rng_gauss(rng);
            acc += s;
        },
        total, reps, t_scalar);

    gsl_rng *g_mt = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng *g_taus = gsl_rng_alloc(gsl_rng_taus2);
    gsl_rng_set(g_mt, 12345);
    gsl_rng_set(g_taus, 12345);

    TIME_NS(
        {
            double s = 0;
            for (long i = 0; i < total; i++)
                s += gsl_ran_gaussian_ziggurat(g_mt, 1.0);
            acc += s;
        },
        total, reps, t_mt);

    TIME_NS(
        {
            double s = 0;
            for (long i = 0; i < total; i++)
                s += gsl_ran_gaussian_ziggurat(g_taus, 1.0);
            acc += s;
        },
        total, reps, t_taus);

    /* One SGD step at N = 1e4 draws 3e4 Gaussians: time per such block. */
    double t_block;
    TIME_NS(
        {
            for (int i = 0; i < 1000; i++) {
                cl_rng_gauss_fill(rng, buf, BLOCK);
                acc += buf[i];
            }
        },
        1000, reps, t_block);

    sink = acc;

    printf("samples per method: %ld (best of %d)\n", total, reps);
    printf("%-40s %8.3f ns/sample\n", "cl_rng_gauss_fill", t_fill);
    printf("%-40s %8.3f ns/sample\n", "cl_rng_gauss (scalar)", t_scalar);
    printf("%-40s %8.3f ns/sample\n", "gsl_ran_gaussian_ziggurat + mt19937",
           t_mt);
    printf("%-40s %8.3f ns/sample\n", "gsl_ran_gaussian_ziggurat + taus2",
           t_taus);
    printf("ratios: gsl_mt19937/fill = %.1fx, gsl_taus2/fill = %.1fx, "
           "scalar/fill = %.1fx, gsl_mt19937/scalar = %.1fx\n",
           t_mt / t_fill, t_taus / t_fill, t_scalar / t_fill,
           t_mt / t_scalar);
    printf("fill of 3e4 samples (one SGD step at N=1e4): %.2f us "
           "(NumPy at ~9.5 ns/sample: %.0f us)\n",
           t_block / 1e3, 9.5 * BLOCK / 1e3);

    gsl_rng_free(g_mt);
    gsl_rng_free(g_taus);
    cl_rng_free(rng);
    free(buf);
    return 0;
}
