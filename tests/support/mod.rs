//! Shared by the C and Python test harnesses: the `libgort.so` to test.
//!
//! `cargo test` builds the library's cdylib only when it also builds doc
//! tests; `cargo test --test c` alone builds just the rlib and would leave a
//! missing or stale `libgort.so`. So the harnesses ask cargo to bring the
//! cdylib up to date (a no-op after a full `cargo test`; cargo holds no lock
//! while test binaries run).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>/`, with an up-to-date `libgort.so` in it.
pub fn cdylib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/..").to_path_buf();
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let target_dir = dir.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--lib", "--quiet", "--profile", profile, "--manifest-path"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .expect("run cargo build for the cdylib");
    assert!(status.success(), "cargo build --lib failed");
    assert!(dir.join("libgort.so").exists(), "libgort.so not found in {}", dir.display());
    dir
}
