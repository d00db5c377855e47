/* The C reference of gforth's matrix.fs: fills two 200x200 cell matrices with pseudo-random
 * numbers in -60..59 (seed 74755) and multiplies them; `main` prints nothing. */
#include <stdint.h>
#include "../bench.h"

#define ROWS 200
static int64_t ima[ROWS][ROWS], imb[ROWS][ROWS], imr[ROWS][ROWS];
static int64_t seed;

static int64_t next_random(void) {
    seed = (seed * 1309 + 13849) & 65535;
    return seed;
}

static void initiate_matrix(int64_t m[ROWS][ROWS]) {
    for (int row = 0; row < ROWS; row++) {
        for (int column = 0; column < ROWS; column++) {
            int64_t r = next_random();
            m[row][column] = r - r / 120 * 120 - 60;
        }
    }
}

static void workload(void) {
    seed = 74755;
    initiate_matrix(ima);
    initiate_matrix(imb);
    for (int row = 0; row < ROWS; row++) {
        for (int column = 0; column < ROWS; column++) {
            int64_t sum = 0;
            for (int k = 0; k < ROWS; k++) {
                sum += ima[row][k] * imb[k][column];
            }
            imr[row][column] = sum;
        }
    }
    /* Read the product back so that the compiler keeps computing it. */
    volatile int64_t corner = imr[ROWS - 1][ROWS - 1];
    (void)corner;
}
