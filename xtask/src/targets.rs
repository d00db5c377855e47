//! The committed list of target triples plugins are built for: each triple's binary format
//! and architecture (what `verify-symbols` expects), its linker and where it comes from,
//! how a program for it runs on a Linux x86_64 machine (natively, under qemu-user or Wine,
//! or not at all), its glibc symbol-version floor and the libraries a plugin may import.
//! It knows nothing of cargo or of plugins.

/// A binary format, named as the `object` crate names it (so `verify-symbols` compares the
/// two by name without this table depending on `object`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryFormat {
    Elf,
    Pe,
    MachO,
}

/// A CPU architecture, named as the `object` crate names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    X86_64,
    I386,
    Aarch64,
    Arm,
    Riscv64,
}

/// One supported target triple. Built without the `verify-symbols` feature, xtask reads
/// only the fields build-all and setup use.
#[derive(Debug)]
#[cfg_attr(not(feature = "verify-symbols"), allow(dead_code))]
pub struct Target {
    pub triple: &'static str,
    pub format: BinaryFormat,
    pub architecture: Architecture,
    pub is_64: bool,
    pub little_endian: bool,
    /// The linker cargo uses when cross-building from Linux.
    pub linker: Linker,
    /// How a program for this triple runs on an x86_64 Linux machine.
    pub runner: Runner,
    /// The newest glibc symbol version an artifact may require (ELF gnu triples only).
    pub glibc_floor: Option<GlibcVersion>,
    /// Why the floor is where it is (printed by `verify-symbols` next to a failure).
    pub glibc_floor_reason: &'static str,
    /// The shared libraries an artifact may name as needed (case-insensitive for PE).
    pub allowed_libraries: &'static [&'static str],
    /// Built and checked only on a machine that has it as its own triple (CI runners).
    pub native_only: bool,
}

/// A glibc symbol version such as `GLIBC_2.17`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

#[cfg_attr(not(feature = "verify-symbols"), allow(dead_code))]
impl GlibcVersion {
    /// Parses `GLIBC_2.17` (or `GLIBC_2.2.5`, whose third part is ignored); other names
    /// (`GCC_3.0`, `GLIBC_PRIVATE`) are not glibc release versions and give `None`.
    pub fn parse(name: &str) -> Option<GlibcVersion> {
        let mut parts = name.strip_prefix("GLIBC_")?.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(GlibcVersion(major, minor))
    }
}

impl std::fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GLIBC_{}.{}", self.0, self.1)
    }
}

/// The linker of a triple and what provides it.
#[derive(Clone, Copy, Debug)]
pub enum Linker {
    /// Rust's default for the triple (no extra tool needed on its own machine).
    Default,
    /// A C compiler driver from a Debian package.
    Gcc {
        program: &'static str,
        package: &'static str,
    },
    /// `ld64.lld` (Debian package `lld`) with the committed `.tbd` stubs as SDK.
    Ld64Lld,
}

/// How a program built for a triple runs on an x86_64 Linux machine.
#[derive(Clone, Copy, Debug)]
pub enum Runner {
    /// Directly (the machine's own triple, or i686 with `libc6-i386`).
    Native,
    /// Under qemu-user with the cross toolchain's libraries.
    Qemu {
        program: &'static str,
        sysroot: &'static str,
    },
    /// Under Wine, in a prefix of its own under `target/`.
    Wine,
    /// Not here; `why` says where it runs instead.
    Never { why: &'static str },
}

/// Rust's own minimum is glibc 2.17, but an artifact links against the build machine's
/// glibc, and Debian 12's 2.36 binds std's `pthread_key_create` to its 2.34 version (when
/// libpthread merged into libc). 2.34 admits Debian 12, Ubuntu 22.04, RHEL 9 and newer; it
/// keeps out any symbol that would exclude them (a `__isoc23_*` from glibc 2.38, say).
/// Lowering it needs an older glibc to link against, not a different Rust.
const GLIBC_FLOOR: Option<GlibcVersion> = Some(GlibcVersion(2, 34));
const GLIBC_FLOOR_REASON: &str = "built against Debian 12's glibc, std needs pthread_key_create@GLIBC_2.34; RHEL 9 and Ubuntu 22.04 have 2.34+";
const LINUX_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
];
const WINDOWS_LIBRARIES: &[&str] = &[
    "kernel32.dll",
    "ntdll.dll",
    "bcryptprimitives.dll",
    "api-ms-win-core-synch-l1-2-0.dll",
    "msvcrt.dll",
    "userenv.dll",
    "ws2_32.dll",
    "advapi32.dll",
    "vcruntime140.dll",
    "api-ms-win-crt-runtime-l1-1-0.dll",
    "api-ms-win-crt-heap-l1-1-0.dll",
    "api-ms-win-crt-string-l1-1-0.dll",
    "api-ms-win-crt-math-l1-1-0.dll",
    "api-ms-win-crt-stdio-l1-1-0.dll",
    "api-ms-win-crt-locale-l1-1-0.dll",
];
const APPLE_LIBRARIES: &[&str] = &["/usr/lib/libSystem.B.dylib", "/usr/lib/libiconv.2.dylib"];
const MACOS_NEVER: Runner = Runner::Never {
    why: "Mach-O runs only on macOS: the CI workflow loads it on a macOS runner",
};

