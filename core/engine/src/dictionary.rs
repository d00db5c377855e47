//! The dictionary: word headers (name, flags, kind, execution token) and the table of
//! built-in words with the instructions or host words that implement them.

use crate::ir::{Op, Sys};
use std::collections::HashMap;
use std::rc::Rc;

/// What a word is; decides how a reference to it is compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A built-in word: its code is the `len` instructions at its execution token, which
    /// are copied into definitions that use it.
    Primitive {
        len: u32,
    },
    /// A colon definition.
    Colon,
    /// A CREATEd word (possibly given a DOES> behaviour); `body` is its data field.
    Created {
        body: i64,
    },
    Variable {
        body: i64,
    },
    Constant {
        value: i64,
    },
    Value {
        body: i64,
    },
    Defer {
        body: i64,
    },
    /// A MARKER: the dictionary state to return to.
    Marker(Snapshot),
    /// A 2VALUE; `body` holds its two cells as 2! stores them.
    TwoValue {
        body: i64,
    },
}

/// The sizes that a MARKER restores, and the search order and compilation word list.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub words: usize,
    pub code: usize,
    pub here: usize,
    pub latest: Option<usize>,
    pub order: Vec<usize>,
    pub current: usize,
}

/// One word header.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Shared, so that copying a dictionary copies no names.
    pub name: Rc<[u8]>,
    /// The execution token: the address of the word's code.
    pub xt: u32,
    pub kind: Kind,
    pub immediate: bool,
    pub compile_only: bool,
}

impl Word {
    /// The cell TO, IS, ACTION-OF, DEFER@ and DEFER! work on: a VALUE's or a DEFER's (each
    /// of those words takes either, as gforth's do); `None` for any other word.
    pub fn value_cell(&self) -> Option<i64> {
        match self.kind {
            Kind::Value { body } | Kind::Defer { body } => Some(body),
            _ => None,
        }
    }

    pub fn body(&self) -> Option<i64> {
        match self.kind {
            Kind::Created { body }
            | Kind::Variable { body }
            | Kind::Value { body }
            | Kind::Defer { body } => Some(body),
            _ => None,
        }
    }
}

/// All word headers, newest last, with indexes from execution token and, per word list,
/// from name to header. Look-up by name is one hash probe per word list of the search
/// order however many words there are.
#[derive(Debug, Clone)]
pub struct Dictionary {
    pub words: Vec<Word>,
    by_xt: HashMap<u32, usize>,
    /// The word lists; a word list's id (wid) is its index plus one.
    lists: Vec<WordList>,
    /// For each word, its word list and its neighbours there.
    links: Vec<Link>,
    /// The search order, the list searched first first.
    order: Vec<usize>,
    /// The compilation word list: new words go there.
    current: usize,
}

/// One word list: the newest word of each name, names in upper case (look-up ignores
/// ASCII case), and the newest word of all.
#[derive(Debug, Clone, Default)]
struct WordList {
    by_name: HashMap<Rc<[u8]>, usize>,
    newest: Option<usize>,
}

/// Where a word stands in its word list.
#[derive(Debug, Clone, Copy)]
struct Link {
    list: usize,
    /// The older word of the same name that it shadows.
    shadowed: Option<usize>,
    /// The word defined before it in the same list.
    previous: Option<usize>,
}

/// The FORTH-WORDLIST: the built-in words and, unless the program changes the
/// compilation word list, its own.
pub const FORTH_WORDLIST: usize = 0;
/// The wid of FORTH-WORDLIST.
pub const FORTH_WID: i64 = FORTH_WORDLIST as i64 + 1;
/// The most word lists a session may create (WORDLIST throws -49 beyond).
pub const MAX_WORDLISTS: usize = 1 << 16;
/// The most word lists in the search order (-49 beyond).
pub const MAX_ORDER: usize = 64;
/// The most words a session may define (-8 beyond), the longest name (a counted string's;
/// -19 beyond), the most instructions of the code space and of one definition (-8 beyond;
/// inlining makes a definition at most [`crate::optimizer::INLINE_LIMIT`] times longer)
/// and the deepest control-flow stack (-52 beyond): together at most about 300 MiB, so
/// that no program exhausts the host's memory by compiling.
pub const MAX_WORDS: usize = 1 << 18;
pub const MAX_NAME_BYTES: usize = 255;
pub const MAX_CODE_OPS: usize = 1 << 22;
pub const MAX_DEFINITION_OPS: usize = 1 << 20;
pub const MAX_CONTROL_DEPTH: usize = 1 << 20;

impl Default for Dictionary {
    fn default() -> Dictionary {
        Dictionary {
            words: Vec::new(),
            by_xt: HashMap::new(),
            lists: vec![WordList::default()],
            links: Vec::new(),
            order: vec![FORTH_WORDLIST],
            current: FORTH_WORDLIST,
        }
    }
}

impl Dictionary {
    /// Makes room for `more` words without growing the indexes on the way.
    pub fn reserve(&mut self, more: usize) {
        self.words.reserve(more);
        self.by_xt.reserve(more);
        self.lists[FORTH_WORDLIST].by_name.reserve(more);
        self.links.reserve(more);
    }

    /// Adds a word to the compilation word list. A SYNONYM shares the execution token of
    /// an older word, which keeps it.
    pub fn add(&mut self, word: Word) -> usize {
        self.add_to(self.current, word)
    }

