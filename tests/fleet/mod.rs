//! The fleet of FLEET.md as it lands in out/, and every contract in lib/ fed a wrong value.
//!
//! `facts` reads the committed out/ (a test in `cli::build` proves it is what
//! cluster.ncl compiles to) and asserts the exact lines each fact produces.
//! `contracts` breaks one value of a copy of cluster.ncl per test and asserts
//! the error: exit 2, the field and the value named, the `[cluster.ncl:LINE:COL]`
//! of the value, and out/ untouched. `lib_std` holds lib/std.ncl to the
//! results of Nickel's std.

mod contracts;
mod facts;
mod lib_std;
mod plain_nickel;
mod rebuild;

use std::fs;

use crate::common::repo_root;

/// The committed `out/<relative>` as text.
fn out(relative: &str) -> String {
    fs::read_to_string(repo_root().join("out").join(relative))
        .unwrap_or_else(|e| panic!("read out/{relative}: {e}"))
}

/// Whether the committed `out/<relative>` exists.
fn out_exists(relative: &str) -> bool {
    repo_root().join("out").join(relative).exists()
}

/// Assert that `lines` appear in `text` as one contiguous block of whole lines.
#[track_caller]
fn assert_block(text: &str, lines: &[&str]) {
    let block = format!("\n{}\n", lines.join("\n"));
    assert!(
        format!("\n{text}").contains(&block),
        "missing block:\n{}\n--- in ---\n{text}",
        lines.join("\n")
    );
}

/// Assert that `line` is one whole line of `text`.
#[track_caller]
fn assert_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing line `{line}` in:\n{text}"
    );
}

/// The seven hosts of FLEET.md.
const HOSTS: [&str; 7] = [
    "esxi-5", "pve-10", "pve-5", "pve-6", "pve-7", "pve-8", "pve-9",
];

/// The cluster members; pve-8, pve-9 and pve-10 stand alone.
const MEMBERS: [&str; 4] = ["esxi-5", "pve-5", "pve-6", "pve-7"];

const STANDALONE: [&str; 3] = ["pve-10", "pve-8", "pve-9"];
