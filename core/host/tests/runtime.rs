//! The shared Rust runtime: a plugin that needs another toolchain's runtime is refused before
//! anything is opened while the serving version keeps answering, and every plugin of every
//! loader binds to the one runtime the process keeps open.

mod common;

use common::*;
use fastforth_abi::{RUNTIME_FILE_NAME, RUSTC_VERSION};
use fastforth_host::{Example, HotSwap, PluginError};
use std::path::Path;

/// `bytes` with every occurrence of `from` replaced by `to` (same length); panics if none.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut found = 0;
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + offset;
        bytes[start..start + to.len()].copy_from_slice(to);
        found += 1;
        at = start + to.len();
    }
    assert!(found > 0, "{:?} not found", String::from_utf8_lossy(from));
}

/// Our runtime's name with another hash: `libstd-0123456789abcdef.so` for a 16-digit hash.
fn other_runtime_name() -> String {
    let (stem, hash_and_extension) = RUNTIME_FILE_NAME.rsplit_once('-').unwrap();
    let (hash, extension) = hash_and_extension.split_once('.').unwrap();
    let other: String = "0123456789abcdef"
        .chars()
        .cycle()
        .take(hash.len())
        .collect();
    assert_ne!(other, hash);
    format!("{stem}-{other}.{extension}")
}

/// The files in `dir` whose names start with `prefix`.
fn files_starting_with(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn a_plugin_needing_another_rust_runtime_is_refused_before_loading() {
    let (dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader.clone(), &example_v1()).unwrap();
    let theirs = other_runtime_name();
    let their_version = RUSTC_VERSION
        .strip_prefix("rustc ")
        .unwrap()
        .replace(|c: char| c.is_ascii_digit(), "9");
    let mut bytes = std::fs::read(example_v2()).unwrap();
    replace_all(&mut bytes, RUNTIME_FILE_NAME.as_bytes(), theirs.as_bytes());
    let our_comment = format!("rustc version {}", &RUSTC_VERSION["rustc ".len()..]);
    let their_comment = format!("rustc version {their_version}");
    replace_all(&mut bytes, our_comment.as_bytes(), their_comment.as_bytes());
    let foreign = dir.path().join("libfastforth_example_plugin.so");
    std::fs::write(&foreign, &bytes).unwrap();
    copy_runtime_beside(&example_v2(), &foreign);

    let error = slot.swap(&foreign).unwrap_err();
    assert!(
        matches!(error, PluginError::ForeignRuntime { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: needs the Rust runtime `{theirs}` (rustc {their_version}), but this fastforth \
             runs plugins on `{RUNTIME_FILE_NAME}` ({RUSTC_VERSION}): rebuild the plugin with \
             this fastforth's toolchain",
            foreign.display()
        )
    );
    assert_eq!(slot.current().version(), "1.0.0");
    assert_eq!(slot.current().add_numbers(2, 3).unwrap(), 5);
    assert_eq!(
        files_starting_with(loader.cache_dir(), "libfastforth_example_plugin-"),
        1,
        "no shadow copy of the refused build"
    );
    assert_eq!(mapped_count(&foreign), Some(0));
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains(theirs.as_str()), "nothing of it was opened");
}

#[cfg(target_os = "linux")]
#[test]
fn plugins_of_every_loader_share_one_runtime_that_stays_open() {
    let (_first_dir, first) = fresh_loader();
    let (_second_dir, second) = fresh_loader();
    let v1 = first.load::<Example>(&example_v1()).unwrap();
    let v2 = second.load::<Example>(&example_v2()).unwrap();
    assert_eq!(
        (v1.add_numbers(1, 2).unwrap(), v2.fibonacci(10).unwrap()),
        (3, 89)
    );
    assert!(second.cache_dir().join(RUNTIME_FILE_NAME).is_file());
    drop((v1, v2));
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut runtimes: Vec<&str> = maps
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.ends_with(RUNTIME_FILE_NAME))
        .collect();
    runtimes.dedup();
    assert_eq!(runtimes.len(), 1, "one runtime file mapped: {runtimes:?}");
}

/// The file range of `bytes`' section `name`.
fn section_range(bytes: &[u8], name: &str) -> std::ops::Range<usize> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).unwrap();
    let (offset, size) = file.section_by_name(name).unwrap().file_range().unwrap();
    offset as usize..(offset + size) as usize
}

