//! `cargo xtask dist`: lays out `dist/<triple>/` exactly as it is installed, flat: the
//! `fastforth` binary (dist profile, std linked in), the shared Rust runtime the plugins
//! link, the first-party plugins, and an `index.json` of the plugins in build-all's format
//! (`file` relative to the folder itself).
//!
//! Plugins are built with `-C prefer-dynamic` and an `$ORIGIN` (`@loader_path`) run path, so
//! they find the runtime next to them; the runtime is copied from the toolchain's sysroot
//! and stripped. Windows plugins keep a static std, as build-all's do, and ship no runtime. `fastforth` keeps its static std: measured, a shared-runtime build of it
//! is no smaller (it loses fat LTO) and starts slower (results/latest.md, "Install").

use crate::flags;
use crate::index::{self, Artifact, Index};
use crate::plugins::{self, Plugin};
use anyhow::Context;
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

/// The cargo profile of everything in `dist/` (root Cargo.toml).
pub const PROFILE: &str = "dist";

/// What `dist/<triple>/` holds once laid out.
pub struct Layout {
    pub dir: PathBuf,
    pub binary: PathBuf,
    /// `None` where plugins keep a static std (Windows).
    pub runtime: Option<PathBuf>,
    pub plugins: Vec<PathBuf>,
}

impl Layout {
    /// Every installed file, the binary first.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.binary)
            .chain(&self.runtime)
            .chain(&self.plugins)
    }
}

impl flags::Dist {
    pub fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = crate::project_root();
        let triple = match self.target {
            Some(triple) => triple,
            None => crate::toolchain::host_triple(sh)?,
        };
        let layout = lay_out(sh, &root, &triple)?;
        let mut total = 0;
        for file in layout.files() {
            let bytes = std::fs::metadata(file)?.len();
            total += bytes;
            println!("{bytes:>10}  {}", file.display());
        }
        println!("{total:>10}  installed in {}", layout.dir.display());
        Ok(())
    }
}

/// Builds everything for `triple` and lays it out in `dist/<triple>/`, emptied first.
pub fn lay_out(sh: &Shell, root: &Path, triple: &str) -> anyhow::Result<Layout> {
    let dir = root.join("dist").join(triple);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let host = crate::toolchain::host_triple(sh)?;
    let binary = install(&build_fastforth(sh, root, triple, &host)?, &dir)?;
    let runtime = match shared_runtime_flags(triple) {
        Some(_) => Some(copy_runtime(sh, triple, &dir)?),
        None => None,
    };
    let mut plugins = Vec::new();
    let mut artifacts = Vec::new();
    for plugin in plugins::discover(sh, root)? {
        let file = install(&build_plugin(sh, root, &plugin, triple)?, &dir)?;
        artifacts.push(indexed(&plugin, triple, &file)?);
        plugins.push(file);
    }
    let index = Index {
        schema: index::SCHEMA,
        artifacts,
    };
    index::write(&dir.join(index::FILE_NAME), &index)?;
    Ok(Layout {
        dir,
        binary,
        runtime,
        plugins,
    })
}

/// `cargo build --profile dist -p fastforth` for `triple` (`target/dist/` for the host,
/// shared with the bench), with the target's rustflags of `.cargo/config.toml` (no
/// RUSTFLAGS, which would replace them).
fn build_fastforth(sh: &Shell, root: &Path, triple: &str, host: &str) -> anyhow::Result<PathBuf> {
    let cargo = crate::toolchain::cargo();
    let (target, out) = if triple == host {
        (None, target_dir(root).join(PROFILE))
    } else {
        (
            Some(["--target", triple]),
            target_dir(root).join(triple).join(PROFILE),
        )
    };
    let target = target.iter().flatten();
    cmd!(
        sh,
        "{cargo} build --quiet --profile {PROFILE} -p fastforth --bin fastforth {target...}"
    )
    .run()
    .context("cannot build the fastforth binary")?;
    let exe = if triple.contains("windows") {
        "fastforth.exe"
    } else {
        "fastforth"
    };
    Ok(out.join(exe))
}

/// `plugin` built for `triple` in the dist profile, linked against the shared runtime.
/// rustc cannot link a shared std into an LTO build, so LTO is off for the plugins (each is
/// one crate and the ABI); their own target directory keeps the two settings apart.
fn build_plugin(sh: &Shell, root: &Path, plugin: &Plugin, triple: &str) -> anyhow::Result<PathBuf> {
    let cargo = crate::toolchain::cargo();
    let package = &plugin.package;
    let target_dir = target_dir(root).join("dist-plugins");
    let flags = shared_runtime_flags(triple).unwrap_or_default();
    cmd!(
        sh,
        "{cargo} rustc --quiet --lib --profile {PROFILE} -p {package} --target {triple}
            --config profile.dist.lto=false --target-dir {target_dir} -- {flags...}"
    )
    .run()
    .with_context(|| format!("cannot build {package}"))?;
    Ok(target_dir
        .join(triple)
        .join(PROFILE)
        .join(plugin.file_name(triple)))
}

