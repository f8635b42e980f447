#!/usr/bin/env python3
"""Times real programs (CPython, and scripts/churn.c) under glibc's malloc, the field's allocators
(mimalloc, jemalloc, tcmalloc: Debian's packages, preloaded) and each heaplab-malloc design,
interleaved, and prints a Markdown table of paired ratios to glibc with 95% intervals.

    cargo build -p heaplab-malloc --release
    python3 heaplab-malloc/scripts/perf.py [--repeats N] [--lib PATH] [--python PY] [--out DIR]
                                           [--install]

Each run is a fresh process; rounds visit the configurations in a rotating
order so that drift on a shared machine spreads over all of them. CPU time
(user + sys) and peak RSS come from wait4's rusage of each child. A ratio is
paired: each run is divided by glibc's run of the same round, and the cell
gives the geometric mean of those ratios with a 95% Student-t interval on
their logarithms (so a shared machine's slow round slows both sides of a
pair). `--out DIR` also writes table.md, raw.csv (every run) and meta.txt.
`--install` runs `apt-get install -y` for a missing field allocator
(otherwise its column is left out, with the reason printed).
"""
import argparse, math, os, platform, statistics, subprocess, sys, tempfile, time

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
    ("python3 allocation-heavy (pymalloc, reference)", ALLOC, None),
]

LIBDIR = "/usr/lib/x86_64-linux-gnu"
# (column, Debian package, shared object to preload)
FIELD = [
    ("mimalloc", "libmimalloc2.0", "libmimalloc.so.2"),
    ("jemalloc", "libjemalloc2", "libjemalloc.so.2"),
    ("tcmalloc", "libtcmalloc-minimal4", "libtcmalloc_minimal.so.4"),
]
DESIGNS = ["global-lock", "class-locks", "thread-local"]
# Two-sided 95% Student-t quantiles by degrees of freedom.
T95 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
       10: 2.228, 14: 2.145, 19: 2.093}


def t95(df):
    return T95.get(df) or T95[max(k for k in T95 if k <= df)]


def run(argv, pymalloc, preload, design):
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "HEAPLAB_MALLOC", "PYTHONMALLOC"):
        env.pop(k, None)
    if pymalloc:
        env["PYTHONMALLOC"] = pymalloc
    if preload:
        env["LD_PRELOAD"] = preload
    if design:
        env["HEAPLAB_MALLOC"] = design
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    if status != 0:
        sys.exit(f"failed: {design or preload or 'glibc'}: {argv[0]}: status {status}")
    return dt, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0


def paired(xs, bs):
    """Geometric mean of xs[i] / bs[i] and its 95% interval."""
    logs = [math.log(x / b) for x, b in zip(xs, bs)]
    m = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(m), math.exp(m), math.exp(m)
    h = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(m), math.exp(m - h), math.exp(m + h)


def configs(lib, install):
    out = [("glibc", None, None)]
    for name, pkg, so in FIELD:
        path = os.path.join(LIBDIR, so)
        if not os.path.exists(path) and install:
            subprocess.run(["apt-get", "install", "-y", "-q", pkg], stdout=subprocess.DEVNULL)
        if os.path.exists(path):
            out.append((name, path, None))
        else:
            print(f"({name}: {path} missing; apt-get install -y {pkg}, or pass --install)")
    if not os.path.exists(lib):
        sys.exit(f"build first: cargo build -p heaplab-malloc --release ({lib} missing)")
    out += [(d, lib, d) for d in DESIGNS]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--lib", default=os.path.join(root, "target/release/libheaplab_malloc.so"))
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--out", help="folder for table.md, raw.csv and meta.txt")
    ap.add_argument("--install", action="store_true", help="apt-get install missing field allocators")
    a = ap.parse_args()
    cfgs = configs(a.lib, a.install)
    names = [c[0] for c in cfgs]
    ver = subprocess.run([a.python, "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    meta = [f"machine: {platform.node()}, {model}, {os.cpu_count()} cpus, {platform.platform()}",
            f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"commit: {commit}{' (with uncommitted changes)' if dirty else ''}",
            f"python: {a.python} {ver}; repeats: {a.repeats}; configurations: {', '.join(names)}",
            f"started: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"]
    header = ("cells: **CPU-time ratio to glibc** [95% interval] (median CPU s), wall-time ratio "
              "[95% interval], median peak RSS; ratios are geometric means of per-round pairs; "
              "lower is better")
    lines = [header, "", "| program | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    print("\n".join(meta + [""] + lines), flush=True)
    programs = [(name, [a.python, "-c", code], pym) for name, code, pym in PROGRAMS]
    churn = os.path.join(tempfile.mkdtemp(), "churn")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "churn.c")
    if subprocess.run(["cc", "-O2", "-pthread", "-o", churn, src]).returncode == 0:
        programs += [(f"churn.c, {t} thread{'s' if t > 1 else ''} (C, remote frees)", [churn, str(t)], None)
                     for t in (1, 4)]
    else:
        print("(no C compiler: churn.c rows skipped)")
    raw = ["program,config,round,wall_s,cpu_s,maxrss_mib"]
    t_start = time.perf_counter()
    for name, argv, pym in programs:
        times = {c: [] for c in names}
        cpus = {c: [] for c in names}
        rss = {c: [] for c in names}
        for r in range(a.repeats):
            k = r % len(cfgs)
            for c, preload, design in cfgs[k:] + cfgs[:k]:
                dt, cpu, m = run(argv, pym, preload, design)
                times[c].append(dt)
                cpus[c].append(cpu)
                rss[c].append(m)
                raw.append(f'"{name}",{c},{r},{dt:.4f},{cpu:.4f},{m:.1f}')
        cells = []
        for c in names:
            g, lo, hi = paired(cpus[c], cpus["glibc"])
            w, wlo, whi = paired(times[c], times["glibc"])
            cells.append(f"**{g:.2f}x** [{lo:.2f}-{hi:.2f}] ({statistics.median(cpus[c]):.2f} s), "
                         f"wall {w:.2f}x [{wlo:.2f}-{whi:.2f}], {statistics.median(rss[c]):.0f} MiB")
        line = f"| {name} | " + " | ".join(cells) + " |"
        lines.append(line)
        print(line, flush=True)
    meta.append(f"machine time of the run: {time.perf_counter() - t_start:.0f} s; "
                f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(meta[-1])
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "table.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(a.out, "raw.csv"), "w") as f:
            f.write("\n".join(raw) + "\n")
        with open(os.path.join(a.out, "meta.txt"), "w") as f:
            f.write("\n".join(meta) + "\n")


if __name__ == "__main__":
    main()
