\ Version 2 of the program "calc": triple changes, square is new, the rest is gone.
: triple ( n -- 3n+1 ) 3 * 1+ ;
: square ( n -- n*n ) dup * ;
