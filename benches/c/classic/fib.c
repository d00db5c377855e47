/* The C reference of gforth's fib.fs: doubly recursive Fibonacci with fib(0) = fib(1) = 1;
 * `main` computes fib(34) = 9227465 and prints nothing. */
#include "../bench.h"

static long fib(long n) {
    if (n < 2) {
        return 1;
    }
    return fib(n - 1) + fib(n - 2);
}

/* Read at every run so the compiler cannot hoist the call out of the repetition loop. */
static volatile long argument = 34;
static volatile long sink;

static void workload(void) {
    sink = fib(argument);
}
