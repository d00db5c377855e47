//! The install `cargo xtask dist` lays out for the host triple: each file's bytes and the
//! total (binary, shared runtime, first-party plugins); `fastforth` built the same way but on
//! the shared runtime (`-C prefer-dynamic`, without LTO, which rustc cannot combine with it);
//! start-up of `fastforth run -e bye` for both and of `run --native` of an empty word,
//! timed alternately in one session; and what the binary holds per crate, from the symbol
//! sizes of an unstripped build. A quick run leaves out the shared-runtime build and the
//! breakdown (each takes minutes to build).

use super::results::{CrateBytes, Install, InstalledFile};
use super::timing::{self, Timed};
use anyhow::Context;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use xshell::{Shell, cmd};

/// Lays out `dist/`, builds the two other variants (unless `quick`) and measures them;
/// returns the measures and the installed `fastforth`.
pub fn measure(sh: &Shell, root: &Path, quick: bool) -> anyhow::Result<(Install, PathBuf)> {
    let runs = if quick { 20 } else { 100 };
    let triple = crate::toolchain::host_triple(sh)?;
    let layout = crate::dist::lay_out(sh, root, &triple)?;
    let files = layout
        .files()
        .map(|path| installed_file(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let shared = (!quick)
        .then_some(layout.runtime.as_deref())
        .flatten()
        .map(|runtime| build_shared(sh, root, &triple, runtime))
        .and_then(|built| {
            built
                .map_err(|error| eprintln!("fastforth on the shared runtime skipped: {error:#}"))
                .ok()
        });
    let shared_fastforth_bytes = shared
        .as_ref()
        .and_then(|binary| std::fs::metadata(binary).ok())
        .map(|meta| meta.len());
    let native = empty_native_plugin(root, &layout.binary)
        .map_err(|error| eprintln!("start-up of run --native skipped: {error:#}"))
        .ok();
    let bye = |binary: &Path| Timed::new(binary, &["run", "-e", "bye"]);
    let mut timed = vec![bye(&layout.binary)];
    timed.extend(shared.as_deref().map(bye));
    timed.extend(native.as_deref().map(|plugin| {
        let plugin = plugin.to_string_lossy();
        Timed::new(&layout.binary, &["run", "--native", &plugin, "-e", "main"])
    }));
    let mut spreads = timing::alternately(&timed, runs)?.into_iter();
    let startup_static_ms = spreads.next().context("the static start-up was timed")?;
    let startup_shared_ms = shared.as_ref().and_then(|_| spreads.next());
    let startup_native_ms = native.as_ref().and_then(|_| spreads.next());
    let breakdown = if quick {
        Vec::new()
    } else {
        build_with_symbols(sh, root)
            .and_then(|binary| breakdown(sh, &binary))
            .map_err(|error| eprintln!("the binary's breakdown skipped: {error:#}"))
            .unwrap_or_default()
    };
    let install = Install {
        triple,
        files,
        shared_fastforth_bytes,
        startup_runs: runs,
        startup_static_ms,
        startup_shared_ms,
        startup_native_ms,
        breakdown,
    };
    Ok((install, layout.binary))
}

/// A native plugin of an empty `main`, compiled by the installed `binary` with the backend
/// installed beside it (into a cache of the bench's own).
fn empty_native_plugin(root: &Path, binary: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/bench/native-startup");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let source = dir.join("empty.fs");
    std::fs::write(&source, ": main ;\n").context("cannot write the empty program")?;
    let plugin = dir.join(format!(
        "{}empty{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let output = Command::new(binary)
        .arg("compile")
        .arg(&source)
        .arg("-o")
        .arg(&plugin)
        .env("FASTFORTH_NATIVE_CACHE", dir.join("cache"))
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{} compile failed: {}",
        binary.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(plugin)
}

fn installed_file(path: &Path) -> anyhow::Result<InstalledFile> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let file = path.file_name().unwrap_or_default().to_string_lossy();
    Ok(InstalledFile {
        file: file.into_owned(),
        bytes,
    })
}

/// `fastforth` in the dist profile on the shared runtime, with the runtime copied next to
/// it (its own target directory: without LTO every crate builds differently).
fn build_shared(sh: &Shell, root: &Path, triple: &str, runtime: &Path) -> anyhow::Result<PathBuf> {
    let cargo = crate::toolchain::cargo();
    let target_dir = root.join("target/dist-shared");
    let target = crate::targets::find(triple).context("a triple of xtask/src/targets.rs")?;
    let flags = crate::build_all::runtime_link_args(target, false);
    let profile = crate::dist::PROFILE;
    cmd!(
        sh,
        "{cargo} rustc --quiet --profile {profile} -p fastforth --bin fastforth
            --config profile.dist.lto=false --target-dir {target_dir} -- {flags...}"
    )
    .run()
    .context("cannot build fastforth on the shared runtime")?;
    let dir = target_dir.join(profile);
    let name = runtime.file_name().context("the runtime has a file name")?;
    std::fs::copy(runtime, dir.join(name)).context("cannot copy the runtime")?;
    Ok(dir.join(format!("fastforth{}", std::env::consts::EXE_SUFFIX)))
}

/// The dist build of `fastforth` with its symbol table (its own target directory).
fn build_with_symbols(sh: &Shell, root: &Path) -> anyhow::Result<PathBuf> {
    let cargo = crate::toolchain::cargo();
    let target_dir = root.join("target/dist-symbols");
    let profile = crate::dist::PROFILE;
    cmd!(
        sh,
        "{cargo} build --quiet --profile {profile} -p fastforth --bin fastforth
            --config profile.dist.strip=false --target-dir {target_dir}"
    )
    .run()
    .context("cannot build fastforth with symbols")?;
    Ok(target_dir
        .join(profile)
        .join(format!("fastforth{}", std::env::consts::EXE_SUFFIX)))
}

/// The sum of the symbol sizes of `binary` per crate (`nm -S -C`), largest first.
fn breakdown(sh: &Shell, binary: &Path) -> anyhow::Result<Vec<CrateBytes>> {
    let symbols = cmd!(sh, "nm -S --size-sort -C {binary}")
        .quiet()
        .read()
        .context("cannot list the symbols with nm")?;
    Ok(group_by_crate(&symbols))
}

/// Groups `nm -S -C` lines (`address size type name`) by the crate each name belongs to.
pub fn group_by_crate(symbols: &str) -> Vec<CrateBytes> {
    let mut bytes: HashMap<String, u64> = HashMap::new();
    for line in symbols.lines() {
        let mut fields = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(_), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        *bytes.entry(crate_of(name)).or_default() += size;
    }
    let mut list: Vec<CrateBytes> = bytes
        .into_iter()
        .map(|(krate, bytes)| CrateBytes { krate, bytes })
        .collect();
    list.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.krate.cmp(&b.krate)));
    list
}

/// The crate a demangled symbol belongs to: its path's first segment, or for a trait
/// method of a type without a path (`<str as core::fmt::Display>::fmt`) the trait's crate;
/// `[C and other]` for names without a path.
fn crate_of(name: &str) -> String {
    let name = name.trim_start_matches(['<', '&', '*', '(', '[', ' ']);
    let name = name
        .strip_prefix("dyn ")
        .or_else(|| name.strip_prefix("mut "))
        .unwrap_or(name)
        .trim_start_matches(['<', '&', '*', '(', '[', ' ']);
    let first: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !first.is_empty() && name[first.len()..].starts_with("::") {
        return first;
    }
    match name.split_once(" as ") {
        Some((_, rest)) if rest.contains("::") => crate_of(rest),
        _ => "[C and other]".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole measurement as a full bench run makes it (minutes: three builds of
    /// `fastforth`); prints the report's section.
    #[test]
    #[ignore = "builds fastforth three ways; run with --ignored"]
    fn the_install_is_measured_as_a_full_run_measures_it() {
        let root = crate::project_root();
        let sh = Shell::new().unwrap();
        sh.change_dir(&root);
        let (install, _) = measure(&sh, &root, false).unwrap();
        let names: Vec<&str> = install.files.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(names[0], "fastforth", "{names:?}");
        assert!(names[1].starts_with("libstd-"), "{names:?}");
        assert!(install.shared_fastforth_bytes.is_some());
        assert!(install.startup_static_ms.median > 0.0);
        let crates: Vec<&str> = install.breakdown.iter().map(|c| c.krate.as_str()).collect();
        for krate in ["fastforth_engine", "fastforth_host", "lexopt", "std"] {
            assert!(crates.contains(&krate), "{krate} missing from {crates:?}");
        }
        let mut run = super::super::results::Run::start(&sh, false).unwrap();
        run.install = Some(install);
        println!("{}", super::super::report::markdown(&run));
    }

    #[test]
    fn symbols_are_summed_per_crate_largest_first() {
        let nm = "\
0000000000001000 0000000000000010 T clap_builder::parser::Parser::parse
0000000000002000 0000000000000020 t <alloc::vec::Vec<T> as core::clone::Clone>::clone
0000000000003000 0000000000000008 t <str as core::fmt::Display>::fmt
0000000000004000 0000000000000004 T clap_builder::builder::Command::new
0000000000005000 0000000000000002 T memcpy
0000000000006000 0000000000000001 r <&mut fastforth_host::Loader as core::fmt::Debug>::fmt
no size here
";
        let grouped: Vec<(String, u64)> = group_by_crate(nm)
            .into_iter()
            .map(|c| (c.krate, c.bytes))
            .collect();
        let expected = [
            ("alloc", 0x20),
            ("clap_builder", 0x14),
            ("core", 8),
            ("[C and other]", 2),
            ("fastforth_host", 1),
        ];
        let expected: Vec<(String, u64)> =
            expected.iter().map(|(k, b)| (k.to_string(), *b)).collect();
        assert_eq!(grouped, expected);
    }
}
