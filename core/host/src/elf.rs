//! The ELF structure the dynamic loader trusts, checked while the file is still bytes:
//! `ld.so` follows offsets and addresses from the program headers and the dynamic section
//! without bounds checks, so a corrupt one crashes (or trips an assertion in) `dlopen`
//! itself. Every table it reads must lie in the file and every address it writes or calls
//! must lie in the image: program headers, `PT_LOAD` segments (in order, not overlapping,
//! sane alignment), the dynamic section (at most 1024 needed libraries, each name and
//! search path at most `PATH_MAX` long), string and symbol tables, hash tables, relocation
//! tables (each target in the image, each symbol in the table), init/fini arrays and
//! symbol-version tables. Errors name the table and its bounds against the file's size.
//! What no check on bytes can see (a corrupt instruction) is the probe's business.

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, Rel, Rela, SectionHeader, Sym};
use object::{Endian, Endianness};

/// Checks `data` (an ELF shared library) as described in the module documentation;
/// `Err` says what is wrong.
pub fn check(data: &[u8]) -> Result<(), String> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf64) => check_file::<elf::FileHeader64<Endianness>>(data),
        Ok(object::FileKind::Elf32) => check_file::<elf::FileHeader32<Endianness>>(data),
        _ => Ok(()),
    }
}

/// Packed relative relocations (not named by `object` 0.37).
const DT_RELR: u32 = 36;
const DT_RELRSZ: u32 = 35;

/// The tags whose values are addresses of tables `ld.so` reads.
const TABLE_TAGS: [u32; 13] = [
    elf::DT_STRTAB,
    elf::DT_SYMTAB,
    elf::DT_HASH,
    elf::DT_GNU_HASH,
    elf::DT_VERSYM,
    elf::DT_VERNEED,
    elf::DT_VERDEF,
    elf::DT_RELA,
    elf::DT_REL,
    elf::DT_JMPREL,
    DT_RELR,
    elf::DT_INIT_ARRAY,
    elf::DT_FINI_ARRAY,
];

/// The largest span of address space a plugin's segments may cover.
const MAX_IMAGE_SPAN: u64 = 1 << 30;

/// A `PT_LOAD` segment.
#[derive(Clone, Copy, Debug)]
struct Load {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    executable: bool,
}

/// The parsed facts the later checks need.
struct Image<'data, Elf: FileHeader> {
    data: &'data [u8],
    endian: Elf::Endian,
    loads: Vec<Load>,
}

impl<'data, Elf: FileHeader<Endian = Endianness>> Image<'data, Elf> {
    /// The header, the program headers and the checked `PT_LOAD` segments of `data`.
    fn parse(data: &'data [u8]) -> Result<(Self, &'data [Elf::ProgramHeader]), String> {
        let header = Elf::parse(data).map_err(|e| format!("ELF header: {e}"))?;
        let endian = header.endian().map_err(|e| format!("ELF header: {e}"))?;
        let headers = program_headers(header, endian, data)?;
        let loads = check_loads::<Elf>(headers, endian, data.len() as u64)?;
        let image = Image {
            data,
            endian,
            loads,
        };
        Ok((image, headers))
    }
}

fn check_file<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<(), String> {
    let (image, headers) = Image::<Elf>::parse(data)?;
    for (index, segment) in headers.iter().enumerate() {
        image.check_segment(index, segment)?;
    }
    let dynamic = image.dynamic_section(headers)?;
    image.check_dynamic(&dynamic)
}

/// The `DT_NEEDED` names of `data` (an ELF shared library that passed [`check`]), in order;
/// empty for any other format.
pub fn needed_libraries(data: &[u8]) -> Result<Vec<String>, String> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf64) => needed_in::<elf::FileHeader64<Endianness>>(data),
        Ok(object::FileKind::Elf32) => needed_in::<elf::FileHeader32<Endianness>>(data),
        _ => Ok(Vec::new()),
    }
}

fn needed_in<Elf: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<Vec<String>, String> {
    let (image, headers) = Image::<Elf>::parse(data)?;
    let dynamic = image.dynamic_section(headers)?;
    let strings = image.string_table(&dynamic)?;
    needed_count(&dynamic)?;
    dynamic
        .all(elf::DT_NEEDED)
        .map(|offset| {
            name_at(strings, offset, "DT_NEEDED")
                .map(|name| String::from_utf8_lossy(name).into_owned())
        })
        .collect()
}

/// The most `DT_NEEDED` entries a plugin may have (a Rust plugin has three or four).
const MAX_NEEDED: usize = 1024;

/// The longest library name, search path (`PATH_MAX`) or version name.
const MAX_NAME_BYTES: usize = 4096;

/// Refuses more than [`MAX_NEEDED`] `DT_NEEDED` entries: each names a file the loader would
/// look for, and each name is read and compared.
fn needed_count(dynamic: &Dynamic) -> Result<(), String> {
    let count = dynamic.all(elf::DT_NEEDED).count();
    if count > MAX_NEEDED {
        return Err(format!(
            "{count} DT_NEEDED entries, expected at most {MAX_NEEDED}"
        ));
    }
    Ok(())
}

