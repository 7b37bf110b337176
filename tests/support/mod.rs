//! What the test harnesses share: the library under test, the compiler and
//! flags C programs are built with, running a program under a timeout, the
//! Python interpreter, and the header lines of a `c-tests/` file.
//!
//! Each `tests/*.rs` is a crate of its own and uses only part of this, so
//! unused items are not dead code here.
#![allow(dead_code)]

use std::io::{Read, Write as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>/`, with an up-to-date `libgort.so` in it.
///
/// `cargo test` builds the library's cdylib only when it also builds doc
/// tests; `cargo test --test c` alone builds just the rlib and would leave a
/// missing or stale `libgort.so`. So this asks cargo to bring the cdylib up
/// to date (a no-op after a full `cargo test`; cargo holds no lock while
/// test binaries run).
pub fn cdylib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/..").to_path_buf();
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let target_dir = dir.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--lib", "--quiet", "--profile", profile, "--manifest-path"])
        .arg(root().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .status()
        .expect("run cargo build for the cdylib");
    assert!(status.success(), "cargo build --lib failed");
    assert!(dir.join("libgort.so").exists(), "libgort.so not found in {}", dir.display());
    dir
}

/// The system C (or C++) compiler for the target these tests run on, as the
/// `cc` crate finds it, so `CC` and `CXX` are honoured.
pub fn compiler(cplusplus: bool) -> cc::Tool {
    let target = env!("GORT_TEST_TARGET");
    cc::Build::new()
        .cpp(cplusplus)
        .target(target)
        .host(target)
        .opt_level(2)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler()
}

/// The command that compiles `src` (C, or C++ for `.cpp`) into `out`,
/// linked against the `libgort.so` in `lib_dir` with an rpath: warnings are
/// errors, `-pthread`, `-std=gnu11` or `-std=c++17`, `include/` on the
/// include path. Callers add their own flags to the command (`-g`,
/// `-shared`, `-I ...`): the compiler reads options anywhere on the line.
pub fn compile(src: &Path, out: &Path, lib_dir: &Path) -> Command {
    let cplusplus = src.extension().is_some_and(|e| e == "cpp");
    let mut cmd = compiler(cplusplus).to_command();
    cmd.args(["-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(if cplusplus { "-std=c++17" } else { "-std=gnu11" })
        .arg("-I")
        .arg(root().join("include"))
        .arg(src)
        .arg("-o")
        .arg(out)
        .arg("-L")
        .arg(lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lgort", "-lm"]);
    cmd
}

/// How a program run by `run_in_group` ended.
pub struct Finished {
    /// `None`: still running at the timeout, and killed.
    pub status: Option<ExitStatus>,
    pub elapsed: Duration,
}

/// Starts `cmd` in a process group of its own and waits for it, at most
/// `timeout`; then kills the whole group, so that whatever the program
/// started (child processes, `make`, `cargo`) ends with it. The caller
/// chooses what happens to stdin, stdout and stderr.
pub fn run_in_group(cmd: &mut Command, timeout: Duration) -> std::io::Result<Finished> {
    let child = cmd.process_group(0).spawn()?;
    wait_in_group(child, timeout)
}

fn wait_in_group(mut child: Child, timeout: Duration) -> std::io::Result<Finished> {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if start.elapsed() > timeout {
            // SAFETY: kill(2) on the process group the child leads; no memory involved.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Finished { status, elapsed: start.elapsed() })
}

/// A program's end and everything it wrote.
pub struct Output {
    pub finished: Finished,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Whether the program exited with status 0 within its time.
    pub fn success(&self) -> bool {
        self.finished.status.is_some_and(|s| s.success())
    }

    /// One line on how it ended, then both streams.
    pub fn report(&self, timeout: Duration) -> String {
        let how = match self.finished.status {
            Some(s) => s.to_string(),
            None => format!("killed by the harness after {}s", timeout.as_secs()),
        };
        format!("{how}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// `run_in_group` with no stdin and both output streams captured (each read
/// on its own thread, so a chatty program cannot block on a full pipe).
pub fn run_captured(cmd: &mut Command, timeout: Duration) -> std::io::Result<Output> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn()?;
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let finished = wait_in_group(child, timeout)?;
    Ok(Output { finished, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() })
}

fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Whether `tool --version` runs.
pub fn tool_runs(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// The Python interpreter to test with (`GORT_PYTHON`, default `python3`),
/// if it runs.
pub fn python() -> Option<String> {
    let python = std::env::var("GORT_PYTHON").unwrap_or_else(|_| "python3".to_string());
    tool_runs(&python).then_some(python)
}

/// Says loudly that something was not tested for want of a tool. Straight to
/// fd 2: libtest swallows the output of a passing test. CI fails a run that
/// prints this.
pub fn skipped(what: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "\n********************************************************************\n\
         SKIPPED: {what}\n\
         ********************************************************************\n"
    );
}

/// The arguments after `--` that select tests by substring
/// (`cargo test --test c -- chan_`), without libtest's own flags.
pub fn name_filters() -> Vec<String> {
    std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect()
}

/// The files of `c-tests/`: every `*.c` and `*.cpp`, sorted.
pub fn c_test_sources() -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root().join("c-tests"))
        .expect("read c-tests/")
        .map(|e| e.expect("read c-tests/").path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "cpp")))
        .collect();
    sources.sort();
    sources
}

/// What a C test asks of whoever runs it: its `// env:` and `// timeout:`
/// lines, among the first 30 of the file (HACKING.md, "C and C++ tests",
/// describes them; CMakeLists.txt reads the same lines for CTest).
pub struct CTestHeader {
    /// The environment of each run: one entry per `// env:` line, or one
    /// empty entry when there is none.
    pub runs: Vec<Vec<(String, String)>>,
    pub timeout: Duration,
}

/// Reads the header lines of a `c-tests/` file.
pub fn c_test_header(src: &Path) -> CTestHeader {
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display()));
    let mut header = CTestHeader { runs: Vec::new(), timeout: Duration::from_secs(120) };
    for line in text.lines().take(30).map(str::trim) {
        if let Some(rest) = line.strip_prefix("// env:") {
            let vars = rest
                .split_whitespace()
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect();
            header.runs.push(vars);
        } else if let Some(rest) = line.strip_prefix("// timeout:") {
            let secs = rest.trim().parse().unwrap_or_else(|_| panic!("{}: bad timeout line: {line}", src.display()));
            header.timeout = Duration::from_secs(secs);
        }
    }
    if header.runs.is_empty() {
        header.runs.push(Vec::new());
    }
    header
}
