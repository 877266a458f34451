/*
 * Arithmetic peaks of this CPU, the ceilings the DDPM comparison reports its GFLOPS against.
 *
 *   gcc -O2 -mavx512f -mavx512bf16 -fopenmp Benchmarks/peak/peak.c -o peak
 *   ./peak [--threads K] [--seconds S] [--repeats R] [--json]
 *
 * FP32: a loop of vfmadd231ps zmm (AVX-512F) on ACC independent accumulators, 16 lanes × 2 flops
 *       (one multiply-add) = 32 flops per instruction.
 * BF16: a loop of vdpbf16ps zmm (AVX-512 BF16) on ACC independent accumulators; each 32-bit lane
 *       adds the two products of its pair of BF16 elements to an FP32 accumulator,
 *       16 lanes × 2 multiply-adds × 2 flops = 64 flops per instruction.
 * Both are register-only (no memory operands), so they measure the execution units alone: the
 * most any kernel can reach, not what a real GEMM or convolution does.
 *
 * Each figure is measured with 1 thread (per core) and with K threads (default 2), each thread
 * running the same loop; the K-thread rate is the total flops over the wall time from a common
 * start (barrier) to the last thread's end. A measurement runs about S seconds (default 0.3) and
 * is repeated R times (default 5); the best (highest) rate is the peak, the median is printed too.
 * --json prints one JSON object:
 *   {"peak": {"threads": [1, K], "fp32_gflops": {"1": {"best", "median"}, "K": {...}},
 *             "bf16_gflops": {...} or null (no AVX-512 BF16 on this CPU), "accumulators": ACC}}
 */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ACC 12 /* independent accumulators: ≥ latency × throughput of either instruction */
#define UNROLL 8

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static volatile float sink; /* keeps the accumulators alive */

/* iterations × UNROLL × ACC instructions of vfmadd231ps zmm; returns the instructions issued. */
__attribute__((noinline)) static long fp32_loop(long iterations, float seed) {
  __m512 a = _mm512_set1_ps(1.0f + 1e-7f * seed), b = _mm512_set1_ps(1e-7f);
  __m512 acc[ACC];
  for (int i = 0; i < ACC; i++) acc[i] = _mm512_set1_ps((float)i);
  for (long n = 0; n < iterations; n++) {
    for (int u = 0; u < UNROLL; u++) {
#pragma GCC unroll 16
      for (int i = 0; i < ACC; i++) acc[i] = _mm512_fmadd_ps(a, b, acc[i]); /* acc += a·b */
    }
  }
  __m512 s = acc[0];
  for (int i = 1; i < ACC; i++) s = _mm512_add_ps(s, acc[i]);
  sink = _mm512_reduce_add_ps(s);
  return iterations * UNROLL * ACC;
}

/* iterations × UNROLL × ACC instructions of vdpbf16ps zmm. */
__attribute__((noinline, target("avx512bf16"))) static long bf16_loop(long iterations, float seed) {
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f * seed), _mm512_set1_ps(1e-3f));
  __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-4f), _mm512_set1_ps(1e-4f));
  __m512 acc[ACC];
  for (int i = 0; i < ACC; i++) acc[i] = _mm512_set1_ps((float)i);
  for (long n = 0; n < iterations; n++) {
    for (int u = 0; u < UNROLL; u++) {
#pragma GCC unroll 16
      for (int i = 0; i < ACC; i++) acc[i] = _mm512_dpbf16_ps(acc[i], a, b); /* acc += a₀b₀ + a₁b₁ */
    }
  }
  __m512 s = acc[0];
  for (int i = 1; i < ACC; i++) s = _mm512_add_ps(s, acc[i]);
  sink = _mm512_reduce_add_ps(s);
  return iterations * UNROLL * ACC;
}

typedef long (*loop_fn)(long, float);

