//! Opening a shared library with the flags the host needs. The platform split is a module
//! split: Unix opens with `RTLD_NOW | RTLD_LOCAL`, Windows uses the normal loader.

pub use platform::open;

#[cfg(unix)]
mod platform {
    use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
    use std::path::Path;

    /// Opens `path`, resolving every import now: a missing import is a load error here
    /// instead of a process exit (127) at the first call. Symbols stay local so two
    /// versions of one plugin never bind to each other's.
    ///
    /// # Safety
    /// Opening runs the library's initialisers; the caller must have checked that the file
    /// is a plugin built for this host (see `inspect`).
    pub unsafe fn open(path: &Path) -> Result<libloading::Library, libloading::Error> {
        // SAFETY: forwarded to our caller, who verified the file before loading it.
        unsafe { Library::open(Some(path), RTLD_NOW | RTLD_LOCAL) }.map(Into::into)
    }
}

#[cfg(windows)]
mod platform {
    use std::path::Path;

    /// Opens `path` with the normal loader (imports are always bound at load time).
    ///
    /// # Safety
    /// Opening runs `DllMain`; the caller must have checked that the file is a plugin
    /// built for this host (see `inspect`).
    pub unsafe fn open(path: &Path) -> Result<libloading::Library, libloading::Error> {
        // SAFETY: forwarded to our caller, who verified the file before loading it.
        unsafe { libloading::Library::new(path) }
    }
}