    fn add_to(&mut self, list: usize, word: Word) -> usize {
        let index = self.words.len();
        self.by_xt.entry(word.xt).or_insert(index);
        let key = if word.name.iter().any(u8::is_ascii_lowercase) {
            word.name.to_ascii_uppercase().into()
        } else {
            word.name.clone()
        };
        let list_entry = &mut self.lists[list];
        let shadowed = list_entry.by_name.insert(key, index);
        let previous = list_entry.newest.replace(index);
        self.links.push(Link {
            list,
            shadowed,
            previous,
        });
        self.words.push(word);
        index
    }

    /// The newest word with this name (case-insensitive) in the search order.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        with_upper_case(name, |key| {
            self.order
                .iter()
                .find_map(|&list| self.lists[list].by_name.get(key).copied())
        })
    }

    /// The newest word with this name in one word list.
    pub fn find_in(&self, list: usize, name: &[u8]) -> Option<usize> {
        with_upper_case(name, |key| self.lists.get(list)?.by_name.get(key).copied())
    }

    pub fn by_xt(&self, xt: i64) -> Option<usize> {
        u32::try_from(xt)
            .ok()
            .and_then(|xt| self.by_xt.get(&xt).copied())
    }

    /// The newest word of a word list.
    pub fn newest_in(&self, list: usize) -> Option<usize> {
        self.lists.get(list)?.newest
    }

    /// The word defined before `index` in its word list.
    pub fn older_in(&self, index: usize) -> Option<usize> {
        self.links.get(index)?.previous
    }

    /// Forgets every word from `len` on; the words they shadowed are found again.
    pub fn truncate(&mut self, len: usize) {
        while self.words.len() > len {
            let index = self.words.len() - 1;
            let (Some(word), Some(link)) = (self.words.pop(), self.links.pop()) else {
                break;
            };
            if self.by_xt.get(&word.xt) == Some(&index) {
                self.by_xt.remove(&word.xt);
            }
            let list = &mut self.lists[link.list];
            list.newest = link.previous;
            with_upper_case(&word.name, |key| match link.shadowed {
                Some(older) => list.by_name.get_mut(key).map(|newest| *newest = older),
                None => list.by_name.remove(key).map(drop),
            });
        }
    }

    /// Replaces every word (a state image being loaded) and rebuilds the indexes: each
    /// word goes to its word list in `lists`, of which there are `list_count`.
    pub fn replace(&mut self, words: Vec<Word>, lists: &[usize], list_count: usize) {
        *self = Dictionary::default();
        self.lists.resize_with(list_count.max(1), WordList::default);
        self.reserve(words.len());
        for (word, &list) in words.into_iter().zip(lists) {
            self.add_to(list, word);
        }
    }

    /// The word list of each word, oldest first.
    pub fn word_lists(&self) -> impl Iterator<Item = usize> + '_ {
        self.links.iter().map(|link| link.list)
    }

    pub fn wordlist_count(&self) -> usize {
        self.lists.len()
    }

    /// A new, empty word list; `None` beyond [`MAX_WORDLISTS`].
    pub fn new_wordlist(&mut self) -> Option<usize> {
        if self.lists.len() >= MAX_WORDLISTS {
            return None;
        }
        self.lists.push(WordList::default());
        Some(self.lists.len() - 1)
    }

    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Sets the search order; `None` when a list does not exist or there are more than
    /// [`MAX_ORDER`].
    pub fn set_order(&mut self, order: Vec<usize>) -> Option<()> {
        let valid = order.len() <= MAX_ORDER && order.iter().all(|&l| l < self.lists.len());
        valid.then(|| self.order = order)
    }

    pub fn current(&self) -> usize {
        self.current
    }

    /// Sets the compilation word list; `None` when it does not exist.
    pub fn set_current(&mut self, list: usize) -> Option<()> {
        (list < self.lists.len()).then(|| self.current = list)
    }
}

/// Calls `f` with `name` in ASCII upper case; a name of usual length is converted on the
/// stack, as each interpreted token is looked up.
fn with_upper_case<T>(name: &[u8], f: impl FnOnce(&[u8]) -> T) -> T {
    let mut short = [0; 64];
    match short.get_mut(..name.len()) {
        Some(upper) => {
            upper.copy_from_slice(name);
            upper.make_ascii_uppercase();
            f(upper)
        }
        None => f(&name.to_ascii_uppercase()),
    }
}

