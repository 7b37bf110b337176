//! The CMake and pkg-config packaging, end to end, as a downstream C or C++
//! project meets it (`tests/consumer/run.sh`): gort built and installed with
//! CMake exactly as the README says (default build type and compiler, no
//! options); a developer build of the `c-tests/` with -Werror, registered
//! with CTest, a few of them run; then the consumer programs of
//! `tests/consumer/` built and run through `find_package(gort)` (shared and
//! static) and through pkg-config (`gort`, and `gort-static`, whose programs
//! must not load libgort.so).
//!
//! The scratch directory is `target/tmp/cmake-consumer`; it is kept between
//! runs so that the release build is reused (the first run compiles the crate
//! in release mode, about a minute). Its log is `run.log` there.
//!
//! Without `cmake` or `pkg-config` on PATH the test prints a loud SKIPPED line
//! and passes: a fresh developer machine may lack them, CI installs both.
//!
//! `GORT_CTEST_ARGS` picks what CTest runs inside the flow (default: the
//! `cpp_select` tests; `-L c` for the C tests, `-E .` for none). The flow
//! also checks that CMake registered one CTest test per run that the C
//! harness makes of `c-tests/` (`GORT_EXPECT_CTESTS`, counted here from the
//! same header lines).

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The whole flow: a release build of the crate, the test programs, two
/// consumer builds. Generous, for a slow machine with a cold cache.
const TIMEOUT: Duration = Duration::from_secs(1500);

#[test]
fn cmake_install_find_package_and_pkg_config() {
    for tool in ["cmake", "pkg-config"] {
        if !support::tool_runs(tool) {
            return support::skipped(&format!("{tool} not found: the CMake / pkg-config packaging was NOT tested"));
        }
    }

    let root = support::root();
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cmake-consumer");
    std::fs::create_dir_all(&work).expect("create the scratch directory");
    let log_path = work.join("run.log");
    let log = std::fs::File::create(&log_path).expect("create run.log");
    let ctest_args = std::env::var("GORT_CTEST_ARGS").unwrap_or_else(|_| "-R ^cpp_select:".to_string());
    let expect_ctests: usize = support::c_test_sources().iter().map(|src| support::c_test_header(src).runs.len()).sum();

    let mut cmd = Command::new("bash");
    cmd.arg(root.join("tests/consumer/run.sh"))
        .arg(&work)
        .env("CARGO", std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into()))
        .env("GORT_CTEST_ARGS", ctest_args)
        .env("GORT_EXPECT_CTESTS", expect_ctests.to_string())
        // cargo test points LD_LIBRARY_PATH at target/<profile>, which holds a
        // libgort.so too: the consumers must load the installed one.
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
    // In a process group of its own, so that a timeout stops cmake, make,
    // cargo and the test programs together.
    let finished = support::run_in_group(&mut cmd, TIMEOUT).expect("run bash tests/consumer/run.sh");

    let transcript = std::fs::read_to_string(&log_path).unwrap_or_default();
    let secs = finished.elapsed.as_secs();
    match finished.status {
        Some(s) if s.success() => {
            println!("consumer flow ok in {secs}s (log: {})", log_path.display());
        }
        Some(s) => panic!(
            "tests/consumer/run.sh failed ({s}) after {secs}s; log {}:\n{}",
            log_path.display(),
            tail(&transcript)
        ),
        None => panic!(
            "tests/consumer/run.sh killed after {}s; log {}:\n{}",
            TIMEOUT.as_secs(),
            log_path.display(),
            tail(&transcript)
        ),
    }
}

/// The last lines of a log, where a failure explains itself.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(200)..].join("\n")
}
