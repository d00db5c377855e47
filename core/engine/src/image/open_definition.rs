//! The definition being compiled, as section 10 of the state image: a session moved to
//! another engine in the middle of `: name ...` goes on compiling it there.
//!
//! Layout: u8 0 when no definition is open; else 1, then the name (u8 0 for :NONAME, or
//! 1 and u64 length + bytes), the execution token it will have (u32), its position (u8 0
//! for none, or 1, the file as u64 length + bytes, line and column as u32), its IR so far
//! (u64 count + [`ir::encode_op`] each), the control-flow stack (u64 count, then per entry
//! a tag and its branch positions), and its locals (u64 count, then name and return stack
//! height each, then the current height).

use super::{put_bytes, put_u64};
use crate::definition::{Control, Definition, Scope};
use crate::error::SourceLocation;
use crate::ir::{self, DecodeError, Op, Reader};

/// Most instructions an open definition in an image may hold (a definition's limit).
const MAX_OPEN_OPS: usize = 1 << 20;

pub(super) fn put(out: &mut Vec<u8>, definition: Option<&Definition>) {
    let Some(definition) = definition else {
        out.push(0);
        return;
    };
    out.push(1);
    put_optional(out, definition.name.as_deref(), put_bytes);
    out.extend(definition.xt.to_le_bytes());
    put_optional(out, definition.position.as_ref(), |out, position| {
        put_bytes(out, position.file.as_bytes());
        out.extend(position.line.to_le_bytes());
        out.extend(position.column.to_le_bytes());
    });
    put_u64(out, definition.ir.len() as u64);
    definition.ir.iter().for_each(|&op| ir::encode_op(op, out));
    put_u64(out, definition.control.len() as u64);
    definition
        .control
        .iter()
        .for_each(|entry| put_control(out, entry));
    put_u64(out, definition.locals.names.len() as u64);
    for (name, height) in &definition.locals.names {
        put_bytes(out, name);
        put_u64(out, *height as u64);
    }
    put_u64(out, definition.locals.height as u64);
}

fn put_optional<T>(out: &mut Vec<u8>, value: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            put(out, value);
        }
    }
}

fn put_control(out: &mut Vec<u8>, entry: &Control) {
    let (tag, positions): (u8, Vec<usize>) = match entry {
        Control::Orig(at) => (0, vec![*at]),
        Control::Dest(at) => (1, vec![*at]),
        Control::Do { body, exits } => (2, [*body].into_iter().chain(exits.clone()).collect()),
        Control::Case { exits } => (3, exits.clone()),
        Control::Of(at) => (4, vec![*at]),
    };
    out.push(tag);
    put_u64(out, positions.len() as u64);
    positions.iter().for_each(|&at| put_u64(out, at as u64));
}

/// Reads section 10, refusing a definition this engine could not go on compiling: branch
/// targets and control-flow positions outside its IR, an instruction internal to the
/// executor, a control entry of the wrong shape.
pub(super) fn read(reader: &mut Reader) -> Result<Option<Definition>, DecodeError> {
    if !read_flag(reader)? {
        return Ok(None);
    }
    let name = read_flag(reader)?
        .then(|| reader.blob().map(<[u8]>::to_vec))
        .transpose()?;
    let xt = reader.u32()?;
    let position = read_flag(reader)?
        .then(|| read_position(reader))
        .transpose()?;
    let ir = read_ir(reader)?;
    let count = reader.count(9)?;
    let control = (0..count)
        .map(|_| read_control(reader, &ir))
        .collect::<Result<_, _>>()?;
    let count = reader.count(16)?;
    let names = (0..count)
        .map(|_| Ok((reader.blob()?.to_vec(), reader.u64()? as usize)))
        .collect::<Result<_, DecodeError>>()?;
    let height = reader.u64()? as usize;
    Ok(Some(Definition {
        name,
        xt,
        position,
        ir,
        control,
        locals: Scope { names, height },
    }))
}

fn read_flag(reader: &mut Reader) -> Result<bool, DecodeError> {
    match reader.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(refused(format!("flag byte {other}, expected 0 or 1"))),
    }
}

fn read_position(reader: &mut Reader) -> Result<SourceLocation, DecodeError> {
    let file = String::from_utf8_lossy(reader.blob()?).into_owned();
    Ok(SourceLocation {
        file,
        line: reader.u32()?,
        column: reader.u32()?,
    })
}

fn read_ir(reader: &mut Reader) -> Result<Vec<Op>, DecodeError> {
    let count = reader.count(1)?;
    if count > MAX_OPEN_OPS {
        return Err(refused(format!(
            "{count} instructions, more than a definition may hold"
        )));
    }
    let ir = (0..count)
        .map(|_| reader.op())
        .collect::<Result<Vec<_>, _>>()?;
    for (at, &op) in ir.iter().enumerate() {
        if matches!(op, Op::Halt | Op::CatchOk) {
            return Err(refused(format!(
                "{op:?} at {at} is internal to the executor"
            )));
        }
        if op.target().is_some_and(|target| target as usize > ir.len()) {
            return Err(refused(format!(
                "{op:?} at {at} branches past the definition"
            )));
        }
    }
    Ok(ir)
}

fn read_control(reader: &mut Reader, ir: &[Op]) -> Result<Control, DecodeError> {
    let tag = reader.u8()?;
    let count = reader.count(8)?;
    let positions = (0..count)
        .map(|_| Ok(reader.u64()? as usize))
        .collect::<Result<Vec<_>, DecodeError>>()?;
    // A branch waiting for its target is an instruction of the IR that has one; a place
    // branched back to is at most the end of the IR.
    let branch = |at: usize| ir.get(at).and_then(|op| op.target()).is_some();
    let entry = match (tag, positions.as_slice()) {
        (0, &[at]) if branch(at) => Control::Orig(at),
        (1, &[at]) if at <= ir.len() => Control::Dest(at),
        (2, [body, exits @ ..]) if *body <= ir.len() && exits.iter().all(|&at| branch(at)) => {
            Control::Do {
                body: *body,
                exits: exits.to_vec(),
            }
        }
        (3, exits) if exits.iter().all(|&at| branch(at)) => Control::Case {
            exits: exits.to_vec(),
        },
        (4, &[at]) if branch(at) => Control::Of(at),
        _ => return Err(refused(format!("control-flow entry {tag} {positions:?}"))),
    };
    Ok(entry)
}

fn refused(why: String) -> DecodeError {
    DecodeError(format!("open definition: {why}"))
}