/// How a built-in word behaves.
#[derive(Debug, Clone, Copy)]
pub enum Builtin {
    /// Runs (and compiles to) these instructions.
    Ops(&'static [Op]),
    /// A word of the host side of the engine.
    System(Sys),
    /// A constant.
    Constant(i64),
    /// A variable of the system area at this offset.
    SystemVariable(usize),
}

pub const IMMEDIATE: u8 = 1;
pub const COMPILE_ONLY: u8 = 2;
const IC: u8 = IMMEDIATE | COMPILE_ONLY;

/// One entry of the built-in word table.
pub struct BuiltinWord {
    pub name: &'static str,
    pub behaviour: Builtin,
    pub flags: u8,
}

const fn op(name: &'static str, ops: &'static [Op]) -> BuiltinWord {
    BuiltinWord {
        name,
        behaviour: Builtin::Ops(ops),
        flags: 0,
    }
}

const fn compile_only(name: &'static str, ops: &'static [Op]) -> BuiltinWord {
    BuiltinWord {
        name,
        behaviour: Builtin::Ops(ops),
        flags: COMPILE_ONLY,
    }
}

const fn host(name: &'static str, word: Sys, flags: u8) -> BuiltinWord {
    BuiltinWord {
        name,
        behaviour: Builtin::System(word),
        flags,
    }
}

const fn constant(name: &'static str, value: i64) -> BuiltinWord {
    BuiltinWord {
        name,
        behaviour: Builtin::Constant(value),
        flags: 0,
    }
}

const fn variable(name: &'static str, offset: usize) -> BuiltinWord {
    BuiltinWord {
        name,
        behaviour: Builtin::SystemVariable(offset),
        flags: 0,
    }
}

use crate::memory::{BASE_OFFSET, STATE_OFFSET, TO_IN_OFFSET};

/// The bit that marks a function key event (the K-* constants); EKEY never returns it.
pub const FKEY_BIT: i64 = 1 << 40;

/// A built-in word that is one instruction, under the instruction's word in the table.
macro_rules! primitive {
    ($op:ident) => {
        op(word_of(Op::$op), &[Op::$op])
    };
    ($op:ident, compile_only) => {
        compile_only(word_of(Op::$op), &[Op::$op])
    };
}

/// The word of an instruction that has one (a compile-time error otherwise).
const fn word_of(op: Op) -> &'static str {
    match op.word() {
        Some(word) => word,
        None => panic!("the instruction has no word"),
    }
}

