//! Settings read from the environment once, when the runtime starts.
//!
//! - `GORTMAXPROCS=N`: number of Ps. Default: CPUs in the affinity mask,
//!   capped by a cgroup v2 `cpu.max` quota. Above [`MAX_PROCS`] it is
//!   clamped (with a warning), as `gort_maxprocs(n)` clamps.
//! - `GORTDEBUG=key=value,...`: the keys in [`KEYS`]. The last occurrence of
//!   a key wins.
//! - `GORTTRACE=path`: write an execution trace there (see `trace`).
//! - `GORTTRACEBACK=none|single|all`: what a fatal error prints (see `diag`).
//!
//! A bad value never stops the program: each problem prints one warning line
//! on stderr naming it, and the setting keeps its default. (Go ignores bad
//! GODEBUG values silently; we say so.)

use std::fmt::Write as _;

/// The most Ps the runtime supports; `GORTMAXPROCS` and `gort_maxprocs`
/// clamp larger values to it.
pub const MAX_PROCS: u32 = 1024;

/// Smallest and largest goroutine stack, in bytes.
pub const MIN_STACK: usize = 16 << 10;
pub const MAX_STACK: usize = 1 << 30;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub maxprocs: u32,
    /// No preemption signals; cooperative preemption at runtime calls stays.
    pub async_preempt_off: bool,
    /// Time slice before a running goroutine is preempted, in ns.
    pub preempt_ns: i64,
    /// Print a scheduler summary line every N ms (0 = off).
    pub schedtrace_ms: u32,
    /// With schedtrace: also print one line per P, M and goroutine.
    pub scheddetail: bool,
    /// Default goroutine stack size in bytes.
    pub stack_size: usize,
    /// Most OS threads the runtime will own.
    pub max_threads: u32,
    /// Execution trace destination.
    pub trace_path: Option<String>,
    /// SIGQUIT prints a goroutine dump and the program goes on.
    pub sigquit_dump: bool,
    /// What to do when every goroutine is asleep for good (see `diag`).
    pub deadlock: Deadlock,
    /// What a fatal error prints.
    pub traceback: Traceback,
}

/// `GORTDEBUG=deadlock=N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadlock {
    /// 0: not looked for.
    Off,
    /// 1: reported on stderr once per episode; the program goes on.
    Report,
    /// 2: reported, then the process aborts.
    Abort,
}

/// `GORTTRACEBACK`: which goroutines a fatal error shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traceback {
    None,
    /// The failing goroutine (for a deadlock, which has none: everyone).
    Single,
    All,
}

/// A `GORTDEBUG` key: its name, the accepted range, and where it goes.
struct Key {
    name: &'static str,
    min: i64,
    max: i64,
    set: fn(&mut Config, i64),
}

const KEYS: &[Key] = &[
    Key { name: "asyncpreemptoff", min: 0, max: 1, set: |c, v| c.async_preempt_off = v != 0 },
    Key { name: "preemptms", min: 1, max: 1000, set: |c, v| c.preempt_ns = v * 1_000_000 },
    Key { name: "schedtrace", min: 0, max: 3_600_000, set: |c, v| c.schedtrace_ms = v as u32 },
    Key { name: "scheddetail", min: 0, max: 1, set: |c, v| c.scheddetail = v != 0 },
    Key {
        name: "stacksize",
        min: (MIN_STACK >> 10) as i64,
        max: (MAX_STACK >> 10) as i64,
        set: |c, v| c.stack_size = (v as usize) << 10,
    },
    Key { name: "maxthreads", min: 16, max: 1_000_000, set: |c, v| c.max_threads = v as u32 },
    Key { name: "sigquit", min: 0, max: 1, set: |c, v| c.sigquit_dump = v != 0 },
    Key {
        name: "deadlock",
        min: 0,
        max: 2,
        set: |c, v| c.deadlock = [Deadlock::Off, Deadlock::Report, Deadlock::Abort][v as usize],
    },
];

impl Config {
    pub fn defaults(maxprocs: u32) -> Config {
        Config {
            maxprocs,
            async_preempt_off: false,
            preempt_ns: 10_000_000,
            schedtrace_ms: 0,
            scheddetail: false,
            stack_size: 256 << 10,
            max_threads: 10_000,
            trace_path: None,
            sigquit_dump: false,
            deadlock: Deadlock::Report,
            traceback: Traceback::Single,
        }
    }

    /// Reads the process environment, printing warnings on stderr.
    pub fn from_env() -> Config {
        let get = |k: &str| std::env::var(k).ok();
        let (cfg, warnings) =
            Config::parse(get("GORTMAXPROCS").as_deref(), get("GORTDEBUG").as_deref(), default_procs());
        for w in warnings {
            eprintln!("gort: {w}");
        }
        let mut cfg = cfg;
        cfg.trace_path = get("GORTTRACE").filter(|p| !p.is_empty());
        if let Some(v) = get("GORTTRACEBACK") {
            match parse_traceback(&v) {
                Some(t) => cfg.traceback = t,
                None => eprintln!("gort: GORTTRACEBACK={v:?} is not none, single or all; using single"),
            }
        }
        cfg
    }

