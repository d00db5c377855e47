\ Bubble sort of 6000 pseudo-random cells. `main` sorts, checks the order and prints
\ the smallest and largest elements and a checksum of the sorted list.

6000 constant elements
variable seed
create list elements cells allot

: next-random ( -- n ) seed @ 1309 * 13849 + 65535 and dup seed ! ;
: fill-list ( -- ) 74755 seed !  elements 0 do next-random list i cells + ! loop ;

: bubble ( -- )
    elements 1 do
        list elements i - cells + list do
            i 2@ < if i 2@ swap i 2! then
        1 cells +loop
    loop ;

: sorted? ( -- flag )
    true elements 1- 0 do
        list i cells + 2@ < if drop false leave then
    loop ;

: checksum ( -- n ) 0 elements 0 do 31 * list i cells + @ + loop ;

: main ( -- )
    fill-list bubble
    sorted? 0= abort" bubble: not sorted"
    list @ . list elements 1- cells + @ . checksum . cr ;
