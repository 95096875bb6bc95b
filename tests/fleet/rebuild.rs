//! A build over an earlier out/ is byte-identical to a full build, always:
//! after each of many seeded random edits of cluster.ncl, `lugc build`
//! (which writes only the bundles that changed, and which the no-op cache
//! may answer) leaves out/ exactly what plain Nickel exports
//! and what a build from nothing writes (`build --check`), or fails as plain
//! Nickel does and leaves out/ as it was. Among them must be builds that
//! rendered only the bundles whose sources changed and took the rest from
//! out/ (`derive`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{stderr, Fixture};

/// A small seeded generator (xorshift64*): the same edits for a seed.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % bound
    }
}

/// The byte ranges of cluster.ncl's plain string literals' contents.
fn literals(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    for (offset, line) in line_offsets(text) {
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') || code.contains("m%") {
            continue;
        }
        let quotes: Vec<usize> = code.match_indices('"').map(|(at, _)| at).collect();
        for pair in quotes.chunks_exact(2) {
            let inside = &code[pair[0] + 1..pair[1]];
            if !inside.contains(['\\', '%']) {
                ranges.push(offset + pair[0] + 1..offset + pair[1]);
            }
        }
    }
    ranges
}

fn line_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let start = *offset;
        *offset += line.len();
        Some((start, line))
    })
}

/// One random edit of a string literal (with `free_text`, of a host's
/// hardware or notes, which any text fits): a digit changed, a letter
/// added, or one literal's content copied into another.
fn edit(text: &str, random: &mut Seeded, free_text: bool) -> String {
    let ranges = literals(text);
    let is_free_text = |range: &std::ops::Range<usize>| {
        let line_start = text[..range.start].rfind('\n').map_or(0, |at| at + 1);
        let key = text[line_start..range.start].trim_start();
        key.starts_with("hardware = ") || key.starts_with("notes = ")
    };
    let candidates: Vec<&std::ops::Range<usize>> = ranges
        .iter()
        .filter(|range| !free_text || is_free_text(range))
        .collect();
    let range = candidates[random.below(candidates.len())].clone();
    let inside = &text[range.clone()];
    let replacement = match random.below(4) {
        0 => {
            let digits: Vec<usize> = inside
                .match_indices(|c: char| c.is_ascii_digit())
                .map(|(at, _)| at)
                .collect();
            if digits.is_empty() {
                format!("{inside}1")
            } else {
                let at = digits[random.below(digits.len())];
                let digit = char::from(b'0' + u8::try_from(random.below(10)).unwrap());
                format!("{}{digit}{}", &inside[..at], &inside[at + 1..])
            }
        }
        1 => format!("{inside}{}", ["a", "-b", ".c", "0"][random.below(4)]),
        2 => text[ranges[random.below(ranges.len())].clone()].to_owned(),
        _ => inside.chars().rev().collect(),
    };
    format!(
        "{}{replacement}{}",
        &text[..range.start],
        &text[range.end..]
    )
}

/// out/'s files by bundle and path, as plain Nickel's export lists them.
fn exported_files(exported: &serde_json::Value) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let bundles = exported["hosts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, host)| (name.as_str(), &host["files"]))
        .chain([("cluster", &exported["cluster"]["files"])]);
    for (bundle, bundle_files) in bundles {
        for (path, file) in bundle_files.as_object().unwrap() {
            let content = file["content"].as_str().unwrap().as_bytes().to_vec();
            files.insert(
                Path::new(bundle).join(path.trim_start_matches('/')),
                content,
            );
        }
    }
    files
}

/// out/'s files but INDEX and the MANIFESTs.
fn built_files(fixture: &Fixture) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut tree = fixture.tree("out");
    tree.retain(|path, _| !path.ends_with("MANIFEST") && path != Path::new("INDEX"));
    tree
}

