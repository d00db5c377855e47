//! One loaded, validated plugin, and the [`Loader`] that makes them: check the file, copy it
//! to its content-addressed shadow name, open it with `RTLD_NOW`, validate the descriptor,
//! copy its strings into host memory, run its self-test. A [`Plugin`] owns its library, so a
//! function pointer taken from it can never outlive the code it points to.

use crate::kinds::Kind;
use crate::{PluginError, images, inspect, library, shadow};
use fastforth_abi::{ABI_VERSION, ByteSink, DESCRIPTOR_SYMBOL, LAYOUT_HASH, MAGIC, ShutdownFn};
use fastforth_abi::{FfiStr, PluginDescriptor, Status};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the host copied out of a plugin's descriptor, plus where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub kind: &'static str,
    pub abi_version: u32,
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

/// A loaded, validated plugin of kind `K`. Calls go through its kind's methods (e.g.
/// `add_numbers` on `Plugin<Example>`); dropping the last reference runs its `shutdown`
/// and closes the library.
pub struct Plugin<K: Kind> {
    info: PluginInfo,
    pub(crate) api: K::Api,
    shutdown: Option<ShutdownFn>,
    retirements: Arc<Mutex<Vec<Retirement>>>,
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

    /// The error for a call into this plugin that did not return [`Status::OK`].
    pub(crate) fn call_error(&self, function: &'static str, status: Status) -> PluginError {
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
    pub(crate) fn failure(&self, function: &'static str, message: String) -> PluginError {
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
            log.push(record);
        }
    }
}

/// Loads plugins through shadow copies in a cache directory it owns. Identical bytes are
/// loaded once: a second load of a file whose build is already live returns that plugin,
/// also when another loader on the same cache directory loaded it (its retirement is then
/// recorded by that loader), and a load of a build whose last plugin is being retired
/// waits until its library is closed (see `images`).
pub struct Loader {
    cache_dir: PathBuf,
    retirements: Arc<Mutex<Vec<Retirement>>>,
}

impl Loader {
    /// A loader whose shadow copies go to `cache_dir` (created when needed).
    pub fn new(cache_dir: impl Into<PathBuf>) -> Loader {
        Loader {
            cache_dir: cache_dir.into(),
            retirements: Arc::default(),
        }
    }

    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Every plugin retired so far, oldest first.
    pub fn retirements(&self) -> Vec<Retirement> {
        self.retirements
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    /// Verifies, shadow-copies, opens and validates the plugin at `path`, then runs its
    /// self-test. Nothing is opened unless the file passed the structural checks.
    pub fn load<K: Kind>(&self, path: &Path) -> Result<Arc<Plugin<K>>, PluginError> {
        let bytes = inspect::read_and_check(path)?;
        let sha256 = shadow::sha256_hex(&bytes);
        let shadow = shadow::place(&self.cache_dir, path, &bytes, &sha256)?;
        let key = shadow.canonicalize().unwrap_or_else(|_| shadow.clone());
        // Declared before the lock, so a plugin of another kind found live is dropped after
        // the lock is released (dropping a plugin takes it).
        let other_kind;
        let (mut open, live) = images::live(images::lock(), &key);
        match live.map(|plugin| plugin.downcast::<Plugin<K>>()) {
            Some(Ok(plugin)) => return Ok(plugin),
            // Opening it again fails the kind check without running any hook.
            found => other_kind = found,
        }
        let plugin = self.open_and_validate::<K>(path, shadow, sha256, key.clone())?;
        let plugin = Arc::new(plugin);
        let erased: images::AnyPlugin = plugin.clone();
        images::insert(&mut open, key, &erased);
        drop((open, other_kind));
        Ok(plugin)
    }

    fn open_and_validate<K: Kind>(
        &self,
        source: &Path,
        shadow: PathBuf,
        sha256: String,
        key: PathBuf,
    ) -> Result<Plugin<K>, PluginError> {
        // SAFETY: `inspect::read_and_check` verified that these exact bytes (now in the
        // shadow file, which nothing else writes) are a shared library for this host that
        // exports the descriptor symbol.
        let library = unsafe { library::open(&shadow) }.map_err(|error| PluginError::Open {
            path: source.into(),
            message: error_chain(&error),
        })?;
        let descriptor = resolve_descriptor(&library, source)?;
        let info = validate_descriptor::<K>(descriptor, source, shadow, sha256)?;
        // SAFETY: the descriptor's kind is `K::KIND` and its layout hash matches ours, so
        // `functions` points to a `K` table, static in the library we keep alive in `Plugin`.
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
            retirements: self.retirements.clone(),
            _library: images::OpenImage::new(library, key),
        })
    }
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

/// Calls the descriptor function. The returned reference points into `library`'s static
/// data; it is used only while `library` is alive (inside `open_and_validate`).
fn resolve_descriptor<'lib>(
    library: &'lib libloading::Library,
    source: &Path,
) -> Result<&'lib PluginDescriptor, PluginError> {
    type DescriptorFn = extern "C" fn() -> *const PluginDescriptor;
    // SAFETY: every FastForth plugin defines this symbol with exactly this signature; the
    // pointer is only used while `library` is borrowed.
    let function =
        unsafe { library.get::<DescriptorFn>(DESCRIPTOR_SYMBOL.as_bytes()) }.map_err(|_| {
            PluginError::MissingDescriptor {
                path: source.into(),
                symbol: DESCRIPTOR_SYMBOL,
            }
        })?;
    let pointer = function();
    if pointer.is_null() {
        return Err(PluginError::NullDescriptor {
            path: source.into(),
            symbol: DESCRIPTOR_SYMBOL,
        });
    }
    // SAFETY: non-null, and the ABI makes it point to a static descriptor in `library`;
    // its leading fields (magic, version, layout hash) sit at the same offsets in every ABI
    // version, and nothing else is trusted before they are checked.
    Ok(unsafe { &*pointer })
}

fn validate_descriptor<K: Kind>(
    descriptor: &PluginDescriptor,
    source: &Path,
    shadow: PathBuf,
    sha256: String,
) -> Result<PluginInfo, PluginError> {
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
    if descriptor.functions.is_null() {
        return Err(PluginError::BadField {
            path: path(),
            field: "functions",
            problem: "null pointer to the function table".to_owned(),
        });
    }
    Ok(PluginInfo {
        name: read_name(descriptor.name, source)?,
        version: read_version(descriptor.version, source)?,
        kind: K::KIND.name().unwrap_or("unknown"),
        abi_version: descriptor.abi_version,
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

fn read_field(text: FfiStr, source: &Path, field: &'static str) -> Result<String, PluginError> {
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
    // SAFETY: the descriptor passed its magic/ABI/layout checks, so `text` is a (ptr, len)
    // pair into the library's static data; the length is bounded above.
    let bytes = unsafe { text.as_bytes() };
    String::from_utf8(bytes.to_vec()).map_err(|e| bad(format!("not UTF-8: {e}")))
}

fn read_name(text: FfiStr, source: &Path) -> Result<String, PluginError> {
    let name = read_field(text, source, "name")?;
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

fn read_version(text: FfiStr, source: &Path) -> Result<String, PluginError> {
    let version = read_field(text, source, "version")?;
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
