//! Builds and runs every program in `examples/` against the cdylib that this
//! `cargo test` built, so the code users copy from cannot rot; and the
//! benchmark programs of `bench/` on tiny inputs, with the A/B script, so
//! the tools for judging speed do not rot either (CI never benchmarks).
//!
//! Each C and C++ example is compiled with the system compiler (found by the
//! `cc` crate, so `CC`/`CXX` are honoured) with warnings as errors, linked
//! against `libgort.so`, and run under a timeout; it passes when it exits
//! with status 0 (each example checks its own results). The flagship demo
//! runs with a short duration, directly and through `examples/run-demo.sh`
//! (which also renders the trace with `tools/trace2html.py`); the Python
//! example runs with `python3`, `PYTHONPATH=bindings/python` and
//! `GORT_LIBRARY` pointing at the library under test. Without `python3` the
//! Python-dependent parts print a loud SKIPPED line and pass.
//!
//! Examples run one at a time: the demo measures how the CPU is shared.
//! Binaries and outputs go to `target/<profile>/examples-tests/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use support::{compiler, python, root, skipped};

/// The directory holding the `libgort.so` under test (built once).
fn lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(support::cdylib_dir)
}

fn out_dir() -> PathBuf {
    let dir = lib_dir().join("examples-tests");
    std::fs::create_dir_all(&dir).expect("create target/<profile>/examples-tests");
    dir
}

/// One example at a time (a poisoned lock from a failed test is still a lock).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Compiles `examples/<name>` into an executable, as its header says, plus
/// -Wall -Wextra -Werror.
fn build(name: &str) -> PathBuf {
    build_in("examples", name)
}

/// `build` for a program in another directory of the repository.
fn build_in(dir: &str, name: &str) -> PathBuf {
    let exe = out_dir().join(Path::new(name).file_stem().unwrap());
    let mut cmd = support::compile(&root().join(dir).join(name), &exe, lib_dir());
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run the compiler for {name}: {e}"));
    assert!(out.status.success(), "{name} does not compile:\n{:?}\n{}", cmd, String::from_utf8_lossy(&out.stderr));
    exe
}

/// Runs `cmd` from the repository root (in its own process group, killed as
/// a whole on timeout) and returns its stdout; panics with the transcript
/// unless it exits with 0.
fn run(mut cmd: Command, timeout: Duration) -> String {
    let what = format!("{cmd:?}");
    let out =
        support::run_captured(cmd.current_dir(root()), timeout).unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    assert!(out.success(), "{what} failed: {}", out.report(timeout));
    println!("{what}: ok in {:.2}s\n{}", out.finished.elapsed.as_secs_f64(), out.stdout);
    out.stdout
}

#[test]
fn pipeline() {
    let exe = build("pipeline.c");
    let _one = serial();
    let out = run(Command::new(exe), Duration::from_secs(60));
    assert!(out.contains("200000 results from 4 workers"), "{out}");
}

#[test]
fn select_timeout() {
    let exe = build("select_timeout.c");
    let _one = serial();
    let out = run(Command::new(exe), Duration::from_secs(60));
    assert!(out.contains("quit: 5 events"), "{out}");
}

#[test]
fn hello_cpp() {
    let exe = build("hello.cpp");
    let _one = serial();
    let out = run(Command::new(exe), Duration::from_secs(60));
    assert!(out.contains("sum of squares 1..10 = 385"), "{out}");
}

/// Checks the report of a short demo run: both modes, in order, and the
/// cooperative one starved goroutines (only 2 of 8 can run on 2 Ps when
/// nothing preempts call-free loops). The preemptive run checks itself: the
/// demo fails unless it preempted and more goroutines ran than there are Ps.
fn check_demo_report(out: &str) {
    let without = out.find("Without preemption").unwrap_or_else(|| panic!("no cooperative run:\n{out}"));
    let with = out.find("With gort's preemption").unwrap_or_else(|| panic!("no preemptive run:\n{out}"));
    assert!(without < with, "{out}");
    let cooperative = &out[without..with];
    assert!(cooperative.contains("starved: 6 of 8 goroutines never ran"), "{out}");
    assert_eq!(out.matches("verdict").count(), 2, "{out}");
}

#[test]
fn preemption_demo() {
    let exe = build("preemption_demo.c");
    let _one = serial();
    let trace = out_dir().join("preemption_demo-trace.json");
    let _ = std::fs::remove_file(&trace);
    let mut cmd = Command::new(exe);
    cmd.args(["--seconds", "0.3", "--ascii"]).env("GORTTRACE", &trace);
    let out = run(cmd, Duration::from_secs(120));
    check_demo_report(&out);
    assert!(out.contains(&format!("Trace of the preemptive run: {}", trace.display())), "{out}");
    let json = std::fs::read_to_string(&trace).expect("the preemptive run writes its trace");
    assert!(json.contains("\"hog 0\"") && json.contains("preempt async"), "trace lacks hogs or preemptions");
}

