//! `fastforth compile` and `fastforth run --native`: a Forth program loaded by the built-in
//! engine and built by the backend stage plugin into a native plugin of kind
//! "forth-native", and a word of it run through the host.

use crate::forth_cmd::{EngineOptions, Terminal};
use crate::output::{errln, outln};
use anyhow::Context;
use fastforth_engine::program::{self, Built};
use fastforth_host::{Loader, Plugin};
use fastforth_session::{Backend, Evaluation, ForthNative, NativePlugin};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where generated crates and their builds are kept: `$FASTFORTH_NATIVE_CACHE`, else
/// `fastforth/native` in the user's cache directory (`$XDG_CACHE_HOME`, else `~/.cache`).
pub fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("FASTFORTH_NATIVE_CACHE").filter(|dir| !dir.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let cache =
        fastforth_host::per_user_dir("the native plugin cache", "XDG_CACHE_HOME", ".cache")?;
    Ok(cache.join("fastforth").join("native"))
}

/// `compile` takes UTF-8 source only (the generated Rust holds its strings): where the
/// first byte that is not UTF-8 lies.
fn not_utf8(file: &Path, source: &[u8], error: std::str::Utf8Error) -> anyhow::Error {
    let valid = &source[..error.valid_up_to()];
    let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = valid.len()
        - valid
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1)
        + 1;
    anyhow::anyhow!(
        "{}:{line}:{column}: byte {:#04x} is not UTF-8; `compile` takes UTF-8 source (`run` takes any bytes)",
        file.display(),
        source[error.valid_up_to()]
    )
}

/// The backend stage plugin `compile` builds with, loaded and self-tested: `--stage
/// backend=FILE`, else the one `fastforth update` installed, else the one beside this binary.
fn backend_plugin(options: &EngineOptions) -> anyhow::Result<Arc<Plugin<Backend>>> {
    let loader = crate::loader()?;
    if let Some(path) = &options.backend_stage {
        return Ok(loader.load::<Backend>(path)?);
    }
    if let Some(installed) = installed_backend(options, &loader) {
        return Ok(installed);
    }
    Ok(loader.load::<Backend>(&backend_beside_binary()?)?)
}

/// The backend stage plugin `fastforth update` installed, if any and it loads; when one is
/// installed but cannot be used, a one-line warning names the file and the reason.
#[cfg(feature = "update")]
fn installed_backend(options: &EngineOptions, loader: &Loader) -> Option<Arc<Plugin<Backend>>> {
    use crate::installed::{self, Managed};
    let loaded = installed::installed(Managed::Backend, options.plugin_dir()).and_then(|found| {
        let Some(backend) = found else {
            return Ok(None);
        };
        let plugin = loader.load::<Backend>(&backend.path).with_context(|| {
            installed::describe(Managed::Backend, &backend.version, &backend.path)
        })?;
        Ok(Some(plugin))
    });
    loaded.unwrap_or_else(|error| {
        let reason = crate::output::error_line(&error);
        errln!(
            "warning: {reason}; building with the backend beside this binary instead \
             (`fastforth update --rollback` returns to the previous version)"
        );
        None
    })
}

#[cfg(not(feature = "update"))]
fn installed_backend(_: &EngineOptions, _: &Loader) -> Option<Arc<Plugin<Backend>>> {
    None
}

/// The backend stage plugin installed beside this binary (`cargo xtask dist` puts it there),
/// under the name cargo gives its library on this platform.
fn backend_beside_binary() -> anyhow::Result<PathBuf> {
    use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
    let file = format!("{DLL_PREFIX}fastforth_backend_plugin{DLL_SUFFIX}");
    let exe = std::env::current_exe().context("cannot find this program's own file")?;
    let beside = exe.with_file_name(&file);
    if beside.is_file() {
        return Ok(beside);
    }
    anyhow::bail!(
        "`compile` needs the native backend stage plugin, and there is no {file} beside {} \
         nor a usable one installed: give --stage backend=FILE (`cargo xtask build-all` builds \
         it into target/plugins/<triple>/), or install one with `fastforth update`",
        exe.display()
    )
}

