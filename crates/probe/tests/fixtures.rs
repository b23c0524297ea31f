//! Runs the doctor on every fixture tree under `test/fixtures/sysfs/<env>/` and compares its
//! JSON with `<env>/expected.json`. `FASTPATH_WRITE_EXPECTED=1` rewrites the expected files
//! instead: read every regenerated file before committing it, since the test is only worth
//! what they say. The report's `dpdk` (the linked build) is the machine's, not the tree's: it
//! is left out of the files and checked against [`DpdkBuild::LINKED`].

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use probe::{doctor, DoctorOptions, DpdkBuild};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test/fixtures/sysfs")
}

fn environments() -> Vec<PathBuf> {
    let mut envs: Vec<PathBuf> = fs::read_dir(fixtures_dir())
        .expect("test/fixtures/sysfs exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    envs.sort();
    envs
}

/// A line diff (longest common subsequence) of two texts, `-` expected and `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "  line {:>4} + {}", j + 1, b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "  line {:>4} - {}", i + 1, a[i]);
            i += 1;
        }
    }
    out
}

/// The pretty JSON without its top-level `"dpdk": {...}` block (`serde_json`'s `Value` would sort
/// the keys, so the block is cut out of the text).
fn without_dpdk(pretty: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in pretty.lines() {
        if line == "  \"dpdk\": {" {
            skipping = true;
        } else if skipping {
            skipping = line != "  },";
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_fixture_matches_its_expected_report() {
    let write = std::env::var("FASTPATH_WRITE_EXPECTED").is_ok_and(|v| v == "1");
    let envs = environments();
    assert!(
        envs.len() >= 8,
        "expected at least 8 fixture environments, found {}",
        envs.len()
    );
    let mut failures = Vec::new();
    for env in &envs {
        let name = env.file_name().unwrap().to_string_lossy().into_owned();
        let report = doctor(env, &DoctorOptions::default())
            .unwrap_or_else(|e| panic!("doctor failed on {name}: {e}"));
        assert_eq!(report.dpdk, DpdkBuild::LINKED);
        let mut actual = serde_json::to_value(&report).unwrap();
        actual.as_object_mut().unwrap().remove("dpdk");
        // Written in the report's own field order, compared as values.
        let actual_text = without_dpdk(&serde_json::to_string_pretty(&report).unwrap());
        let expected_path = env.join("expected.json");
        if write {
            fs::write(&expected_path, &actual_text).unwrap();
            continue;
        }
        let Ok(expected_text) = fs::read_to_string(&expected_path) else {
            failures.push(format!(
                "{name}: no expected.json (run with FASTPATH_WRITE_EXPECTED=1, then read it)"
            ));
            continue;
        };
        let expected: Value = serde_json::from_str(&expected_text)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if expected != actual {
            let expected_pretty = serde_json::to_string_pretty(&expected).unwrap();
            failures.push(format!(
                "{name}: the doctor's report differs from expected.json (- expected, + actual):\n{}",
                diff(&expected_pretty, &serde_json::to_string_pretty(&actual).unwrap())
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "\n{}\n(FASTPATH_WRITE_EXPECTED=1 regenerates the files; check them by hand)",
        failures.join("\n")
    );
}

#[test]
fn every_fixture_renders_as_text() {
    for env in environments() {
        let report = doctor(&env, &DoctorOptions::default()).unwrap();
        let text = report.to_text();
        assert!(text.contains("IOVA mode: "), "{text}");
        for check in &report.checks {
            let mark = if check.ok { "✓" } else { "✗" };
            assert!(text.contains(&format!("{mark} {}", check.what)), "{text}");
            if let Some(fix) = &check.fix {
                assert!(text.contains(fix), "{text}");
            }
        }
    }
}

#[test]
fn the_diff_shows_changed_lines() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(d, "  line    2 + x\n  line    2 - b\n");
}
