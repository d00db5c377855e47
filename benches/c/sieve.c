/* Sieve of Eratosthenes over 8190 flags (odd numbers 3..16383), run 1000 times, as
 * benches/forth/sieve.fs: prints the number of primes of one run, 1899. */
#include <string.h>
#include "bench.h"

#define SIEVE_SIZE 8190
static char flags[SIEVE_SIZE];
static volatile long sink;

static long count_primes(void) {
    long count = 0;
    memset(flags, 1, SIEVE_SIZE);
    for (long i = 0; i < SIEVE_SIZE; i++) {
        if (flags[i]) {
            long prime = 2 * i + 3;
            for (long k = i + prime; k < SIEVE_SIZE; k += prime) {
                flags[k] = 0;
            }
            count++;
        }
    }
    return count;
}

static void workload(void) {
    long count = 0;
    for (int repeat = 0; repeat < 1000; repeat++) {
        count = count_primes();
        sink = count;
    }
    printf("%ld \n", count);
}
