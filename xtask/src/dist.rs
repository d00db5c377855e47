//! `cargo xtask dist`: lays out `dist/<triple>/` exactly as it is installed, flat: the
//! `fastforth` binary (dist profile, std linked in), the shared Rust runtime the plugins
//! link, the first-party plugins, and an `index.json` of the plugins in build-all's format
//! (`file` relative to the folder itself).
//!
//! The plugins and the runtime are build-all's release artifacts for the triple (linked
//! against the shared runtime with an `$ORIGIN` run path; Windows plugins keep a static std
//! and ship no runtime), so what is installed is what `release` publishes. `fastforth` keeps
//! its static std: measured, a shared-runtime build of it is only 4 % smaller (it loses fat
//! LTO; root Cargo.toml, profile `dist`) and was slower to start in a quiet run.

use crate::flags;
use crate::flags::Profile;
use crate::index::{self, Index};
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

/// Builds everything for `triple` and lays it out in `dist/<triple>/`, emptied first (a
/// name that is no supported triple, such as `..`, is refused before anything is removed).
pub fn lay_out(sh: &Shell, root: &Path, triple: &str) -> anyhow::Result<Layout> {
    let host = crate::toolchain::host_triple(sh)?;
    crate::targets::resolve(&[triple.to_owned()], &host)?;
    let dir = root.join("dist").join(triple);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let binary = install(&build_fastforth(sh, root, triple, &host)?, &dir)?;
    let built = build_plugins(sh, root, triple)?;
    let runtime = built
        .runtimes
        .iter()
        .map(|runtime| install(&index::plugins_dir(root).join(&runtime.file), &dir))
        .next()
        .transpose()?;
    let mut plugins = Vec::new();
    let mut artifacts = Vec::new();
    for mut artifact in built.artifacts {
        let file = install(&index::plugins_dir(root).join(&artifact.file), &dir)?;
        artifact.file = file_name(&file);
        artifacts.push(artifact);
        plugins.push(file);
    }
    let runtimes = built
        .runtimes
        .into_iter()
        .map(|mut runtime| {
            runtime.file = file_name(Path::new(&runtime.file));
            runtime
        })
        .collect();
    let index = Index {
        schema: index::SCHEMA,
        artifacts,
        runtimes,
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

/// build-all's release build of every plugin for `triple` (and the runtime they link), and
/// the triple's index of them, whose `file`s are relative to `target/plugins/`.
fn build_plugins(sh: &Shell, root: &Path, triple: &str) -> anyhow::Result<Index> {
    flags::BuildAll {
        targets: vec![triple.to_owned()],
        plugins: Vec::new(),
        profile: Profile::Release,
        load_check: false,
    }
    .run(sh)?;
    index::read(&index::plugins_dir(root).join(triple).join(index::FILE_NAME))
}

/// The last component of `path`, as the index names a file beside it.
fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// Writes a stripped copy of `path` to `out` and returns its size, trying the triple's own
/// binutils, then `llvm-strip`, then the host's `strip`; `None` if none of them could.
#[cfg(feature = "bench")]
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

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}
