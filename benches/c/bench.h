/* Shared timing for the C references of benches/forth/NAME.fs: run the workload argv[1] times
 * (default 1) and print "ff-bench-us TOTAL" with the total in microseconds, the same line the
 * gforth-fast runs print, so `cargo xtask bench` times both the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One run of the workload; prints what the Forth version's `main` prints. */
static void workload(void);

int main(int argc, char **argv) {
    long runs = argc > 1 ? strtol(argv[1], NULL, 10) : 1;
    double start = now_us();
    for (long run = 0; run < runs; run++) {
        workload();
    }
    printf("ff-bench-us %.3f\n", now_us() - start);
    return 0;
}
