//! One loaded, validated plugin, and the [`Loader`] that makes them: check the file, copy it
//! to its content-addressed shadow name, probe it in a child process (once per build, when
//! configured), open it with `RTLD_NOW`, validate the descriptor and check that its every
//! pointer lies in the library's own image, copy its strings into host memory, run its
//! self-test. A [`Plugin`] owns its library, so a
//! function pointer taken from it can never outlive the code it points to.

use crate::image::{self, Image};
use crate::kinds::Kind;
use crate::probe::{self, ProbeCommand};
use crate::spare::SpareFiles;
use crate::{PluginError, images, inspect, library, runtime, shadow};
use fastforth_abi::{ABI_VERSION, ByteSink, DESCRIPTOR_SYMBOL, LAYOUT_HASH, MAGIC, ShutdownFn};
use fastforth_abi::{FfiStr, PluginDescriptor, Status};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the host copied out of a plugin's descriptor, plus where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub kind: &'static str,
    pub abi_version: u32,
    /// The IR version a pipeline stage speaks (0 for other kinds).
    pub ir_version: u32,
    /// The file the plugin was loaded from.
    pub source: PathBuf,
    /// The content-addressed copy that was actually opened.
    pub shadow: PathBuf,
    pub sha256: String,
}

/// A record of a plugin that was retired: its shutdown ran and its library was closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retirement {
    pub name: String,
    pub version: String,
    pub shadow: PathBuf,
    /// What the plugin's `shutdown` returned, `None` when it has none.
    pub shutdown: Option<Status>,
}

/// How many retirements a loader remembers: a host that swaps for months keeps bounded memory.
const RECENT_RETIREMENTS: usize = 64;

/// A loader's record of retired plugins: the most recent ones, and how many in all.
#[derive(Default)]
struct RetirementLog {
    recent: VecDeque<Retirement>,
    total: u64,
}

impl RetirementLog {
    fn record(&mut self, retirement: Retirement) {
        if self.recent.len() == RECENT_RETIREMENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(retirement);
        self.total += 1;
    }
}

type SharedRetirementLog = Arc<Mutex<RetirementLog>>;

/// A loaded, validated plugin of kind `K`. Calls go through its kind's methods (e.g.
/// `add_numbers` on `Plugin<Example>`); dropping the last reference runs its `shutdown`
/// and closes the library.
pub struct Plugin<K: Kind> {
    info: PluginInfo,
    api: K::Api,
    shutdown: Option<ShutdownFn>,
    retirements: SharedRetirementLog,
    // Declared last so it is dropped last: after `shutdown` ran and no pointer is left.
    _library: images::OpenImage,
}

impl<K: Kind> Plugin<K> {
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn version(&self) -> &str {
        &self.info.version
    }

    /// The checked function table, for the kind's safe methods to call through.
    pub fn api(&self) -> &K::Api {
        &self.api
    }

    /// The error for a call into this plugin that did not return [`Status::OK`].
    pub fn call_error(&self, function: &'static str, status: Status) -> PluginError {
        if status == Status::PANICKED {
            PluginError::Panicked {
                plugin: self.info.name.clone(),
                version: self.info.version.clone(),
                function,
            }
        } else {
            self.failure(function, format!("returned status {}", status.0))
        }
    }

    /// A failed call into this plugin, with the plugin's own explanation.
    pub fn failure(&self, function: &'static str, message: String) -> PluginError {
        PluginError::CallFailed {
            plugin: self.info.name.clone(),
            version: self.info.version.clone(),
            function,
            message,
        }
    }
}

impl<K: Kind> std::fmt::Debug for Plugin<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("info", &self.info).finish()
    }
}

