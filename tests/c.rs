//! Runs the C integration tests in `c-tests/` against the cdylib that this
//! `cargo test` built.
//!
//! Each `c-tests/*.c` (or `*.cpp`) file proves one behaviour. It is compiled
//! with the system C compiler, linked against `libgort.so`, and run once per
//! `// env:` line in its header, under its `// timeout:` (see
//! `support::CTestHeader`; HACKING.md describes the conventions). Every
//! test also carries its own watchdog (`gt_watchdog` in
//! `c-tests/gort_test.h`); the harness timeout is the outer safety net. A
//! test passes when it exits with status 0.
//!
//! Arguments: substrings to select tests (`cargo test --test c -- chan_`).
//! `GORT_TEST_JOBS=N` runs N tests at once (default 1: the preemption tests
//! measure fairness and need the machine to themselves).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

fn main() {
    let args = support::name_filters();
    let lib_dir = support::cdylib_dir();
    let out_dir = lib_dir.join("c-tests");
    std::fs::create_dir_all(&out_dir).expect("create output directory");

    let sources: Vec<PathBuf> = support::c_test_sources()
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            args.is_empty() || args.iter().any(|a| name.contains(a.as_str()))
        })
        .collect();

    let jobs: usize = std::env::var("GORT_TEST_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    println!("\nrunning {} C tests against {}", sources.len(), lib_dir.join("libgort.so").display());

    let queue = Arc::new(Mutex::new(sources.into_iter()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (queue, failures) = (queue.clone(), failures.clone());
            let (lib_dir, out_dir) = (lib_dir.clone(), out_dir.clone());
            std::thread::spawn(move || {
                loop {
                    let Some(src) = queue.lock().unwrap().next() else { break };
                    if let Err(report) = run_one(&lib_dir, &out_dir, &src) {
                        failures.lock().unwrap().push(report);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    if failures.is_empty() {
        println!("\nC tests: ok\n");
    } else {
        println!("\nfailures:\n");
        for f in failures.iter() {
            println!("{f}\n");
        }
        println!("C tests: {} FAILED\n", failures.len());
        std::process::exit(1);
    }
}

fn run_one(lib_dir: &Path, out_dir: &Path, src: &Path) -> Result<(), String> {
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let exe = out_dir.join(src.file_stem().unwrap());
    let mut cmd = support::compile(src, &exe, lib_dir);
    cmd.arg("-g").arg("-I").arg(support::root().join("c-tests"));
    let out = cmd.output().map_err(|e| format!("{name}: cannot run compiler: {e}"))?;
    if !out.status.success() {
        println!("test {name} ... FAILED (compile)");
        return Err(format!("---- {name} (compile) ----\n{}", String::from_utf8_lossy(&out.stderr)));
    }

    let header = support::c_test_header(src);
    for env in &header.runs {
        let label = if env.is_empty() {
            name.clone()
        } else {
            format!("{name} [{}]", env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
        };
        let mut cmd = Command::new(&exe);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let out = support::run_captured(&mut cmd, header.timeout).map_err(|e| format!("cannot start {label}: {e}"))?;
        let secs = out.finished.elapsed.as_secs_f64();
        if out.success() {
            println!("test {label} ... ok ({secs:.2}s)");
            // A test that cannot run here passes with a SKIPPED line, which
            // must not vanish with the rest of a passing test's output.
            let said = out.stdout.lines().chain(out.stderr.lines());
            if let Some(why) = said.filter_map(|l| l.trim().strip_prefix("SKIPPED")).next() {
                support::skipped(&format!("{label}{why}"));
            }
        } else {
            println!("test {label} ... FAILED ({secs:.2}s)");
            return Err(format!("---- {label} ----\n{}", out.report(header.timeout)));
        }
    }
    Ok(())
}
