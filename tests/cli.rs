//! End-to-end tests of the `heaplab` binary: `list`, a small `run`, and bad
//! input giving one clear error and a non-zero exit, with no results file
//! left behind as if complete.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn heaplab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run heaplab")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heaplab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_shows_policies_and_scenarios() {
    let o = heaplab(&["list"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "gil",
        "pool-locks",
        "biased",
        "alloc-churn",
        "binary-trees",
        "convoy",
        "mixed-server",
    ] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
}

/// `--help` lists the values of the core's own lists: a policy, a collector
/// mode or a driver added there appears here by itself.
#[test]
fn help_lists_every_policy_mode_and_driver() {
    let o = heaplab(&["run", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    for p in heaplab::PolicyName::ALL {
        assert!(
            help.contains(p.as_str()) && help.contains(p.summary()),
            "{p}:\n{help}"
        );
    }
    for mode in ["pool-walk", "generational"] {
        assert!(help.contains(mode), "{mode}:\n{help}");
    }
    // The ranges the help states are the ones the lab enforces.
    use heaplab::workload::scenario::{MAX_DURATION_SECS, MAX_WARMUP_SECS, MIN_DURATION_SECS};
    for range in [
        format!("{MIN_DURATION_SECS}..={MAX_DURATION_SECS}"),
        format!("0..={MAX_WARMUP_SECS}"),
    ] {
        assert!(help.contains(&range), "{range}:\n{help}");
    }
    let o = heaplab(&["list", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    for d in heaplab::workload::Driver::ALL {
        assert!(help.contains(d.as_str()), "{d}:\n{help}");
    }
    let o = heaplab(&["list", "--driver", "convoy"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let scenarios = out.split("Scenarios").nth(1).unwrap();
    assert!(
        scenarios.contains("convoy") && !scenarios.contains("alloc-churn"),
        "{out}"
    );
}

#[test]
fn a_small_run_writes_results_json_with_the_contract_fields() {
    let out = tmpdir("run");
    let o = heaplab(&[
        "run",
        "--policy",
        "gil,biased,gil",
        "--workload",
        "alloc-churn,convoy,alloc-churn",
        "--threads",
        "1,2",
        "--duration",
        "0.05",
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--machine-label",
        "test box",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--workload names alloc-churn twice: it runs once per repeat"),
        "a repeated name is said, and run once: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("--policy names gil twice: it runs once per repeat"),
        "a repeated policy is said, and run once: {}",
        stderr(&o)
    );
    // The reports written are exactly the set the output directory clears
    // before a run (src/cli/outputs.rs), so none can outlive its results.
    let stdout = String::from_utf8_lossy(&o.stdout);
    let mut written: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Report:"))
        .map(|p| {
            Path::new(p.trim())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["report.html", "report.md", "runs.csv"],
        "{stdout}"
    );
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in [
        "schema",
        "machine",
        "heaplab",
        "started",
        "runs",
        "floors",
        "steal_ratio",
    ] {
        assert!(v.get(k).is_some(), "top-level {k}");
    }
    for k in ["cpu", "cores", "os", "rustc"] {
        assert!(v["machine"].get(k).is_some(), "machine.{k}");
    }
    assert_eq!(v["machine"]["label"], "test box");
    // The heap's default limit is in force and recorded: half the machine.
    let cap = v["settings"]["max_heap_bytes"]
        .as_u64()
        .expect("a recorded heap limit");
    let memory = v["machine"]["memory_bytes"].as_u64().unwrap();
    assert!(cap >= 1 << 20 && cap <= memory, "{cap} of {memory}");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2 * 2 * 2);
    for r in runs {
        for k in [
            "workload",
            "policy",
            "threads",
            "repeat",
            "status",
            "error",
            "ops",
            "seconds",
            "ops_per_sec",
            "latency_ns",
            "gil",
            "gc",
            "memory",
            "refcount",
            "gc_mode",
            "leaked_blocks",
            "verified",
        ] {
            assert!(r.get(k).is_some(), "run.{k} in {r}");
        }
        for k in [
            "p50",
            "p90",
            "p99",
            "p999",
            "max",
            "sample_every",
            "distribution",
        ] {
            assert!(r["latency_ns"].get(k).is_some(), "latency_ns.{k}");
        }
        for k in [
            "peak_rss_bytes",
            "arenas_high_water",
            "bytes_in_use_peak",
            "bytes_reserved_peak",
            "header_bytes",
        ] {
            assert!(r["memory"].get(k).is_some(), "memory.{k}");
        }
        for k in ["local_ops", "atomic_ops"] {
            assert!(r["refcount"].get(k).is_some(), "refcount.{k}");
        }
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["leaked_blocks"], 0);
        if r["policy"] == "gil" {
            assert!(r["gil"]["acquisitions"].as_u64().unwrap() > 0);
        }
        if r["workload"] == "convoy" {
            assert_eq!(r["headline_role"], "sleeper");
            assert!(r["roles"].get("sleeper").is_some());
        }
    }
    assert!(!out.join("results.json.partial").exists());
}

fn assert_fails(args: &[&str], needle: &str, out: &Path) {
    let o = heaplab(args);
    assert!(!o.status.success(), "{args:?} should fail");
    let e = stderr(&o);
    assert!(
        e.contains(needle),
        "{args:?}: stderr lacks {needle:?}:\n{e}"
    );
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "no panic: {e}"
    );
    assert_eq!(
        e.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "one clear line: {e}"
    );
    assert!(
        !out.join("results.json").exists(),
        "no results file left: {args:?}"
    );
}

#[test]
fn bad_input_gives_a_clear_error_and_a_nonzero_exit() {
    let dir = tmpdir("bad");
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let scen = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let good = "name = \"g\"\ndescription = \"d\"\ndriver = \"mix\"\n[mix]\nalloc_leaf = 1\n";
    let malformed = scen("malformed.toml", "name = \"g\"\ndescription = \n");
    let unknown = scen("unknown.toml", &format!("{good}teleport = 3\n"));
    let wrong_type = scen(
        "wrongtype.toml",
        &good.replace("alloc_leaf = 1", "alloc_leaf = \"many\""),
    );
    let bad_op = scen(
        "badop.toml",
        &good.replace("alloc_leaf = 1", "alloc_leaf = 1\nfly = 2"),
    );
    let with_run = |run: &str| {
        format!("name = \"g\"\ndescription = \"d\"\ndriver = \"mix\"\n[run]\n{run}\n[mix]\nalloc_leaf = 1\n")
    };
    let zero = scen("zero.toml", &with_run("duration_secs = 0.0"));
    let years = scen("years.toml", &with_run("duration_secs = 1e9"));
    let size = scen(
        "size.toml",
        &format!("{good}[sizes]\nleaf = [[99999999, 1]]\n"),
    );
    assert_fails(
        &["run", "--workload", &malformed, "--out", o],
        "malformed.toml:",
        &out,
    );
    assert_fails(
        &["run", "--workload", &unknown, "--out", o],
        "teleport",
        &out,
    );
    assert_fails(
        &["run", "--workload", &wrong_type, "--out", o],
        "wrongtype.toml:",
        &out,
    );
    assert_fails(&["run", "--workload", &bad_op, "--out", o], "fly", &out);
    assert_fails(
        &["run", "--workload", &zero, "--out", o],
        "run.duration_secs",
        &out,
    );
    assert_fails(
        &["run", "--workload", &years, "--out", o],
        "run.duration_secs",
        &out,
    );
    assert_fails(
        &["run", "--workload", &size, "--out", o],
        "sizes.leaf",
        &out,
    );
    let missing = dir.join("missing.toml");
    assert_fails(
        &["run", "--workload", missing.to_str().unwrap(), "--out", o],
        "missing.toml",
        &out,
    );
    assert_fails(
        &["run", "--threads", "0", "--out", o],
        "'--threads <LIST>': 0 is out of range: allowed 1..=1024",
        &out,
    );
    assert_fails(
        &["run", "--threads", "100000", "--out", o],
        "'--threads <LIST>': 100000 is out of range: allowed 1..=1024",
        &out,
    );
    assert_fails(
        &["run", "--policy", "gilless", "--out", o],
        "invalid value 'gilless' for '--policy <POLICY,...>' [possible values: all, gil, pool-locks, biased, biased+locked-reads, gil-tracing, tracing, gil+hdr32, gil+atomic, gil+brc, gil+brc+tlh, gil+brc+tlh+locks]",
        &out,
    );
    assert_fails(
        &["run", "--workload", "nope", "--out", o],
        "unknown scenario \"nope\"",
        &out,
    );
    assert_fails(&["run", "--duration", "0", "--out", o], "--duration", &out);
    // Too short to measure anything: refused, with the range.
    assert_fails(
        &["run", "--duration", "1e-9", "--out", o],
        "'--duration <SECS>': 0.000000001 is out of range: allowed 0.01..=3600 seconds",
        &out,
    );
    assert_fails(
        &["run", "--max-heap", "0", "--out", o],
        "'--max-heap <SIZE>': 0 is out of range: allowed at least 1048576 bytes",
        &out,
    );
    assert_fails(
        &["run", "--max-heap", "lots", "--out", o],
        "'--max-heap <SIZE>': \"lots\" is not a size",
        &out,
    );
    // A fault for a worker that no configuration has.
    assert_fails(
        &[
            "run",
            "--inject-panic",
            "99:0",
            "--threads",
            "1",
            "--out",
            o,
        ],
        "--inject-panic: worker 99 does not exist: allowed 0..=0",
        &out,
    );
    assert_fails(
        &[
            "run",
            "--inject-panic",
            "2:10",
            "--threads",
            "1,2",
            "--out",
            o,
        ],
        "allowed 0..=1",
        &out,
    );
    // A flag that does not exist: clap's message, in one line.
    assert_fails(
        &["run", "--thread", "2", "--out", o],
        "unexpected argument '--thread' found (tip: a similar argument exists: '--threads')",
        &out,
    );
    assert_fails(
        &["run", "--repeat", "0", "--out", o],
        "'--repeat <REPEAT>': 0 is not in 1..=1000",
        &out,
    );
    assert_fails(
        &["run", "--gc", "nope", "--out", o],
        "[possible values: pool-walk, generational]",
        &out,
    );
    assert_fails(&["trees", "99"], "99 is not in 4..=24", &out);
    // Scenario errors on fields the schema keeps as plain values carry
    // their line too.
    let bad_name = scen("badname.toml", &good.replace("\"g\"", "\"g g\""));
    assert_fails(
        &["run", "--workload", &bad_name, "--out", o],
        "badname.toml:1: name = \"g g\"",
        &out,
    );
    let zero_mix = scen(
        "zeromix.toml",
        &good.replace("alloc_leaf = 1", "alloc_leaf = 0"),
    );
    assert_fails(
        &["run", "--workload", &zero_mix, "--out", o],
        "zeromix.toml:4: driver \"mix\" needs a [mix] table",
        &out,
    );
    // Two different scenarios under one name.
    let twin = scen("twin.toml", &good.replace("\"g\"", "\"alloc-churn\""));
    assert_fails(
        &[
            "run",
            "--workload",
            &format!("alloc-churn,{twin}"),
            "--out",
            o,
        ],
        "two scenarios are named \"alloc-churn\"",
        &out,
    );
    assert_fails(
        &["run", "--duration", "100000000", "--out", o],
        "--duration",
        &out,
    );
    assert_fails(
        &[
            "run",
            "--gc",
            "generational",
            "--policy",
            "biased",
            "--out",
            o,
        ],
        "needs the GIL",
        &out,
    );
    // The tracing policies have no cycle collector to run generationally,
    // GIL or not, and their growth factor must be a finite positive number.
    assert_fails(
        &[
            "run",
            "--gc",
            "generational",
            "--policy",
            "gil-tracing",
            "--out",
            o,
        ],
        "policy gil-tracing has no reference counts",
        &out,
    );
    for bad in ["0", "-1", "nan", "inf", "x"] {
        // `=`: clap would take a bare "-1" for a flag.
        let arg = format!("--gc-growth={bad}");
        assert_fails(&["run", &arg, "--out", o], "--gc-growth", &out);
    }
    // An output directory that cannot be written.
    let blocker = dir.join("file-not-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let under = blocker.join("out");
    assert_fails(
        &["run", "--quick", "--out", under.to_str().unwrap()],
        "--out",
        &under,
    );
    // An output that cannot be written is found before measuring: here
    // results.json is a directory.
    let taken = dir.join("taken");
    std::fs::create_dir_all(taken.join("results.json")).unwrap();
    let o = heaplab(&["run", "--quick", "--out", taken.to_str().unwrap()]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("results.json exists and is not a file"), "{e}");
    assert!(
        !e.contains("measuring"),
        "refused before measuring anything: {e}"
    );
    assert!(taken.join("results.json").is_dir(), "left as it was");
    // Reports and compare on a corrupt file.
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, b"{ not json").unwrap();
    assert_fails(&["report", corrupt.to_str().unwrap()], "corrupt.json", &out);
}

#[test]
fn trees_prints_the_benchmarks_game_output() {
    let o = heaplab(&["trees", "10", "--policy", "biased", "--threads", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("stretch tree of depth 11\t check: 4095\n"),
        "{out}"
    );
    assert!(out.contains("long lived tree of depth 10\t check: 2047"));
}

/// A run in progress in a directory that held an earlier run: the earlier
/// run's reports are gone before its results.json is, so a `kill -9` at any
/// moment never leaves a report beside a missing results.json.
#[test]
fn a_killed_run_leaves_no_report_without_its_results() {
    let out = tmpdir("killed");
    for name in ["results.json", "report.md", "report.html", "runs.csv"] {
        std::fs::write(out.join(name), b"from an earlier run").unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args([
            "run",
            "--workload",
            "alloc-churn",
            "--policy",
            "gil",
            "--threads",
            "1",
            "--duration",
            "30",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start heaplab");
    let start = std::time::Instant::now();
    while out.join("results.json").exists() {
        assert!(
            start.elapsed().as_secs() < 120,
            "the earlier results.json was never removed"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
    child.wait().unwrap();
    for name in ["report.md", "report.html", "runs.csv"] {
        assert!(
            !out.join(name).exists(),
            "{name} from the earlier run left beside a missing results.json"
        );
    }
}

/// SIGINT or SIGTERM while the progress bar is drawn on a terminal: the
/// bar's line is ended, so the shell's prompt starts on a line of its own.
#[test]
fn an_interrupted_run_ends_the_progress_line() {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: out-pointers to two local ints; no name buffer; a valid
        // window size; no terminal settings.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: openpty returned two fresh descriptors that we now own.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let out = tmpdir(&format!("interrupted-{signal}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_heaplab"))
            .args([
                "run",
                "--workload",
                "alloc-churn",
                "--policy",
                "gil",
                "--threads",
                "1",
                "--duration",
                "30",
                "--warmup",
                "0",
                "--repeat",
                "1",
                "--out",
                out.to_str().unwrap(),
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("TERM", "xterm")
            .stdin(std::process::Stdio::null())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .expect("start heaplab");
        let mut terminal = std::fs::File::from(master);
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with EIO once the child, the last holder of the slave
            // side, has exited.
            while let Ok(n) = terminal.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let start = std::time::Instant::now();
        while !String::from_utf8_lossy(&seen).contains("ETA") {
            assert!(
                start.elapsed().as_secs() < 120,
                "no progress bar: {}",
                String::from_utf8_lossy(&seen)
            );
            if let Ok(bytes) = rx.recv_timeout(std::time::Duration::from_millis(100)) {
                seen.extend(bytes);
            }
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, signal);
        }
        let status = child.wait().unwrap();
        reader.join().unwrap();
        seen.extend(rx.try_iter().flatten());
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(signal), "it still dies of the signal");
        assert_eq!(
            seen.last(),
            Some(&b'\n'),
            "signal {signal}: the bar's line is left open: {:?}",
            String::from_utf8_lossy(&seen[seen.len().saturating_sub(120)..])
        );
    }
}

fn heaplab_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heaplab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run heaplab")
}

/// An installed binary run from an empty directory has its catalogue: the
/// scenarios are built in.
#[test]
fn the_catalogue_is_built_in_and_a_workloads_directory_extends_it() {
    let empty = tmpdir("empty");
    let o = heaplab_in(&empty, &["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Scenarios (built in):"), "{out}");
    for name in [
        "alloc-churn",
        "binary-trees",
        "convoy",
        "shared-read-immortal",
    ] {
        assert!(out.contains(name), "{name}: {out}");
    }
    let o = heaplab_in(
        &empty,
        &[
            "run",
            "--quick",
            "--workload",
            "alloc-churn",
            "--policy",
            "gil",
            "--threads",
            "1",
            "--no-python",
            "--quiet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(empty.join("results/latest/results.json").is_file());
    assert!(empty.join("results/latest/report.html").is_file());

    // A ./workloads directory overrides a built-in scenario and adds one.
    let dir = empty.join("workloads");
    std::fs::create_dir_all(&dir).unwrap();
    let mine = "name = \"my-churn\"\ndescription = \"mine\"\ndriver = \"mix\"\n[mix]\nalloc_leaf = 1\ndrop = 1\n";
    std::fs::write(dir.join("mine.toml"), mine).unwrap();
    std::fs::write(
        dir.join("convoy.toml"),
        "name = \"convoy\"\ndescription = \"my convoy\"\ndriver = \"convoy\"\n",
    )
    .unwrap();
    let o = heaplab_in(&empty, &["list"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("my-churn") && out.contains("[workloads/mine.toml]"),
        "{out}"
    );
    assert!(
        out.contains("my convoy") && out.contains("[workloads/convoy.toml]"),
        "{out}"
    );
    assert!(out.contains("alloc-churn"), "the built-in ones stay: {out}");
}

/// The end of a run names each failed configuration with its reason on
/// stderr; `--quiet` prints nothing else, `--json` a digest for scripts.
#[test]
fn failed_configurations_are_named_with_their_reason_and_scripts_get_json() {
    let dir = tmpdir("failing");
    let big = dir.join("big.toml");
    std::fs::write(
        &big,
        "name = \"big\"\ndescription = \"fills any small heap\"\ndriver = \"mix\"\n\
         [mix]\nalloc_leaf = 1\n[params]\nworking_set = 1000000\n[sizes]\nleaf = [[400, 1]]\n",
    )
    .unwrap();
    let args = |extra: &[&'static str]| {
        let mut v: Vec<String> = [
            "run",
            "--workload",
            big.to_str().unwrap(),
            "--policy",
            "gil,biased",
            "--threads",
            "1",
            "--duration",
            "0.05",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--max-heap",
            "1M",
            "--out",
            dir.join("out").to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&'static str]| {
        let a = args(extra);
        heaplab(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let o = run(&["--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        o.stdout.is_empty(),
        "--quiet: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let e = stderr(&o);
    let lines: Vec<&str> = e.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "one line per failed configuration:\n{e}");
    for (line, policy) in lines.iter().zip(["gil", "biased"]) {
        assert!(
            line.starts_with(&format!(
                "heaplab: FAILED big {policy} x1: 1 of 1 repeats: "
            )) && line.contains("MemoryError"),
            "{line}"
        );
    }

    let o = run(&["--quiet", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["failed_configurations"], 2);
    assert!(v["results"].as_str().unwrap().ends_with("results.json"));
    assert_eq!(v["reports"].as_array().unwrap().len(), 3);
    let configs = v["configurations"].as_array().unwrap();
    assert_eq!(configs.len(), 2);
    for c in configs {
        assert_eq!(c["ok"], 0);
        assert!(
            c["ops_per_sec"].is_null(),
            "no number for a failed one: {c}"
        );
        assert!(
            c["failures"][0].as_str().unwrap().contains("MemoryError"),
            "{c}"
        );
    }
    // The heap limit given is the one recorded.
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(v["results"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(results["settings"]["max_heap_bytes"], 1 << 20);
}

/// `report DIR` never replaces reports unasked: `--out` writes elsewhere,
/// `--force` replaces.
#[test]
fn report_writes_elsewhere_or_replaces_only_when_asked() {
    let dir = tmpdir("rerender");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small.json");
    std::fs::copy(&fixture, dir.join("results.json")).unwrap();
    std::fs::write(dir.join("report.md"), "committed").unwrap();
    let d = dir.to_str().unwrap();

    let o = heaplab(&["report", d]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("report.md exists: give --out DIR to write elsewhere, or --force to replace it"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.join("report.md")).unwrap(),
        "committed"
    );

    let elsewhere = dir.join("elsewhere");
    let o = heaplab(&["report", d, "--out", elsewhere.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["report.md", "report.html", "runs.csv"] {
        assert!(elsewhere.join(name).is_file(), "{name}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("report.md")).unwrap(),
        "committed"
    );

    let o = heaplab(&["report", d, "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(
        std::fs::read_to_string(dir.join("report.md")).unwrap(),
        "committed"
    );
}

#[test]
fn completions_for_known_shells_and_one_line_for_an_unknown_one() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = heaplab(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = String::from_utf8_lossy(&o.stdout);
        assert!(
            script.contains("heaplab") && script.contains("policy"),
            "{shell}"
        );
        // The values of the core's lists are completed where the shell's
        // script lists values (elvish's and PowerShell's complete flags only).
        if ["bash", "zsh", "fish"].contains(&shell) {
            assert!(
                script.contains("pool-locks") && script.contains("generational"),
                "{shell}"
            );
        }
    }
    let o = heaplab(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("invalid value 'tcsh'")
            && e.contains("[possible values: bash, elvish, fish, powershell, zsh]"),
        "{e}"
    );
}
