\ Interpreted code calling the words of calc: in loops, through EXECUTE, under CATCH.
: show ( n -- ) 0 ?do i triple . loop cr ;
5 show
: fibs ( n -- ) 0 ?do i fib . loop cr ;
10 fibs
100 sum-to . hit . hit . hit . cr
' triple 7 swap execute . cr
: safe ( n -- code ) ['] div0 catch ;
3 safe . depth . cr
