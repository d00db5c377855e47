/* Product of two 200x200 integer matrices filled with pseudo-random numbers, as
 * benches/forth/matrix.fs: prints a checksum of the product. */
#include <stdint.h>
#include "bench.h"

#define N 200
static int64_t ma[N * N], mb[N * N], mc[N * N];
static int64_t seed;

static int64_t next_random(void) {
    seed = (seed * 1309 + 13849) & 65535;
    return seed;
}

static void fill_matrix(int64_t *m) {
    for (int i = 0; i < N * N; i++) {
        m[i] = next_random() % 120 - 60;
    }
}

static void multiply(void) {
    for (int row = 0; row < N; row++) {
        for (int col = 0; col < N; col++) {
            int64_t sum = 0;
            for (int k = 0; k < N; k++) {
                sum += ma[row * N + k] * mb[k * N + col];
            }
            mc[row * N + col] = sum;
        }
    }
}

static void workload(void) {
    seed = 74755;
    fill_matrix(ma);
    fill_matrix(mb);
    multiply();
    uint64_t checksum = 0;
    for (int i = 0; i < N * N; i++) {
        checksum = checksum * 7 + (uint64_t)mc[i];
    }
    printf("%lld \n", (long long)(int64_t)checksum);
}