/* GFLOPS of `threads` threads each running `iterations` of `fn`. */
static double rate(loop_fn fn, int flops_per_instruction, int threads, long iterations) {
  double start = 0, end = 0;
  long total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
#pragma omp barrier
#pragma omp master
    start = now();
    total += fn(iterations, 1.0f + omp_get_thread_num());
#pragma omp barrier
#pragma omp master
    end = now();
  }
  return (double)total * flops_per_instruction / (end - start) / 1e9;
}

static int compare(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* best and median over `repeats` measurements of about `seconds` each. */
static void measure(loop_fn fn, int flops, int threads, double seconds, int repeats, double *best, double *median) {
  long iterations = 1000;
  for (;;) { /* calibrate on one thread: the iterations that take about `seconds` */
    double t0 = now();
    fn(iterations, 1.0f);
    double t = now() - t0;
    if (t > 0.05 || iterations > (1L << 40)) {
      iterations = (long)(iterations * seconds / t) + 1;
      break;
    }
    iterations *= 4;
  }
  double *r = malloc(sizeof(double) * repeats);
  rate(fn, flops, threads, iterations / 10 + 1); /* wake all threads up */
  for (int i = 0; i < repeats; i++) r[i] = rate(fn, flops, threads, iterations);
  qsort(r, repeats, sizeof(double), compare);
  *best = r[repeats - 1];
  *median = repeats % 2 ? r[repeats / 2] : 0.5 * (r[repeats / 2 - 1] + r[repeats / 2]);
  free(r);
}

int main(int argc, char **argv) {
  int threads = 2, repeats = 5, json = 0;
  double seconds = 0.3;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--json")) json = 1;
    else {
      fprintf(stderr, "usage: %s [--threads K] [--seconds S] [--repeats R] [--json]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1 || repeats < 1 || !(seconds > 0)) {
    fprintf(stderr, "peak: --threads and --repeats must be positive, --seconds > 0\n");
    return 2;
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) {
    fprintf(stderr, "peak: this CPU has no AVX-512F\n");
    return 1;
  }
  int has_bf16 = __builtin_cpu_supports("avx512bf16");
  int counts[2] = {1, threads};
  int n = threads == 1 ? 1 : 2;
  double fp32[2][2], bf16[2][2];
  for (int k = 0; k < n; k++) {
    measure(fp32_loop, 32, counts[k], seconds, repeats, &fp32[k][0], &fp32[k][1]);
    if (has_bf16) measure(bf16_loop, 64, counts[k], seconds, repeats, &bf16[k][0], &bf16[k][1]);
  }
  if (json) {
    printf("{\"peak\": {\"threads\": [1%s", n == 2 ? ", " : "");
    if (n == 2) printf("%d", threads);
    printf("], \"accumulators\": %d, \"fp32_gflops\": {", ACC);
    for (int k = 0; k < n; k++)
      printf("%s\"%d\": {\"best\": %.2f, \"median\": %.2f}", k ? ", " : "", counts[k], fp32[k][0], fp32[k][1]);
    printf("}, \"bf16_gflops\": ");
    if (has_bf16) {
      printf("{");
      for (int k = 0; k < n; k++)
        printf("%s\"%d\": {\"best\": %.2f, \"median\": %.2f}", k ? ", " : "", counts[k], bf16[k][0], bf16[k][1]);
      printf("}");
    } else {
      printf("null");
    }
    printf("}}\n");
  } else {
    for (int k = 0; k < n; k++) {
      printf("FP32 vfmadd231ps zmm, %d thread%s: %.1f GFLOPS best, %.1f median\n", counts[k],
             counts[k] == 1 ? "" : "s", fp32[k][0], fp32[k][1]);
      if (has_bf16)
        printf("BF16 vdpbf16ps zmm,  %d thread%s: %.1f GFLOPS best, %.1f median\n", counts[k],
               counts[k] == 1 ? "" : "s", bf16[k][0], bf16[k][1]);
    }
    if (!has_bf16) printf("BF16: this CPU has no AVX-512 BF16 (vdpbf16ps)\n");
  }
  return 0;
}
