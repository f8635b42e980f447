//! heaplab's house rules for this crate's sources (the root crate's
//! tests/house_rules.rs scans only heaplab's own `src/`), plus the one rule
//! a malloc adds: no allocating type or path appears in its code.

use std::path::Path;

fn sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
    assert!(out.len() >= 10, "sources not found in {}", dir.display());
    out
}

/// Code without comments and doc comments (strings are kept).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let code = l.split("//").next().unwrap();
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

#[test]
fn files_stay_under_650_lines() {
    for (name, text) in sources() {
        assert!(text.lines().count() <= 650, "{name} is over 650 lines");
    }
}

/// Nothing in the library may allocate: no collection, box, string or
/// formatting to a `String`, and nothing from `std` or `alloc` (only `core`
/// and `libc`), outside the unit tests at the end of a file.
#[test]
fn no_allocating_code_in_the_library() {
    let banned = [
        "Vec<",
        "Vec::",
        "vec!",
        "Box<",
        "Box::",
        "String",
        "format!(",
        "to_string",
        "to_owned",
        "std::",
        "alloc::",
        "Rc<",
        "Arc<",
        "HashMap",
        "BTreeMap",
        "collect",
    ];
    let mut found = Vec::new();
    for (name, text) in sources() {
        for (n, code) in code_lines(&text) {
            if code.contains("#[cfg(test)]") {
                break;
            }
            for b in banned {
                if code.contains(b) {
                    found.push(format!("{name}:{n}: `{b}` in {}", code.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "allocating code:\n{}", found.join("\n"));
}

/// The check above can fail: it sees a `Vec` in a line of code.
#[test]
fn the_allocation_check_sees_a_vec() {
    let line = "    let v: Vec<u8> = Vec::new(); // a comment";
    assert!(code_lines(line).any(|(_, c)| c.contains("Vec<")));
    assert!(!code_lines("// Vec<u8> in a comment").any(|(_, c)| c.contains("Vec<")));
}

/// Every `unsafe impl` has a comment right above it saying why it holds.
#[test]
fn every_unsafe_impl_says_why() {
    for (name, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.trim_start().starts_with("unsafe impl") {
                let above = lines[..i]
                    .iter()
                    .rev()
                    .map(|l| l.trim_start())
                    .find(|l| !l.starts_with("#["));
                assert!(
                    above.is_some_and(|l| l.starts_with("//")),
                    "{name}:{}: `unsafe impl` without a comment above",
                    i + 1
                );
            }
        }
    }
}
