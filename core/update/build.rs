//! Pins the release public keys in `keys/*.pub` and the root metadata `keys/root.json` (if
//! any) into the library and records the target triple the library is built for (the one
//! the updater picks from a manifest). `FASTFORTH_UPDATE_KEYS_DIR`, when set at build time,
//! names another directory to pin the keys and root of (a distributor's own, or a test's).

use std::path::Path;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-env-changed=FASTFORTH_UPDATE_KEYS_DIR");
    let keys_dir = match std::env::var_os("FASTFORTH_UPDATE_KEYS_DIR") {
        Some(dir) => Path::new(&dir).to_path_buf(),
        None => Path::new(&manifest_dir).join("keys"),
    };
    println!("cargo:rerun-if-changed={}", keys_dir.display());
    let mut keys: Vec<_> = std::fs::read_dir(&keys_dir)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    keys.retain(|path| path.extension().is_some_and(|ext| ext == "pub"));
    keys.sort();
    let mut code = String::from("/// Every `keys/*.pub` file: (file name, contents).\n");
    code.push_str("pub const PINNED_KEYS: &[(&str, &str)] = &[\n");
    for path in &keys {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("key file names are UTF-8");
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let root = keys_dir.join("root.json");
    println!("cargo:rerun-if-changed={}", root.display());
    code.push_str("/// `keys/root.json`, if there is one.\n");
    match root.is_file() {
        true => code.push_str(&format!(
            "pub const PINNED_ROOT: Option<&str> = Some(include_str!({:?}));\n",
            root.display().to_string()
        )),
        false => code.push_str("pub const PINNED_ROOT: Option<&str> = None;\n"),
    }
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("pinned_keys.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    println!("cargo:rustc-env=FASTFORTH_UPDATE_TARGET={target}");
}
