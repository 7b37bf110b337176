//! Runs the C integration tests in `c-tests/` against the cdylib that this
//! `cargo test` built.
//!
//! Each `c-tests/*.c` (or `*.cpp`) file proves one behaviour. It is compiled
//! with the system C compiler (found by the `cc` crate, so `CC`/`CXX` are
//! honoured), linked against `libgort.so`, and run once per `// env:` line in
//! its header (once with no extra environment when there is none). Header
//! lines the harness reads, within the first 30 lines of the file:
//!
//! ```c
//! // env: GORTMAXPROCS=2 GORTDEBUG=preemptms=2   (one run per line)
//! // timeout: 60                                 (seconds per run; default 120)
//! ```
//!
//! Every test also carries its own watchdog (`gt_watchdog` in
//! `c-tests/gort_test.h`); the harness timeout is the outer safety net.
//! A test passes when it exits with status 0.
//!
//! Arguments: substrings to select tests (`cargo test --test c -- chan_`).
//! `GORT_TEST_JOBS=N` runs N tests at once (default 1: the preemption tests
//! measure fairness and need the machine to themselves).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = support::cdylib_dir();
    let out_dir = lib_dir.join("c-tests");
    std::fs::create_dir_all(&out_dir).expect("create output directory");

    let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join("c-tests"))
        .expect("read c-tests/")
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("c" | "cpp")))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            args.is_empty() || args.iter().any(|a| name.contains(a.as_str()))
        })
        .collect();
    sources.sort();

    let jobs: usize = std::env::var("GORT_TEST_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    println!("\nrunning {} C tests against {}", sources.len(), lib_dir.join("libgort.so").display());

    let queue = Arc::new(Mutex::new(sources.into_iter()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..jobs)
        .map(|_| {
            let (queue, failures) = (queue.clone(), failures.clone());
            let (root, lib_dir, out_dir) = (root.clone(), lib_dir.clone(), out_dir.clone());
            std::thread::spawn(move || {
                loop {
                    let Some(src) = queue.lock().unwrap().next() else { break };
                    if let Err(report) = run_one(&root, &lib_dir, &out_dir, &src) {
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

struct Header {
    envs: Vec<Vec<(String, String)>>,
    timeout: Duration,
}

fn read_header(src: &Path) -> Header {
    let text = std::fs::read_to_string(src).expect("read test source");
    let mut header = Header { envs: Vec::new(), timeout: Duration::from_secs(120) };
    for line in text.lines().take(30) {
        if let Some(rest) = line.trim().strip_prefix("// env:") {
            let vars = rest
                .split_whitespace()
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect();
            header.envs.push(vars);
        } else if let Some(rest) = line.trim().strip_prefix("// timeout:") {
            let secs = rest.trim().parse().unwrap_or_else(|_| panic!("{}: bad timeout line", src.display()));
            header.timeout = Duration::from_secs(secs);
        }
    }
    if header.envs.is_empty() {
        header.envs.push(Vec::new());
    }
    header
}

fn compiler(cplusplus: bool) -> cc::Tool {
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

fn run_one(root: &Path, lib_dir: &Path, out_dir: &Path, src: &Path) -> Result<(), String> {
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let cplusplus = src.extension().is_some_and(|e| e == "cpp");
    let exe = out_dir.join(src.file_stem().unwrap());
    let mut cmd = compiler(cplusplus).to_command();
    cmd.args(["-g", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(if cplusplus { "-std=c++17" } else { "-std=gnu11" })
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("c-tests"))
        .arg(src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lgort", "-lm"]);
    let out = cmd.output().map_err(|e| format!("{name}: cannot run compiler: {e}"))?;
    if !out.status.success() {
        println!("test {name} ... FAILED (compile)");
        return Err(format!("---- {name} (compile) ----\n{}", String::from_utf8_lossy(&out.stderr)));
    }

    let header = read_header(src);
    for env in &header.envs {
        let label = if env.is_empty() {
            name.clone()
        } else {
            format!("{name} [{}]", env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
        };
        let start = Instant::now();
        let result = run_with_timeout(&exe, env, header.timeout);
        let secs = start.elapsed().as_secs_f64();
        match result {
            Ok(_) => println!("test {label} ... ok ({secs:.2}s)"),
            Err(report) => {
                println!("test {label} ... FAILED ({secs:.2}s)");
                return Err(format!("---- {label} ----\n{report}"));
            }
        }
    }
    Ok(())
}

fn run_with_timeout(exe: &Path, env: &[(String, String)], timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(exe)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    // Drain both pipes on their own threads so a chatty test cannot block.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                s = String::from_utf8_lossy(&buf).into_owned();
            }
            s
        })
    };
    let out = drain(child.stdout.take().map(|r| Box::new(r) as _));
    let err = drain(child.stderr.take().map(|r| Box::new(r) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let transcript = format!("stdout:\n{out}\nstderr:\n{err}");
    match status {
        Some(s) if s.success() => Ok(transcript),
        Some(s) => Err(format!("exit status: {s}\n{transcript}")),
        None => Err(format!("killed by the harness after {}s\n{transcript}", timeout.as_secs())),
    }
}
