: t1 10 0 do i 3 mod 0= if i . then loop ;
: t2 begin dup while 1- repeat drop ;  5 t2
: t3 case 1 of 10 endof 2 of 20 endof 0 endcase ;
: t4 ['] t1 catch ;  t4 .
: t5 -2 throw ; ' t5 catch .
variable v  7 v !  v @ .  create buf 10 allot  buf 10 erase
: t6 <# # # #s #> type ;  123 0 t6
s" hello" type  char A emit  [char] b  .( paren)
: t7 recurse ; ' t7 drop  :noname 1 2 + ; execute .
defer d  ' dup is d  1 d  2drop
marker m  : gone ; m
s" 1 2 + ." evaluate  base @ hex ff . decimal