/// Compiles `source`, read from `file`, with the backend stage plugin `options` choose (see
/// [`backend_plugin`]) to a native plugin at `output` (by default the program's name with
/// the platform's library extension), with the shared Rust runtime it links beside it, or
/// with `entry` to an executable that runs that word (by default the program's name), in
/// an optimised build when `release`; returns the process exit code. The output is checked
/// first, and the program loaded before the backend is looked for, so a mistake in either
/// is reported before anything is built.
pub fn compile(
    options: &EngineOptions,
    file: &Path,
    source: &[u8],
    output: Option<&Path>,
    release: bool,
    entry: Option<&str>,
) -> anyhow::Result<i32> {
    let source = std::str::from_utf8(source).map_err(|error| not_utf8(file, source, error))?;
    let stem = file
        .file_stem()
        .map_or("forth".into(), |stem| stem.to_string_lossy());
    let output = output.map_or_else(|| default_output(&stem, entry), Path::to_path_buf);
    if let Err(mistake) = check_output(&output, file) {
        errln!("{mistake}");
        return Ok(1);
    }
    // Errors name the file as given; the plugin is named after its stem.
    let shown = file.display().to_string();
    let mut program = match program::load(source, &shown, options.compile_limits()) {
        Ok(program) => program,
        Err(error) => {
            errln!("the program does not load: {error}");
            return Ok(1);
        }
    };
    program.name = plugin_name(&stem);
    let backend = backend_plugin(options)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let cache = cache_dir()?;
    let built =
        fastforth_session::backend::build(&backend, &program, &cache, &cargo, release, entry);
    let written = built.and_then(|built| {
        let backend = format!("{} {}", backend.name(), backend.version());
        let written = match entry {
            None => write_checked(&built, &output, &backend),
            Some(_) => write_executable(&built, &output),
        };
        written
            .map_err(|error| format!("{error:#}"))
            .map(|()| built)
    });
    match written {
        Ok(built) => {
            report(&built, &output)?;
            Ok(0)
        }
        Err(error) => {
            errln!("{}: {error}", file.display());
            Ok(1)
        }
    }
}

/// The name a program's plugin states, from its file's stem: plugin names are lower-case
/// letters, digits, `-` and `_`, so `Fib.fs` is the plugin `fib` and `my prog.fs` `my_prog`.
fn plugin_name(stem: &str) -> String {
    let name: String = stem
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_') => c,
            _ => '_',
        })
        .collect();
    if name.is_empty() {
        "forth".to_owned()
    } else {
        name
    }
}

/// Whether a build can be written to `output`, checked before anything is built: it names
/// a file in a directory that exists, is not a directory, a device or a pipe, is not the
/// program's own source, and is not named as the Rust runtime written beside it.
fn check_output(output: &Path, source: &Path) -> Result<(), String> {
    let shown = output.display();
    let names_a_directory = output
        .as_os_str()
        .as_encoded_bytes()
        .last()
        .is_none_or(|&last| std::path::is_separator(last.into()));
    let Some(name) = output.file_name().filter(|_| !names_a_directory) else {
        return Err(format!("-o {shown:?}: expected a file name"));
    };
    if fastforth_toolchain::is_runtime_file_name(&name.to_string_lossy()) {
        return Err(format!(
            "-o {shown}: that is the name of the Rust runtime the plugin needs beside it"
        ));
    }
    let parent = directory_of(output);
    if !parent.is_dir() {
        return Err(format!("-o {shown}: no directory {}", parent.display()));
    }
    match std::fs::metadata(output) {
        Ok(meta) if !meta.is_file() => Err(format!(
            "-o {shown}: expected a regular file to replace, found {}",
            if meta.is_dir() {
                "a directory"
            } else {
                "a device, pipe or socket"
            }
        )),
        Ok(_) if same_file(output, source) => {
            Err(format!("-o {shown}: that is the program's source file"))
        }
        _ => Ok(()),
    }
}

