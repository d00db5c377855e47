//! Building a generated crate with cargo, through a cache: each crate lives in a directory
//! named by a hash of everything the plugin is built from (the generated files and the
//! sources of the runtime and the ABI), next to its built plugin; all crates share one
//! target directory and one copy of the runtime's and the ABI's sources (written from the
//! compiler's embedded copy), so those are compiled once. A crate whose build failed is
//! removed, so the cache holds only crates next to their built plugin. Plugins link the
//! toolchain's shared Rust runtime, copied next to each of them.

use crate::files::{fnv1a, write_atomically};
use crate::{AotError, CompiledWord, GeneratedCrate, Skipped, generate_program, load};
use fastforth_engine::program::Program;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where to build.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// The cache: one directory per generated crate, and `target/`.
    pub cache_dir: PathBuf,
    /// The cargo command.
    pub cargo: String,
    /// An optimised build (cargo's release profile); otherwise an unoptimised one, which
    /// builds faster and runs slower.
    pub release: bool,
}

impl CompileOptions {
    /// Cargo's name of the profile, and its output directory.
    fn profile(&self) -> (&'static str, &'static str) {
        if self.release {
            ("release", "release")
        } else {
            ("dev", "debug")
        }
    }
}

/// A built native plugin.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The plugin file in the cache.
    pub artifact: PathBuf,
    /// Whether it was already built (cargo did not run).
    pub cache_hit: bool,
    pub words: Vec<CompiledWord>,
    pub skipped: Vec<Skipped>,
    /// The shared Rust runtime it links, next to it in the cache.
    pub runtime: PathBuf,
}

/// Loads `source` (see [`crate::load`]), then generates, builds (unless cached) and returns
/// its plugin.
pub fn compile(source: &str, name: &str, options: &CompileOptions) -> Result<Compiled, AotError> {
    compile_program(&load(source, name)?, options)
}

/// Generates, builds (unless cached) and returns the plugin of a loaded program.
pub fn compile_program(program: &Program, options: &CompileOptions) -> Result<Compiled, AotError> {
    let generated = generate_program(program)?;
    let runtime = fastforth_toolchain::runtime_library(None)
        .map_err(|error| AotError::Runtime(error.to_string()))?;
    let key = format!("{:016x}", key(&generated, options, &runtime));
    let package = format!("ffnative-{key}");
    let dir = options.cache_dir.join(&key);
    let artifact = dir.join(library_file_name(&package));
    let cache_hit = artifact.is_file();
    if !cache_hit {
        crate::runtime_sources::write(&options.cache_dir)?;
        let built = write_crate(&generated, &dir, &package)
            .and_then(|()| build(&dir, &package, &artifact, options));
        if let Err(error) = built {
            // Best effort: the error being reported matters more than a leftover directory.
            let _ = std::fs::remove_dir_all(&dir);
            return Err(error);
        }
    }
    let runtime = fastforth_toolchain::copy_runtime_into(None, &dir)
        .map_err(|error| AotError::Runtime(error.to_string()))?;
    Ok(Compiled {
        artifact,
        runtime,
        cache_hit,
        words: generated.words,
        skipped: generated.skipped,
    })
}

/// Writes the crate's files into `dir`.
fn write_crate(generated: &GeneratedCrate, dir: &Path, package: &str) -> Result<(), AotError> {
    let cargo_toml = generated.cargo_toml(package);
    write_atomically(&dir.join("Cargo.toml"), cargo_toml.as_bytes())?;
    write_atomically(&dir.join("src/lib.rs"), generated.lib_rs.as_bytes())?;
    write_atomically(&dir.join("src/data.bin"), &generated.data)?;
    write_atomically(&dir.join("src/system.bin"), &generated.system)
}

/// The hash of everything the plugin is built from, the toolchain's runtime included.
fn key(generated: &GeneratedCrate, options: &CompileOptions, runtime: &Path) -> u64 {
    let cargo_toml = generated.cargo_toml("ffnative");
    let mut pieces: Vec<&[u8]> = vec![
        runtime.as_os_str().as_encoded_bytes(),
        options.profile().0.as_bytes(),
        cargo_toml.as_bytes(),
        generated.lib_rs.as_bytes(),
        &generated.data,
        &generated.system,
    ];
    for text in crate::runtime_sources::texts() {
        pieces.push(text.as_bytes());
    }
    fnv1a(pieces.into_iter())
}

/// `cargo rustc` of the crate in `dir` in the chosen profile, linking the shared runtime,
/// then the plugin copied to `artifact`.
fn build(
    dir: &Path,
    package: &str,
    artifact: &Path,
    options: &CompileOptions,
) -> Result<(), AotError> {
    let target_dir = options.cache_dir.join("target");
    let output = Command::new(&options.cargo)
        .args(["rustc", "--lib", "--profile", options.profile().0])
        .args(["--quiet", "--offline", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--")
        .args(fastforth_toolchain::shared_runtime_flags(None))
        .output()
        .map_err(|error| AotError::CargoMissing {
            cargo: options.cargo.clone(),
            error,
        })?;
    if !output.status.success() {
        return Err(AotError::Build(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    let built = target_dir
        .join(options.profile().1)
        .join(library_file_name(package));
    let bytes = std::fs::read(&built).map_err(|error| AotError::Io { path: built, error })?;
    write_atomically(artifact, &bytes)
}

/// The file name cargo gives the `cdylib` of `package` on this platform.
fn library_file_name(package: &str) -> String {
    let stem = package.replace('-', "_");
    match std::env::consts::OS {
        "windows" => format!("{stem}.dll"),
        "macos" => format!("lib{stem}.dylib"),
        _ => format!("lib{stem}.so"),
    }
}