/// The rustc flags that link a cdylib for `triple` against the shared Rust runtime and let
/// the loader find it in the library's own folder; `None` on Windows, whose plugins keep a
/// static std (ARCHITECTURE.md says why).
pub fn shared_runtime_flags(triple: &str) -> Option<Vec<String>> {
    if triple.contains("windows") {
        return None;
    }
    let origin = if triple.contains("apple") {
        "@loader_path"
    } else {
        "$ORIGIN"
    };
    let flags = ["-C", "prefer-dynamic", "-C"].map(str::to_owned);
    Some(
        [
            flags.to_vec(),
            vec![format!("link-arg=-Wl,-rpath,{origin}")],
        ]
        .concat(),
    )
}

/// Copies the toolchain's shared runtime for `triple` into `dir`, stripped when a strip
/// tool for the triple is at hand (else as the toolchain ships it, and says so).
fn copy_runtime(sh: &Shell, triple: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let lib_dir = crate::toolchain::rustc_sysroot(sh)?
        .join("lib/rustlib")
        .join(triple)
        .join("lib");
    let runtime = runtime_in(&lib_dir)?;
    let to = dir.join(runtime.file_name().expect("a runtime file has a name"));
    if strip_to(sh, &runtime, triple, &to).is_none() {
        eprintln!(
            "no strip tool for {triple}: {} is not stripped",
            to.display()
        );
        std::fs::copy(&runtime, &to)
            .with_context(|| format!("cannot copy {} to {}", runtime.display(), to.display()))?;
    }
    Ok(to)
}

/// The one shared standard library in a sysroot's `lib` folder.
fn runtime_in(lib_dir: &Path) -> anyhow::Result<PathBuf> {
    let entries = std::fs::read_dir(lib_dir).with_context(|| {
        format!(
            "no Rust std for this triple: cannot list {}",
            lib_dir.display()
        )
    })?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(is_runtime_file_name)
        })
        .collect();
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!(
            "no libstd-*.so, .dylib or std-*.dll in {}",
            lib_dir.display()
        ),
        many => anyhow::bail!(
            "more than one shared std in {}: {many:?}",
            lib_dir.display()
        ),
    }
}

/// Whether `name` is the file name of a shared Rust standard library.
pub fn is_runtime_file_name(name: &str) -> bool {
    (name.starts_with("libstd-") && (name.ends_with(".so") || name.ends_with(".dylib")))
        || (name.starts_with("std-") && name.ends_with(".dll"))
}

/// Writes a stripped copy of `path` to `out` and returns its size, trying the triple's own
/// binutils, then `llvm-strip`, then the host's `strip`; `None` if none of them could.
pub fn strip_to(sh: &Shell, path: &Path, triple: &str, out: &Path) -> Option<u64> {
    let prefix = triple.replace("-unknown-", "-");
    let own = (!triple.is_empty()).then(|| format!("{prefix}-strip"));
    let tools = own
        .into_iter()
        .chain(["llvm-strip".to_owned(), "strip".to_owned()]);
    tools.into_iter().find_map(|tool| {
        let stripped = cmd!(sh, "{tool} -o {out} {path}")
            .quiet()
            .ignore_stderr()
            .run()
            .is_ok();
        stripped
            .then(|| std::fs::metadata(out).ok().map(|m| m.len()))
            .flatten()
    })
}

/// Copies `built` into `dir` under its own name.
fn install(built: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let to = dir.join(built.file_name().context("a built file has a name")?);
    std::fs::copy(built, &to)
        .with_context(|| format!("cannot copy {} to {}", built.display(), to.display()))?;
    Ok(to)
}

/// The index entry of an installed plugin file.
fn indexed(plugin: &Plugin, triple: &str, file: &Path) -> anyhow::Result<Artifact> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(Artifact {
        plugin: plugin.name.clone(),
        package: plugin.package.clone(),
        version: plugin.version.clone(),
        triple: triple.to_owned(),
        profile: PROFILE.to_owned(),
        file: plugin.file_name(triple),
        size: bytes.len() as u64,
        sha256: index::sha256_hex(&bytes),
    })
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_find_the_runtime_in_their_own_folder_and_windows_ones_keep_std() {
        let rpath = |triple: &str| shared_runtime_flags(triple).map(|flags| flags.join(" "));
        assert_eq!(
            rpath("x86_64-unknown-linux-gnu").as_deref(),
            Some("-C prefer-dynamic -C link-arg=-Wl,-rpath,$ORIGIN")
        );
        assert_eq!(
            rpath("aarch64-apple-darwin").as_deref(),
            Some("-C prefer-dynamic -C link-arg=-Wl,-rpath,@loader_path")
        );
        assert_eq!(rpath("x86_64-pc-windows-gnu"), None);
    }

    #[test]
    fn the_runtime_is_the_one_shared_std_of_the_sysroot() {
        let dir = std::env::temp_dir().join(format!("xtask-dist-runtime-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "libstd-abc.rlib",
            "libcore-abc.rlib",
            "librustc_std_workspace.so",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        let error = runtime_in(&dir).unwrap_err().to_string();
        assert!(
            error.starts_with("no libstd-*.so, .dylib or std-*.dll in "),
            "{error}"
        );
        std::fs::write(dir.join("libstd-abc.so"), b"").unwrap();
        assert_eq!(runtime_in(&dir).unwrap(), dir.join("libstd-abc.so"));
        std::fs::write(dir.join("libstd-def.so"), b"").unwrap();
        let error = runtime_in(&dir).unwrap_err().to_string();
        assert!(error.starts_with("more than one shared std in "), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