/// `bytes` (a 64-bit little-endian ELF library) needing `needed` too, last: its
/// `DT_RELACOUNT` entry (a hint the loader can do without) becomes a `DT_NEEDED` entry, and
/// `needed` is written over the tail of the longest string of its `.dynstr` that is no
/// needed library, so the tables keep their sizes.
fn with_needed_added(bytes: &[u8], needed: &str) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let strings = section_range(&bytes, ".dynstr");
    let dynamic = section_range(&bytes, ".dynamic");
    let longest = bytes[strings.clone()]
        .split(|&b| b == 0)
        .filter(|name| !name.starts_with(b"lib"))
        .max_by_key(|name| name.len())
        .unwrap()
        .to_vec();
    assert!(longest.len() > needed.len());
    let start = bytes[strings.clone()]
        .windows(longest.len() + 1)
        .position(|w| w[..longest.len()] == longest[..] && w[longest.len()] == 0)
        .unwrap();
    let at = start + longest.len() - needed.len();
    const DT_RELACOUNT: u64 = 0x6fff_fff9;
    let entry = dynamic.step_by(16).find(|&entry| {
        u64::from_le_bytes(bytes[entry..entry + 8].try_into().unwrap()) == DT_RELACOUNT
    });
    let entry = entry.expect("a DT_RELACOUNT entry");
    bytes[strings.start + at..strings.start + at + needed.len()].copy_from_slice(needed.as_bytes());
    bytes[entry..entry + 8].copy_from_slice(&1u64.to_le_bytes());
    bytes[entry + 8..entry + 16].copy_from_slice(&(at as u64).to_le_bytes());
    bytes
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_plugin_needing_our_runtime_and_another_one_is_refused_for_the_other() {
    let (dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader.clone(), &example_v1()).unwrap();
    let theirs = other_runtime_name();
    let bytes = std::fs::read(example_v2()).unwrap();
    let both = with_needed_added(&bytes, &theirs);
    let plugin = dir.path().join("libfastforth_example_plugin.so");
    std::fs::write(&plugin, &both).unwrap();
    copy_runtime_beside(&example_v2(), &plugin);
    let needed = fastforth_host::runtime::needed_libraries(&both).unwrap();
    assert_eq!(needed[0], RUNTIME_FILE_NAME, "{needed:?}");
    assert!(needed.contains(&theirs), "{needed:?}");

    let error = slot.swap(&plugin).unwrap_err();
    assert!(
        matches!(error, PluginError::ForeignRuntime { .. }),
        "{error}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "{}: needs the Rust runtime `{theirs}` (",
            plugin.display()
        )),
        "{error}"
    );
    assert_eq!(slot.current().add_numbers(2, 3).unwrap(), 5);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains(theirs.as_str()), "nothing of it was opened");
}

/// A `DT_NEEDED` entry with a slash is opened as that path, not matched to the runtime the
/// process has open: a copy of our runtime elsewhere would be a second standard library.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_plugin_needing_a_runtime_by_path_is_refused() {
    let (dir, loader) = fresh_loader();
    let slot = HotSwap::<Example>::load(loader.clone(), &example_v1()).unwrap();
    let elsewhere = dir.path().join("e");
    std::fs::create_dir(&elsewhere).unwrap();
    copy_runtime_beside(&example_v2(), &elsewhere.join("plugin.so"));
    let by_path = elsewhere.join(RUNTIME_FILE_NAME).display().to_string();
    let bytes = std::fs::read(example_v2()).unwrap();
    let plugin = dir.path().join("libfastforth_example_plugin.so");
    std::fs::write(&plugin, with_needed_added(&bytes, &by_path)).unwrap();
    copy_runtime_beside(&example_v2(), &plugin);

    let swapped = slot.swap(&plugin);

    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(!maps.contains(&by_path), "a second runtime was opened");
    let error = swapped.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "{}: needs the Rust runtime `{by_path}` (",
            plugin.display()
        )),
        "{error}"
    );
    assert_eq!(slot.current().version(), "1.0.0");
}

/// Makes a named pipe at `path`.
#[cfg(unix)]
fn named_pipe(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

/// Named pipes in the cache where the runtime's copy and the plugin's shadow copy go: they
/// are replaced, not read (reading one waits for a writer forever).
#[cfg(target_os = "linux")]
#[test]
fn named_pipes_in_the_cache_are_replaced_not_waited_on() {
    let (_dir, loader) = fresh_loader();
    let plugin = example_v1();
    let bytes = std::fs::read(&plugin).unwrap();
    let sha256 = fastforth_host::shadow::sha256_hex(&bytes);
    let shadow = fastforth_host::shadow::shadow_file_name(&plugin, &sha256);
    let cache = loader.cache_dir().to_path_buf();
    named_pipe(&cache.join(RUNTIME_FILE_NAME));
    named_pipe(&cache.join(&shadow));

    let (sender, receiver) = std::sync::mpsc::channel();
    let loading = loader.clone();
    std::thread::spawn(move || {
        let slot = HotSwap::<Example>::load(loading, &plugin);
        let _ = sender.send(slot.and_then(|slot| slot.current().add_numbers(2, 3)));
    });
    let loaded = receiver.recv_timeout(std::time::Duration::from_secs(20));

    assert_eq!(loaded.expect("loading hung").unwrap(), 5);
    assert!(cache.join(RUNTIME_FILE_NAME).is_file());
    assert!(cache.join(&shadow).is_file());
}
