//! `heaplab instr`: instructions per operation of each scenario under each
//! policy at one thread, counted by callgrind: the repeatable single-thread
//! figure on a shared machine (it counts instructions, not seconds).
//!
//! Each count runs this binary under `valgrind --tool=callgrind` twice, as
//! the hidden `instr-one` command (the deterministic loop of
//! `workload::instr`), for N and 2N operations; the difference of the two
//! totals over the difference of the operations is the cost of one
//! operation, with start-up, set-up and teardown cancelled out. The table
//! goes to stdout; `--out DIR` also writes `DIR/instructions.json`, which
//! `heaplab report DIR` puts in the report.

use super::values::PolicySel;
use super::CliResult;
use heaplab::results::{InstructionCount, Instructions};
use heaplab::workload::catalogue::{select, Catalogue};
use heaplab::workload::instr;
use heaplab::PolicyName;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The file `--out DIR` writes.
pub const FILE: &str = "instructions.json";

/// The most operations one count may ask for (about a minute under
/// callgrind for the slowest scenario).
pub const MAX_OPS: u64 = 100_000_000;

/// The valgrind version, or why there is none.
fn valgrind() -> Result<String, String> {
    let out = Command::new("valgrind").arg("--version").output().map_err(|e| {
        format!("instr needs valgrind (callgrind) on the PATH: {e}; install it (Debian: apt-get install valgrind)")
    })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Total instructions (Ir) of a callgrind output file: its `totals:` line
/// (or `summary:` in older versions).
fn total_ir(file: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read callgrind output {}: {e}", file.display()))?;
    text.lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .ok_or_else(|| format!("{}: no totals line", file.display()))
}

/// One count under callgrind: (operations done, instructions).
fn counted(
    exe: &Path,
    workload: &str,
    dir: Option<&Path>,
    policy: PolicyName,
    ops: u64,
    tmp: &Path,
) -> Result<(u64, u64), String> {
    let file = tmp.join(format!("callgrind.{workload}.{policy}.{ops}.out"));
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", file.display()))
        .arg(exe)
        .args([
            "instr-one",
            "--workload",
            workload,
            "--policy",
            policy.as_str(),
        ])
        .args(["--ops", &ops.to_string()]);
    if let Some(d) = dir {
        cmd.arg("--workloads-dir").arg(d);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{workload} under {policy}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .filter(|l| l.starts_with("heaplab"))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let done: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("{workload} under {policy}: instr-one printed no count"))?;
    let ir = total_ir(&file)?;
    let _ = std::fs::remove_file(&file);
    Ok((done, ir))
}

/// `heaplab instr`.
pub fn instr(
    workload: &str,
    policies: &[PolicySel],
    ops: u64,
    workloads_dir: Option<PathBuf>,
    out: Option<&Path>,
) -> CliResult {
    if ops == 0 || ops > MAX_OPS {
        return Err(format!(
            "--ops: {ops} is out of range: allowed 1..={MAX_OPS}"
        ));
    }
    let tool = valgrind()?;
    let policies = super::values::policies(policies);
    let dir = super::workloads_dir(workloads_dir);
    let catalogue = Catalogue::load(dir.as_deref()).map_err(|e| e.to_string())?;
    let scenarios = select(workload, &catalogue, &mut |line| {
        eprintln!("heaplab: {line}")
    })?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let tmp = std::env::temp_dir().join(format!("heaplab-instr-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let mut counts = Vec::new();
    for s in &scenarios {
        for &p in &policies {
            let mut c = InstructionCount {
                workload: s.name.clone(),
                policy: p.to_string(),
                ..Default::default()
            };
            if let Some(why) = instr::not_countable(s) {
                c.error = format!("not counted: {why}");
                counts.push(c);
                continue;
            }
            eprintln!("heaplab: counting {} under {p}...", s.name);
            let one = counted(&exe, &s.name, dir.as_deref(), p, ops, &tmp);
            let two = one
                .clone()
                .and_then(|_| counted(&exe, &s.name, dir.as_deref(), p, 2 * ops, &tmp));
            match (one, two) {
                (Ok((o1, i1)), Ok((o2, i2))) if o2 > o1 && i2 >= i1 => {
                    c.ops = o2 - o1;
                    c.instructions = i2 - i1;
                    c.per_op = c.instructions as f64 / c.ops as f64;
                }
                (Err(e), _) | (_, Err(e)) => c.error = e,
                _ => c.error = "the longer run did no more work than the shorter".into(),
            }
            counts.push(c);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let table = Instructions {
        tool: format!("{tool} --tool=callgrind"),
        heaplab: format!(
            "{} ({}{})",
            env!("CARGO_PKG_VERSION"),
            env!("HEAPLAB_COMMIT"),
            if env!("HEAPLAB_DIRTY") == "true" {
                ", uncommitted changes"
            } else {
                ""
            }
        ),
        method: format!(
            "one thread, work dial at zero, {ops} and {} operations under callgrind; \
             instructions per operation = the difference of the totals over the difference \
             of the operations",
            2 * ops
        ),
        counts,
    };
    print!("{}", render(&table));
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--out: cannot create {}: {e}", dir.display()))?;
        let path = dir.join(FILE);
        let json = serde_json::to_string_pretty(&table).map_err(|e| e.to_string())?;
        std::fs::write(&path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("heaplab: wrote {}", path.display());
    }
    let failed = table
        .counts
        .iter()
        .filter(|c| !c.error.is_empty() && !c.error.starts_with("not counted"))
        .count();
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The table: instructions per operation, and each policy over `gil`.
pub fn render(t: &Instructions) -> String {
    let mut out = format!(
        "Instructions per operation at one thread ({}; heaplab {})\n\n",
        t.tool, t.heaplab
    );
    out.push_str(&format!(
        "{:<22} {:<11} {:>12} {:>10} {:>14}\n",
        "workload", "policy", "instr/op", "over gil", "operations"
    ));
    for c in &t.counts {
        if !c.error.is_empty() {
            out.push_str(&format!(
                "{:<22} {:<11} {}\n",
                c.workload, c.policy, c.error
            ));
            continue;
        }
        let gil = t
            .counts
            .iter()
            .find(|g| g.workload == c.workload && g.policy == "gil" && g.error.is_empty())
            .map(|g| format!("{:.3}x", c.per_op / g.per_op))
            .unwrap_or_else(|| "—".into());
        out.push_str(&format!(
            "{:<22} {:<11} {:>12.1} {:>10} {:>14}\n",
            c.workload, c.policy, c.per_op, gil, c.ops
        ));
    }
    out
}

/// `heaplab instr-one`: the counted loop itself; prints the operations done.
pub fn instr_one(
    workload: &str,
    policy: PolicyName,
    ops: u64,
    workloads_dir: Option<PathBuf>,
) -> CliResult {
    let dir = super::workloads_dir(workloads_dir);
    let catalogue = Catalogue::load(dir.as_deref()).map_err(|e| e.to_string())?;
    let s = catalogue
        .find(workload)
        .ok_or_else(|| format!("--workload: unknown scenario {workload:?}"))?;
    let done = instr::run(s, policy, ops)?;
    println!("{done}");
    Ok(ExitCode::SUCCESS)
}
