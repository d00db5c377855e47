\ Sieve of Eratosthenes over 8190 flags (odd numbers 3..16383), run 1000 times.
\ `main` prints the number of primes found in one run: 1899.

8190 constant sieve-size
create sieve-flags sieve-size allot

: count-primes ( -- n )
    sieve-flags sieve-size 1 fill
    0 sieve-size 0 do
        sieve-flags i + c@ if
            i 2* 3 +                    ( count prime )
            dup i + begin
                dup sieve-size <
            while
                0 over sieve-flags + c!
                over +
            repeat
            2drop 1+
        then
    loop ;

: main ( -- ) 0 1000 0 do drop count-primes loop . cr ;