/// Every supported triple, in build order.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-gnu",
        format: BinaryFormat::Elf,
        architecture: Architecture::X86_64,
        is_64: true,
        little_endian: true,
        linker: Linker::Default,
        runner: Runner::Native,
        glibc_floor: GLIBC_FLOOR,
        glibc_floor_reason: GLIBC_FLOOR_REASON,
        allowed_libraries: LINUX_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "i686-unknown-linux-gnu",
        format: BinaryFormat::Elf,
        architecture: Architecture::I386,
        is_64: false,
        little_endian: true,
        linker: Linker::Gcc {
            program: "i686-linux-gnu-gcc",
            package: "gcc-i686-linux-gnu",
        },
        runner: Runner::Native,
        glibc_floor: GLIBC_FLOOR,
        glibc_floor_reason: GLIBC_FLOOR_REASON,
        allowed_libraries: LINUX_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        format: BinaryFormat::Elf,
        architecture: Architecture::Aarch64,
        is_64: true,
        little_endian: true,
        linker: Linker::Gcc {
            program: "aarch64-linux-gnu-gcc",
            package: "gcc-aarch64-linux-gnu",
        },
        runner: Runner::Qemu {
            program: "qemu-aarch64",
            sysroot: "/usr/aarch64-linux-gnu",
        },
        glibc_floor: GLIBC_FLOOR,
        glibc_floor_reason: GLIBC_FLOOR_REASON,
        allowed_libraries: LINUX_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        format: BinaryFormat::Elf,
        architecture: Architecture::Arm,
        is_64: false,
        little_endian: true,
        linker: Linker::Gcc {
            program: "arm-linux-gnueabihf-gcc",
            package: "gcc-arm-linux-gnueabihf",
        },
        runner: Runner::Qemu {
            program: "qemu-arm",
            sysroot: "/usr/arm-linux-gnueabihf",
        },
        glibc_floor: GLIBC_FLOOR,
        glibc_floor_reason: GLIBC_FLOOR_REASON,
        allowed_libraries: LINUX_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "riscv64gc-unknown-linux-gnu",
        format: BinaryFormat::Elf,
        architecture: Architecture::Riscv64,
        is_64: true,
        little_endian: true,
        linker: Linker::Gcc {
            program: "riscv64-linux-gnu-gcc",
            package: "gcc-riscv64-linux-gnu",
        },
        runner: Runner::Qemu {
            program: "qemu-riscv64",
            sysroot: "/usr/riscv64-linux-gnu",
        },
        glibc_floor: GLIBC_FLOOR,
        glibc_floor_reason: GLIBC_FLOOR_REASON,
        allowed_libraries: LINUX_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "x86_64-pc-windows-gnu",
        format: BinaryFormat::Pe,
        architecture: Architecture::X86_64,
        is_64: true,
        little_endian: true,
        linker: Linker::Gcc {
            program: "x86_64-w64-mingw32-gcc",
            package: "gcc-mingw-w64-x86-64",
        },
        runner: Runner::Wine,
        glibc_floor: None,
        glibc_floor_reason: "",
        allowed_libraries: WINDOWS_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "x86_64-apple-darwin",
        format: BinaryFormat::MachO,
        architecture: Architecture::X86_64,
        is_64: true,
        little_endian: true,
        linker: Linker::Ld64Lld,
        runner: MACOS_NEVER,
        glibc_floor: None,
        glibc_floor_reason: "",
        allowed_libraries: APPLE_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "aarch64-apple-darwin",
        format: BinaryFormat::MachO,
        architecture: Architecture::Aarch64,
        is_64: true,
        little_endian: true,
        linker: Linker::Ld64Lld,
        runner: MACOS_NEVER,
        glibc_floor: None,
        glibc_floor_reason: "",
        allowed_libraries: APPLE_LIBRARIES,
        native_only: false,
    },
    Target {
        triple: "x86_64-pc-windows-msvc",
        format: BinaryFormat::Pe,
        architecture: Architecture::X86_64,
        is_64: true,
        little_endian: true,
        linker: Linker::Default,
        runner: Runner::Never {
            why: "MSVC builds need Windows: the CI workflow builds and loads them on a Windows runner",
        },
        glibc_floor: None,
        glibc_floor_reason: "",
        allowed_libraries: WINDOWS_LIBRARIES,
        native_only: true,
    },
];

