//! The house rules, checked: modules depend one way, and rooms stay small.
//!
//! Reads the crate's own sources and checks
//! - every `crate::X` reference against the layer order below (a module may
//!   name its own layer and the layers under it, never one above);
//! - that the files of one folder do not import each other in a circle
//!   (`super::x`, `crate::top::x`);
//! - that no source file is much over 600 lines.
//!
//! The order is DESIGN.md's, with one change: `results` (the results.json
//! contract, plain data that imports nothing of the crate) sits under
//! `metrics` and `workload`, which fill it in, rather than above them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. Modules on one line form one layer.
const LAYERS: &[&[&str]] = &[
    &["sync", "histogram"],
    &["alloc"],
    &["policy"],
    &["object"],
    &["heap"],
    &["verify"],
    &["results"],
    &["metrics"],
    &["workload"],
    &["report"],
    // The binary's command modules (src/cli/, under main.rs).
    &["cli"],
];

/// The longest a source file may grow (DESIGN: "files under about 600 lines").
const MAX_LINES: usize = 650;

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments (line comments and doc comments), so
/// that prose naming a module is not an import.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Identifiers following `prefix` in `code` (e.g. "crate::" -> "alloc").
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        out.push(&after[..end]);
        rest = &after[end..];
    }
    out
}

struct File {
    /// Path relative to src/, e.g. "alloc/pool.rs".
    rel: String,
    /// Top-level module ("alloc"), or "" for lib.rs / main.rs.
    top: String,
    code: String,
}

fn crate_files() -> Vec<File> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let first = rel.split('/').next().unwrap().trim_end_matches(".rs");
            let top = if matches!(first, "lib" | "main") {
                String::new()
            } else {
                first.to_string()
            };
            let code = code_of(&std::fs::read_to_string(&p).unwrap());
            File { rel, top, code }
        })
        .collect()
}