fn program_headers<'data, Elf: FileHeader>(
    header: &Elf,
    endian: Elf::Endian,
    data: &'data [u8],
) -> Result<&'data [Elf::ProgramHeader], String> {
    let entsize = usize::from(header.e_phentsize(endian));
    if header.e_phnum(endian) == 0 || entsize != size_of::<Elf::ProgramHeader>() {
        return Err(format!(
            "program headers: {} entries of {entsize} bytes, expected at least 1 of {}",
            header.e_phnum(endian),
            size_of::<Elf::ProgramHeader>()
        ));
    }
    header.program_headers(endian, data).map_err(|_| {
        format!(
            "program headers at {:#x} + {} x {entsize} exceed file size {:#x}",
            header.e_phoff(endian).into(),
            header.e_phnum(endian),
            data.len()
        )
    })
}

/// The `PT_LOAD` segments, checked: within the file, in order, not overlapping, aligned.
fn check_loads<Elf: FileHeader>(
    headers: &[Elf::ProgramHeader],
    endian: Elf::Endian,
    file_size: u64,
) -> Result<Vec<Load>, String> {
    let mut loads: Vec<Load> = Vec::new();
    for (index, h) in headers.iter().enumerate() {
        if h.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let load = Load {
            vaddr: h.p_vaddr(endian).into(),
            memsz: h.p_memsz(endian).into(),
            offset: h.p_offset(endian).into(),
            filesz: h.p_filesz(endian).into(),
            executable: h.p_flags(endian) & elf::PF_X != 0,
        };
        let name = format!("PT_LOAD segment {index}");
        within_file(&name, load.offset, load.filesz, file_size)?;
        if load.filesz > load.memsz {
            return Err(format!(
                "{name}: file size {:#x} exceeds memory size {:#x}",
                load.filesz, load.memsz
            ));
        }
        let align: u64 = h.p_align(endian).into();
        if align > 1 && (!align.is_power_of_two() || load.vaddr % align != load.offset % align) {
            return Err(format!(
                "{name}: alignment {align:#x} does not fit address {:#x} and offset {:#x}",
                load.vaddr, load.offset
            ));
        }
        if let Some(previous) = loads.last()
            && load.vaddr < previous.vaddr + previous.memsz
        {
            return Err(format!(
                "{name} at {:#x} overlaps or precedes the previous one ({:#x} + {:#x})",
                load.vaddr, previous.vaddr, previous.memsz
            ));
        }
        let end = load.vaddr.checked_add(load.memsz);
        if end
            .is_none_or(|end| end - loads.first().map_or(load.vaddr, |l| l.vaddr) > MAX_IMAGE_SPAN)
        {
            return Err(format!(
                "{name} ({:#x} + {:#x}) makes the image larger than {MAX_IMAGE_SPAN:#x} bytes",
                load.vaddr, load.memsz
            ));
        }
        loads.push(load);
    }
    if loads.is_empty() {
        return Err("no PT_LOAD segment".to_owned());
    }
    Ok(loads)
}

fn within_file(what: &str, offset: u64, size: u64, file_size: u64) -> Result<(), String> {
    match offset.checked_add(size) {
        Some(end) if end <= file_size => Ok(()),
        _ => Err(format!(
            "{what} at {offset:#x} + {size:#x} exceeds file size {file_size:#x}"
        )),
    }
}

/// The dynamic section's entries, up to and without `DT_NULL`.
struct Dynamic {
    entries: Vec<(u64, u64)>,
}

impl Dynamic {
    fn get(&self, tag: u32) -> Option<u64> {
        self.entries
            .iter()
            .find(|(t, _)| *t == u64::from(tag))
            .map(|(_, v)| *v)
    }

    fn all(&self, tag: u32) -> impl Iterator<Item = u64> + '_ {
        self.entries
            .iter()
            .filter(move |(t, _)| *t == u64::from(tag))
            .map(|(_, v)| *v)
    }
}

impl<'data, Elf: FileHeader<Endian = Endianness>> Image<'data, Elf> {
    fn file_size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Segments other than `PT_LOAD` that the loader reads: within the file and the image.
    fn check_segment(&self, index: usize, h: &Elf::ProgramHeader) -> Result<(), String> {
        let endian = self.endian;
        let kind = match h.p_type(endian) {
            elf::PT_DYNAMIC => "PT_DYNAMIC",
            elf::PT_NOTE => "PT_NOTE",
            elf::PT_TLS => "PT_TLS",
            elf::PT_GNU_PROPERTY => "PT_GNU_PROPERTY",
            elf::PT_GNU_EH_FRAME => "PT_GNU_EH_FRAME",
            elf::PT_GNU_RELRO => "PT_GNU_RELRO",
            _ => return Ok(()),
        };
        let name = format!("{kind} segment {index}");
        let (offset, filesz): (u64, u64) = (h.p_offset(endian).into(), h.p_filesz(endian).into());
        let (vaddr, memsz): (u64, u64) = (h.p_vaddr(endian).into(), h.p_memsz(endian).into());
        let align: u64 = h.p_align(endian).into();
        within_file(&name, offset, filesz, self.file_size())?;
        if filesz > memsz {
            return Err(format!(
                "{name}: file size {filesz:#x} exceeds memory size {memsz:#x}"
            ));
        }
        if align > 1 && !align.is_power_of_two() {
            return Err(format!(
                "{name}: alignment {align:#x} is not a power of two"
            ));
        }
        if kind == "PT_TLS" {
            return Ok(());
        }
        self.in_memory(&name, vaddr, memsz).map(|_| ())
    }

