/* The C reference of gforth's siev.fs: `primes` sieves 8190 byte flags (the odd numbers
 * from 3), run 1000 times by `benchmark`; `main` drops the count (1899) and prints nothing. */
#include <string.h>
#include "../bench.h"

#define FLAGS 8190
static char flags[FLAGS];
static volatile long sink;

static long primes(void) {
    long count = 0;
    long prime = 3;
    memset(flags, 1, FLAGS);
    for (long i = 0; i < FLAGS; i++) {
        if (flags[i]) {
            for (long k = i + prime; k < FLAGS; k += prime) {
                flags[k] = 0;
            }
            count++;
        }
        prime += 2;
    }
    return count;
}

static void workload(void) {
    for (int repeat = 0; repeat < 1000; repeat++) {
        sink = primes();
    }
}
