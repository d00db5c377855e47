\ Words a session links natively (version 1 of the program "calc").
: triple ( n -- 3n ) 3 * ;
variable hits
: hit ( -- n ) 1 hits +! hits @ ;
: div0 ( n -- ) 0 / ;
: fib ( n -- f ) dup 2 < if drop 1 exit then dup 1- recurse swap 2 - recurse + ;
: sum-to ( n -- sum ) 0 swap 1+ 1 ?do i + loop ;
: make-counter ( "name" -- ) create 0 , does> dup 1 swap +! @ ;
