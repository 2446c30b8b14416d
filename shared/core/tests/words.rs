//! Proves: no shipped text (sources, messages, snapshots, Terraform, scripts,
//! sample events, the example policy and the READMEs) cites Rempart's design
//! documents ("seed 003", "seeds 000", "seed_004", "seeds/..."), which users
//! do not have: shipped text names the user's own policy and AWS's terms.

use std::fs;
use std::path::{Path, PathBuf};

/// Whether `line` cites a design document: "seed" (any case), an optional
/// "s", an optional space or underscore, then three digits; or the path
/// "seeds/".
fn cites_seed(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(p) = lower[from..].find("seed") {
        let start = from + p;
        let mut j = start + 4;
        if b.get(j) == Some(&b's') {
            j += 1;
            if b.get(j) == Some(&b'/') {
                return true;
            }
        }
        if matches!(b.get(j), Some(b' ' | b'_')) {
            j += 1;
        }
        if b.len() >= j + 3 && b[j..j + 3].iter().all(u8::is_ascii_digit) {
            return true;
        }
        from = start + 4;
    }
    false
}

/// The files under `dir` whose name ends with one of `ends` (every file when
/// `ends` is empty), skipping build outputs, dependencies and hidden
/// directories (`.terraform`, ...).
fn walk(dir: &Path, ends: &[&str], out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.expect("directory entry");
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            if name == "target" || name == "node_modules" || name.starts_with('.') {
                continue;
            }
            walk(&path, ends, out);
        } else if kind.is_file() && (ends.is_empty() || ends.iter().any(|e| name.ends_with(e))) {
            out.push(path);
        }
    }
}

/// The repository's shipped text files.
fn shipped(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let code: &[&str] = &[".rs", ".toml", ".snap"];
    for dir in ["shared", "functions", "cli"] {
        walk(&root.join(dir), code, &mut files);
    }
    walk(
        &root.join("infra"),
        &[".tf", ".md", ".tftpl", ".json"],
        &mut files,
    );
    walk(&root.join("scripts"), &[], &mut files);
    walk(&root.join("events"), &[".json"], &mut files);
    walk(&root.join("examples"), &[".toml"], &mut files);
    for file in ["README.md", "bench/README.md"] {
        files.push(root.join(file));
    }
    files
}

#[test]
fn no_shipped_text_cites_the_design_documents() {
    let root = fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .expect("repository root");
    let this = root.join("shared/core/tests/words.rs");
    let files: Vec<PathBuf> = shipped(&root).into_iter().filter(|f| *f != this).collect();
    assert!(
        files.len() > 50,
        "only {} files found under {}: the walk is broken",
        files.len(),
        root.display()
    );
    let mut hits = Vec::new();
    for file in &files {
        let bytes = fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if cites_seed(line) {
                let rel = file.strip_prefix(&root).unwrap_or(file);
                hits.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} line(s) of shipped text cite the design documents; name the user's policy or AWS's terms instead:\n{}",
        hits.len(),
        hits.join("\n")
    );
}

#[test]
fn the_matcher_knows_a_citation_from_a_random_seed() {
    for cite in [
        "not encrypted at rest (seed 003 §4)",
        "Seeds 003 and 004",
        "fn seed_003_schedule()",
        "Seed 000's impact classes.",
        "SEED004",
        "see /work/shared/seeds/003.txt",
    ] {
        assert!(cites_seed(cite), "{cite}");
    }
    for word in [
        "the .rdb files a drill seeds a replication group",
        "elasticache_seed_principal",
        "seed(&[\"e1\", \"db\"])",
        "a seed 1 or 12",
        "seeds  003",
        "seeded with the export",
    ] {
        assert!(!cites_seed(word), "{word}");
    }
}
