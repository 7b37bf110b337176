//! `include/gort.h` is generated from `src/ffi` by cbindgen and committed so
//! C users need no Rust tooling. This test regenerates it and fails when the
//! committed file is stale; `GORT_BLESS=1 cargo test --test header` rewrites it.

use std::path::PathBuf;

#[test]
fn committed_header_is_current() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("read cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen failed")
        .write(&mut generated);
    let path = root.join("include/gort.h");
    if std::env::var_os("GORT_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/gort.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/gort.h is stale: run `GORT_BLESS=1 cargo test --test header` and commit the result"
    );
}