    /// Pure parser behind [`from_env`](Self::from_env): returns the settings
    /// and one warning per problem.
    pub fn parse(maxprocs: Option<&str>, debug: Option<&str>, default_procs: u32) -> (Config, Vec<String>) {
        let mut cfg = Config::defaults(default_procs);
        let mut warnings = Vec::new();
        if let Some(v) = maxprocs {
            // Digits too many for an i64 are still a number above the maximum.
            let digits = !v.trim().is_empty() && v.trim().bytes().all(|b| b.is_ascii_digit());
            match parse_int(v).or_else(|| digits.then_some(i64::MAX)) {
                Some(n) if (1..=MAX_PROCS as i64).contains(&n) => cfg.maxprocs = n as u32,
                // As gort_maxprocs(n) clamps: more Ps than exist asks for as
                // many as there can be.
                Some(n) if n > MAX_PROCS as i64 => {
                    cfg.maxprocs = MAX_PROCS;
                    warnings.push(format!("GORTMAXPROCS={v:?} is above the maximum; using {MAX_PROCS}"))
                }
                Some(_) => {
                    warnings.push(format!("GORTMAXPROCS={v:?} is out of range 1..{MAX_PROCS}; using {default_procs}"))
                }
                None => warnings.push(format!("GORTMAXPROCS={v:?} is not a number; using {default_procs}")),
            }
        }
        for field in debug.unwrap_or("").split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let Some((name, value)) = field.split_once('=') else {
                warnings.push(format!("GORTDEBUG: {field:?} is not key=value; ignored"));
                continue;
            };
            let (name, value) = (name.trim(), value.trim());
            let Some(key) = KEYS.iter().find(|k| k.name == name) else {
                let mut known = String::new();
                for k in KEYS {
                    let _ = write!(known, "{}{}", if known.is_empty() { "" } else { ", " }, k.name);
                }
                warnings.push(format!("GORTDEBUG: unknown key {name:?} ignored (known: {known})"));
                continue;
            };
            match parse_int(value) {
                Some(n) if (key.min..=key.max).contains(&n) => (key.set)(&mut cfg, n),
                Some(_) => warnings.push(format!(
                    "GORTDEBUG: {name}={value} is out of range {}..{}; keeping the default",
                    key.min, key.max
                )),
                None => warnings.push(format!("GORTDEBUG: {name}={value:?} is not a number; keeping the default")),
            }
        }
        (cfg, warnings)
    }
}

fn parse_traceback(s: &str) -> Option<Traceback> {
    match s.trim() {
        "none" => Some(Traceback::None),
        "single" => Some(Traceback::Single),
        "all" => Some(Traceback::All),
        _ => None,
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-')) {
        return None;
    }
    s.parse().ok()
}

/// CPUs this process may use: the affinity mask, capped by a cgroup v2 CPU
/// quota (`cpu.max` of our cgroup and its ancestors), at least 1.
pub fn default_procs() -> u32 {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    let affinity = unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        if libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            libc::CPU_COUNT(&set) as u32
        } else {
            libc::sysconf(libc::_SC_NPROCESSORS_ONLN).max(1) as u32
        }
    };
    let quota = cgroup_cpu_quota().map_or(u32::MAX, |q| q.ceil().max(1.0) as u32);
    affinity.min(quota).clamp(1, MAX_PROCS)
}

/// The tightest `cpu.max` quota (in CPUs) on the path from our cgroup v2 to
/// the root, if any.
fn cgroup_cpu_quota() -> Option<f64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mut dir = std::path::PathBuf::from("/sys/fs/cgroup");
    dir.push(rel.trim_start_matches('/'));
    let mut best: Option<f64> = None;
    loop {
        if let Ok(s) = std::fs::read_to_string(dir.join("cpu.max")) {
            best = match (parse_cpu_max(&s), best) {
                (Some(q), Some(b)) => Some(q.min(b)),
                (q, b) => q.or(b),
            };
        }
        if dir.as_os_str() == "/sys/fs/cgroup" || !dir.pop() {
            break;
        }
    }
    best
}