impl<K: Kind> Drop for Plugin<K> {
    fn drop(&mut self) {
        // SAFETY: the descriptor's shutdown hook, called once, after the last call returned
        // and while the library is still loaded (`_library` is dropped after this).
        let status = self.shutdown.map(|shutdown| unsafe { shutdown() });
        let record = Retirement {
            name: self.info.name.clone(),
            version: self.info.version.clone(),
            shadow: self.info.shadow.clone(),
            shutdown: status,
        };
        if let Ok(mut log) = self.retirements.lock() {
            log.record(record);
        }
    }
}

/// Loads plugins through shadow copies in a cache directory it owns. Identical bytes are
/// loaded once: a second load of a file whose build is already live returns that plugin,
/// also when another loader on the same cache directory loaded it (its retirement is then
/// recorded by that loader), and a load of a build whose last plugin is being retired
/// waits until its library is closed (see `images`).
///
/// Files larger than a cap ([`inspect::DEFAULT_MAX_FILE_BYTES`] unless set with
/// [`Loader::with_max_file_bytes`]) are refused before they are read. With a probe command
/// ([`Loader::with_probe`], by default the one given to [`probe::set_default`]) a build is
/// first opened in a child process, once per content hash: see [`probe`].
pub struct Loader {
    cache_dir: PathBuf,
    max_file_bytes: u64,
    probe: Option<ProbeCommand>,
    retirements: SharedRetirementLog,
    spares: SpareFiles,
}

