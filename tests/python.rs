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

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bindings = root.join("bindings").join("python");
    let lib_dir = support::cdylib_dir();
    let library = lib_dir.join("libgort.so");

    let python = std::env::var("GORT_PYTHON").unwrap_or_else(|_| "python3".to_string());
    match Command::new(&python).arg("--version").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(if out.stdout.is_empty() { &out.stderr } else { &out.stdout });
            println!("\nrunning the Python tests with {} ({}) against {}", python, version.trim(), library.display());
        }
        _ => {
            println!("\n*** SKIPPED: Python tests: no `{python}` interpreter found (set GORT_PYTHON) ***\n");
            return;
        }
    }

    let out_dir = lib_dir.join("python-tests");
    std::fs::create_dir_all(&out_dir).expect("create target/<profile>/python-tests");
    let helper = match build_helper(&root, &lib_dir, &out_dir, &bindings.join("tests").join("helper.c")) {
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
        .stdin(Stdio::null())
        // Its own process group, so a timeout also ends the subprocesses the
        // tests start (interrupt scenarios, pip).
        .process_group(0);

    let start = Instant::now();
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the Python tests") {
            break Some(status);
        }
        if start.elapsed() > timeout {
            // SAFETY: kill(2) on the process group we created; no memory involved.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let secs = start.elapsed().as_secs_f64();
    match status {
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

fn compiler() -> cc::Tool {
    let target = env!("GORT_TEST_TARGET");
    cc::Build::new().target(target).host(target).opt_level(2).cargo_metadata(false).cargo_warnings(false).get_compiler()
}

/// Compiles the tests' C helper into a shared library linked against `libgort.so`.
fn build_helper(root: &Path, lib_dir: &Path, out_dir: &Path, src: &Path) -> Result<PathBuf, String> {
    let output = out_dir.join("libgort_test_helper.so");
    let mut cmd = compiler().to_command();
    cmd.args(["-shared", "-fPIC", "-g", "-Wall", "-Wextra", "-Werror", "-std=gnu11", "-pthread"])
        .arg("-I")
        .arg(root.join("include"))
        .arg(src)
        .arg("-o")
        .arg(&output)
        .arg("-L")
        .arg(lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lgort");
    let out = cmd.output().map_err(|e| format!("cannot run the C compiler: {e}"))?;
    if !out.status.success() {
        return Err(format!("---- helper.c (compile) ----\n{:?}\n{}", cmd, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(output)
}
