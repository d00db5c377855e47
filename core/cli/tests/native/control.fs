\ Control structures, memory words, explicit-stack words and errors, for the native
\ backend's differential test: `main` prints the same compiled as interpreted, and the
\ error words fail with the same throw codes.

variable counter
10 constant ten
create table 8 cells allot
create bytes 16 allot

: classify ( n -- ) dup 0< if drop ." negative " else 0= if ." zero " else ." positive " then then ;
: countdown ( n -- ) begin dup 0> while dup . 1- repeat drop ;
: until-ten ( -- ) 0 begin 1+ dup ten = until . ;
: again-exit ( -- ) 0 begin 1+ dup 5 = if . exit then again ;
: squares ( -- ) ten 0 do i i * . loop ;
: maybe ( n -- ) 0 ?do i . loop ;
: evens ( -- ) 20 0 do i . 2 +loop ;
: down ( -- ) 0 10 do i . -3 +loop ;
: find-first ( n -- ) 100 0 do i dup * over > if i . leave then loop drop ;
: nested ( -- ) 3 0 do 3 0 do i j * . loop loop ;
: early ( -- n ) 10 0 do i 4 = if i unloop exit then loop -1 ;
: fact ( n -- n! ) dup 2 < if drop 1 else dup 1- recurse * then ;
: weekday ( n -- ) case 0 of ." sun " endof 6 of ." sat " endof ." weekday " endcase ;
: fill-table ( -- ) 8 0 do i i * table i cells + ! loop ;
: sum-table ( -- n ) 0 8 0 do table i cells + @ + loop ;
: bytes-demo ( -- ) 16 0 do i 3 * bytes i + c! loop 0 16 0 do bytes i + c@ + loop . ;
: counting ( -- ) 5 0 do 1 counter +! loop counter @ . ;
: third ( a b c -- a b c a ) 2 pick ;
: safe-div ( a b -- ) ?dup if / . else drop ." none " then ;
: nz ( n -- ) ?dup 0= if ." zero " exit then . ;
: depth-demo ( -- ) 1 2 3 depth . drop drop drop ;
: rstack ( a b -- ) >r dup . r@ . r> + . ;
: math ( -- )
    7 2 /mod . . -7 2 / . -7 2 mod . 5 3 min . 5 3 max . -5 abs . 3 negate .
    1 3 lshift . 256 2 rshift . 6 3 xor . 2 3 4 */ . -7 s>d 2 fm/mod . . ;
: bases ( -- ) 255 hex . decimal 255 . -1 u. ;
: emits ( -- ) 72 emit 105 emit space 3 spaces ." ok" 42 5 .r cr ;
: square ( n -- n*n ) dup * ;
defer op
' square is op
: apply ( n xt -- m ) execute ;
: deferred ( n -- m ) op ;
: tokens ( -- ) 7 ['] square apply . 5 deferred . ['] emits execute ;
: risky ( n -- m ) dup 0= if -7 throw then 100 swap / ;
: try ( n -- ) ['] risky catch if ." caught " drop else . then ;
: drop-two ( a b -- ) 2drop ;
: quiet-abort ( -- ) 0 abort" not shown" 1 abort" also not shown" ;
: catches ( -- )
    4 try 0 try ['] quiet-abort catch . 1 2 ['] drop-two catch . depth . cr ;
: money ( n -- ) dup abs 0 <# # # [char] . hold #s rot sign #> type space ;
: hex-pic ( u -- ) base @ swap hex 0 <# #s [char] $ hold #> type base ! space ;
: holds-demo ( -- ) 0 0 <# s" xyz" holds #> type space ;
: pictures ( -- ) -12345 money 7 money 255 hex-pic holds-demo cr ;
: builtin-tokens ( -- )
    3 4 ['] + execute . 1 2 ['] 2drop catch . depth . 65 ['] emit execute ['] cr execute ;
\ Built-ins that work on the stack itself, run by token: EXECUTE, CATCH, PICK, DEPTH.
: stack-tokens ( -- )
    3 ['] . ['] execute execute  9 ['] dup ['] catch execute . . .
    7 8 1 ['] pick execute . . .  ['] depth execute . cr ;
\ Tokens that cannot run throw inside CATCH's frame, so CATCH catches them.
: token-catches ( -- ) 12345 catch . 0 catch . 1 catch . ['] r> catch . cr ;
\ Loops of `0 I C! DUP +LOOP`, which the native backend runs whole: unchecked when the
\ indices provably lie in data space, checked one at a time otherwise.
: stride ( step limit start -- ) do 0 i c! dup +loop drop ;
: stride-dynamic ( step limit start -- ) depth drop do 0 i c! dup +loop drop ;
: byte-sum ( -- n ) 0 16 0 do bytes i + c@ + loop ;
: strides ( -- )
    bytes 16 1 fill 3 bytes 16 + bytes 1+ stride byte-sum .
    bytes 16 1 fill -3 bytes bytes 15 + stride byte-sum .
    bytes 16 1 fill 100 bytes 16 + bytes stride byte-sum .
    bytes 16 1 fill 5 bytes 16 + bytes stride-dynamic byte-sum . ;
: far-stride ( -- ) ." before " 1000000000 bytes 2000000000 + bytes do 0 i c! dup +loop drop ;
: stride-caught ( -- ) bytes 16 1 fill ['] far-stride catch . byte-sum . ;
: main ( -- )
    -5 classify 0 classify 5 classify cr
    3 countdown cr until-ten again-exit cr
    squares cr 0 maybe 3 maybe evens down cr
    30 find-first nested cr early . 6 fact . cr
    0 weekday 3 weekday 6 weekday cr
    fill-table sum-table . bytes-demo counting cr
    1 2 3 third . . . . 7 2 safe-div 7 0 safe-div 0 nz 5 nz depth-demo 4 5 rstack cr
    math cr bases emits tokens catches pictures builtin-tokens stack-tokens token-catches strides
    stride-caught cr ;

: div0 ( -- ) ." before " 1 0 / . ;
: bad-address ( -- ) -8 @ . ;
: bad-token ( -- ) 12345 execute ;
\ 0 and 1 lie in the code but are no word's: the executor's halt and end of CATCH.
: reserved-token ( -- ) 1 execute ;
: deep ( -- ) recurse ;
\ The deepest recursion of a small self-recursive word the return stack takes.
: down ( n -- n ) dup 0> if 1- recurse 1+ then ;
: deepest ( -- ) 0 begin 1+ dup ['] down catch nip until 1- . ;
: aborts ( -- ) 1 abort" stop here" ;
: underflow ( -- ) drop ;
: long-picture ( -- ) 0 0 <# 600 0 do [char] x hold loop #> type ;