/// The directory `path` is in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// Writes the build to `output`, with the shared Rust runtime it links beside it, once it
/// loads as a "forth-native" plugin (structure, validation, self-test): it is checked in a
/// new directory of this process's own beside `output` (under `output`'s file name, so the
/// loader's shadow copies stay one set per output), then renamed over `output`, so a build
/// that does not load leaves whatever `output` held. The directory goes whatever happens;
/// one a killed `compile` left (named after its process) goes with the next `compile` there.
fn write_checked(built: &Built, output: &Path, backend: &str) -> anyhow::Result<()> {
    let runtime = copy_runtime_beside(Path::new(&built.runtime), output)?;
    let dir = directory_of(output);
    remove_abandoned_staging(dir);
    let staging = tempfile::Builder::new()
        .prefix(&format!("{STAGING_PREFIX}{}-", std::process::id()))
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a directory in {}", dir.display()))?;
    let name = output.file_name().context("the output names a file")?;
    let candidate = staging.path().join(name);
    std::fs::copy(&built.artifact, &candidate)
        .with_context(|| format!("cannot copy {} to {}", built.artifact, dir.display()))?;
    let runtime_name = runtime.file_name().context("the runtime names a file")?;
    let staged_runtime = staging.path().join(runtime_name);
    std::fs::hard_link(&runtime, &staged_runtime)
        .or_else(|_| std::fs::copy(&runtime, &staged_runtime).map(drop))
        .with_context(|| format!("cannot copy the runtime into {}", staging.path().display()))?;
    crate::loader()?
        .load::<ForthNative>(&candidate)
        .with_context(|| format!("{backend} answered a build that does not load"))?;
    std::fs::rename(&candidate, output)
        .with_context(|| format!("cannot write {}", output.display()))
}

