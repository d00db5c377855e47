//! The mapped image of an opened library: its segments and their permissions, so that every
//! pointer a plugin's descriptor hands over can be checked to lie in the plugin's own code
//! (functions) or data (strings, tables) before the host reads or calls it. The platform
//! split is a module split: Linux asks `dl_iterate_phdr`; elsewhere the image is unknown and
//! the checks are skipped (those hosts rely on the structural checks and the probe).

pub use platform::mapped_image;

/// One mapped segment: `start..end` in this process, with its permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
    pub readable: bool,
    pub executable: bool,
}

/// The segments of one loaded library.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Image {
    pub segments: Vec<Segment>,
}

impl Image {
    /// Whether `address` lies in an executable segment: a function may start there.
    pub fn is_code(&self, address: usize) -> bool {
        self.segments
            .iter()
            .any(|s| s.executable && (s.start..s.end).contains(&address))
    }

    /// Whether the `len` bytes at `address` lie in one readable segment.
    pub fn is_data(&self, address: usize, len: usize) -> bool {
        let Some(end) = address.checked_add(len) else {
            return false;
        };
        self.segments
            .iter()
            .any(|s| s.readable && s.start <= address && end <= s.end)
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use super::{Image, Segment};
    use std::ffi::{CStr, c_int, c_void};
    use std::path::Path;

    /// The image of the library that was opened from `path`, if the dynamic loader has one
    /// by that name.
    pub fn mapped_image(path: &Path) -> Option<Image> {
        let wanted = path.as_os_str().as_encoded_bytes();
        let mut search = Search {
            wanted,
            found: None,
        };
        // SAFETY: the callback only reads the `dl_phdr_info` the loader passes for the
        // duration of the call, and `search` outlives `dl_iterate_phdr`.
        unsafe {
            libc::dl_iterate_phdr(Some(visit), (&raw mut search).cast::<c_void>());
        }
        search.found
    }

    struct Search<'a> {
        wanted: &'a [u8],
        found: Option<Image>,
    }

    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the `Search` passed by `mapped_image`; `info` is valid for this
        // call, its name is a NUL-terminated string and `dlpi_phdr` points to `dlpi_phnum`
        // program headers (the loader's own, already in memory).
        let (search, info) = unsafe { (&mut *data.cast::<Search>(), &*info) };
        if info.dlpi_name.is_null() {
            return 0;
        }
        // SAFETY: non-null, NUL-terminated (see above).
        let name = unsafe { CStr::from_ptr(info.dlpi_name) };
        if name.to_bytes() != search.wanted {
            return 0;
        }
        // SAFETY: see above.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
        let base = info.dlpi_addr as usize;
        let segments = headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD)
            .map(|h| Segment {
                start: base.wrapping_add(h.p_vaddr as usize),
                end: base
                    .wrapping_add(h.p_vaddr as usize)
                    .wrapping_add(h.p_memsz as usize),
                readable: h.p_flags & libc::PF_R != 0,
                executable: h.p_flags & libc::PF_X != 0,
            })
            .collect();
        search.found = Some(Image { segments });
        1
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::Image;
    use std::path::Path;

    /// Not known on this platform (Windows would read the module's section headers): the
    /// descriptor checks that need it are skipped.
    pub fn mapped_image(_path: &Path) -> Option<Image> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Image {
        Image {
            segments: vec![
                Segment {
                    start: 0x1000,
                    end: 0x2000,
                    readable: true,
                    executable: false,
                },
                Segment {
                    start: 0x2000,
                    end: 0x3000,
                    readable: true,
                    executable: true,
                },
            ],
        }
    }

    #[test]
    fn code_must_be_in_an_executable_segment() {
        assert!(image().is_code(0x2000));
        assert!(image().is_code(0x2fff));
        assert!(!image().is_code(0x1800), "data is not code");
        assert!(!image().is_code(0x3000), "one past the end");
        assert!(!image().is_code(0));
    }

    #[test]
    fn data_must_fit_in_one_readable_segment() {
        assert!(image().is_data(0x1000, 0x1000));
        assert!(!image().is_data(0x1ff0, 0x20), "straddles two segments");
        assert!(!image().is_data(0x2ff0, 0x20), "runs past the end");
        assert!(!image().is_data(usize::MAX - 1, 4), "wraps around");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_unknown_name_has_no_image() {
        assert_eq!(
            mapped_image(std::path::Path::new("/no/such/library.so")),
            None
        );
    }
}