impl Loader {
    /// A loader whose shadow copies go to `cache_dir` (created when needed). Temporary
    /// files that killed loads left there are removed by its first load that writes a copy.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Loader {
        let cache_dir = cache_dir.into();
        Loader {
            spares: SpareFiles::new(cache_dir.clone()),
            cache_dir,
            max_file_bytes: inspect::DEFAULT_MAX_FILE_BYTES,
            probe: probe::default_command(),
            retirements: Arc::default(),
        }
    }

    /// The same loader with a cap of `max_bytes` on plugin files.
    pub fn with_max_file_bytes(mut self, max_bytes: u64) -> Loader {
        self.max_file_bytes = max_bytes;
        self
    }

    /// The same loader probing new builds with `probe` (`None`: opening them directly).
    /// A loader for files a signature vouches for (signed update artifacts) needs none.
    pub fn with_probe(mut self, probe: Option<ProbeCommand>) -> Loader {
        self.probe = probe;
        self
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// The plugins retired most recently (at most 64), oldest first.
    pub fn retirements(&self) -> Vec<Retirement> {
        self.retirements
            .lock()
            .map(|log| log.recent.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// How many plugins this loader has retired in all.
    pub fn retired_count(&self) -> u64 {
        self.retirements.lock().map_or(0, |log| log.total)
    }

    /// Verifies, provides its Rust runtime (refusing another toolchain's, see [`runtime`]),
    /// shadow-copies, probes, opens and validates the plugin at `path`, then runs its
    /// self-test. Nothing is opened unless the file passed the structural checks. A
    /// refused build's shadow copy is removed; a new copy of a loaded one tidies the cache
    /// (see [`shadow::tidy`]).
    pub fn load<K: Kind>(&self, path: &Path) -> Result<Arc<Plugin<K>>, PluginError> {
        let mut loaded = self.load_now(path);
        for _ in 0..EVICTION_RETRIES {
            if !matches!(loaded, Err(PluginError::CopyEvicted { .. })) {
                break;
            }
            loaded = self.load_now(path);
        }
        self.spares.make_next();
        loaded
    }

    fn load_now<K: Kind>(&self, path: &Path) -> Result<Arc<Plugin<K>>, PluginError> {
        let bytes = inspect::read_and_check_capped(path, self.max_file_bytes)?;
        if let Some(name) = runtime::check_needed(path, &bytes)? {
            runtime::provide(&self.cache_dir, path, &name)?;
        }
        let sha256 = shadow::sha256_hex(&bytes);
        let placed = shadow::place(&self.cache_dir, path, &bytes, &sha256, &|| {
            self.spares.take()
        })?;
        let shadow = placed.path;
        drop(bytes);
        let key = shadow.canonicalize().unwrap_or_else(|_| shadow.clone());
        // The probe runs before the table is locked: it takes a child process, and every
        // load and retirement in the process waits for that lock. A probed build costs a
        // `stat` the next time.
        if let Some(command) = &self.probe
            && let Err(error) = probe::probe(command, &self.cache_dir, path, &shadow, &sha256)
        {
            if !shadow.exists() {
                return Err(evicted(path, shadow));
            }
            if !images::lock().contains_key(&key) {
                shadow::remove(&shadow);
            }
            return Err(error);
        }
        // Declared before the lock, so a plugin of another kind found live is dropped after
        // the lock is released (dropping a plugin takes it).
        let other_kind;
        let (mut open, live) = images::live(images::lock(), &key);
        match live.map(|plugin| plugin.downcast::<Plugin<K>>()) {
            Some(Ok(plugin)) => return Ok(plugin),
            // Opening it again fails the kind check without running any hook.
            found => other_kind = found,
        }
        let library = match open_library(path, &shadow) {
            Ok(library) => library,
            Err(_) if !shadow.exists() => return Err(evicted(path, shadow)),
            Err(error) => return Err(error),
        };
        let retirements = self.retirements.clone();
        let built = build::<K>(
            library,
            path,
            shadow.clone(),
            sha256,
            retirements,
            key.clone(),
        );
        let plugin = match built {
            Ok(plugin) => Arc::new(plugin),
            Err(error) => {
                if other_kind.is_none() {
                    shadow::remove(&shadow);
                }
                drop(open);
                return Err(error);
            }
        };
        let erased: images::AnyPlugin = plugin.clone();
        images::insert(&mut open, key, &erased);
        if placed.written {
            shadow::tidy(&shadow, &|old| {
                open.contains_key(&old.canonicalize().unwrap_or_else(|_| old.to_path_buf()))
            });
        }
        drop((open, other_kind));
        Ok(plugin)
    }
}

/// How many times a load places its copy again after another process evicted it: each
/// eviction needs four newer builds of the same file name loaded in between.
const EVICTION_RETRIES: usize = 3;

fn evicted(path: &Path, shadow: PathBuf) -> PluginError {
    PluginError::CopyEvicted {
        path: path.into(),
        shadow,
    }
}

/// Checks, opens, validates, self-tests and exercises ([`Kind::exercise`]) the plugin at
/// `path` in this process as a plugin of kind `K`, without a shadow copy or a probe, then
/// retires it: what a probe process does. A plugin of another kind is refused ([`PluginError::WrongKind`]) before any of its
/// hooks runs.
pub fn open_as<K: Kind>(path: &Path) -> Result<(), PluginError> {
    let bytes = inspect::read_and_check(path)?;
    // The runtime first, from the file's directory (a loader's cache, where the loader put
    // it beside the shadow copy), as the loader that asked for this probe opens it: a
    // corrupt build can behave differently when its runtime was opened before it.
    if let Some(name) = runtime::check_needed(path, &bytes)? {
        let directory = path.parent().unwrap_or(Path::new("."));
        runtime::provide(directory, path, &name)?;
    }
    drop(bytes);
    let library = open_library(path, path)?;
    // Not hashed: the probe's caller knows the hash, and nothing here outlives this call.
    let (retirements, shadow, sha256) = (Arc::default(), path.to_path_buf(), String::new());
    let plugin = build::<K>(
        library,
        path,
        shadow,
        sha256,
        retirements,
        path.to_path_buf(),
    )?;
    K::exercise(Arc::new(plugin)).map_err(|message| PluginError::SelfTestFailed {
        path: path.into(),
        message: format!("calling its functions: {message}"),
    })
}

fn open_library(source: &Path, shadow: &Path) -> Result<libloading::Library, PluginError> {
    // SAFETY: `inspect::read_and_check` verified that these exact bytes (now in the
    // shadow file, which nothing else writes) are a well-formed shared library for this
    // host that exports the descriptor symbol, and a probe process (when configured)
    // opened them without crashing.
    unsafe { library::open(shadow) }.map_err(|error| PluginError::Open {
        path: source.into(),
        message: error_chain(&error),
    })
}

/// A descriptor found in an opened library, with the image its pointers must lie in
/// (`None` where the platform does not say).
struct Found<'lib> {
    descriptor: &'lib PluginDescriptor,
    image: Option<Image>,
}

/// Validates the descriptor for kind `K`, resolves its table and runs its self-test.
fn build<K: Kind>(
    library: libloading::Library,
    source: &Path,
    shadow: PathBuf,
    sha256: String,
    retirements: SharedRetirementLog,
    key: PathBuf,
) -> Result<Plugin<K>, PluginError> {
    let found = resolve_descriptor(&library, source, &shadow)?;
    let descriptor = found.descriptor;
    let info = validate_descriptor::<K>(&found, source, shadow, sha256)?;
    check_code_pointers::<K>(&found, source)?;
    // SAFETY: the descriptor's kind is `K::KIND` and its layout hash matches ours, so
    // `functions` points to a `K` table, static in the library we keep alive in `Plugin`;
    // the table lies in the library's data and every entry points into its code.
    let api = unsafe { K::resolve(descriptor.functions) }.map_err(|function| {
        PluginError::MissingFunction {
            path: source.into(),
            function,
        }
    })?;
    run_self_test(descriptor, source)?;
    Ok(Plugin {
        info,
        api,
        shutdown: descriptor.shutdown,
        retirements,
        _library: images::OpenImage::new(library, key),
    })
}

/// An error and its sources, joined by ": " (libloading keeps `dlerror`'s text in the source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Finds the descriptor function, checks that it lies in the library's code, calls it and
/// checks that the descriptor it returns lies in the library's data. The returned reference
/// points into `library`'s static data and is used only while `library` is borrowed.
fn resolve_descriptor<'lib>(
    library: &'lib libloading::Library,
    source: &Path,
    shadow: &Path,
) -> Result<Found<'lib>, PluginError> {
    type DescriptorFn = extern "C" fn() -> *const PluginDescriptor;
    let missing = || PluginError::MissingDescriptor {
        path: source.into(),
        symbol: DESCRIPTOR_SYMBOL,
    };
    // SAFETY: every FastForth plugin defines this symbol with exactly this signature; the
    // pointer is only used while `library` is borrowed, and only called once it is known
    // to point into the library's code.
    let function = unsafe { library.get::<DescriptorFn>(DESCRIPTOR_SYMBOL.as_bytes()) }
        .map_err(|_| missing())?;
    let image = image::mapped_image(shadow);
    if image.is_none() && cfg!(target_os = "linux") {
        return Err(outside(
            source,
            "image",
            format!("the dynamic loader has no image named {}", shadow.display()),
        ));
    }
    let bounds = Bounds(image.as_ref());
    if !bounds.code(*function as usize) {
        return Err(outside(
            source,
            DESCRIPTOR_SYMBOL,
            format!(
                "symbol address {:#x} is not in the library's code",
                *function as usize
            ),
        ));
    }
    let pointer = function();
    if pointer.is_null() {
        return Err(PluginError::NullDescriptor {
            path: source.into(),
            symbol: DESCRIPTOR_SYMBOL,
        });
    }
    if !bounds.data(pointer as usize, size_of::<PluginDescriptor>()) || !pointer.is_aligned() {
        return Err(outside(
            source,
            "descriptor",
            format!("{pointer:?} is not an aligned descriptor in the library's data"),
        ));
    }
    // SAFETY: non-null, aligned and (where the platform says) inside the library's readable
    // data; the ABI makes it a static descriptor whose leading fields (magic, version,
    // layout hash) sit at the same offsets in every ABI version, and nothing else is
    // trusted before they are checked.
    let descriptor = unsafe { &*pointer };
    Ok(Found { descriptor, image })
}