/// Every built-in word.
pub const BUILTINS: &[BuiltinWord] = &[
    primitive!(Dup),
    primitive!(Drop),
    primitive!(Swap),
    primitive!(Over),
    primitive!(Rot),
    primitive!(Nip),
    primitive!(Tuck),
    primitive!(QDup),
    primitive!(Pick),
    primitive!(Roll),
    primitive!(TwoDup),
    primitive!(TwoDrop),
    primitive!(TwoSwap),
    primitive!(TwoOver),
    primitive!(Depth),
    primitive!(ToR, compile_only),
    primitive!(RFrom, compile_only),
    primitive!(RFetch, compile_only),
    primitive!(TwoToR, compile_only),
    primitive!(TwoRFrom, compile_only),
    primitive!(TwoRFetch, compile_only),
    primitive!(I, compile_only),
    primitive!(J, compile_only),
    primitive!(Unloop, compile_only),
    primitive!(Add),
    primitive!(Sub),
    primitive!(Mul),
    primitive!(Div),
    primitive!(Mod),
    primitive!(DivMod),
    primitive!(StarSlash),
    primitive!(StarSlashMod),
    primitive!(Negate),
    primitive!(Abs),
    primitive!(Min),
    primitive!(Max),
    primitive!(OnePlus),
    primitive!(OneMinus),
    primitive!(TwoStar),
    primitive!(TwoSlash),
    primitive!(LShift),
    primitive!(RShift),
    primitive!(And),
    primitive!(Or),
    primitive!(Xor),
    primitive!(Invert),
    primitive!(Eq),
    primitive!(Ne),
    primitive!(Lt),
    primitive!(Gt),
    primitive!(ULt),
    primitive!(UGt),
    primitive!(ZeroEq),
    primitive!(ZeroNe),
    primitive!(ZeroLt),
    primitive!(ZeroGt),
    primitive!(Within),
    primitive!(SToD),
    primitive!(MStar),
    primitive!(UMStar),
    primitive!(UMSlashMod),
    primitive!(FMSlashMod),
    primitive!(SMSlashRem),
    primitive!(Fetch),
    primitive!(Store),
    primitive!(CFetch),
    primitive!(CStore),
    primitive!(PlusStore),
    primitive!(TwoFetch),
    primitive!(TwoStore),
    primitive!(CellPlus),
    primitive!(Cells),
    op("CHAR+", &[Op::OnePlus]),
    op("CHARS", &[]),
    primitive!(Aligned),
    primitive!(Count),
    primitive!(Fill),
    primitive!(Move),
    op("ERASE", &[Op::Lit(0), Op::Fill]),
    primitive!(Execute),
    constant("BL", 32),
    constant("TRUE", -1),
    constant("FALSE", 0),
    variable("BASE", BASE_OFFSET),
    variable("STATE", STATE_OFFSET),
    variable(">IN", TO_IN_OFFSET),
    host("EMIT", Sys::Emit, 0),
    host("TYPE", Sys::Type, 0),
    host("CR", Sys::Cr, 0),
    host("SPACE", Sys::Space, 0),
    host("SPACES", Sys::Spaces, 0),
    host(".", Sys::Dot, 0),
    host("U.", Sys::UDot, 0),
    host(".R", Sys::DotR, 0),
    host("U.R", Sys::UDotR, 0),
    host(".S", Sys::DotS, 0),
    host("KEY", Sys::Key, 0),
    host("ACCEPT", Sys::Accept, 0),
    host("REFILL", Sys::Refill, 0),
    host("SOURCE", Sys::Source, 0),
    host("SOURCE-ID", Sys::SourceId, 0),
    host("SAVE-INPUT", Sys::SaveInput, 0),
    host("RESTORE-INPUT", Sys::RestoreInput, 0),
    host("WORD", Sys::Word, 0),
    host("PARSE", Sys::Parse, 0),
    host("PARSE-NAME", Sys::ParseName, 0),
    host("CHAR", Sys::Char, 0),
    host("[CHAR]", Sys::BracketChar, IC),
    host("'", Sys::Tick, 0),
    host("[']", Sys::BracketTick, IC),
    host("(", Sys::Paren, IMMEDIATE),
    host("\\", Sys::Backslash, IMMEDIATE),
    host(".(", Sys::DotParen, IMMEDIATE),
    host("S\"", Sys::SQuote, IMMEDIATE),
    host("S\\\"", Sys::SBackslashQuote, IMMEDIATE),
    host("C\"", Sys::CQuote, IC),
    host(".\"", Sys::DotQuote, IMMEDIATE),
    host("ABORT\"", Sys::AbortQuote, IC),
    host("EVALUATE", Sys::Evaluate, 0),
    host("FIND", Sys::Find, 0),
    host("INCLUDED", Sys::Included, 0),
    host("INCLUDE", Sys::Include, 0),
    host("CATCH", Sys::Catch, 0),
    host("THROW", Sys::Throw, 0),
    host("ABORT", Sys::Abort, 0),
    host("QUIT", Sys::Quit, 0),
    host("BYE", Sys::Bye, 0),
    host(">NUMBER", Sys::ToNumber, 0),
    host("ENVIRONMENT?", Sys::Environment, 0),
    host("<#", Sys::LessNumber, 0),
    host("#", Sys::NumberSign, 0),
    host("#S", Sys::NumberSignS, 0),
    host("#>", Sys::NumberGreater, 0),
    host("HOLD", Sys::Hold, 0),
    host("HOLDS", Sys::Holds, 0),
    host("SIGN", Sys::Sign, 0),
    host(":", Sys::Colon, 0),
    host(";", Sys::Semicolon, IC),
    host(":NONAME", Sys::NoName, 0),
    host("CREATE", Sys::Create, 0),
    host("DOES>", Sys::DoesCompile, IC),
    host("VARIABLE", Sys::Variable, 0),
    host("CONSTANT", Sys::Constant, 0),
    host("VALUE", Sys::Value, 0),
    host("TO", Sys::To, IMMEDIATE),
    host("DEFER", Sys::Defer, 0),
    host("IS", Sys::Is, IMMEDIATE),
    host("ACTION-OF", Sys::ActionOf, IMMEDIATE),
    host("DEFER@", Sys::DeferFetch, 0),
    host("DEFER!", Sys::DeferStore, 0),
    host("BUFFER:", Sys::BufferColon, 0),
    host("MARKER", Sys::Marker, 0),
    host("IMMEDIATE", Sys::Immediate, 0),
    host("LITERAL", Sys::Literal, IC),
    host("POSTPONE", Sys::Postpone, IC),
    host("COMPILE,", Sys::CompileComma, 0),
    host("[COMPILE]", Sys::BracketCompile, IC),
    host("[", Sys::LeftBracket, IC),
    host("]", Sys::RightBracket, 0),
    host("RECURSE", Sys::Recurse, IC),
    host("IF", Sys::If, IC),
    host("ELSE", Sys::Else, IC),
    host("THEN", Sys::Then, IC),
    host("BEGIN", Sys::Begin, IC),
    host("WHILE", Sys::While, IC),
    host("REPEAT", Sys::Repeat, IC),
    host("UNTIL", Sys::Until, IC),
    host("AGAIN", Sys::Again, IC),
    host("DO", Sys::Do, IC),
    host("?DO", Sys::QDo, IC),
    host("LOOP", Sys::Loop, IC),
    host("+LOOP", Sys::PlusLoop, IC),
    host("LEAVE", Sys::Leave, IC),
    host("CASE", Sys::Case, IC),
    host("OF", Sys::Of, IC),
    host("ENDOF", Sys::Endof, IC),
    host("ENDCASE", Sys::Endcase, IC),
    host("EXIT", Sys::Exit, IC),
    host("HERE", Sys::Here, 0),
    host("ALLOT", Sys::Allot, 0),
    host(",", Sys::Comma, 0),
    host("C,", Sys::CComma, 0),
    host("ALIGN", Sys::Align, 0),
    host("UNUSED", Sys::Unused, 0),
    host("PAD", Sys::Pad, 0),
    host("DECIMAL", Sys::Decimal, 0),
    host("HEX", Sys::Hex, 0),
    host(">BODY", Sys::ToBody, 0),
    host("WORDS", Sys::Words, 0),
    // Programming-tools (tools.rs)
    host("?", Sys::Question, 0),
    host("DUMP", Sys::Dump, 0),
    host("SEE", Sys::See, 0),
    host("[IF]", Sys::BracketIf, IMMEDIATE),
    host("[ELSE]", Sys::BracketElse, IMMEDIATE),
    host("[THEN]", Sys::BracketThen, IMMEDIATE),
    host("[DEFINED]", Sys::BracketDefined, IMMEDIATE),
    host("[UNDEFINED]", Sys::BracketUndefined, IMMEDIATE),
    host("AHEAD", Sys::Ahead, IC),
    host("CS-PICK", Sys::CsPick, 0),
    host("CS-ROLL", Sys::CsRoll, 0),
    host("N>R", Sys::NToR, COMPILE_ONLY),
    host("NR>", Sys::NRFrom, COMPILE_ONLY),
    host("SYNONYM", Sys::Synonym, 0),
    host("TRAVERSE-WORDLIST", Sys::TraverseWordlist, 0),
    host("NAME>STRING", Sys::NameToString, 0),
    host("NAME>INTERPRET", Sys::NameToInterpret, 0),
    host("NAME>COMPILE", Sys::NameToCompile, 0),
    // String (strings.rs)
    host("-TRAILING", Sys::DashTrailing, 0),
    op("/STRING", &[Op::Tuck, Op::Sub, Op::ToR, Op::Add, Op::RFrom]),
    op("BLANK", &[Op::Lit(32), Op::Fill]),
    host("CMOVE", Sys::CMove, 0),
    host("CMOVE>", Sys::CMoveUp, 0),
    host("COMPARE", Sys::Compare, 0),
    host("SEARCH", Sys::Search, 0),
    host("SLITERAL", Sys::SLiteral, IC),
    host("REPLACES", Sys::Replaces, 0),
    host("SUBSTITUTE", Sys::Substitute, 0),
    host("UNESCAPE", Sys::Unescape, 0),
    // Double-number (double.rs)
    host("2CONSTANT", Sys::TwoConstant, 0),
    host("2LITERAL", Sys::TwoLiteral, IC),
    host("2VARIABLE", Sys::TwoVariable, 0),
    host("2VALUE", Sys::TwoValue, 0),
    host("D+", Sys::DPlus, 0),
    host("D-", Sys::DMinus, 0),
    host("D.", Sys::DDot, 0),
    host("D.R", Sys::DDotR, 0),
    op("D0<", &[Op::Nip, Op::ZeroLt]),
    op("D0=", &[Op::Or, Op::ZeroEq]),
    host("D2*", Sys::DTwoStar, 0),
    host("D2/", Sys::DTwoSlash, 0),
    host("D<", Sys::DLess, 0),
    host("D=", Sys::DEqual, 0),
    op("D>S", &[Op::Drop]),
    host("DABS", Sys::DAbs, 0),
    host("DMAX", Sys::DMax, 0),
    host("DMIN", Sys::DMin, 0),
    host("DNEGATE", Sys::DNegate, 0),
    host("M*/", Sys::MStarSlash, 0),
    host("M+", Sys::MPlus, 0),
    host("2ROT", Sys::TwoRot, 0),
    host("DU<", Sys::DULess, 0),
    // Facility (facility.rs)
    host("AT-XY", Sys::AtXy, 0),
    host("KEY?", Sys::KeyQuestion, 0),
    host("PAGE", Sys::Page, 0),
    host("+FIELD", Sys::PlusField, 0),
    host("BEGIN-STRUCTURE", Sys::BeginStructure, 0),
    host("END-STRUCTURE", Sys::EndStructure, 0),
    host("FIELD:", Sys::FieldColon, 0),
    host("CFIELD:", Sys::CFieldColon, 0),
    host("EKEY", Sys::Ekey, 0),
    host("EKEY>CHAR", Sys::EkeyToChar, 0),
    host("EKEY>FKEY", Sys::EkeyToFkey, 0),
    host("EKEY?", Sys::KeyQuestion, 0),
    constant("EMIT?", -1),
    host("MS", Sys::Ms, 0),
    host("TIME&DATE", Sys::TimeAndDate, 0),
    constant("K-LEFT", FKEY_BIT),
    constant("K-RIGHT", FKEY_BIT + 1),
    constant("K-UP", FKEY_BIT + 2),
    constant("K-DOWN", FKEY_BIT + 3),
    constant("K-HOME", FKEY_BIT + 4),
    constant("K-END", FKEY_BIT + 5),
    constant("K-PRIOR", FKEY_BIT + 6),
    constant("K-NEXT", FKEY_BIT + 7),
    constant("K-INSERT", FKEY_BIT + 8),
    constant("K-DELETE", FKEY_BIT + 9),
    constant("K-F1", FKEY_BIT + 10),
    constant("K-F2", FKEY_BIT + 11),
    constant("K-F3", FKEY_BIT + 12),
    constant("K-F4", FKEY_BIT + 13),
    constant("K-F5", FKEY_BIT + 14),
    constant("K-F6", FKEY_BIT + 15),
    constant("K-F7", FKEY_BIT + 16),
    constant("K-F8", FKEY_BIT + 17),
    constant("K-F9", FKEY_BIT + 18),
    constant("K-F10", FKEY_BIT + 19),
    constant("K-F11", FKEY_BIT + 20),
    constant("K-F12", FKEY_BIT + 21),
    constant("K-SHIFT-MASK", FKEY_BIT << 1),
    constant("K-CTRL-MASK", FKEY_BIT << 2),
    constant("K-ALT-MASK", FKEY_BIT << 3),
    // Search-order (search.rs)
    constant("FORTH-WORDLIST", FORTH_WID),
    host("GET-CURRENT", Sys::GetCurrent, 0),
    host("GET-ORDER", Sys::GetOrder, 0),
    host("SEARCH-WORDLIST", Sys::SearchWordlist, 0),
    host("SET-CURRENT", Sys::SetCurrent, 0),
    host("SET-ORDER", Sys::SetOrder, 0),
    host("WORDLIST", Sys::Wordlist, 0),
    host("ALSO", Sys::Also, 0),
    host("FORTH", Sys::ForthOrder, 0),
    host("ONLY", Sys::Only, 0),
    host("ORDER", Sys::Order, 0),
    host("PREVIOUS", Sys::Previous, 0),
    host("DEFINITIONS", Sys::Definitions, 0),
    host("ALLOCATE", Sys::Allocate, 0),
    host("FREE", Sys::Free, 0),
    host("RESIZE", Sys::Resize, 0),
    constant("R/O", 0),
    constant("W/O", 1),
    constant("R/W", 2),
    op("BIN", &[Op::Lit(4), Op::Or]),
    host("CLOSE-FILE", Sys::CloseFile, 0),
    host("CREATE-FILE", Sys::CreateFile, 0),
    host("DELETE-FILE", Sys::DeleteFile, 0),
    host("FILE-POSITION", Sys::FilePosition, 0),
    host("FILE-SIZE", Sys::FileSize, 0),
    host("FILE-STATUS", Sys::FileStatus, 0),
    host("FLUSH-FILE", Sys::FlushFile, 0),
    host("INCLUDE-FILE", Sys::IncludeFile, 0),
    host("OPEN-FILE", Sys::OpenFile, 0),
    host("READ-FILE", Sys::ReadFile, 0),
    host("READ-LINE", Sys::ReadLine, 0),
    host("RENAME-FILE", Sys::RenameFile, 0),
    host("REPOSITION-FILE", Sys::RepositionFile, 0),
    host("REQUIRE", Sys::Require, 0),
    host("REQUIRED", Sys::Required, 0),
    host("RESIZE-FILE", Sys::ResizeFile, 0),
    host("WRITE-FILE", Sys::WriteFile, 0),
    host("WRITE-LINE", Sys::WriteLine, 0),
    host("(LOCAL)", Sys::ParenLocal, COMPILE_ONLY),
    host("{:", Sys::BraceColon, IC),
    host("BLOCK", Sys::Block, 0),
    host("BUFFER", Sys::Buffer, 0),
    host("UPDATE", Sys::Update, 0),
    host("SAVE-BUFFERS", Sys::SaveBuffers, 0),
    host("FLUSH", Sys::Flush, 0),
    host("EMPTY-BUFFERS", Sys::EmptyBuffers, 0),
    host("LOAD", Sys::Load, 0),
    host("LIST", Sys::List, 0),
    host("THRU", Sys::Thru, 0),
    variable("BLK", crate::memory::BLK_OFFSET),
    variable("SCR", crate::memory::SCR_OFFSET),
    host(">FLOAT", Sys::ToFloat, 0),
    host("D>F", Sys::DToF, 0),
    host("F!", Sys::FStore, 0),
    host("F*", Sys::FStar, 0),
    host("F+", Sys::FPlus, 0),
    host("F-", Sys::FMinus, 0),
    host("F/", Sys::FSlash, 0),
    host("F0<", Sys::FZeroLess, 0),
    host("F0=", Sys::FZeroEquals, 0),
    host("F<", Sys::FLess, 0),
    host("F>D", Sys::FToD, 0),
    host("F@", Sys::FFetch, 0),
    host("FALIGN", Sys::Align, 0),
    host("FCONSTANT", Sys::FConstant, 0),
    host("FDEPTH", Sys::FDepth, 0),
    host("FDROP", Sys::FDrop, 0),
    host("FDUP", Sys::FDup, 0),
    host("FLOOR", Sys::Floor, 0),
    host("FMAX", Sys::FMax, 0),
    host("FMIN", Sys::FMin, 0),
    host("FNEGATE", Sys::FNegate, 0),
    host("FOVER", Sys::FOver, 0),
    host("FROT", Sys::FRot, 0),
    host("FROUND", Sys::FRound, 0),
    host("FSWAP", Sys::FSwap, 0),
    host("FVARIABLE", Sys::Variable, 0),
    host("REPRESENT", Sys::Represent, 0),
    host("DF!", Sys::FStore, 0),
    host("DF@", Sys::FFetch, 0),
    host("DFALIGN", Sys::Align, 0),
    host("DFFIELD:", Sys::FField, 0),
    host("F**", Sys::FStarStar, 0),
    host("F.", Sys::FDot, 0),
    host("F>S", Sys::FToS, 0),
    host("FABS", Sys::FAbs, 0),
    host("FACOS", Sys::FAcos, 0),
    host("FACOSH", Sys::FAcosh, 0),
    host("FALOG", Sys::FAlog, 0),
    host("FASIN", Sys::FAsin, 0),
    host("FASINH", Sys::FAsinh, 0),
    host("FATAN", Sys::FAtan, 0),
    host("FATAN2", Sys::FAtan2, 0),
    host("FATANH", Sys::FAtanh, 0),
    host("FCOS", Sys::FCos, 0),
    host("FCOSH", Sys::FCosh, 0),
    host("FE.", Sys::FEDot, 0),
    host("FEXP", Sys::FExp, 0),
    host("FEXPM1", Sys::FExpm1, 0),
    host("FFIELD:", Sys::FField, 0),
    host("FLN", Sys::FLn, 0),
    host("FLNP1", Sys::FLnp1, 0),
    host("FLOG", Sys::FLog, 0),
    host("FS.", Sys::FSDot, 0),
    host("FSIN", Sys::FSin, 0),
    host("FSINCOS", Sys::FSinCos, 0),
    host("FSINH", Sys::FSinh, 0),
    host("FSQRT", Sys::FSqrt, 0),
    host("FTAN", Sys::FTan, 0),
    host("FTANH", Sys::FTanh, 0),
    host("FTRUNC", Sys::FTrunc, 0),
    host("FVALUE", Sys::FValue, 0),
    host("F~", Sys::FProximate, 0),
    host("PRECISION", Sys::Precision, 0),
    host("S>F", Sys::SToF, 0),
    host("SET-PRECISION", Sys::SetPrecision, 0),
    host("SF!", Sys::SFStore, 0),
    host("SF@", Sys::SFFetch, 0),
    host("SFALIGN", Sys::SFAlign, 0),
    host("SFFIELD:", Sys::SFField, 0),
    host("FLITERAL", Sys::FLiteral, IC),
    op("FALIGNED", &[Op::Aligned]),
    op("FLOAT+", &[Op::CellPlus]),
    op("FLOATS", &[Op::Cells]),
    op("DFALIGNED", &[Op::Aligned]),
    op("DFLOAT+", &[Op::CellPlus]),
    op("DFLOATS", &[Op::Cells]),
    op("SFALIGNED", &[Op::LitAdd(3), Op::LitAnd(-4)]),
    op("SFLOAT+", &[Op::LitAdd(4)]),
    op("SFLOATS", &[Op::LitMul(4)]),
];