/// `"max 100000"` is no quota; `"150000 100000"` is 1.5 CPUs.
fn parse_cpu_max(s: &str) -> Option<f64> {
    let mut it = s.split_whitespace();
    let quota: f64 = it.next()?.parse().ok()?;
    let period: f64 = it.next()?.parse().ok()?;
    (period > 0.0).then(|| quota / period)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(procs: Option<&str>, debug: &str) -> (Config, Vec<String>) {
        Config::parse(procs, Some(debug), 4)
    }

    #[test]
    fn defaults_without_environment() {
        let (cfg, w) = Config::parse(None, None, 3);
        assert_eq!(cfg, Config::defaults(3));
        assert_eq!(cfg.preempt_ns, 10_000_000);
        assert_eq!(cfg.stack_size, 256 << 10);
        assert!(w.is_empty());
    }

    #[test]
    fn every_key_parses() {
        let (cfg, w) = parse(
            Some("2"),
            "asyncpreemptoff=1,preemptms=3,schedtrace=500,scheddetail=1,stacksize=64,maxthreads=100,sigquit=1,deadlock=2",
        );
        assert!(w.is_empty(), "{w:?}");
        assert!(cfg.sigquit_dump);
        assert_eq!(cfg.deadlock, Deadlock::Abort);
        assert_eq!(parse(None, "deadlock=0").0.deadlock, Deadlock::Off);
        assert_eq!(cfg.maxprocs, 2);
        assert!(cfg.async_preempt_off);
        assert_eq!(cfg.preempt_ns, 3_000_000);
        assert_eq!(cfg.schedtrace_ms, 500);
        assert!(cfg.scheddetail);
        assert_eq!(cfg.stack_size, 64 << 10);
        assert_eq!(cfg.max_threads, 100);
    }

    #[test]
    fn last_occurrence_wins_and_spaces_are_trimmed() {
        let (cfg, w) = parse(None, " preemptms=5 , preemptms=7,,");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(cfg.preempt_ns, 7_000_000);
    }

    #[test]
    fn each_problem_warns_once_and_keeps_the_default() {
        let table: &[(&str, &str)] = &[
            ("bogus=1", "unknown key \"bogus\""),
            ("preemptms=abc", "not a number"),
            ("preemptms=0", "out of range 1..1000"),
            ("preemptms=1001", "out of range"),
            ("stacksize=1", "out of range 16.."),
            ("asyncpreemptoff=2", "out of range 0..1"),
            ("deadlock=3", "out of range 0..2"),
            ("scheddetail", "not key=value"),
            ("preemptms=-5", "out of range"),
            ("maxthreads=1e3", "not a number"),
        ];
        for (input, expect) in table {
            let (cfg, w) = parse(None, input);
            assert_eq!(w.len(), 1, "{input}: {w:?}");
            assert!(w[0].contains(expect), "{input}: {:?} lacks {expect:?}", w[0]);
            assert_eq!(cfg, Config::defaults(4), "{input} changed a setting");
        }
    }

    #[test]
    fn good_keys_survive_bad_neighbours() {
        let (cfg, w) = parse(None, "bogus,preemptms=2,x=y");
        assert_eq!(w.len(), 2);
        assert_eq!(cfg.preempt_ns, 2_000_000);
    }

    #[test]
    fn maxprocs_values() {
        assert_eq!(parse(Some("8"), "").0.maxprocs, 8);
        for bad in ["0", "-1", "x", "", "2.5", "-99999999999999999999"] {
            let (cfg, w) = parse(Some(bad), "");
            assert_eq!(cfg.maxprocs, 4, "{bad}");
            assert_eq!(w.len(), 1, "{bad}: {w:?}");
            assert!(w[0].starts_with("GORTMAXPROCS="), "{}", w[0]);
        }
    }

    #[test]
    fn maxprocs_above_the_maximum_is_clamped_with_a_warning() {
        for big in ["1025", "99999", " 4096 ", "99999999999999999999"] {
            let (cfg, w) = parse(Some(big), "");
            assert_eq!(cfg.maxprocs, MAX_PROCS, "{big}");
            assert_eq!(w.len(), 1, "{big}: {w:?}");
            assert!(w[0].contains("above the maximum") && w[0].contains("1024"), "{}", w[0]);
        }
        let (cfg, w) = parse(Some("1024"), "");
        assert_eq!((cfg.maxprocs, w.len()), (MAX_PROCS, 0));
    }

    #[test]
    fn traceback_values() {
        assert_eq!(Config::defaults(1).traceback, Traceback::Single);
        assert_eq!(parse_traceback("none"), Some(Traceback::None));
        assert_eq!(parse_traceback(" all"), Some(Traceback::All));
        assert_eq!(parse_traceback("crash"), None);
    }

    #[test]
    fn cpu_max_quota() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some(1.5));
        assert_eq!(parse_cpu_max("garbage"), None);
    }

    #[test]
    fn default_procs_is_sane() {
        let n = default_procs();
        assert!((1..=MAX_PROCS).contains(&n));
    }

    #[test]
    fn numbers_are_plain_decimal() {
        assert_eq!(parse_int(" 7 "), Some(7));
        assert_eq!(parse_int("-3"), Some(-3));
        for bad in ["", "-", "+1", "1e3", "0x10", "1_000", "3-"] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
        assert_eq!(parse_int("99999999999999999999"), None, "overflow");
    }

    #[test]
    fn keys_and_values_may_carry_spaces() {
        let (cfg, w) = Config::parse(Some(" 3 "), Some(" preemptms = 4 ,maxthreads= 64"), 1);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!((cfg.maxprocs, cfg.preempt_ns, cfg.max_threads), (3, 4_000_000, 64));
    }
}
