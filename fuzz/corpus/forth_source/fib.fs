\ Doubly recursive Fibonacci. `main` prints fib(30) = 832040.

: fib ( n -- m )
    dup 2 < if exit then
    dup 1- recurse
    swap 2 - recurse + ;

: main ( -- ) 30 fib . cr ;