/// How many built-in words there are.
pub const BUILTIN_COUNT: usize = BUILTINS.len();

/// [`BUILTINS`] as the engine keeps it: packed at compile time into one string of names,
/// one array of instructions and one array of plain entries. A table of `&'static str`
/// and `&'static [Op]` costs a pointer and a load-time relocation per name and per
/// instruction list (about 30 KB of the engine plugin); these need one each.
struct Packed {
    name_start: u16,
    /// The instructions' start in [`BUILTIN_OPS`], the system word's index, or the value's
    /// index in [`BUILTIN_VALUES`].
    start: u16,
    name_len: u8,
    ops_len: u8,
    kind: u8,
    flags: u8,
}

const KIND_OPS: u8 = 0;
const KIND_SYSTEM: u8 = 1;
const KIND_CONSTANT: u8 = 2;
const KIND_VARIABLE: u8 = 3;

/// The length of every built-in name together.
const NAME_BYTES: usize = {
    let mut total = 0;
    let mut i = 0;
    while i < BUILTINS.len() {
        total += BUILTINS[i].name.len();
        i += 1;
    }
    total
};

/// The number of instructions of every built-in word together.
const OP_COUNT: usize = {
    let mut total = 0;
    let mut i = 0;
    while i < BUILTINS.len() {
        if let Builtin::Ops(ops) = BUILTINS[i].behaviour {
            total += ops.len();
        }
        i += 1;
    }
    total
};

