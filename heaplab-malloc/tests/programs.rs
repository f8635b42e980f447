//! Real programs no one here wrote, run with the library preloaded under
//! each design, their output compared with the same run on the C library's
//! malloc. A program that is not installed is skipped with the reason
//! printed.

mod common;

use common::{assert_ok, library, preloaded, program, DESIGNS};
use std::process::Command;

/// Runs `make()` unpreloaded and under each design; every run must succeed
/// with the same standard output.
fn same_as_glibc(what: &str, make: impl Fn() -> Command) {
    let reference = make().env_remove("LD_PRELOAD").output().expect("spawn");
    assert_ok(&format!("{what} on glibc"), &reference);
    for d in DESIGNS {
        let out = preloaded(make(), Some(d));
        assert_ok(&format!("{what} under {d}"), &out);
        assert!(
            out.stdout == reference.stdout,
            "{what} under {d}: output differs from glibc's"
        );
    }
}

const PY_ALLOC: &str = r#"
import json, random
random.seed(7)
rows = [{"id": i, "name": "x" * (i % 300), "tags": list(range(i % 40))} for i in range(60000)]
text = json.dumps(rows)
back = json.loads(text)
d = {}
for i in range(200000):
    d[str(i) * (1 + i % 5)] = (i, [i] * (i % 9), bytearray(i % 5000))
    if i % 3 == 0:
        d.popitem()
big = [bytes(range(256)) * (1 + i % 200) for i in range(3000)]
print(len(text), len(back), len(d), sum(map(len, big)))
"#;

const PY_THREADS: &str = r#"
import threading, queue
q = queue.Queue(maxsize=1000)
totals = []
def producer(n):
    for i in range(n):
        q.put([i] * (i % 50) + [str(i)] * (i % 7))
    q.put(None)
def consumer():
    t = 0
    while True:
        item = q.get()
        if item is None:
            break
        t += len(item)
    totals.append(t)
threads = [threading.Thread(target=producer, args=(30000,)) for _ in range(3)]
threads += [threading.Thread(target=consumer) for _ in range(3)]
for t in threads: t.start()
for t in threads: t.join()
def churn(k):
    acc = []
    for i in range(20000):
        acc.append({"k": k, "v": "y" * (i % 700)})
        if len(acc) > 500:
            acc.clear()
ws = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
for w in ws: w.start()
for w in ws: w.join()
print(sum(totals))
"#;

fn python(code: &'static str) -> Option<impl Fn() -> Command> {
    let py = program("python3")?;
    Some(move || {
        let mut c = Command::new(&py);
        // Every Python object through malloc, not only the large ones.
        c.env("PYTHONMALLOC", "malloc").args(["-c", code]);
        c
    })
}

#[test]
fn python_allocation_heavy_snippet() {
    if let Some(make) = python(PY_ALLOC) {
        same_as_glibc("python3 -c (allocation-heavy)", make);
    }
}

#[test]
fn python_threads_hand_objects_to_each_other() {
    if let Some(make) = python(PY_THREADS) {
        same_as_glibc("python3 -c (threads)", make);
    }
}

#[test]
fn ls_and_sort() {
    if let Some(ls) = program("ls") {
        same_as_glibc("ls -la /usr/bin", || {
            let mut c = Command::new(&ls);
            c.args(["-la", "--time-style=+", "/usr/bin"]);
            c
        });
    }
    let Some(sort) = program("sort") else { return };
    let input = library()
        .parent()
        .unwrap()
        .join("heaplab-malloc-sort-input.txt");
    let mut text = String::new();
    let mut x: u64 = 88172645463325252;
    for i in 0..200_000u64 {
        // xorshift: the same lines every run.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 1 + (x % 120) as usize;
        let word: String = (0..len)
            .map(|k| (b'a' + ((x >> (k % 60)) % 26) as u8) as char)
            .collect();
        text.push_str(&format!("{word} {i}\n"));
    }
    std::fs::write(&input, text).unwrap();
    same_as_glibc("sort", || {
        let mut c = Command::new(&sort);
        c.env("LC_ALL", "C").arg(&input);
        c
    });
}

#[test]
fn sqlite3_and_git_one_liners() {
    if let Some(sqlite) = program("sqlite3") {
        same_as_glibc("sqlite3", || {
            let mut c = Command::new(&sqlite);
            c.args([
                ":memory:",
                "create table t(a, b); \
                 with recursive n(i) as (select 1 union all select i + 1 from n where i < 50000) \
                 insert into t select i, hex(randomblob(i % 200)) from n; \
                 select count(*), sum(length(b)) from t; \
                 create index ib on t(b); select count(distinct b) > 40000 from t;",
            ]);
            c
        });
    }
    if let Some(git) = program("git") {
        let repo = env!("CARGO_MANIFEST_DIR");
        same_as_glibc("git log", || {
            let mut c = Command::new(&git);
            c.args(["-C", repo, "log", "--stat", "-n", "30", "--format=%H %s"]);
            c
        });
    }
}

#[test]
fn an_unknown_design_is_refused_with_status_2() {
    let Some(t) = program("true") else { return };
    let out = preloaded(Command::new(t), Some("no-such-design"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    for d in DESIGNS {
        assert!(err.contains(d), "{err}");
    }
}

#[test]
fn statistics_on_exit_when_asked() {
    let Some(ls) = program("ls") else { return };
    for d in DESIGNS {
        let mut c = Command::new(&ls);
        c.env("HEAPLAB_MALLOC_STATS", "1").arg("/");
        c.env("LD_PRELOAD", library()).env("HEAPLAB_MALLOC", d);
        let out = c.output().unwrap();
        assert_ok("ls with statistics", &out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("heaplab-malloc: design {d} arenas ")),
            "{err}"
        );
    }
}
