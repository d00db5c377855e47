\ Product of two 200x200 integer matrices filled with pseudo-random numbers.
\ `main` multiplies them and prints a checksum of the product.

200 constant n
n cells constant row-bytes
variable seed

: next-random ( -- n ) seed @ 1309 * 13849 + 65535 and dup seed ! ;
: matrix ( "name" -- ) create n n * cells allot ;
matrix ma  matrix mb  matrix mc

: fill-matrix ( addr -- ) n n * cells over + swap do next-random 120 mod 60 - i ! 1 cells +loop ;

: dot ( row-addr col-addr -- n )
    0 n 0 do
        >r over @ over @ * r> +
        >r swap cell+ swap row-bytes + r>
    loop nip nip ;

: multiply ( -- )
    n 0 do
        n 0 do
            ma j row-bytes * +  mb i cells +  dot
            mc j row-bytes * i cells + + !
        loop
    loop ;

: checksum ( -- n ) 0 n n * 0 do 7 * mc i cells + @ + loop ;

: main ( -- ) 74755 seed ! ma fill-matrix mb fill-matrix multiply checksum . cr ;
