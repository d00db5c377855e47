//! Files that are no plugin, or a corrupt one, are refused with an error naming the file and
//! the problem, before the loader reads too much or opens anything; and the shadow cache
//! stays bounded however many builds are tried.

mod common;

use common::*;
use fastforth_host::{Example, Loader, PluginError};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The shadow copies in the loader's cache: every file but the Rust runtime, which the
/// process keeps open for all plugins.
fn shadow_files(loader: &Loader) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(loader.cache_dir())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name != fastforth_abi::RUNTIME_FILE_NAME)
                // The record that the runtime's copy was checked (`fastforth_host::runtime`).
                .filter(|name| *name != format!("{}.checked", fastforth_abi::RUNTIME_FILE_NAME))
                // A swapping loader's spare for its next copy (`fastforth_host::spare`).
                .filter(|name| !name.starts_with(".tmp-shadow-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("p.so");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&fifo).unwrap_err();
    assert!(
        matches!(error, PluginError::NotARegularFile { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: not a regular file: found a FIFO (named pipe), expected a plugin library file",
            fifo.display()
        )
    );
}

#[test]
fn a_file_above_the_cap_is_refused_before_it_is_read_or_copied() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("copy.so");
    std::fs::copy(example_v1(), &big).unwrap();
    // Sparse: 3 GiB of apparent size cost nothing on disk.
    std::fs::File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&big).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: 3221225472 bytes, larger than the 268435456-byte cap on plugin files",
            big.display()
        )
    );
    assert!(shadow_files(&loader).is_empty(), "nothing was copied");
}

#[test]
fn the_cap_is_configurable() {
    let (dir, loader) = fresh_loader();
    let loader = Loader::new(loader.cache_dir()).with_max_file_bytes(1000);
    let error = loader.load::<Example>(&example_v1()).unwrap_err();
    assert!(
        matches!(error, PluginError::TooLarge { max: 1000, .. }),
        "{error}"
    );
    drop(dir);
}

#[test]
fn a_refused_build_leaves_no_shadow_copy() {
    let (_dir, loader) = fresh_loader();
    for fault in ["self-test-fails", "wrong-layout", "null-function"] {
        loader.load::<Example>(&fixture(fault)).unwrap_err();
    }
    assert!(
        shadow_files(&loader).is_empty(),
        "{:?}",
        shadow_files(&loader)
    );
}

#[test]
fn old_builds_of_one_file_are_evicted_but_live_ones_stay() {
    let (dir, loader) = fresh_loader();
    let path = dir.path().join("libexample.so");
    let base = std::fs::read(example_v1()).unwrap();
    let first_build = write(dir.path(), "libexample.so", &base);
    copy_runtime_beside(&example_v1(), &first_build);
    let first = loader.load::<Example>(&first_build).unwrap();
    for build in 1..=6u8 {
        // A distinct build: one more byte of trailing padding, which nothing maps.
        let mut bytes = base.clone();
        bytes.extend(std::iter::repeat_n(0, usize::from(build)));
        std::fs::write(&path, &bytes).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(loader.load::<Example>(&path).unwrap());
    }
    let names = shadow_files(&loader);
    assert!(names.len() <= 5, "{names:?}");
    assert!(
        first.info().shadow.exists(),
        "the live first build is never evicted: {names:?}"
    );
    assert_eq!(first.add_numbers(2, 3).unwrap(), 5);
}

#[test]
fn temporary_files_of_dead_writers_are_removed_when_a_load_writes_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    // No process has id 0x7ffffffe; this one is alive.
    let dead = write(&cache, ".tmp-shadow-2147483646-abc", b"half a copy");
    let alive = write(
        &cache,
        &format!(".tmp-shadow-{}-def", std::process::id()),
        b"being written",
    );
    let kept = write(&cache, "libother-0123456789abcdef01234567.so", b"x");
    let loader = Loader::new(&cache);
    assert!(dead.exists(), "a loader reads no directory until it writes");
    let plugin = loader.load::<Example>(&example_v1()).unwrap();
    assert!(!dead.exists());
    assert!(alive.exists());
    assert!(kept.exists());
    assert_eq!(plugin.add_numbers(2, 3).unwrap(), 5);
}