#[test]
fn a_build_after_random_edits_is_the_full_build() {
    let (mut built, mut failed, mut partial) = (0, 0, 0);
    for seed in [1_u64, 7, 25] {
        let fixture = Fixture::new();
        let file = fixture.path().join("cluster.ncl");
        let mut random = Seeded(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        fixture.lugc().arg("build").assert().success();
        for step in 0..5 {
            let text = fixture.read("cluster.ncl");
            // Some steps go back to the original text: every bundle's input
            // is then one out/ held before.
            let edited = if step == 3 {
                std::fs::read_to_string(crate::common::repo_root().join("cluster.ncl")).unwrap()
            } else {
                // Every other edit is of one host's free text: its bundle and
                // the cluster bundle's sources change, no other's.
                edit(&text, &mut random, step % 2 == 1)
            };
            fixture.write("cluster.ncl", &edited);
            let before = fixture.tree("out");
            let output = fixture.run(&["build", "--verbose"]);
            let context = format!("seed {seed}, step {step}: {}", stderr(&output));
            match super::plain_nickel::plain_nickel(&file) {
                Ok(exported) => {
                    assert!(output.status.success(), "{context}");
                    assert_eq!(
                        built_files(&fixture),
                        exported_files(&exported),
                        "{context}"
                    );
                    let check = fixture.run(&["build", "--check"]);
                    assert!(
                        check.status.success(),
                        "{context}: {}",
                        String::from_utf8_lossy(&check.stdout)
                    );
                    built += 1;
                    partial += usize::from(rendered_only_some(&stderr(&output)));
                }
                Err(_) => {
                    assert!(!output.status.success(), "{context}");
                    assert_eq!(fixture.tree("out"), before, "{context}");
                    failed += 1;
                    // The next edit starts from a fleet that builds.
                    fixture.write("cluster.ncl", &text);
                }
            }
        }
    }
    assert!(built >= 4, "{built} edits built, {failed} failed");
    // An edit within one host changes that bundle's sources (and the
    // cluster bundle's) only: the others come from out/.
    assert!(
        partial >= 1,
        "{partial} of {built} builds rendered only some bundles"
    );
}

/// Whether `--verbose` said that some bundles were taken from out/.
fn rendered_only_some(stderr: &str) -> bool {
    stderr.lines().any(|line| {
        let Some(counts) = line.strip_prefix("rendered ") else {
            return false;
        };
        let (rendered, total) = counts
            .trim_end_matches(" bundles")
            .split_once(" of ")
            .unwrap();
        rendered.parse::<usize>().unwrap() < total.parse::<usize>().unwrap()
    })
}

/// Edits of one host that break a check across it and hosts whose sources
/// did not change, or the changed host's own contract: the build that takes
/// the unchanged hosts as the last build checked them fails exactly as a
/// build from nothing does, and leaves out/ as it was.
#[test]
fn a_check_across_hosts_fails_as_in_a_full_build() {
    let edits = [
        // pve-6 takes pve-7's intranet address.
        ("\"10.254.0.242/21\"", "\"10.254.0.243/21\""),
        // local-zfs loses its only node, and the VMs on it their storage.
        (
            "vm_storage = [\"local-lvm\", \"local-zfs\"]",
            "vm_storage = [\"local-lvm\"]",
        ),
        // The pbs storage's server and the certificates' pbs host loses the role.
        ("roles = [\"pbs\"],", "roles = [],"),
        // esxi-5's own contract.
        ("uplink = \"enp3s0\"", "uplink = \"enp3s0 x\""),
    ];
    for (from, to) in edits {
        let fixture = Fixture::new();
        fixture.lugc().arg("build").assert().success();
        // A change of one host's free text checks that host alone.
        fixture.edit("cluster.ncl", "\"Oracle x86 server, 128 GB\"", "\"Oracle\"");
        let output = fixture.run(&["build", "--verbose"]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("checked 1 of 7 hosts"),
            "{}",
            stderr(&output)
        );
        fixture.edit("cluster.ncl", from, to);
        let before = fixture.tree("out");
        let incremental = fixture.run(&["build"]);
        assert!(!incremental.status.success(), "{from}");
        assert_eq!(fixture.tree("out"), before, "{from}");
        std::fs::remove_file(fixture.path().join(".lugc-cache")).unwrap();
        let full = fixture.run(&["build"]);
        assert_eq!(
            (incremental.status.code(), stderr(&incremental)),
            (full.status.code(), stderr(&full)),
            "{from}"
        );
    }
}

/// A file of a bundle whose sources did not change, edited by hand in out/
/// (same size, its modification time put back): the next build does not
/// take that bundle from out/ as it is. It renders the fleet again and
/// writes what a build from nothing writes.
#[test]
fn a_hand_edit_in_out_is_rebuilt_not_taken() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let hostname = fixture.path().join("out/pve-9/etc/hostname");
    let modified = std::fs::metadata(&hostname).unwrap().modified().unwrap();
    std::fs::write(&hostname, "pve-X\n").unwrap();
    let file = std::fs::File::options()
        .write(true)
        .open(&hostname)
        .unwrap();
    file.set_modified(modified).unwrap();
    // pve-7's free text: only pve-7's and the cluster bundle's sources change.
    fixture.edit("cluster.ncl", "\"Oracle x86 server, 128 GB\"", "\"Oracle\"");
    let output = fixture.run(&["build", "--verbose"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!rendered_only_some(&stderr(&output)), "{}", stderr(&output));
    assert_eq!(fixture.read("out/pve-9/etc/hostname"), "pve-9\n");
    fixture.lugc().args(["build", "--check"]).assert().success();
    // Put right, out/ is taken again: only the changed bundles are rendered.
    fixture.edit("cluster.ncl", "\"Oracle\"", "\"Oracle x86\"");
    let output = fixture.run(&["build", "--verbose"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(rendered_only_some(&stderr(&output)), "{}", stderr(&output));
    fixture.lugc().args(["build", "--check"]).assert().success();
}

/// A file added by hand to a bundle whose sources did not change: that
/// bundle is not taken from out/ as it is (its directory changed), and the
/// next build leaves out/ what a build from nothing writes; the bundles
/// taken keep their files.
#[test]
fn a_file_added_in_out_is_removed_not_taken() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    fixture.write("out/pve-9/etc/extra", "by hand\n");
    fixture.write("out/pve-9/extra/file", "by hand\n");
    let inode = |path: &str| {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(fixture.out().join(path)).unwrap())
    };
    let hostname = inode("pve-5/etc/hostname");
    fixture.edit("cluster.ncl", "\"Oracle x86 server, 128 GB\"", "\"Oracle\"");
    let output = fixture.run(&["build", "--verbose"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!fixture.out().join("pve-9/etc/extra").exists());
    assert!(!fixture.out().join("pve-9/extra").exists());
    fixture.lugc().args(["build", "--check"]).assert().success();
    // Put right, out/ is taken again and its bundles are not written.
    fixture.edit("cluster.ncl", "\"Oracle\"", "\"Oracle x86\"");
    let output = fixture.run(&["build", "--verbose"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(rendered_only_some(&stderr(&output)), "{}", stderr(&output));
    assert_eq!(inode("pve-5/etc/hostname"), hostname);
    fixture.lugc().args(["build", "--check"]).assert().success();
}

/// A change of the description without its hosts takes each host as the
/// last build's contracts gave it, but checks it again against the changed
/// rest: the NTP servers' change builds what a build from nothing builds,
/// and a site's subnet that leaves its hosts' addresses outside (caught
/// only by the checks of one host) fails exactly as a build from nothing.
#[test]
fn hosts_are_checked_again_against_a_changed_rest() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    fixture.edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    let output = fixture.run(&["build", "--verbose"]);
    assert!(output.status.success(), "{}", stderr(&output));
    fixture.lugc().args(["build", "--check"]).assert().success();
    fixture.edit(
        "cluster.ncl",
        "\"192.168.93.0/24\"",
        "\"192.168.93.128/25\"",
    );
    let before = fixture.tree("out");
    let incremental = fixture.run(&["build"]);
    assert!(!incremental.status.success(), "{}", stderr(&incremental));
    assert!(stderr(&incremental).contains("outside site EL's subnet"));
    assert_eq!(fixture.tree("out"), before);
    std::fs::remove_file(fixture.path().join(".lugc-cache")).unwrap();
    let full = fixture.run(&["build"]);
    assert_eq!(
        (incremental.status.code(), stderr(&incremental)),
        (full.status.code(), stderr(&full))
    );
}
