-9223372036854775808 1 - . #10 $ff %101 'c' 2 3 um* ud. 7 2 /mod . . 5 negate abs .
1 0 / 0 0 */ 10 3 fm/mod 10 3 sm/rem -1 u. max-int min-int
