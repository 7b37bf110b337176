//! Runs the Python binding's tests (`bindings/python/tests`, stdlib `unittest`)
//! against the cdylib that this `cargo test` built.
//!
//! Steps: compile `bindings/python/tests/helper.c` (C goroutine bodies the
//! tests start) into `target/<profile>/python-tests/libgort_test_helper.so`
//! with the `cc` crate's compiler, linked against `libgort.so` with an rpath;
//! then run
//!
//! ```text
//! python3 -m unittest discover -s bindings/python/tests -v
//! ```
//!
//! with `GORT_LIBRARY` (the built `libgort.so`), `GORT_TEST_HELPER` (the
//! helper) and `PYTHONPATH=bindings/python`, under an outer timeout (the
//! test modules carry their own watchdogs too).
//!
//! Arguments select tests by substring (`cargo test --test python -- select`
//! becomes `unittest -k select`). Environment: `GORT_PYTHON` names the
//! interpreter (default `python3`); `GORT_PYTHON_TEST_TIMEOUT` the outer
//! timeout in seconds (default 600). Without a Python interpreter the run
//! prints a SKIPPED line and succeeds.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn main() {
    let args = support::name_filters();
    let root = support::root();
    let bindings = root.join("bindings").join("python");
    let lib_dir = support::cdylib_dir();
    let library = lib_dir.join("libgort.so");

    let Some(python) = support::python() else {
        return support::skipped("Python tests: no python3 interpreter found (set GORT_PYTHON)");
    };
    let version = Command::new(&python).arg("--version").output().expect("python --version");
    let version = String::from_utf8_lossy(if version.stdout.is_empty() { &version.stderr } else { &version.stdout })
        .trim()
        .to_string();
    println!("\nrunning the Python tests with {python} ({version}) against {}", library.display());

    let out_dir = lib_dir.join("python-tests");
    std::fs::create_dir_all(&out_dir).expect("create target/<profile>/python-tests");
    let helper = match build_helper(&lib_dir, &out_dir, &bindings.join("tests").join("helper.c")) {
        Ok(path) => path,
        Err(report) => {
            println!("{report}\nPython tests: FAILED (helper library did not build)\n");
            std::process::exit(1);
        }
    };

    let timeout =
        Duration::from_secs(std::env::var("GORT_PYTHON_TEST_TIMEOUT").ok().and_then(|v| v.parse().ok()).unwrap_or(600));
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "unittest", "discover", "-s"]).arg(bindings.join("tests")).arg("-v");
    for pattern in &args {
        cmd.args(["-k", pattern]);
    }
    let pythonpath = match std::env::var_os("PYTHONPATH") {
        Some(existing) if !existing.is_empty() => {
            let mut paths = vec![bindings.clone()];
            paths.extend(std::env::split_paths(&existing));
            std::env::join_paths(paths).expect("PYTHONPATH")
        }
        _ => bindings.clone().into_os_string(),
    };
    cmd.current_dir(&root)
        .env("GORT_LIBRARY", &library)
        .env("GORT_TEST_HELPER", &helper)
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONFAULTHANDLER", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null());

    // In a process group of its own, so a timeout also ends the subprocesses
    // the tests start (interrupt scenarios, pip).
    let finished = support::run_in_group(&mut cmd, timeout).unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let secs = finished.elapsed.as_secs_f64();
    match finished.status {
        Some(s) if s.success() => println!("\nPython tests: ok ({secs:.1}s)\n"),
        Some(s) => {
            println!("\nPython tests: FAILED ({s}, {secs:.1}s)\n");
            std::process::exit(1);
        }
        None => {
            println!("\nPython tests: FAILED (killed by the harness after {}s)\n", timeout.as_secs());
            std::process::exit(1);
        }
    }
}

/// Compiles the tests' C helper into a shared library linked against `libgort.so`.
fn build_helper(lib_dir: &Path, out_dir: &Path, src: &Path) -> Result<PathBuf, String> {
    let output = out_dir.join("libgort_test_helper.so");
    let mut cmd = support::compile(src, &output, lib_dir);
    cmd.args(["-shared", "-fPIC", "-g"]);
    let out = cmd.output().map_err(|e| format!("cannot run the C compiler: {e}"))?;
    if !out.status.success() {
        return Err(format!("---- helper.c (compile) ----\n{:?}\n{}", cmd, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(output)
}