/// The example plugin with `patch` applied to its bytes.
fn patched(dir: &Path, patch: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(example_v1()).unwrap();
    patch(&mut bytes);
    let path = write(dir, "libpatched.so", &bytes);
    copy_runtime_beside(&example_v1(), &path);
    path
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// The file offset of the first program header of type `kind` (ELF64 little-endian).
fn program_header(bytes: &[u8], kind: u32) -> usize {
    let phoff = u64_at(bytes, 0x20) as usize;
    (0..usize::from(u16::from_le_bytes([bytes[0x38], bytes[0x39]])))
        .map(|i| phoff + i * 56)
        .find(|&h| u32::from_le_bytes(bytes[h..h + 4].try_into().unwrap()) == kind)
        .unwrap()
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn a_dynamic_section_past_the_end_of_the_file_is_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let bad = patched(dir.path(), |bytes| {
        let h = program_header(bytes, 2);
        let size = 0x10_0000u64;
        bytes[h + 0x20..h + 0x28].copy_from_slice(&size.to_le_bytes());
        bytes[h + 0x28..h + 0x30].copy_from_slice(&size.to_le_bytes());
    });
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&bad).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "{}: malformed Elf64 file: PT_DYNAMIC segment",
            bad.display()
        )),
        "{error}"
    );
    assert!(error.contains("exceeds file size"), "{error}");
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn overlapping_load_segments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = patched(dir.path(), |bytes| {
        let first = program_header(bytes, 1);
        let second = first + 56;
        // The second segment starts where the first does.
        let vaddr = u64_at(bytes, first + 0x10);
        bytes[second + 0x10..second + 0x18].copy_from_slice(&vaddr.to_le_bytes());
    });
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&bad).unwrap_err().to_string();
    assert!(
        error.contains("overlaps or precedes the previous one"),
        "{error}"
    );
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn a_relocation_outside_the_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = patched(dir.path(), |bytes| {
        let dynamic = program_header(bytes, 2);
        let (offset, size) = (
            u64_at(bytes, dynamic + 8) as usize,
            u64_at(bytes, dynamic + 0x20) as usize,
        );
        let rela = (offset..offset + size)
            .step_by(16)
            .find(|&e| u64_at(bytes, e) == 7)
            .map(|e| u64_at(bytes, e + 8))
            .expect("DT_RELA");
        // Where the first relocation's table sits in the file: the first PT_LOAD maps it 1:1.
        let at = rela as usize;
        bytes[at..at + 8].copy_from_slice(&0x7fff_0000u64.to_le_bytes());
    });
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&bad).unwrap_err().to_string();
    assert!(
        error.contains("relocation 0 of DT_RELA at address 0x7fff0000"),
        "{error}"
    );
}

#[test]
fn a_name_pointing_outside_the_plugin_is_refused_not_read() {
    let (_dir, loader) = fresh_loader();
    let error = loader.load::<Example>(&fixture("wild-name")).unwrap_err();
    assert!(
        matches!(error, PluginError::OutsideImage { field: "name", .. }),
        "{error}"
    );
    assert!(
        error.to_string().ends_with(
            "descriptor field `name` points outside the plugin: 7 bytes at 0x1000 are not in the library's data"
        ),
        "{error}"
    );
}