#[test]
fn modules_depend_one_way() {
    let mut wrong = Vec::new();
    for f in crate_files() {
        if f.top.is_empty() {
            continue;
        }
        let Some(own) = rank(&f.top) else {
            wrong.push(format!(
                "{}: module `{}` is not in the layer order",
                f.rel, f.top
            ));
            continue;
        };
        let named: BTreeSet<&str> = names_after(&f.code, "crate::").into_iter().collect();
        for m in named {
            if let Some(r) = rank(m) {
                if r > own {
                    wrong.push(format!(
                        "{} (layer `{}`) imports `crate::{m}`, a layer above it",
                        f.rel, f.top
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layer order:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn files_of_one_folder_do_not_import_each_other_in_a_circle() {
    // Node: a file's module path ("alloc/pool"); edges from `super::x` and
    // `crate::top::x` references to siblings in the same folder.
    let files = crate_files();
    let module_of = |rel: &str| {
        rel.trim_end_matches(".rs")
            .trim_end_matches("/mod")
            .to_string()
    };
    let known: BTreeSet<String> = files.iter().map(|f| module_of(&f.rel)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let me = module_of(&f.rel);
        let is_mod = f.rel.ends_with("mod.rs");
        // The folder whose siblings `super::` names.
        let parent = if is_mod {
            me.rsplit_once('/')
                .map(|x| x.0.to_string())
                .unwrap_or_default()
        } else {
            me.rsplit_once('/')
                .map(|x| x.0.to_string())
                .unwrap_or_default()
        };
        let mut targets = BTreeSet::new();
        for n in names_after(&f.code, "super::") {
            let t = if parent.is_empty() {
                n.to_string()
            } else {
                format!("{parent}/{n}")
            };
            targets.insert(t);
        }
        if !f.top.is_empty() {
            for n in names_after(&f.code, &format!("crate::{}::", f.top)) {
                targets.insert(format!("{}/{n}", f.top));
            }
        }
        for t in targets {
            // A reference to an item of the folder's mod.rs is an edge to the
            // folder itself, which is not a sibling file: skip it.
            if t != me && known.contains(&t) && !me.starts_with(&format!("{t}/")) {
                edges.entry(me.clone()).or_default().insert(t);
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        if done.contains(n) {
            return;
        }
        if let Some(i) = stack.iter().position(|s| s == n) {
            found.push(format!("{} -> {n}", stack[i..].join(" -> ")));
            return;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, stack, done, found);
        }
        stack.pop();
        done.insert(n.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        visit(n, &edges, &mut Vec::new(), &mut done, &mut found);
    }
    assert!(
        found.is_empty(),
        "import circles between files:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_source_file_is_much_over_600_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    let big: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(p).unwrap().lines().count();
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (n > MAX_LINES).then(|| format!("{rel} ({n} lines)"))
        })
        .collect();
    assert!(
        big.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        big.join("\n")
    );
}

#[test]
fn the_checker_sees_an_upward_import() {
    // A file of `alloc` naming `crate::heap` must be caught.
    let code = code_of("use crate::heap::Heap; // crate::report in a comment");
    let named = names_after(&code, "crate::");
    assert_eq!(named, vec!["heap"]);
    assert!(rank("heap") > rank("alloc"));
}

/// Every `unsafe fn` outside a trait impl states its contract in a `# Safety`
/// section (a trait impl's method inherits the trait's), and every `unsafe
/// impl` has a comment right above it saying why it holds.
#[test]
fn every_unsafe_fn_and_impl_states_its_contract() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    let mut missing = Vec::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let rel = p.strip_prefix(&src).unwrap().display().to_string();
        let mut in_trait_impl = false;
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if !line.starts_with(' ') && !t.is_empty() {
                // A top-level item starts: is it a trait impl?
                in_trait_impl =
                    (t.starts_with("impl") || t.starts_with("unsafe impl")) && t.contains(" for ");
            }
            if t.starts_with("//") {
                continue;
            }
            let is_unsafe_fn = t.contains("unsafe fn ") && !t.contains("\"");
            let is_unsafe_impl = t.starts_with("unsafe impl");
            if is_unsafe_impl {
                let above = lines[..i]
                    .iter()
                    .rev()
                    .map(|l| l.trim_start())
                    .find(|l| !l.starts_with("#["));
                if !above.is_some_and(|l| l.starts_with("//")) {
                    missing.push(format!(
                        "{rel}:{}: `unsafe impl` without a comment above",
                        i + 1
                    ));
                }
            } else if is_unsafe_fn && !(in_trait_impl && line.starts_with("    ")) {
                // Walk up through attributes and doc comments.
                let doc: Vec<&str> = lines[..i]
                    .iter()
                    .rev()
                    .map(|l| l.trim_start())
                    .take_while(|l| l.starts_with("///") || l.starts_with("#["))
                    .collect();
                if !doc.iter().any(|l| l.contains("# Safety")) {
                    missing.push(format!(
                        "{rel}:{}: `unsafe fn` without a `# Safety` section",
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "unsafe without a stated contract:\n{}",
        missing.join("\n")
    );
}

/// The README's layout map names every module of `src/` (a map that drifts
/// from the tree misleads a newcomer), and every `src/` path it names
/// exists.
#[test]
fn the_readme_layout_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("## Layout")
        .expect("README has a Layout section");
    let map = &readme[start..];
    let map = &map[..map[3..].find("\n## ").map_or(map.len(), |i| i + 3)];
    let mut missing = Vec::new();
    for e in std::fs::read_dir(root.join("src")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let shown = if name.ends_with(".rs") {
            format!("src/{name}")
        } else {
            format!("src/{name}/")
        };
        if name != "lib.rs" && !map.contains(&shown) {
            missing.push(shown);
        }
    }
    assert!(
        missing.is_empty(),
        "the README's layout does not name: {missing:?}"
    );
    for word in map.split_whitespace() {
        if let Some(path) = word.strip_prefix("src/") {
            let path = path.trim_end_matches([':', ',', '.', ')']);
            if !path.is_empty() && !path.contains('*') {
                assert!(
                    root.join("src").join(path).exists(),
                    "the README's layout names src/{path}, which does not exist"
                );
            }
        }
    }
}