/// The entry for `triple`, if it is supported.
pub fn find(triple: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.triple == triple)
}

/// The triples built when none is named: every cross-buildable one, plus the machine's own.
pub fn default_set(host: &str) -> Vec<&'static Target> {
    TARGETS
        .iter()
        .filter(|target| !target.native_only || target.triple == host)
        .collect()
}

/// Looks up every requested triple, or names the unknown one and the supported ones.
pub fn resolve(requested: &[String], host: &str) -> anyhow::Result<Vec<&'static Target>> {
    if requested.is_empty() {
        return Ok(default_set(host));
    }
    requested
        .iter()
        .map(|triple| {
            find(triple).ok_or_else(|| {
                let known: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
                anyhow::anyhow!(
                    "unknown target triple `{triple}`: supported are {}",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// How to run a program for `target` on a machine whose own triple is `host`, or why not.
pub fn runner_on<'a>(target: &'a Target, host: &str) -> Result<&'a Runner, String> {
    if target.triple == host {
        return Ok(&Runner::Native);
    }
    if host != "x86_64-unknown-linux-gnu" {
        return Err(format!("{} runs here only on x86_64 Linux", target.triple));
    }
    match &target.runner {
        Runner::Never { why } => Err((*why).to_owned()),
        runner => Ok(runner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_versions_parse_and_order() {
        assert_eq!(GlibcVersion::parse("GLIBC_2.17"), Some(GlibcVersion(2, 17)));
        assert_eq!(GlibcVersion::parse("GLIBC_2.2.5"), Some(GlibcVersion(2, 2)));
        assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("GCC_3.0"), None);
        assert!(GlibcVersion(2, 27) > GlibcVersion(2, 17));
        assert!(GlibcVersion(2, 3) < GlibcVersion(2, 17));
        assert_eq!(GlibcVersion(2, 17).to_string(), "GLIBC_2.17");
    }

    #[test]
    fn the_issue_s_triples_are_all_listed() {
        for triple in [
            "x86_64-unknown-linux-gnu",
            "i686-unknown-linux-gnu",
            "aarch64-unknown-linux-gnu",
            "armv7-unknown-linux-gnueabihf",
            "riscv64gc-unknown-linux-gnu",
            "x86_64-pc-windows-gnu",
            "x86_64-apple-darwin",
            "aarch64-apple-darwin",
        ] {
            assert!(find(triple).is_some(), "{triple} is missing");
        }
    }

    #[test]
    fn msvc_is_built_only_on_its_own_machine() {
        let on_linux = default_set("x86_64-unknown-linux-gnu");
        assert!(
            on_linux
                .iter()
                .all(|t| t.triple != "x86_64-pc-windows-msvc")
        );
        let on_windows = default_set("x86_64-pc-windows-msvc");
        assert!(
            on_windows
                .iter()
                .any(|t| t.triple == "x86_64-pc-windows-msvc")
        );
    }

    #[test]
    fn unknown_triples_are_refused_with_the_supported_list() {
        let error = resolve(
            &["sparc-sun-solaris".to_owned()],
            "x86_64-unknown-linux-gnu",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("unknown target triple `sparc-sun-solaris`"));
        assert!(error.contains("aarch64-unknown-linux-gnu"));
    }

    #[test]
    fn mach_o_never_runs_on_linux_but_runs_on_its_own_machine() {
        let mac = find("aarch64-apple-darwin").unwrap();
        assert!(runner_on(mac, "x86_64-unknown-linux-gnu").is_err());
        assert!(matches!(
            runner_on(mac, "aarch64-apple-darwin"),
            Ok(Runner::Native)
        ));
        let arm = find("aarch64-unknown-linux-gnu").unwrap();
        assert!(matches!(
            runner_on(arm, "x86_64-unknown-linux-gnu"),
            Ok(Runner::Qemu { .. })
        ));
    }

    #[test]
    fn cargo_config_agrees_with_the_table() {
        let config = std::fs::read_to_string(crate::project_root().join(".cargo/config.toml"))
            .expect("read .cargo/config.toml");
        for target in TARGETS {
            if let Linker::Gcc { program, .. } = target.linker {
                let section = format!("[target.{}]", target.triple);
                let body = config
                    .split(&section)
                    .nth(1)
                    .unwrap_or_else(|| panic!("{section} missing from .cargo/config.toml"));
                let body = body.split("\n[").next().unwrap();
                assert!(
                    body.contains(&format!("linker = \"{program}\"")),
                    "{section} should use {program}"
                );
                if let Runner::Qemu { program, sysroot } = target.runner {
                    assert!(
                        body.contains(&format!("runner = \"{program} -L {sysroot}")),
                        "{section} should run under {program} -L {sysroot}"
                    );
                }
            }
        }
    }
}