/// Pointer checks against an image; with no image (not known on this platform) they pass.
struct Bounds<'a>(Option<&'a Image>);

impl Bounds<'_> {
    fn code(&self, address: usize) -> bool {
        self.0.is_none_or(|image| image.is_code(address))
    }

    fn data(&self, address: usize, len: usize) -> bool {
        self.0.is_none_or(|image| image.is_data(address, len))
    }
}

fn outside(source: &Path, field: &'static str, problem: String) -> PluginError {
    PluginError::OutsideImage {
        path: source.into(),
        field,
        problem,
    }
}

/// The number of function pointers in the table of `K` (every table holds only those).
fn table_entries<K: Kind>() -> usize {
    size_of::<K::Table>() / size_of::<usize>()
}

/// Checks that `self_test`, `shutdown` and every non-null table entry point into the
/// library's code, and the table into its data, so nothing is called or read elsewhere.
fn check_code_pointers<K: Kind>(found: &Found, source: &Path) -> Result<(), PluginError> {
    let descriptor = found.descriptor;
    let bounds = Bounds(found.image.as_ref());
    let entries = table_entries::<K>();
    let table = descriptor.functions.cast::<usize>();
    if !bounds.data(table as usize, entries * size_of::<usize>()) || !table.is_aligned() {
        return Err(outside(
            source,
            "functions",
            format!("the table at {table:?} is not aligned in the library's data"),
        ));
    }
    let in_code = |field: &'static str, address: Option<usize>| match address {
        Some(address) if !bounds.code(address) => Err(outside(
            source,
            field,
            format!("{address:#x} is not in the library's code"),
        )),
        _ => Ok(()),
    };
    in_code("self_test", descriptor.self_test.map(|f| f as usize))?;
    in_code("shutdown", descriptor.shutdown.map(|f| f as usize))?;
    for index in 0..entries {
        // SAFETY: the table lies in the library's readable data (checked above, or the
        // platform does not say and the layout hash vouches for it) and is aligned; each
        // entry is an optional function pointer, read here as the address it holds.
        let address = unsafe { table.add(index).read() };
        if address != 0 {
            in_code("functions", Some(address))?;
        }
    }
    Ok(())
}

