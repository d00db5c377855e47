//! The Facility word set: the terminal (AT-XY, PAGE, KEY?, EKEY and its conversions,
//! EMIT?), time (MS, TIME&DATE) and structures (BEGIN-STRUCTURE, END-STRUCTURE, +FIELD,
//! FIELD:, CFIELD:). The K-* key constants are in the built-in word table.
//!
//! The terminal words write ANSI (VT100) escape sequences. EKEY reads one byte of input,
//! so every event is a character: escape sequences of function keys reach the program as
//! their bytes and EKEY>FKEY never answers true for them. KEY? asks the console
//! ([`Console::key_available`]); [`crate::StdConsole`] cannot tell without waiting and
//! answers false (the `fastforth` CLI's console can). TIME&DATE gives the system clock's
//! time in UTC. MS sleeps and charges 1,000 steps of the budget per millisecond, so
//! `--max-steps` bounds it; an interrupt ends it early. The native backend compiles none of these host words: a
//! definition that uses one is named as not compilable and runs interpreted, so a native
//! run behaves the same.

use crate::console::{Console, write_output};
use crate::dictionary::{FKEY_BIT, Kind};
use crate::engine::Forth;
use crate::error::{Fallible, code, fail};
use crate::ir::{Op, Sys};
use crate::memory::CELL;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whether the word belongs to this module.
pub(crate) fn owns(word: Sys) -> bool {
    matches!(
        word,
        Sys::AtXy
            | Sys::KeyQuestion
            | Sys::Page
            | Sys::PlusField
            | Sys::BeginStructure
            | Sys::EndStructure
            | Sys::FieldColon
            | Sys::CFieldColon
            | Sys::Ekey
            | Sys::EkeyToChar
            | Sys::EkeyToFkey
            | Sys::Ms
            | Sys::TimeAndDate
    )
}

/// Steps MS charges per millisecond: about what the executor runs in one, so a step budget
/// bounds time spent sleeping as it bounds time spent computing.
const STEPS_PER_MS: usize = 1000;
/// The longest single sleep of MS between interrupt checks, in milliseconds.
const SLEEP_SLICE_MS: u64 = 10;

impl Forth {
    /// Executes a Facility word.
    pub(crate) fn facility_word(&mut self, word: Sys, console: &mut dyn Console) -> Fallible<()> {
        match word {
            Sys::AtXy => {
                let row = self.pop()?.max(0);
                let column = self.pop()?.max(0);
                let escape = format!(
                    "\x1b[{};{}H",
                    row.saturating_add(1),
                    column.saturating_add(1)
                );
                write_output(console, escape.as_bytes())
            }
            Sys::Page => write_output(console, b"\x1b[2J\x1b[H"),
            Sys::KeyQuestion => self.push(if console.key_available() { -1 } else { 0 }),
            Sys::Ekey => match console.read_key() {
                Some(key) => self.push(key as i64),
                None => fail(code::UNEXPECTED_EOF),
            },
            Sys::EkeyToChar => {
                let event = self.pop()?;
                let is_char = (0..256).contains(&event);
                self.push(event)?;
                self.push(if is_char { -1 } else { 0 })
            }
            Sys::EkeyToFkey => {
                let event = self.pop()?;
                let is_fkey = event & FKEY_BIT != 0;
                self.push(event)?;
                self.push(if is_fkey { -1 } else { 0 })
            }
            Sys::Ms => self.sleep_ms(),
            Sys::TimeAndDate => self.time_and_date(),
            Sys::PlusField => {
                let size = self.pop()?;
                self.add_field(size)
            }
            Sys::FieldColon => {
                let offset = self.pop()?;
                self.push(aligned(offset))?;
                self.add_field(CELL as i64)
            }
            Sys::CFieldColon => self.add_field(1),
            Sys::BeginStructure => {
                let name = self.parse_name()?;
                self.align_here()?;
                let body = self.here as i64;
                self.comma(0)?;
                self.define(name, &[Op::LitFetch(body)], Kind::Colon)?;
                self.push(body)?;
                self.push(0)
            }
            Sys::EndStructure => {
                let size = self.pop()?;
                let body = self.pop()?;
                self.store_cell(body, size)
            }
            other => crate::error::unreachable_word(other, "facility"),
        }
    }

    /// +FIELD ( n1 n2 "name" -- n3 ): a word ( addr -- addr+n1 ); n3 = n1 + n2.
    fn add_field(&mut self, size: i64) -> Fallible<()> {
        let offset = self.pop()?;
        let name = self.parse_name()?;
        self.define(name, &[Op::LitAdd(offset)], Kind::Colon)?;
        self.push(offset.wrapping_add(size))
    }

    fn sleep_ms(&mut self) -> Fallible<()> {
        let mut left = u64::try_from(self.pop()?).unwrap_or(0);
        while left > 0 {
            let slice = left.min(SLEEP_SLICE_MS);
            self.charge_steps(slice as usize * STEPS_PER_MS)?;
            std::thread::sleep(Duration::from_millis(slice));
            left -= slice;
        }
        Ok(())
    }

    /// TIME&DATE ( -- second minute hour day month year ) in UTC.
    fn time_and_date(&mut self) -> Fallible<()> {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() as i64);
        let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let fields = [
            second_of_day % 60,
            second_of_day / 60 % 60,
            second_of_day / 3600,
            day,
            month,
            year,
        ];
        fields.into_iter().try_for_each(|field| self.push(field))
    }
}

fn aligned(offset: i64) -> i64 {
    offset.wrapping_add(CELL as i64 - 1) & !(CELL as i64 - 1)
}

/// The (year, month, day) of a count of days since 1970-01-01, in the proleptic Gregorian
/// calendar (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
