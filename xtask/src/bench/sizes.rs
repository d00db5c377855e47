//! Sizes of what users download: each plugin and the `fastforth` binary (without the update
//! machinery, as by default, and with https), as built and stripped, for the host triple
//! (built here) and for every triple `cargo xtask build-all` left under
//! `target/plugins/<triple>/`.

use super::results::Size;
use anyhow::Context;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// The plugin packages whose size is reported, when present in the workspace.
const PLUGINS: [(&str, &str); 6] = [
    ("plugins/example", "fastforth-example-plugin"),
    ("plugins/forth", "fastforth-forth-plugin"),
    ("plugins/optimizer", "fastforth-optimizer-plugin"),
    ("plugins/parser", "fastforth-parser-plugin"),
    ("plugins/compiler", "fastforth-compiler-plugin"),
    ("plugins/backend", "fastforth-backend-plugin"),
];

/// Sizes of everything that builds; what does not build is reported and left out.
pub fn measure(sh: &Shell, root: &Path) -> anyhow::Result<Vec<Size>> {
    let triple = crate::toolchain::host_triple(sh)?;
    let mut sizes = Vec::new();
    for (dir, package) in PLUGINS {
        if !root.join(dir).join("Cargo.toml").is_file() {
            continue;
        }
        match build_plugin(sh, root, package) {
            Ok(artifact) => sizes.push(size_of(sh, package, &triple, &artifact)?),
            Err(error) => eprintln!("size of {package} skipped: {error:#}"),
        }
    }
    for (artifact, flags) in FASTFORTH_FEATURES {
        sizes.extend(fastforth_size(sh, root, &triple, artifact, flags)?);
    }
    sizes.extend(cross_built(sh, root, &triple)?);
    Ok(sizes)
}

/// The `fastforth` binary's feature sets, each reported under its own artifact name:
/// without the update machinery, the default (`update`: `http://` and `file://` channels),
/// and `tls` (`https://` too).
pub const FASTFORTH_FEATURES: [(&str, &[&str]); 3] = [
    (
        "fastforth --no-default-features",
        &["--no-default-features"],
    ),
    ("fastforth", &[]),
    ("fastforth --features tls", &["--features", "tls"]),
];

/// Builds the `fastforth` binary with `flags` and measures it; `None` if it does not build.
fn fastforth_size(
    sh: &Shell,
    root: &Path,
    triple: &str,
    artifact: &str,
    flags: &[&str],
) -> anyhow::Result<Option<Size>> {
    match build_fastforth(sh, root, flags) {
        Ok(binary) => size_of(sh, artifact, triple, &binary).map(Some),
        Err(error) => {
            eprintln!("size of {artifact} skipped: {error:#}");
            Ok(None)
        }
    }
}

/// Builds the `fastforth` binary (release) with `flags` and returns its path.
pub fn build_fastforth(sh: &Shell, root: &Path, flags: &[&str]) -> anyhow::Result<PathBuf> {
    let cargo = crate::toolchain::cargo();
    cmd!(
        sh,
        "{cargo} build --quiet --release -p fastforth --bin fastforth {flags...}"
    )
    .run()
    .context("cannot build the fastforth binary")?;
    Ok(target_dir(root)
        .join("release")
        .join(format!("fastforth{}", std::env::consts::EXE_SUFFIX)))
}

/// Builds `package` the way the plugin tests and demos do (its own release target dir).
fn build_plugin(sh: &Shell, root: &Path, package: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join("target/plugin-builds").join(package);
    let cargo = crate::toolchain::cargo();
    cmd!(
        sh,
        "{cargo} build --quiet --release -p {package} --target-dir {dir}"
    )
    .run()
    .with_context(|| format!("cannot build {package}"))?;
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    Ok(dir.join("release").join(file))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// `path`'s size, and its size after `strip` (`None` if no strip tool handles it).
pub fn size_of(sh: &Shell, name: &str, triple: &str, path: &Path) -> anyhow::Result<Size> {
    let bytes = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let scratch =
        std::env::temp_dir().join(format!("fastforth-bench-strip-{}", std::process::id()));
    let stripped = crate::dist::strip_to(sh, path, triple, &scratch);
    let _ = std::fs::remove_file(&scratch);
    Ok(Size {
        artifact: name.to_owned(),
        triple: triple.to_owned(),
        bytes,
        stripped,
    })
}

/// Artifacts `cargo xtask build-all` left for other triples.
fn cross_built(sh: &Shell, root: &Path, host: &str) -> anyhow::Result<Vec<Size>> {
    let plugins = root.join("target/plugins");
    let Ok(triples) = std::fs::read_dir(&plugins) else {
        return Ok(Vec::new());
    };
    let mut sizes = Vec::new();
    for triple in triples.flatten() {
        let name = triple.file_name().to_string_lossy().into_owned();
        if name == host || !triple.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(triple.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = file.path();
            let is_library = path
                .extension()
                .is_some_and(|e| e == "so" || e == "dll" || e == "dylib" || e == "wasm");
            if is_library {
                let artifact = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                sizes.push(size_of(sh, &artifact, &name, &path)?);
            }
        }
    }
    sizes.sort_by(|a, b| (&a.triple, &a.artifact).cmp(&(&b.triple, &b.artifact)));
    Ok(sizes)
}