fn validate_descriptor<K: Kind>(
    found: &Found,
    source: &Path,
    shadow: PathBuf,
    sha256: String,
) -> Result<PluginInfo, PluginError> {
    let descriptor = found.descriptor;
    let bounds = Bounds(found.image.as_ref());
    let path = || source.to_path_buf();
    if descriptor.magic != MAGIC {
        return Err(PluginError::BadMagic {
            path: path(),
            expected: String::from_utf8_lossy(&MAGIC).into_owned(),
            found: String::from_utf8_lossy(&descriptor.magic).into_owned(),
        });
    }
    if descriptor.abi_version != ABI_VERSION {
        return Err(PluginError::AbiVersion {
            path: path(),
            expected: ABI_VERSION,
            found: descriptor.abi_version,
        });
    }
    if descriptor.layout_hash != LAYOUT_HASH {
        return Err(PluginError::LayoutHash {
            path: path(),
            expected: LAYOUT_HASH,
            found: descriptor.layout_hash,
        });
    }
    if descriptor.kind != K::KIND {
        return Err(PluginError::WrongKind {
            path: path(),
            expected: kind_name(K::KIND),
            found: kind_name(descriptor.kind),
        });
    }
    if descriptor.ir_version != K::IR_VERSION {
        return Err(PluginError::IrVersion {
            path: path(),
            expected: K::IR_VERSION,
            found: descriptor.ir_version,
        });
    }
    if descriptor.functions.is_null() {
        return Err(PluginError::BadField {
            path: path(),
            field: "functions",
            problem: "null pointer to the function table".to_owned(),
        });
    }
    Ok(PluginInfo {
        name: read_name(descriptor.name, &bounds, source)?,
        version: read_version(descriptor.version, &bounds, source)?,
        kind: K::KIND.name().unwrap_or("unknown"),
        abi_version: descriptor.abi_version,
        ir_version: descriptor.ir_version,
        source: source.into(),
        shadow,
        sha256,
    })
}

