\ The gforth words the classic benchmark programs use that Forth-2012 does not define,
\ loaded before each of them. matrix.fs uses CELL; bubble.fs defines its own.

1 cells constant cell