#[test]
fn run_demo_script() {
    let _one = serial();
    let dir = out_dir().join("run-demo");
    let _ = std::fs::remove_dir_all(&dir);
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("examples/run-demo.sh"))
        .args(["--seconds", "0.3"])
        .env("GORT_LIB_DIR", lib_dir())
        .env("GORT_DEMO_OUT", &dir)
        .env("CC", compiler(false).path());
    let out = run(cmd, Duration::from_secs(180));
    check_demo_report(&out);
    if python().is_none() {
        return skipped("examples/run-demo.sh without python3: the HTML timeline was NOT tested");
    }
    assert!(out.contains("Timeline (open in a browser):"), "{out}");
    let html = std::fs::read_to_string(dir.join("trace.html")).expect("run-demo.sh writes trace.html");
    assert!(html.contains("hog 0"), "trace.html does not name the goroutines");
}

#[test]
fn python_drives_c() {
    let Some(python) = python() else {
        return skipped("examples/python_drives_c.py: no python3 interpreter (set GORT_PYTHON)");
    };
    let _one = serial();
    let mut cmd = Command::new(python);
    cmd.arg(root().join("examples/python_drives_c.py"))
        .env("PYTHONPATH", root().join("bindings/python"))
        .env("GORT_LIBRARY", lib_dir().join("libgort.so"))
        .env("CC", compiler(false).path())
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let out = run(cmd, Duration::from_secs(120));
    assert!(out.contains("24 jobs done by"), "{out}");
}

/// Every gortbench and gorthogs workload on a tiny input: exits 0 and prints
/// its figures (each program checks its own results).
#[test]
fn bench_programs() {
    let gortbench = build_in("bench", "gortbench.c");
    let gorthogs = build_in("bench", "gorthogs.c");
    let _one = serial();
    let cases: &[(&Path, &str, &str)] = &[
        (&gortbench, "-w W1 -n 1000", "W1_spawn"),
        (&gortbench, "-w W2 -n 2000", "W2_pingpong"),
        (&gortbench, "-w W3 -n 20000 -prod 4 -cons 4", "W3_buffered"),
        (&gortbench, "-w W4 -n 2000", "W4_yield"),
        (&gortbench, "-w W7 -n 1000", "W7_mem"),
        (&gortbench, "-w W7max -n 1000", "W7_max"),
        (&gortbench, "-w W8 -n 2000", "W8_select"),
        (&gortbench, "-w W8 -n 2000 -select_first 1", "W8_select"),
        (&gortbench, "-w W9 -n 50", "W9_timers"),
        (&gortbench, "-w X1 -n 1000", "X1_mutex"),
        (&gortbench, "-w X2 -n 1000", "X2_mutex_contended"),
        (&gortbench, "-w X3 -n 100", "X3_thread_pingpong"),
        (&gorthogs, "-w W5 -stop_ms 200", "W5_hogs"),
        (&gorthogs, "-w W6 -hogs 2", "W6_stw"),
        (&gorthogs, "-w X4 -stop_ms 200", "X4_preempt"),
    ];
    for (exe, args, figure) in cases {
        let mut cmd = Command::new(exe);
        cmd.args(args.split_whitespace()).env("GORTMAXPROCS", "2");
        let out = run(cmd, Duration::from_secs(60));
        assert!(out.lines().any(|l| l.starts_with(&format!("gort {figure} "))), "{args}: no {figure} line:\n{out}");
    }
}

/// bench/ab on one library against itself: the ratio is about 1.
#[test]
fn bench_ab() {
    let Some(python) = python() else {
        return skipped("bench/ab needs python3");
    };
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return skipped("bench/ab needs two CPUs");
    }
    let lib = out_dir().join("ab-lib");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::copy(lib_dir().join("libgort.so"), lib.join("libgort.so")).unwrap();
    std::fs::copy(root().join("include/gort.h"), lib.join("gort.h")).unwrap();
    let _one = serial();
    let mut cmd = Command::new(python);
    cmd.arg(root().join("bench/ab")).args(["--runs", "2"]).arg(&lib).arg(&lib).args(["--", "-w", "W2", "-n", "20000"]);
    let out = run(cmd, Duration::from_secs(120));
    let ratio: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("B/A, median of per-swap geometric means: "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in bench/ab's output:\n{out}"));
    assert!((0.5..2.0).contains(&ratio), "a build against itself: B/A {ratio}\n{out}");
}