fn kind_name(kind: fastforth_abi::PluginKind) -> String {
    match kind.name() {
        Some(name) => name.to_owned(),
        None => format!("unknown ({})", kind.0),
    }
}

const MAX_FIELD_LEN: usize = 128;

fn read_field(
    text: FfiStr,
    bounds: &Bounds,
    source: &Path,
    field: &'static str,
) -> Result<String, PluginError> {
    let bad = |problem: String| PluginError::BadField {
        path: source.into(),
        field,
        problem,
    };
    if text.ptr.is_null() || text.len == 0 || text.len > MAX_FIELD_LEN {
        return Err(bad(format!(
            "expected 1 to {MAX_FIELD_LEN} bytes of UTF-8, found {} bytes at {:?}",
            text.len, text.ptr
        )));
    }
    if !bounds.data(text.ptr as usize, text.len) {
        return Err(outside(
            source,
            field,
            format!(
                "{} bytes at {:?} are not in the library's data",
                text.len, text.ptr
            ),
        ));
    }
    // SAFETY: the descriptor passed its magic/ABI/layout checks, so `text` is a (ptr, len)
    // pair into the library's static data (checked against its image where the platform
    // says); the length is bounded above.
    let bytes = unsafe { text.as_bytes() };
    String::from_utf8(bytes.to_vec()).map_err(|e| bad(format!("not UTF-8: {e}")))
}

fn read_name(text: FfiStr, bounds: &Bounds, source: &Path) -> Result<String, PluginError> {
    let name = read_field(text, bounds, source, "name")?;
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
    if name.chars().all(allowed) {
        Ok(name)
    } else {
        Err(PluginError::BadField {
            path: source.into(),
            field: "name",
            problem: format!("expected lower-case letters, digits, '-' or '_', found {name:?}"),
        })
    }
}

fn read_version(text: FfiStr, bounds: &Bounds, source: &Path) -> Result<String, PluginError> {
    let version = read_field(text, bounds, source, "version")?;
    if is_semver(&version) {
        Ok(version)
    } else {
        Err(PluginError::BadField {
            path: source.into(),
            field: "version",
            problem: format!("expected a semantic version such as 1.0.1, found {version:?}"),
        })
    }
}

/// `MAJOR.MINOR.PATCH` with an optional `-pre` and `+build` suffix.
pub fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn run_self_test(descriptor: &PluginDescriptor, source: &Path) -> Result<(), PluginError> {
    let Some(self_test) = descriptor.self_test else {
        return Ok(());
    };
    let mut message = Vec::new();
    // SAFETY: the descriptor's self-test hook of a library that stays loaded for the call;
    // the sink is borrowed for the call.
    let status = unsafe { self_test(ByteSink::for_vec(&mut message)) };
    let message = String::from_utf8_lossy(&message).into_owned();
    match status {
        Status::OK => Ok(()),
        Status::PANICKED => Err(PluginError::SelfTestPanicked {
            path: source.into(),
            message,
        }),
        _ => Err(PluginError::SelfTestFailed {
            path: source.into(),
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::is_semver;

    #[test]
    fn semver_shapes() {
        for good in ["1.0.0", "10.20.30", "1.0.1-rc.1", "1.0.0+build.5"] {
            assert!(is_semver(good), "{good}");
        }
        for bad in ["1.0", "v1.0.0", "1..0", "1.0.x", ""] {
            assert!(!is_semver(bad), "{bad}");
        }
    }
}