#[test]
fn a_shutdown_pointer_into_data_is_refused_not_called() {
    let (_dir, loader) = fresh_loader();
    let error = loader
        .load::<Example>(&fixture("wild-shutdown"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            PluginError::OutsideImage {
                field: "shutdown",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("is not in the library's code"),
        "{error}"
    );
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_counted_relative_relocation_of_another_type_is_refused_not_asserted_on() {
    let dir = tempfile::tempdir().unwrap();
    let bad = patched(dir.path(), |bytes| {
        let dynamic = program_header(bytes, 2);
        let offset = u64_at(bytes, dynamic + 8) as usize;
        let rela = (offset..)
            .step_by(16)
            .find(|&e| u64_at(bytes, e) == 7)
            .map(|e| u64_at(bytes, e + 8) as usize)
            .unwrap();
        // r_info of the first entry: type R_X86_64_64 (1), symbol 0.
        bytes[rela + 8..rela + 16].copy_from_slice(&1u64.to_le_bytes());
    });
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&bad).unwrap_err().to_string();
    assert!(
        error.ends_with(
            "relocation 0 of DT_RELA is counted by DT_RELACOUNT as relative, but its type is 1"
        ),
        "{error}"
    );
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn an_init_function_off_the_start_of_init_is_refused_before_it_runs() {
    // A flipped byte in DT_INIT made `dlopen` run the middle of `.text`: it crashed or not,
    // depending on the registers, so a probe could pass and the host then crash.
    let dir = tempfile::tempdir().unwrap();
    let mut init = 0;
    let bad = patched(dir.path(), |bytes| {
        let dynamic = program_header(bytes, 2);
        let offset = u64_at(bytes, dynamic + 8) as usize;
        let entry = (offset..)
            .step_by(16)
            .find(|&e| u64_at(bytes, e) == 0x0c)
            .expect("DT_INIT");
        init = u64_at(bytes, entry + 8);
        bytes[entry + 8] ^= 0xff;
    });
    let (_cache, loader) = fresh_loader();
    let error = loader.load::<Example>(&bad).unwrap_err().to_string();
    assert!(
        error.ends_with(&format!(
            "DT_INIT is {:#x}, but the .init section starts at {init:#x}",
            init ^ 0xff
        )),
        "{error}"
    );
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn version_chains_are_walked_as_the_loader_walks_them_not_by_their_count() {
    // `ld.so` follows `vn_next` links and ignores DT_VERNEEDNUM; the check once looped on it.
    let dir = tempfile::tempdir().unwrap();
    let odd = patched(dir.path(), |bytes| {
        let dynamic = program_header(bytes, 2);
        let offset = u64_at(bytes, dynamic + 8) as usize;
        let count = (offset..)
            .step_by(16)
            .find(|&e| u64_at(bytes, e) == 0x6fff_ffff)
            .expect("DT_VERNEEDNUM");
        bytes[count + 8..count + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    });
    let (_cache, loader) = fresh_loader();
    let plugin = loader.load::<Example>(&odd).unwrap();
    assert_eq!(plugin.add_numbers(20, 22).unwrap(), 42);
}

/// Another process's loader may evict a fresh copy between its placing and its opening (it
/// keeps the newest copies of one file name). A probe that removes the copy the first time
/// stands for that process: the load places the copy again and succeeds.
#[cfg(unix)]
#[test]
fn a_copy_evicted_before_it_is_opened_is_placed_again() {
    use fastforth_host::probe::ProbeCommand;
    let (dir, _) = fresh_loader();
    let plugin = write(
        dir.path(),
        "libexample.so",
        &std::fs::read(example_v1()).unwrap(),
    );
    copy_runtime_beside(&example_v1(), &plugin);
    let evict_once = "[ -e \"$0.evicted\" ] || { touch \"$0.evicted\"; rm -f \"$1\"; }";
    let mark = dir.path().join("mark");
    let once = ProbeCommand::new("/bin/sh", &["-c", evict_once, &mark.to_string_lossy()]);
    let loader = Loader::new(dir.path().join("cache")).with_probe(Some(once));
    let loaded = loader.load::<Example>(&plugin).unwrap();
    assert_eq!(loaded.add_numbers(2, 3).unwrap(), 5);
    assert!(
        mark.with_extension("evicted").exists(),
        "the probe ran and evicted once"
    );
}
