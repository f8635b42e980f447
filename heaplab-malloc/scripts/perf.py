#!/usr/bin/env python3
"""Times real programs (CPython, and scripts/churn.c) under glibc's malloc and under each heaplab-malloc
design, interleaved, and prints a Markdown table of medians and ratios.

    cargo build -p heaplab-malloc --release
    python3 heaplab-malloc/scripts/perf.py [--repeats N] [--lib PATH]

Each run is a fresh process; rounds visit the configurations in a rotating
order so that drift on a shared machine spreads over all of them. Peak RSS
comes from wait4's rusage of each child.
"""
import argparse, os, platform, statistics, subprocess, sys, tempfile, time

ALLOC = r'''
import json
rows = [{"id": i, "name": "x" * (i % 300), "tags": list(range(i % 40))} for i in range(150000)]
back = json.loads(json.dumps(rows))
d = {}
for i in range(400000):
    d[str(i) * (1 + i % 5)] = (i, [i] * (i % 9))
    if i % 3 == 0:
        d.popitem()
print(len(back), len(d))
'''

TREES = r'''
def make(d):
    return (make(d - 1), make(d - 1)) if d else (None, None)
def check(t):
    l, r = t
    return 1 if l is None else 1 + check(l) + check(r)
n = 0
for d in range(4, 17, 2):
    for _ in range(2 ** (16 - d + 4)):
        n += check(make(d))
print(n)
'''

THREADS = r'''
import threading
def churn(k):
    acc = []
    for i in range(300000):
        acc.append({"k": k, "v": [i] * (i % 20)})
        if len(acc) > 1000:
            acc.clear()
ts = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("ok")
'''

PROGRAMS = [
    ("python3 allocation-heavy (PYTHONMALLOC=malloc)", ALLOC, "malloc"),
    ("python3 binary-trees depth 16 (PYTHONMALLOC=malloc)", TREES, "malloc"),
    ("python3 4 threads churn (PYTHONMALLOC=malloc)", THREADS, "malloc"),
    ("python3 allocation-heavy (pymalloc)", ALLOC, None),
]

def run(argv, pymalloc, lib, design):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("HEAPLAB_MALLOC", None)
    env.pop("PYTHONMALLOC", None)
    if pymalloc:
        env["PYTHONMALLOC"] = pymalloc
    if design:
        env["LD_PRELOAD"] = lib
        env["HEAPLAB_MALLOC"] = design
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if status != 0:
        sys.exit(f"failed: {design or 'glibc'}: status {status}")
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--lib", default=os.path.join(root, "target/release/libheaplab_malloc.so"))
    ap.add_argument("--python", default="/usr/bin/python3")
    a = ap.parse_args()
    configs = [None, "global-lock", "class-locks", "thread-local"]
    ver = subprocess.run([a.python, "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True).stdout.strip()
    print(f"machine: {platform.node()} ({os.cpu_count()} cpus), {a.python} {ver}, "
          f"{a.repeats} repeats; cells: median CPU time (user + sys) / glibc's median "
          f"[min-max of the repeats / glibc's median], wall-time ratio of medians, "
          f"median peak RSS (lower is better)\n")
    print("| program | " + " | ".join(c or "glibc" for c in configs) + " |")
    print("|---|" + "---|" * len(configs))
    programs = [(name, [a.python, "-c", code], pym) for name, code, pym in PROGRAMS]
    churn = os.path.join(tempfile.mkdtemp(), "churn")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "churn.c")
    if subprocess.run(["cc", "-O2", "-pthread", "-o", churn, src]).returncode == 0:
        programs += [(f"churn.c, {t} thread{'s' if t > 1 else ''} (C, remote frees)", [churn, str(t)], None)
                     for t in (1, 4)]
    else:
        print("(no C compiler: churn.c rows skipped)")
    for name, argv, pym in programs:
        times = {c: [] for c in configs}
        cpus = {c: [] for c in configs}
        rss = {c: [] for c in configs}
        for r in range(a.repeats):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for c in order:
                dt, cpu, m = run(argv, pym, a.lib, c)
                times[c].append(dt)
                cpus[c].append(cpu)
                rss[c].append(m)
        base = statistics.median(cpus[None])
        wbase = statistics.median(times[None])
        cells = []
        for c in configs:
            t = statistics.median(cpus[c])
            lo, hi = min(cpus[c]) / base, max(cpus[c]) / base
            w = statistics.median(times[c])
            m = statistics.median(rss[c])
            cells.append(f"**{t / base:.2f}x** [{lo:.2f}-{hi:.2f}] ({t:.2f} s cpu), "
                         f"wall {w / wbase:.2f}x, {m:.0f} MiB")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)

if __name__ == "__main__":
    main()
