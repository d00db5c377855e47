//! The Search-order word set: word lists, the search order and the compilation word
//! list (the dictionary keeps them, see [`crate::dictionary`]).
//!
//! A word list id (wid) is the list's number plus one; FORTH-WORDLIST is 1. The search
//! order holds at most [`MAX_ORDER`] lists and a session at most
//! [`crate::dictionary::MAX_WORDLISTS`]
//! (-49 search-order overflow beyond either); PREVIOUS on an empty order is -50. Both
//! are carried in the state image. A MARKER forgets the words defined after it and restores
//! the search order and compilation word list it saw; word lists themselves stay (empty).

use crate::console::{Console, write_output};
use crate::dictionary::{FORTH_WORDLIST, MAX_ORDER};
use crate::engine::Forth;
use crate::error::{Fallible, Throw, code, fail};
use crate::ir::Sys;

/// Whether the word belongs to this module.
pub(crate) fn owns(word: Sys) -> bool {
    matches!(
        word,
        Sys::GetCurrent
            | Sys::GetOrder
            | Sys::SearchWordlist
            | Sys::SetCurrent
            | Sys::SetOrder
            | Sys::Wordlist
            | Sys::Also
            | Sys::ForthOrder
            | Sys::Only
            | Sys::Order
            | Sys::Previous
            | Sys::Definitions
    )
}

/// Table 9.1: search-order overflow and underflow.
const ORDER_OVERFLOW: i64 = -49;
const ORDER_UNDERFLOW: i64 = -50;

impl Forth {
    /// Executes a Search-order word.
    pub(crate) fn search_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::GetCurrent => self.push(wid(self.dict.current())),
            Sys::SetCurrent => {
                let list = self.pop_wordlist()?;
                self.dict
                    .set_current(list)
                    .ok_or_else(|| Throw::new(code::INVALID_NUMERIC_ARGUMENT))
            }
            Sys::GetOrder => {
                let order: Vec<i64> = self.dict.order().iter().rev().map(|&l| wid(l)).collect();
                let count = order.len() as i64;
                order.into_iter().try_for_each(|w| self.push(w))?;
                self.push(count)
            }
            Sys::SetOrder => self.set_order(),
            Sys::Wordlist => {
                let list = self
                    .dict
                    .new_wordlist()
                    .ok_or_else(|| Throw::new(ORDER_OVERFLOW))?;
                self.push(wid(list))
            }
            Sys::SearchWordlist => self.search_wordlist(),
            Sys::Also => {
                let mut order = self.dict.order().to_vec();
                let first = *order.first().ok_or_else(|| Throw::new(ORDER_UNDERFLOW))?;
                order.insert(0, first);
                self.replace_order(order)
            }
            Sys::ForthOrder => {
                let mut order = self.dict.order().to_vec();
                match order.first_mut() {
                    Some(first) => *first = FORTH_WORDLIST,
                    None => order.push(FORTH_WORDLIST),
                }
                self.replace_order(order)
            }
            Sys::Only => self.replace_order(vec![FORTH_WORDLIST]),
            Sys::Previous => {
                let mut order = self.dict.order().to_vec();
                if order.is_empty() {
                    return fail(ORDER_UNDERFLOW);
                }
                order.remove(0);
                self.replace_order(order)
            }
            Sys::Definitions => {
                let first = *self
                    .dict
                    .order()
                    .first()
                    .ok_or_else(|| Throw::new(ORDER_UNDERFLOW))?;
                self.dict
                    .set_current(first)
                    .ok_or_else(|| Throw::new(ORDER_UNDERFLOW))
            }
            Sys::Order => {
                let names: Vec<String> = self.dict.order().iter().map(|&l| list_name(l)).collect();
                let text = format!(
                    "\nsearch order: {}\ncompiling into: {}\n",
                    names.join(" "),
                    list_name(self.dict.current())
                );
                write_output(console, text.as_bytes())
            }
            other => crate::error::unreachable_word(other, "search-order"),
        }
    }

    /// Pops a wid; -24 when no such word list exists.
    pub(crate) fn pop_wordlist(&mut self) -> Fallible<usize> {
        let id = self.pop()?;
        usize::try_from(id)
            .ok()
            .and_then(|id| id.checked_sub(1))
            .filter(|&list| list < self.dict.wordlist_count())
            .ok_or_else(|| Throw::new(code::INVALID_NUMERIC_ARGUMENT))
    }

    fn replace_order(&mut self, order: Vec<usize>) -> Fallible<()> {
        self.dict
            .set_order(order)
            .ok_or_else(|| Throw::new(ORDER_OVERFLOW))
    }

    /// SET-ORDER ( widn ... wid1 n -- ): n = -1 is the minimum order (FORTH-WORDLIST).
    fn set_order(&mut self) -> Fallible<()> {
        let count = self.pop()?;
        if count == -1 {
            return self.replace_order(vec![FORTH_WORDLIST]);
        }
        let count = usize::try_from(count)
            .ok()
            .filter(|&n| n <= MAX_ORDER)
            .ok_or_else(|| Throw::new(ORDER_OVERFLOW))?;
        let order = (0..count)
            .map(|_| self.pop_wordlist())
            .collect::<Fallible<Vec<usize>>>()?;
        self.replace_order(order)
    }

    /// SEARCH-WORDLIST ( c-addr u wid -- 0 | xt 1 | xt -1 ).
    fn search_wordlist(&mut self) -> Fallible<()> {
        let list = self.pop_wordlist()?;
        let name = self.pop_bytes()?;
        match self.dict.find_in(list, &name) {
            Some(index) => {
                let word = &self.dict.words[index];
                let flag = if word.immediate { 1 } else { -1 };
                self.push(word.xt as i64)?;
                self.push(flag)
            }
            None => self.push(0),
        }
    }
}

fn wid(list: usize) -> i64 {
    list as i64 + 1
}

fn list_name(list: usize) -> String {
    match list {
        FORTH_WORDLIST => "FORTH".to_owned(),
        other => format!("wid-{}", wid(other)),
    }
}