    /// The load segment holding `vaddr .. vaddr + size` in memory.
    fn in_memory(&self, what: &str, vaddr: u64, size: u64) -> Result<&Load, String> {
        let end = vaddr.checked_add(size);
        self.loads
            .iter()
            .find(|l| l.vaddr <= vaddr && end.is_some_and(|end| end <= l.vaddr + l.memsz))
            .ok_or_else(|| {
                format!("{what} at address {vaddr:#x} + {size:#x} is outside every PT_LOAD segment")
            })
    }

    /// The file bytes behind `vaddr .. vaddr + size`, which must lie in one segment's file part.
    fn bytes_at(&self, what: &str, vaddr: u64, size: u64) -> Result<&'data [u8], String> {
        let end = vaddr.checked_add(size);
        let load = self
            .loads
            .iter()
            .find(|l| l.vaddr <= vaddr && end.is_some_and(|end| end <= l.vaddr + l.filesz))
            .ok_or_else(|| {
                format!("{what} at address {vaddr:#x} + {size:#x} is outside the file's data")
            })?;
        let start =
            usize::try_from(load.offset + (vaddr - load.vaddr)).map_err(|e| e.to_string())?;
        let size = usize::try_from(size).map_err(|e| e.to_string())?;
        self.data.get(start..start + size).ok_or_else(|| {
            format!(
                "{what} at {start:#x} + {size:#x} exceeds file size {:#x}",
                self.data.len()
            )
        })
    }

    fn dynamic_section(&self, headers: &[Elf::ProgramHeader]) -> Result<Dynamic, String> {
        let endian = self.endian;
        let mut found = headers
            .iter()
            .filter(|h| h.p_type(endian) == elf::PT_DYNAMIC);
        let (Some(h), None) = (found.next(), found.next()) else {
            return Err("expected exactly one PT_DYNAMIC segment".to_owned());
        };
        let (offset, size): (u64, u64) = (h.p_offset(endian).into(), h.p_filesz(endian).into());
        let bytes = self.bytes_at("dynamic section", h.p_vaddr(endian).into(), size)?;
        let start = bytes.as_ptr() as usize - self.data.as_ptr() as usize;
        if start as u64 != offset {
            return Err(format!(
                "dynamic section at offset {offset:#x} is not where its address puts it ({start:#x})"
            ));
        }
        let (entries, _) =
            object::pod::slice_from_bytes::<Elf::Dyn>(bytes, bytes.len() / size_of::<Elf::Dyn>())
                .map_err(|()| format!("dynamic section at {offset:#x} is misaligned"))?;
        let mut dynamic = Dynamic {
            entries: Vec::new(),
        };
        for entry in entries {
            let tag: u64 = entry.d_tag(endian).into();
            if tag == u64::from(elf::DT_NULL) {
                return Ok(dynamic);
            }
            dynamic.entries.push((tag, entry.d_val(endian).into()));
        }
        Err(format!(
            "dynamic section at {offset:#x} + {size:#x} has no DT_NULL terminator"
        ))
    }

    fn check_dynamic(&self, dynamic: &Dynamic) -> Result<(), String> {
        let strings = self.string_table(dynamic)?;
        needed_count(dynamic)?;
        for tag in [
            elf::DT_NEEDED,
            elf::DT_SONAME,
            elf::DT_RPATH,
            elf::DT_RUNPATH,
        ] {
            for offset in dynamic.all(tag) {
                name_at(strings, offset, tag_name(tag))?;
            }
        }
        let symbols = self.symbol_count(dynamic)?;
        self.check_symbols(dynamic, strings, symbols)?;
        self.check_relocations(dynamic, symbols)?;
        self.check_arrays(dynamic)?;
        self.check_versions(dynamic, strings, symbols)
    }

    fn string_table(&self, dynamic: &Dynamic) -> Result<&'data [u8], String> {
        match (dynamic.get(elf::DT_STRTAB), dynamic.get(elf::DT_STRSZ)) {
            (Some(address), Some(size)) => self.bytes_at("string table (DT_STRTAB)", address, size),
            _ => Err("dynamic section lacks DT_STRTAB or DT_STRSZ".to_owned()),
        }
    }

    /// The number of dynamic symbols, bounded by the room the symbol table has before the
    /// next table (linkers lay them out one after another; nothing records the count). The
    /// hash table may not cover more: `ld.so` follows its chains into the symbol table.
    fn symbol_count(&self, dynamic: &Dynamic) -> Result<u64, String> {
        let hashed = self.hashed_symbol_count(dynamic)?;
        let address = dynamic
            .get(elf::DT_SYMTAB)
            .ok_or("dynamic section lacks DT_SYMTAB")?;
        let count = self.room(dynamic, address)? / size_of::<Elf::Sym>() as u64;
        if hashed > count {
            return Err(format!(
                "the hash table covers {hashed} symbols, the symbol table has room for {count}"
            ));
        }
        Ok(count)
    }

    /// The bytes from `address` to the next table the dynamic section names, or to the end
    /// of its segment's file part.
    fn room(&self, dynamic: &Dynamic, address: u64) -> Result<u64, String> {
        let load = self
            .loads
            .iter()
            .find(|l| l.vaddr <= address && address < l.vaddr + l.filesz)
            .ok_or_else(|| format!("table at {address:#x} is outside the file's data"))?;
        let next_table = TABLE_TAGS
            .iter()
            .filter_map(|&tag| dynamic.get(tag))
            .filter(|&other| other > address)
            .min();
        let end = load.vaddr + load.filesz;
        Ok(next_table.map_or(end, |next| next.min(end)) - address)
    }

    /// The number of dynamic symbols `DT_HASH` or `DT_GNU_HASH` covers.
    fn hashed_symbol_count(&self, dynamic: &Dynamic) -> Result<u64, String> {
        let endian = self.endian;
        if let Some(address) = dynamic.get(elf::DT_GNU_HASH) {
            let table = self.bytes_at("GNU hash table (DT_GNU_HASH)", address, 16)?;
            let rest = self.bytes_from(address)?;
            let header = object::pod::from_bytes::<elf::GnuHashHeader<Endianness>>(table)
                .map_err(|()| "GNU hash table is misaligned".to_owned())?
                .0;
            let (buckets, bloom) = (
                header.bucket_count.get(endian),
                header.bloom_count.get(endian),
            );
            if buckets == 0 || !bloom.is_power_of_two() {
                return Err(format!(
                    "GNU hash table has {buckets} buckets and {bloom} bloom words, expected at least one bucket and a power of two"
                ));
            }
            let parsed = object::read::elf::GnuHashTable::<Elf>::parse(endian, rest)
                .map_err(|e| format!("GNU hash table at {address:#x}: {e}"))?;
            return Ok(parsed
                .symbol_table_length(endian)
                .map_or(u64::from(header.symbol_base.get(endian)), u64::from));
        }
        if let Some(address) = dynamic.get(elf::DT_HASH) {
            let rest = self.bytes_from(address)?;
            let table = object::read::elf::HashTable::<Elf>::parse(endian, rest)
                .map_err(|e| format!("hash table at {address:#x}: {e}"))?;
            let header = self.bytes_at("hash table (DT_HASH)", address, 8)?;
            if header[..4] == [0; 4] {
                return Err("hash table has no buckets".to_owned());
            }
            return Ok(u64::from(table.symbol_table_length()));
        }
        Err("dynamic section has neither DT_HASH nor DT_GNU_HASH".to_owned())
    }

    /// The file bytes from `vaddr` to the end of its segment's file part.
    fn bytes_from(&self, vaddr: u64) -> Result<&'data [u8], String> {
        let load = self
            .loads
            .iter()
            .find(|l| l.vaddr <= vaddr && vaddr < l.vaddr + l.filesz)
            .ok_or_else(|| format!("address {vaddr:#x} is outside the file's data"))?;
        self.bytes_at("table", vaddr, load.vaddr + load.filesz - vaddr)
    }

    fn check_symbols(&self, dynamic: &Dynamic, strings: &[u8], count: u64) -> Result<(), String> {
        let entsize = dynamic
            .get(elf::DT_SYMENT)
            .unwrap_or(size_of::<Elf::Sym>() as u64);
        if entsize != size_of::<Elf::Sym>() as u64 {
            return Err(format!(
                "DT_SYMENT is {entsize}, expected {}",
                size_of::<Elf::Sym>()
            ));
        }
        let address = dynamic
            .get(elf::DT_SYMTAB)
            .ok_or("dynamic section lacks DT_SYMTAB")?;
        let size = count.checked_mul(entsize).ok_or("symbol count overflows")?;
        let bytes = self.bytes_at("symbol table (DT_SYMTAB)", address, size)?;
        let (symbols, _) = object::pod::slice_from_bytes::<Elf::Sym>(bytes, count as usize)
            .map_err(|()| "symbol table is misaligned".to_owned())?;
        // A name is NUL-terminated if it starts at or before the table's last NUL: one scan
        // of the table, not one per symbol (many symbols may share one long name).
        let last_nul = strings.iter().rposition(|&b| b == 0);
        for (index, symbol) in symbols.iter().enumerate() {
            let name = u64::from(symbol.st_name(self.endian));
            if last_nul.is_none_or(|end| name > end as u64) {
                string_at(strings, name, &format!("name of symbol {index}"))?;
            }
        }
        Ok(())
    }

    fn check_relocations(&self, dynamic: &Dynamic, symbols: u64) -> Result<(), String> {
        let rela = size_of::<Elf::Rela>() as u64;
        let rel = size_of::<Elf::Rel>() as u64;
        if let Some(address) = dynamic.get(elf::DT_RELA) {
            let size = dynamic.get(elf::DT_RELASZ).unwrap_or(0);
            check_entsize("DT_RELAENT", dynamic.get(elf::DT_RELAENT), rela)?;
            self.check_rela_table("DT_RELA", address, size, symbols)?;
            self.check_relative_count(dynamic.get(elf::DT_RELACOUNT), address, size)?;
        }
        if let Some(address) = dynamic.get(elf::DT_REL) {
            let size = dynamic.get(elf::DT_RELSZ).unwrap_or(0);
            check_entsize("DT_RELENT", dynamic.get(elf::DT_RELENT), rel)?;
            self.check_rel_table("DT_REL", address, size, symbols)?;
        }
        if let Some(address) = dynamic.get(elf::DT_JMPREL) {
            let size = dynamic.get(elf::DT_PLTRELSZ).unwrap_or(0);
            match dynamic.get(elf::DT_PLTREL).map(|t| t as u32) {
                Some(elf::DT_RELA) => self.check_rela_table("DT_JMPREL", address, size, symbols)?,
                Some(elf::DT_REL) => self.check_rel_table("DT_JMPREL", address, size, symbols)?,
                other => {
                    return Err(format!(
                        "DT_PLTREL is {other:?}, expected DT_RELA or DT_REL"
                    ));
                }
            }
        }
        if let Some(address) = dynamic.get(DT_RELR) {
            let size = dynamic.get(DT_RELRSZ).unwrap_or(0);
            self.bytes_at("relative relocations (DT_RELR)", address, size)?;
        }
        Ok(())
    }

    fn check_rela_table(
        &self,
        name: &str,
        address: u64,
        size: u64,
        symbols: u64,
    ) -> Result<(), String> {
        let relocations = self.relocation_table::<Elf::Rela>(name, address, size)?;
        for (index, r) in relocations.iter().enumerate() {
            // The label is only written for a relocation that fails: a runtime has thousands.
            let check = |what: &str| {
                let kind = r.r_type(self.endian, false);
                let addend: i64 = r.r_addend(self.endian).into();
                self.check_relocation(
                    what,
                    r.r_offset(self.endian).into(),
                    r.r_sym(self.endian, false),
                    kind,
                    symbols,
                )?;
                if is_relative(kind) && self.in_memory(what, addend as u64, 0).is_err() {
                    return Err(format!(
                        "{what}: relative target {addend:#x} is outside the image"
                    ));
                }
                Ok(())
            };
            check("").or_else(|_| check(&format!("relocation {index} of {name}")))?;
        }
        Ok(())
    }

    /// The records of relocation table `name` (`Rela` or `Rel` entries).
    fn relocation_table<T: object::pod::Pod>(
        &self,
        name: &str,
        address: u64,
        size: u64,
    ) -> Result<&'data [T], String> {
        let bytes = self.bytes_at(&format!("relocation table ({name})"), address, size)?;
        let count = bytes.len() / size_of::<T>();
        let (records, _) = object::pod::slice_from_bytes::<T>(bytes, count)
            .map_err(|()| format!("relocation table ({name}) is misaligned"))?;
        Ok(records)
    }

    /// `ld.so` takes the first `DT_RELACOUNT` entries of `DT_RELA` to be relative
    /// relocations without looking (and asserts it), so they must be.
    fn check_relative_count(
        &self,
        count: Option<u64>,
        address: u64,
        size: u64,
    ) -> Result<(), String> {
        let Some(count) = count else {
            return Ok(());
        };
        let bytes = self.bytes_at("relocation table (DT_RELA)", address, size)?;
        let entries = bytes.len() / size_of::<Elf::Rela>();
        let (relocations, _) = object::pod::slice_from_bytes::<Elf::Rela>(bytes, entries)
            .map_err(|()| "relocation table (DT_RELA) is misaligned".to_owned())?;
        if count > entries as u64 {
            return Err(format!(
                "DT_RELACOUNT is {count}, but DT_RELA holds {entries} entries"
            ));
        }
        let known = relative_type().is_some();
        match relocations[..count as usize]
            .iter()
            .position(|r| !is_relative(r.r_type(self.endian, false)))
        {
            Some(index) if known => Err(format!(
                "relocation {index} of DT_RELA is counted by DT_RELACOUNT as relative, but its type is {}",
                relocations[index].r_type(self.endian, false)
            )),
            _ => Ok(()),
        }
    }

    /// `check_rela_table` for `Rel` entries: they carry no addend, and `object` reads the two
    /// record types through different traits, so the loops stay apart.
    fn check_rel_table(
        &self,
        name: &str,
        address: u64,
        size: u64,
        symbols: u64,
    ) -> Result<(), String> {
        let relocations = self.relocation_table::<Elf::Rel>(name, address, size)?;
        for (index, r) in relocations.iter().enumerate() {
            let check = |what: &str| {
                self.check_relocation(
                    what,
                    r.r_offset(self.endian).into(),
                    r.r_sym(self.endian),
                    r.r_type(self.endian),
                    symbols,
                )
            };
            check("").or_else(|_| check(&format!("relocation {index} of {name}")))?;
        }
        Ok(())
    }

    /// A relocation writes a word at `offset` (in the image) and may name a symbol.
    fn check_relocation(
        &self,
        what: &str,
        offset: u64,
        symbol: u32,
        kind: u32,
        symbols: u64,
    ) -> Result<(), String> {
        let word = size_of::<Elf::Word>() as u64;
        if kind != 0 {
            self.in_memory(what, offset, word)?;
        }
        if u64::from(symbol) >= symbols {
            return Err(format!(
                "{what}: symbol {symbol} is past the symbol table's {symbols} entries"
            ));
        }
        Ok(())
    }

    fn check_arrays(&self, dynamic: &Dynamic) -> Result<(), String> {
        let arrays = [
            (elf::DT_INIT_ARRAY, elf::DT_INIT_ARRAYSZ, "DT_INIT_ARRAY"),
            (elf::DT_FINI_ARRAY, elf::DT_FINI_ARRAYSZ, "DT_FINI_ARRAY"),
            (
                elf::DT_PREINIT_ARRAY,
                elf::DT_PREINIT_ARRAYSZ,
                "DT_PREINIT_ARRAY",
            ),
        ];
        for (array, size, name) in arrays {
            if let Some(address) = dynamic.get(array) {
                self.in_memory(name, address, dynamic.get(size).unwrap_or(0))?;
            }
        }
        let functions = [
            (elf::DT_INIT, "DT_INIT", ".init"),
            (elf::DT_FINI, "DT_FINI", ".fini"),
        ];
        for (tag, name, section) in functions {
            let Some(address) = dynamic.get(tag) else {
                continue;
            };
            if !self.in_memory(name, address, 1)?.executable {
                return Err(format!(
                    "{name} at {address:#x} is not in an executable segment"
                ));
            }
            // The linker points it at the start of its section: anywhere else is the middle
            // of some instruction stream, which `dlopen` would run.
            if let Some(start) = self.section_start(section.as_bytes())
                && start != address
            {
                return Err(format!(
                    "{name} is {address:#x}, but the {section} section starts at {start:#x}"
                ));
            }
        }
        Ok(())
    }

    /// The address of the section named `name`, when the file has section headers naming it.
    fn section_start(&self, name: &[u8]) -> Option<u64> {
        let header = Elf::parse(self.data).ok()?;
        let sections = header.sections(self.endian, self.data).ok()?;
        let (_, section) = sections.section_by_name(self.endian, name)?;
        Some(section.sh_addr(self.endian).into())
    }

    /// Symbol versions: every needed file is a `DT_NEEDED` entry (`ld.so` asserts it), every
    /// name is in the string table, and every symbol's version index is defined.
    fn check_versions(
        &self,
        dynamic: &Dynamic,
        strings: &[u8],
        symbols: u64,
    ) -> Result<(), String> {
        let mut versions = 2u64;
        if let Some(address) = dynamic.get(elf::DT_VERNEED) {
            let needed: Vec<&[u8]> = dynamic
                .all(elf::DT_NEEDED)
                .filter_map(|offset| string_at(strings, offset, "DT_NEEDED").ok())
                .collect();
            versions = versions.max(self.check_verneed(address, strings, &needed)?);
        }
        if let Some(address) = dynamic.get(elf::DT_VERDEF) {
            versions = versions.max(self.check_verdef(address, strings)?);
        }
        if let Some(address) = dynamic.get(elf::DT_VERSYM) {
            let entries = symbols.min(self.room(dynamic, address)? / 2);
            let bytes = self.bytes_at("symbol versions (DT_VERSYM)", address, entries * 2)?;
            for (index, pair) in bytes.chunks_exact(2).enumerate() {
                let version = u64::from(self.endian.read_u16_bytes([pair[0], pair[1]]) & 0x7fff);
                if version >= versions {
                    return Err(format!(
                        "symbol {index} has version index {version}, expected below {versions}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Walks the `Verneed` chain the way `ld.so` does (by `vn_next`/`vna_next` until 0);
    /// returns one more than the largest version index.
    fn check_verneed(&self, address: u64, strings: &[u8], needed: &[&[u8]]) -> Result<u64, String> {
        let mut steps = Steps::default();
        let mut versions = 0;
        let mut next = Some(address);
        while let Some(at) = next {
            steps.take()?;
            let entry = self.bytes_at("version need (DT_VERNEED)", at, 16)?;
            let file = name_at(strings, self.u32_at(entry, 4), "version need file")?;
            if !needed.contains(&file) {
                return Err(format!(
                    "version need at {at:#x} names {:?}, which is no DT_NEEDED entry",
                    String::from_utf8_lossy(file)
                ));
            }
            let mut aux = Some(offset_by(at, self.u32_at(entry, 8))?);
            while let Some(aux_at) = aux {
                steps.take()?;
                let entry = self.bytes_at("version need entry", aux_at, 16)?;
                name_at(strings, self.u32_at(entry, 8), "version name")?;
                versions = versions.max(self.version_index(entry, 6) + 1);
                aux = chain(aux_at, self.u32_at(entry, 12))?;
            }
            next = chain(at, self.u32_at(entry, 12))?;
        }
        Ok(versions)
    }

    /// Walks the `Verdef` chain (by `vd_next` until 0); returns one more than the largest
    /// version index.
    fn check_verdef(&self, address: u64, strings: &[u8]) -> Result<u64, String> {
        let mut steps = Steps::default();
        let mut versions = 0;
        let mut next = Some(address);
        while let Some(at) = next {
            steps.take()?;
            let entry = self.bytes_at("version definition (DT_VERDEF)", at, 20)?;
            versions = versions.max(self.version_index(entry, 4) + 1);
            let aux = offset_by(at, self.u32_at(entry, 12))?;
            let aux = self.bytes_at("version definition name", aux, 8)?;
            name_at(strings, self.u32_at(aux, 0), "version definition name")?;
            next = chain(at, self.u32_at(entry, 16))?;
        }
        Ok(versions)
    }

    fn u32_at(&self, bytes: &[u8], at: usize) -> u64 {
        let word = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        u64::from(self.endian.read_u32_bytes(word))
    }

    fn version_index(&self, bytes: &[u8], at: usize) -> u64 {
        u64::from(self.endian.read_u16_bytes([bytes[at], bytes[at + 1]]) & 0x7fff)
    }
}

/// A bound on the entries of the version chains, so a corrupt chain cannot keep the check
/// busy: far above the few dozen a plugin has.
#[derive(Default)]
struct Steps(u32);

impl Steps {
    const MAX: u32 = 4096;

    fn take(&mut self) -> Result<(), String> {
        self.0 += 1;
        if self.0 > Self::MAX {
            return Err(format!(
                "symbol version chains exceed {} entries",
                Self::MAX
            ));
        }
        Ok(())
    }
}

fn offset_by(at: u64, offset: u64) -> Result<u64, String> {
    at.checked_add(offset)
        .ok_or_else(|| format!("version table offset {offset:#x} from {at:#x} overflows"))
}

/// The next entry of a version chain: `None` at a zero link.
fn chain(at: u64, link: u64) -> Result<Option<u64>, String> {
    if link == 0 {
        Ok(None)
    } else {
        offset_by(at, link).map(Some)
    }
}

fn check_entsize(tag: &str, found: Option<u64>, expected: u64) -> Result<(), String> {
    match found {
        Some(found) if found != expected => Err(format!("{tag} is {found}, expected {expected}")),
        _ => Ok(()),
    }
}

/// The NUL-terminated string at `offset` in the string table.
fn string_at<'a>(strings: &'a [u8], offset: u64, what: &str) -> Result<&'a [u8], String> {
    let tail = usize::try_from(offset)
        .ok()
        .and_then(|offset| strings.get(offset..))
        .ok_or_else(|| {
            format!(
                "{what}: string offset {offset:#x} is past the string table's {:#x} bytes",
                strings.len()
            )
        })?;
    let end = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| format!("{what}: string at {offset:#x} is not NUL-terminated"))?;
    Ok(&tail[..end])
}

/// The library name, search path or version name (`what`) at `offset`: [`string_at`], at
/// most [`MAX_NAME_BYTES`] long, so that a chain of entries naming one huge string costs no
/// more than that per entry.
fn name_at<'a>(strings: &'a [u8], offset: u64, what: &str) -> Result<&'a [u8], String> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let window = strings.get(..start.saturating_add(MAX_NAME_BYTES + 1));
    match string_at(window.unwrap_or(strings), offset, what) {
        Err(_) if window.is_some() => Err(format!(
            "{what}: string at {offset:#x} is longer than {MAX_NAME_BYTES} bytes"
        )),
        found => found,
    }
}