/// The number of constants and system variables among the built-in words.
const VALUE_COUNT: usize = {
    let mut total = 0;
    let mut i = 0;
    while i < BUILTINS.len() {
        if let Builtin::Constant(_) | Builtin::SystemVariable(_) = BUILTINS[i].behaviour {
            total += 1;
        }
        i += 1;
    }
    total
};

/// The positions fit the packed entry's fields.
const _: () = assert!(NAME_BYTES <= u16::MAX as usize);
const _: () = assert!(OP_COUNT <= u16::MAX as usize);

/// Every built-in name, in table order.
const NAME_ARRAY: [u8; NAME_BYTES] = {
    let mut names = [0; NAME_BYTES];
    let mut at = 0;
    let mut i = 0;
    while i < BUILTINS.len() {
        let name = BUILTINS[i].name.as_bytes();
        let mut j = 0;
        while j < name.len() {
            names[at] = name[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    names
};

static BUILTIN_NAMES: [u8; NAME_BYTES] = NAME_ARRAY;

/// Every built-in word's instructions, in table order.
static BUILTIN_OPS: [Op; OP_COUNT] = {
    let mut all = [Op::Halt; OP_COUNT];
    let mut at = 0;
    let mut i = 0;
    while i < BUILTINS.len() {
        if let Builtin::Ops(ops) = BUILTINS[i].behaviour {
            let mut j = 0;
            while j < ops.len() {
                all[at] = ops[j];
                at += 1;
                j += 1;
            }
        }
        i += 1;
    }
    all
};

/// The values of the built-in constants and the offsets of the system variables, in table
/// order.
static BUILTIN_VALUES: [i64; VALUE_COUNT] = {
    let mut values = [0; VALUE_COUNT];
    let mut at = 0;
    let mut i = 0;
    while i < BUILTINS.len() {
        match BUILTINS[i].behaviour {
            Builtin::Constant(value) => {
                values[at] = value;
                at += 1;
            }
            Builtin::SystemVariable(offset) => {
                values[at] = offset as i64;
                at += 1;
            }
            _ => {}
        }
        i += 1;
    }
    values
};

static PACKED: [Packed; BUILTIN_COUNT] = {
    let mut packed = [const {
        Packed {
            name_start: 0,
            start: 0,
            name_len: 0,
            ops_len: 0,
            kind: 0,
            flags: 0,
        }
    }; BUILTIN_COUNT];
    let (mut name_at, mut op_at, mut value_at) = (0, 0, 0);
    let mut i = 0;
    while i < BUILTINS.len() {
        let word = &BUILTINS[i];
        assert!(
            word.name.len() <= u8::MAX as usize,
            "a built-in name is too long"
        );
        let entry = &mut packed[i];
        entry.name_start = name_at as u16;
        entry.name_len = word.name.len() as u8;
        entry.flags = word.flags;
        name_at += word.name.len();
        match word.behaviour {
            Builtin::Ops(ops) => {
                assert!(ops.len() <= u8::MAX as usize, "a built-in word is too long");
                entry.kind = KIND_OPS;
                entry.start = op_at as u16;
                entry.ops_len = ops.len() as u8;
                op_at += ops.len();
            }
            Builtin::System(sys) => {
                entry.kind = KIND_SYSTEM;
                entry.start = sys.index();
            }
            Builtin::Constant(_) => {
                entry.kind = KIND_CONSTANT;
                entry.start = value_at as u16;
                value_at += 1;
            }
            Builtin::SystemVariable(_) => {
                entry.kind = KIND_VARIABLE;
                entry.start = value_at as u16;
                value_at += 1;
            }
        }
        i += 1;
    }
    packed
};

/// Every built-in word, in table order, as [`BUILTINS`] lists it.
pub fn builtins() -> impl Iterator<Item = BuiltinWord> {
    PACKED.iter().map(unpack)
}

fn unpack(entry: &'static Packed) -> BuiltinWord {
    let start = usize::from(entry.start);
    let names = &BUILTIN_NAMES[usize::from(entry.name_start)..];
    let name = names.get(..usize::from(entry.name_len)).unwrap_or_default();
    let behaviour = match entry.kind {
        KIND_OPS => Builtin::Ops(
            BUILTIN_OPS
                .get(start..start + usize::from(entry.ops_len))
                .unwrap_or_default(),
        ),
        KIND_SYSTEM => Builtin::System(Sys::ALL.get(start).copied().unwrap_or(Sys::Abort)),
        KIND_CONSTANT => Builtin::Constant(BUILTIN_VALUES.get(start).copied().unwrap_or(0)),
        _ => Builtin::SystemVariable(
            BUILTIN_VALUES
                .get(start)
                .map_or(0, |&offset| offset as usize),
        ),
    };
    BuiltinWord {
        // Built-in names are ASCII (checked by a test), so this never falls back.
        name: std::str::from_utf8(name).unwrap_or_default(),
        behaviour,
        flags: entry.flags,
    }
}

/// The name of the word an instruction implements (fused instructions are named after
/// their main operation), for error messages and SEE: the instruction table's word, or for
/// a system word its name in the dictionary.
pub fn op_name(op: Op) -> Option<&'static str> {
    let Op::Sys(word) = op else {
        return op.word();
    };
    let internal = match word {
        Sys::AbortIf => Some("ABORT\""),
        Sys::RunMarker => Some("MARKER"),
        Sys::LocalFetch | Sys::LocalStore | Sys::LocalsDrop => Some("{:"),
        Sys::FloatFromBits => Some("a float literal"),
        _ => None,
    };
    internal.or_else(|| {
        builtins().find_map(|builtin| match builtin.behaviour {
            Builtin::System(found) if found == word => Some(builtin.name),
            _ => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(name: &str, xt: u32) -> Word {
        Word {
            name: name.as_bytes().into(),
            xt,
            kind: Kind::Colon,
            immediate: false,
            compile_only: false,
        }
    }

    #[test]
    fn the_packed_table_is_the_table() {
        assert_eq!(builtins().count(), BUILTINS.len());
        for (packed, word) in builtins().zip(BUILTINS) {
            assert!(word.name.is_ascii(), "{}", word.name);
            assert_eq!(packed.name, word.name);
            assert_eq!(packed.flags, word.flags, "{}", word.name);
            let same = match (packed.behaviour, word.behaviour) {
                (Builtin::Ops(a), Builtin::Ops(b)) => a == b,
                (Builtin::System(a), Builtin::System(b)) => a == b,
                (Builtin::Constant(a), Builtin::Constant(b)) => a == b,
                (Builtin::SystemVariable(a), Builtin::SystemVariable(b)) => a == b,
                _ => false,
            };
            assert!(same, "{}", word.name);
        }
    }

    #[test]
    fn names_of_any_length_are_found_in_any_case() {
        let mut dictionary = Dictionary::default();
        let short = "x".repeat(64);
        let long = "Long".repeat(17);
        dictionary.add(word(&short, 10));
        dictionary.add(word(&long, 20));
        assert_eq!(dictionary.find(short.to_uppercase().as_bytes()), Some(0));
        assert_eq!(dictionary.find(long.to_lowercase().as_bytes()), Some(1));
        assert_eq!(dictionary.find(&long.as_bytes()[1..]), None);
        assert_eq!(dictionary.find(b""), None);
    }

    #[test]
    fn truncating_finds_the_shadowed_words_again() {
        let mut dictionary = Dictionary::default();
        dictionary.add(word("dup", 10));
        dictionary.add(word("DUP", 20));
        dictionary.add(word("new", 30));
        assert_eq!(dictionary.find(b"Dup"), Some(1));
        dictionary.truncate(1);
        assert_eq!(dictionary.find(b"dup"), Some(0));
        assert_eq!(dictionary.find(b"NEW"), None);
        assert_eq!(dictionary.by_xt(20), None);
        assert_eq!(dictionary.by_xt(10), Some(0));
    }
}
