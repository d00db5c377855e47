/* The C reference of gforth's bubble.fs: bubble-sorts 6000 pseudo-random cells (seed 74755)
 * into descending order, as its `i 2@ > if ... i 2! then` does, then checks the order;
 * `main` prints nothing. */
#include <stdint.h>
#include "../bench.h"

#define ELEMENTS 6000
static int64_t list[ELEMENTS];
static int64_t seed;

static int64_t next_random(void) {
    seed = (seed * 1309 + 13849) & 65535;
    return seed;
}

static void bubble(void) {
    for (int i = 1; i < ELEMENTS; i++) {
        for (int k = 0; k < ELEMENTS - i; k++) {
            if (list[k + 1] > list[k]) {
                int64_t t = list[k];
                list[k] = list[k + 1];
                list[k + 1] = t;
            }
        }
    }
}

static void workload(void) {
    seed = 74755;
    for (int i = 0; i < ELEMENTS; i++) {
        list[i] = next_random();
    }
    bubble();
    for (int k = 0; k + 1 < ELEMENTS; k++) {
        if (list[k + 1] > list[k]) {
            fputs("bubble-sort: not sorted\n", stderr);
            exit(1);
        }
    }
}
