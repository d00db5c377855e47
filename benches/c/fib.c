/* Doubly recursive Fibonacci, as benches/forth/fib.fs: prints fib(30) = 832040. */
#include "bench.h"

static long fib(long n) {
    if (n < 2) {
        return n;
    }
    return fib(n - 1) + fib(n - 2);
}

/* Read at every run so the compiler cannot hoist the call out of the repetition loop. */
static volatile long argument = 30;

static void workload(void) {
    printf("%ld \n", fib(argument));
}
