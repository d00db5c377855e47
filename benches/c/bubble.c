/* Bubble sort of 6000 pseudo-random cells, as benches/forth/bubble.fs: sorts, checks the
 * order and prints the smallest and largest elements and a checksum of the sorted list. */
#include <stdint.h>
#include "bench.h"

#define ELEMENTS 6000
static int64_t list[ELEMENTS];
static int64_t seed;

static int64_t next_random(void) {
    seed = (seed * 1309 + 13849) & 65535;
    return seed;
}

static void fill_list(void) {
    seed = 74755;
    for (int i = 0; i < ELEMENTS; i++) {
        list[i] = next_random();
    }
}

static void bubble(void) {
    for (int i = 1; i < ELEMENTS; i++) {
        for (int j = 0; j < ELEMENTS - i; j++) {
            if (list[j + 1] < list[j]) {
                int64_t t = list[j];
                list[j] = list[j + 1];
                list[j + 1] = t;
            }
        }
    }
}

static void workload(void) {
    fill_list();
    bubble();
    for (int i = 0; i + 1 < ELEMENTS; i++) {
        if (list[i + 1] < list[i]) {
            fputs("bubble: not sorted\n", stderr);
            exit(1);
        }
    }
    uint64_t checksum = 0;
    for (int i = 0; i < ELEMENTS; i++) {
        checksum = checksum * 31 + (uint64_t)list[i];
    }
    printf("%lld %lld %lld \n", (long long)list[0], (long long)list[ELEMENTS - 1],
           (long long)(int64_t)checksum);
}