fn tag_name(tag: u32) -> &'static str {
    match tag {
        elf::DT_NEEDED => "DT_NEEDED",
        elf::DT_SONAME => "DT_SONAME",
        elf::DT_RPATH => "DT_RPATH",
        _ => "DT_RUNPATH",
    }
}

/// This architecture's "base + addend" relocation type, whose addend must be an address in
/// the image (`None` where not listed here).
fn relative_type() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(elf::R_X86_64_RELATIVE),
        "aarch64" => Some(elf::R_AARCH64_RELATIVE),
        "riscv64" => Some(elf::R_RISCV_RELATIVE),
        _ => None,
    }
}

fn is_relative(kind: u32) -> bool {
    relative_type() == Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit little-endian library: one `PT_LOAD` over the whole file, a `PT_DYNAMIC`
    /// with a `DT_NEEDED` entry for each offset of `needed` into `strings`, `DT_STRTAB` and
    /// `DT_STRSZ`, and `strings` after it. Nothing more: no symbols.
    fn library(needed: &[u64], strings: &[u8]) -> Vec<u8> {
        library_with(needed, &[], strings)
    }

    /// [`library`] with `tables` (tag and bytes) between the dynamic section and the
    /// strings, in order, each named by its tag.
    fn library_with(needed: &[u64], tables: &[(u32, Vec<u8>)], strings: &[u8]) -> Vec<u8> {
        let dynamic_at = 64 + 2 * 56;
        let dynamic_size = (needed.len() + tables.len() + 3) * 16;
        let mut table_at = (dynamic_at + dynamic_size) as u64;
        let mut placed = Vec::new();
        for (tag, table) in tables {
            placed.push((*tag, table_at));
            table_at += table.len() as u64;
        }
        let strings_at = table_at;
        let size = strings_at + strings.len() as u64;
        let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        let half = |value: u16| value.to_le_bytes().to_vec();
        let word = |value: u32| value.to_le_bytes().to_vec();
        let long = |value: u64| value.to_le_bytes().to_vec();
        for field in [
            half(3),
            half(62),
            word(1),
            long(0),
            long(64),
            long(0),
            word(0),
        ] {
            bytes.extend(field);
        }
        for field in [64, 56, 2, 64, 0, 0] {
            bytes.extend(half(field));
        }
        let segment = |kind: u32, flags: u32, at: u64, len: u64, align: u64| {
            [word(kind), word(flags), long(at), long(at), long(at)]
                .into_iter()
                .chain([long(len), long(len), long(align)])
                .flatten()
                .collect::<Vec<u8>>()
        };
        bytes.extend(segment(elf::PT_LOAD, elf::PF_R, 0, size, 0x1000));
        let dynamic_len = dynamic_size as u64;
        bytes.extend(segment(
            elf::PT_DYNAMIC,
            elf::PF_R,
            dynamic_at as u64,
            dynamic_len,
            8,
        ));
        let entries = needed.iter().map(|&offset| (elf::DT_NEEDED, offset));
        let strtab = [
            (elf::DT_STRTAB, strings_at),
            (elf::DT_STRSZ, strings.len() as u64),
        ];
        let entries = entries.chain(placed).chain(strtab);
        for (tag, value) in entries.chain([(elf::DT_NULL, 0)]) {
            bytes.extend(long(u64::from(tag)));
            bytes.extend(long(value));
        }
        for (_, table) in tables {
            bytes.extend_from_slice(table);
        }
        bytes.extend_from_slice(strings);
        bytes
    }

    #[test]
    fn the_test_library_reads_back_its_needed_names() {
        let bytes = library(&[0, 10], b"libc.so.6\0libstd-0.so\0");
        assert_eq!(
            needed_libraries(&bytes).unwrap(),
            ["libc.so.6", "libstd-0.so"]
        );
    }

    #[test]
    fn thousands_of_needed_entries_are_refused_before_their_names_are_read() {
        let bytes = library(&[0; MAX_NEEDED + 1], b"libc.so.6\0");
        let expected = "1025 DT_NEEDED entries, expected at most 1024";
        assert_eq!(check(&bytes).unwrap_err(), expected);
        assert_eq!(needed_libraries(&bytes).unwrap_err(), expected);
    }

    #[test]
    fn a_needed_name_longer_than_a_path_is_refused_without_reading_all_of_it() {
        let mut strings = vec![b'a'; 1 << 20];
        strings.push(0);
        let bytes = library(&[0], &strings);
        let expected = "DT_NEEDED: string at 0x0 is longer than 4096 bytes";
        assert_eq!(check(&bytes).unwrap_err(), expected);
        assert_eq!(needed_libraries(&bytes).unwrap_err(), expected);
        let mut strings = vec![b'a'; MAX_NAME_BYTES];
        strings.push(0);
        let longest = String::from_utf8(strings[..MAX_NAME_BYTES].to_vec()).unwrap();
        assert_eq!(
            needed_libraries(&library(&[0], &strings)).unwrap(),
            [longest]
        );
    }

    #[test]
    fn many_symbols_sharing_one_long_name_are_checked_in_one_pass() {
        // One hash bucket and chain, then 20,000 symbols all named by the 4 MiB string at 0:
        // scanning it once per symbol reads 80 GB.
        let hash: Vec<u8> = [1u32, 1, 0, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let symbols = vec![0u8; 20_000 * size_of::<elf::Sym64<Endianness>>()];
        let mut strings = vec![b'a'; 4 << 20];
        strings.push(0);
        let tables = [(elf::DT_HASH, hash), (elf::DT_SYMTAB, symbols)];
        let bytes = library_with(&[], &tables, &strings);
        let started = std::time::Instant::now();
        assert_eq!(check(&bytes), Ok(()));
        let took = started.elapsed();
        assert!(took.as_secs() < 10, "{took:?}: a scan per symbol");
        let unterminated = library_with(&[], &tables, &strings[..strings.len() - 1]);
        assert_eq!(
            check(&unterminated).unwrap_err(),
            "name of symbol 0: string at 0x0 is not NUL-terminated"
        );
    }

    #[test]
    fn a_version_chain_naming_one_huge_string_is_refused_at_its_first_entry() {
        // One hash bucket and chain, one symbol named "" (offset 1 of the strings), then
        // 4,000 version definitions (20 bytes and an 8-byte name entry each), all named by
        // the 4 MiB string at 0: reading it for each reads 16 GB.
        let words =
            |words: &[u32]| -> Vec<u8> { words.iter().flat_map(|w| w.to_le_bytes()).collect() };
        let hash = words(&[1, 1, 0, 0]);
        let mut symbol = vec![0u8; size_of::<elf::Sym64<Endianness>>()];
        symbol[0] = 1;
        let mut definitions = Vec::new();
        for index in 0..4_000u16 {
            let next = if index == 3_999 { 0 } else { 28 };
            definitions.extend(words(&[
                1 | (1 << 16),
                u32::from(index + 1) | (1 << 16),
                0,
                20,
                next,
            ]));
            definitions.extend(words(&[0, 0]));
        }
        let mut strings = vec![b'a'; 4 << 20];
        strings.extend(b"\0\0");
        let tables = [
            (elf::DT_HASH, hash),
            (elf::DT_SYMTAB, symbol),
            (elf::DT_VERDEF, definitions),
        ];
        let error = check(&library_with(&[], &tables, &strings)).unwrap_err();
        assert_eq!(
            error,
            "version definition name: string at 0x0 is longer than 4096 bytes"
        );
    }
}