/// Writes the executable build to `output` through a new file beside it and a rename, so
/// a failed write leaves whatever `output` held.
fn write_executable(built: &Built, output: &Path) -> anyhow::Result<()> {
    let dir = directory_of(output);
    let candidate = tempfile::Builder::new()
        .prefix(".fastforth-compile-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    // `copy` keeps the permissions that make it an executable.
    std::fs::copy(&built.artifact, candidate.path())
        .with_context(|| format!("cannot copy {} to {}", built.artifact, dir.display()))?;
    candidate
        .persist(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(())
}

/// The start of a staging directory's name, followed by its process's id and a `-`.
const STAGING_PREFIX: &str = ".fastforth-compile-";

/// Removes the staging directories in `dir` that a killed `compile` left (best effort).
fn remove_abandoned_staging(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
        if is_dir
            && name.starts_with(STAGING_PREFIX)
            && fastforth_host::shadow::is_abandoned(name, STAGING_PREFIX, &entry)
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Copies the shared Rust runtime the plugin links next to the plugin written at `output`,
/// where its run path looks, unless an identical copy is there; returns where it is.
fn copy_runtime_beside(runtime: &Path, output: &Path) -> anyhow::Result<PathBuf> {
    let name = runtime
        .file_name()
        .filter(|name| fastforth_toolchain::is_runtime_file_name(&name.to_string_lossy()))
        .with_context(|| format!("{} is not a shared Rust runtime", runtime.display()))?;
    let beside = output.with_file_name(name);
    let bytes =
        std::fs::read(runtime).with_context(|| format!("cannot read {}", runtime.display()))?;
    if fastforth_toolchain::holds(&beside, &bytes) {
        return Ok(beside);
    }
    // Written to a new file of its own and renamed into place: a runtime another process
    // has mapped is replaced, never rewritten; a failed write leaves nothing behind.
    let dir = directory_of(output);
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    let permissions = std::fs::metadata(runtime).map(|meta| meta.permissions());
    temp.write_all(&bytes)
        .and_then(|()| temp.as_file().set_permissions(permissions?))
        .with_context(|| format!("cannot write {}", temp.path().display()))?;
    temp.persist(&beside)
        .with_context(|| format!("cannot write {}", beside.display()))?;
    Ok(beside)
}

/// The plugin's file name (the library extension), or the executable's with `entry`.
fn default_output(name: &str, entry: Option<&str>) -> PathBuf {
    match entry {
        None => PathBuf::from(format!("{name}.{}", std::env::consts::DLL_EXTENSION)),
        Some(_) => PathBuf::from(format!("{name}{}", std::env::consts::EXE_SUFFIX)),
    }
}

/// Each word's stack mode, the words left out and why, and where the build went.
fn report(built: &Built, output: &Path) -> anyhow::Result<()> {
    for word in &built.words {
        let mode = match word.static_effect {
            Some((ins, outs)) => format!("static ( {ins} -- {outs} )"),
            None => "explicit stack".to_owned(),
        };
        outln!("{}: {mode}", word.name)?;
    }
    for (word, reason) in &built.skipped {
        errln!("not compiled: {word}: {reason}");
    }
    let cached = if built.cache_hit { " (cached)" } else { "" };
    outln!("wrote {}{cached}", output.display())
}

/// Runs `word` of the native plugin `plugin`; returns the process exit code.
pub fn run(plugin: &Path, word: &str) -> anyhow::Result<i32> {
    let loader = crate::loader()?;
    let plugin = loader.load::<ForthNative>(plugin)?;
    let mut terminal = Terminal::default();
    let run = plugin.run_word(word, &mut terminal)?;
    match run.evaluation {
        Evaluation::Continue | Evaluation::Bye => Ok(0),
        Evaluation::Error { message, .. } => {
            crate::output::report_forth_error(&message);
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_lands_beside_the_written_plugin_and_a_stale_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().join("cache/libstd-0123456789abcdef.so");
        std::fs::create_dir_all(runtime.parent().unwrap()).unwrap();
        std::fs::write(&runtime, b"runtime v2").unwrap();
        let output = dir.path().join("out/fib.so");
        std::fs::create_dir_all(output.parent().unwrap()).unwrap();
        let beside = output.with_file_name("libstd-0123456789abcdef.so");
        std::fs::write(&beside, b"runtime v1").unwrap();

        copy_runtime_beside(&runtime, &output).unwrap();
        assert_eq!(std::fs::read(&beside).unwrap(), b"runtime v2");
        copy_runtime_beside(&runtime, &output).unwrap();
        let names: Vec<_> = std::fs::read_dir(output.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["libstd-0123456789abcdef.so"],
            "no temporary file left"
        );
    }

    #[test]
    fn plugin_names_come_from_any_file_stem() {
        assert_eq!(plugin_name("Fib"), "fib");
        assert_eq!(plugin_name("my prog.v2"), "my_prog_v2");
        assert_eq!(plugin_name("calc-2_x"), "calc-2_x");
        assert_eq!(plugin_name("\u{e9}t\u{e9}"), "_t_");
        assert_eq!(plugin_name(""), "forth");
    }

    #[test]
    fn outputs_that_must_not_be_written_are_refused_before_a_build() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("p.fs");
        std::fs::write(&source, ": main ;").unwrap();
        let refused = |output: &Path| check_output(output, &source).unwrap_err();
        let runtime = dir.path().join("libstd-0123456789abcdef.so");
        assert!(
            refused(&runtime).ends_with("the name of the Rust runtime the plugin needs beside it")
        );
        assert!(refused(&source).ends_with("that is the program's source file"));
        assert!(
            refused(dir.path()).ends_with("expected a regular file to replace, found a directory")
        );
        let missing = dir.path().join("nope/p.so");
        assert!(
            refused(&missing).contains("no directory"),
            "{}",
            refused(&missing)
        );
        assert!(refused(Path::new("")).ends_with("expected a file name"));
        assert!(refused(Path::new("..")).ends_with("expected a file name"));
        let new_directory = format!("{}/", dir.path().join("new").display());
        assert!(refused(Path::new(&new_directory)).ends_with("expected a file name"));
        #[cfg(unix)]
        assert!(refused(Path::new("/dev/null")).ends_with("found a device, pipe or socket"));
        let fresh = dir.path().join("p.so");
        assert_eq!(check_output(&fresh, &source), Ok(()));
        std::fs::write(&fresh, b"an earlier build").unwrap();
        assert_eq!(check_output(&fresh, &source), Ok(()));
    }
}
