//! The CMake and pkg-config packaging, end to end, as a downstream C or C++
//! project meets it: `tests/consumer/run.sh` builds gort with CMake (which
//! runs `cargo build --release` into its own build directory), registers the
//! `c-tests/` with CTest and runs a few of them, installs into a scratch
//! prefix, then builds and runs the consumer programs in `tests/consumer/`
//! through `find_package(gort)` (shared and static) and through pkg-config.
//!
//! The scratch directory is `target/tmp/cmake-consumer`; it is kept between
//! runs so that the release build is reused (the first run compiles the crate
//! in release mode, about a minute). Its log is `run.log` there.
//!
//! Without `cmake` or `pkg-config` on PATH the test prints a loud SKIPPED line
//! and passes: a fresh developer machine may lack them, CI installs both.
//!
//! `GORT_CTEST_ARGS` picks what CTest runs inside the flow (default: the
//! `cpp_select` tests; `-L c` for the C tests, `-E .` for none).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole flow: a release build of the crate, the test programs, two
/// consumer builds. Generous, for a slow machine with a cold cache.
const TIMEOUT: Duration = Duration::from_secs(1500);

#[test]
fn cmake_install_find_package_and_pkg_config() {
    for tool in ["cmake", "pkg-config"] {
        if !runs(tool) {
            // Straight to fd 2: libtest would swallow eprintln! of a passing test.
            let _ = writeln!(
                std::io::stderr(),
                "\n\
                 ********************************************************************\n\
                 SKIPPED: {tool} not found: the CMake / pkg-config packaging was NOT tested\n\
                 ********************************************************************\n"
            );
            return;
        }
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cmake-consumer");
    std::fs::create_dir_all(&work).expect("create the scratch directory");
    let log_path = work.join("run.log");
    let log = std::fs::File::create(&log_path).expect("create run.log");
    let ctest_args = std::env::var("GORT_CTEST_ARGS").unwrap_or_else(|_| "-R ^cpp_select:".to_string());

    let mut cmd = Command::new("bash");
    cmd.arg(root.join("tests/consumer/run.sh"))
        .arg(&work)
        .env("CARGO", std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into()))
        .env("GORT_CTEST_ARGS", ctest_args)
        // cargo test points LD_LIBRARY_PATH at target/<profile>, which holds a
        // libgort.so too: the consumers must load the installed one.
        .env_remove("LD_LIBRARY_PATH")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log);
    // Its own process group, so that a timeout can stop cmake, make, cargo
    // and the test programs together.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);

    let start = Instant::now();
    let mut child = cmd.spawn().expect("run bash tests/consumer/run.sh");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for run.sh") {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            // SAFETY: kill(2) on the process group this test created.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    let transcript = std::fs::read_to_string(&log_path).unwrap_or_default();
    let secs = start.elapsed().as_secs();
    match status {
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

/// Whether `tool --version` runs.
fn runs(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The last lines of a log, where a failure explains itself.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(200)..].join("\n")
}
