//! `fastforth compile` and `fastforth run --native`: a Forth program loaded by the built-in
//! engine and built by the backend stage plugin into a native plugin of kind
//! "forth-native", and a word of it run through the host.

use crate::forth_cmd::{EngineOptions, Terminal};
use crate::output::{errln, outln};
use anyhow::Context;
use fastforth_engine::program::{self, Built};
use fastforth_host::{Loader, Plugin};
use fastforth_session::{Backend, Evaluation, ForthNative, NativePlugin};
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
    let loader = Loader::new(fastforth_host::default_cache_dir()?);
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
        let reason = fastforth_update::printable(&format!("{error:#}")).into_owned();
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
/// [`backend_plugin`]) to a native plugin at `output` (by default the
/// program's name with the platform's library extension), with the shared Rust runtime it
/// links beside it, optimised when `release`; returns the process exit code. The program is
/// loaded before the backend is looked for, so its errors come first.
pub fn compile(
    options: &EngineOptions,
    file: &Path,
    source: &[u8],
    output: Option<&Path>,
    release: bool,
) -> anyhow::Result<i32> {
    let source = std::str::from_utf8(source).map_err(|error| not_utf8(file, source, error))?;
    let name = file
        .file_stem()
        .map_or("forth".into(), |stem| stem.to_string_lossy());
    let program = match program::load(source, &name) {
        Ok(program) => program,
        Err(error) => {
            errln!("{}: the program does not load: {error}", file.display());
            return Ok(1);
        }
    };
    let backend = backend_plugin(options)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built =
        fastforth_session::backend::build(&backend, &program, &cache_dir()?, &cargo, release);
    let built = match built {
        Ok(built) => built,
        Err(error) => {
            errln!("{}: {error}", file.display());
            return Ok(1);
        }
    };
    let output = output.map_or_else(|| default_output(&name), Path::to_path_buf);
    if let Err(error) = write_checked(&built, &output) {
        errln!(
            "{}: {} {} answered a build that was not written to {}: {error:#}",
            file.display(),
            backend.name(),
            backend.version(),
            output.display()
        );
        return Ok(1);
    }
    report(&built, &output)?;
    Ok(0)
}

/// Writes the build to `output`, with the shared Rust runtime it links beside it, once it
/// loads as a "forth-native" plugin (structure, validation, self-test): it is checked under
/// a temporary name beside `output`, then renamed over it, so a build that does not load
/// leaves whatever `output` held.
fn write_checked(built: &Built, output: &Path) -> anyhow::Result<()> {
    let runtime = Path::new(&built.runtime);
    copy_runtime_beside(runtime, output)?;
    let stem = output
        .file_stem()
        .map_or("forth".into(), |stem| stem.to_string_lossy());
    // One name per output, not per process: the loader keeps shadow copies per name.
    let temp = output.with_file_name(format!(".{stem}.unchecked{}", std::env::consts::DLL_SUFFIX));
    std::fs::copy(&built.artifact, &temp)
        .with_context(|| format!("cannot copy {} to {}", built.artifact, temp.display()))?;
    let checked = Loader::new(fastforth_host::default_cache_dir()?)
        .load::<ForthNative>(&temp)
        .map(drop)
        .map_err(anyhow::Error::from)
        .and_then(|()| {
            std::fs::rename(&temp, output)
                .with_context(|| format!("cannot write {}", output.display()))
        });
    if checked.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    checked
}

/// Copies the shared Rust runtime the plugin links next to the plugin written at `output`,
/// where its run path looks, unless an identical copy is there.
fn copy_runtime_beside(runtime: &Path, output: &Path) -> anyhow::Result<()> {
    let name = runtime
        .file_name()
        .filter(|name| fastforth_toolchain::is_runtime_file_name(&name.to_string_lossy()))
        .with_context(|| format!("{} is not a shared Rust runtime", runtime.display()))?;
    let beside = output.with_file_name(name);
    let bytes =
        std::fs::read(runtime).with_context(|| format!("cannot read {}", runtime.display()))?;
    if fastforth_toolchain::holds(&beside, &bytes) {
        return Ok(());
    }
    // Renamed into place: a runtime another process has mapped is replaced, never rewritten.
    let temp = beside.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, bytes).with_context(|| format!("cannot write {}", temp.display()))?;
    std::fs::rename(&temp, &beside).with_context(|| format!("cannot write {}", beside.display()))
}

fn default_output(name: &str) -> PathBuf {
    PathBuf::from(format!("{name}.{}", std::env::consts::DLL_EXTENSION))
}

/// Each word's stack mode, the words left out and why, and where the plugin went.
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
    let loader = Loader::new(fastforth_host::default_cache_dir()?);
    let plugin = loader.load::<ForthNative>(plugin)?;
    let mut terminal = Terminal::default();
    let run = plugin.run_word(word, &mut terminal)?;
    match run.evaluation {
        Evaluation::Continue | Evaluation::Bye => Ok(0),
        Evaluation::Error { message, .. } => {
            errln!("{message}");
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
}
