//! Link flags for the C-facing artifacts.
fn main() {
    // Signal handlers and worker threads keep running library code after a
    // dlclose(); the library must never be unmapped (docs/design.md, "Signals
    // and mixed binaries").
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgort.so");
    // The C test harness asks the `cc` crate for a compiler for this target.
    println!("cargo:rustc-env=GORT_TEST_TARGET={}", std::env::var("TARGET").unwrap());
    println!("cargo:rerun-if-changed=build.rs");
}
