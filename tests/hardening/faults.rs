//! `lugc build` killed at many moments, and builds racing each other: out/,
//! as the next lugc command reads it (having finished a build whose journal
//! was committed), is always wholly the old tree or wholly the new one.
//!
//! The fleets here are plain output records (what `lugc.build` returns), not
//! lib/ fleets: they evaluate fast, write a few hundred files so that a kill
//! often lands mid-write, and do not change when lib/ grows.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{stderr, tree, Fixture};

type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// A fleet output record of `hosts` hosts with `files` files of ~8 KiB each,
/// every other content marked with `generation`.
fn raw_fleet(generation: &str, hosts: usize, files: usize) -> String {
    let pad = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\\n".repeat(128);
    let mut text = format!("let pad = \"{pad}\" in\n{{\n  hosts = {{\n");
    for host in 0..hosts {
        let _ = writeln!(
            text,
            "    \"h-{host}\" = {{ site = \"s\", cluster = false, ssh_target = \"root@h-{host}\", files = {{"
        );
        for file in 0..files {
            // Every other file is the same in both generations, so that a
            // build links files as well as writing them.
            let mark = if file % 2 == 0 { generation } else { "shared" };
            let _ = writeln!(
                text,
                "      \"/etc/lugc-fault/f-{file}\" = {{ content = \"{mark} {host} {file}\\n\" ++ pad, mode = \"0644\", owner = \"root:root\" }},"
            );
        }
        text.push_str("    } },\n");
    }
    text.push_str("  },\n  cluster = { files = {} },\n}\n");
    text
}

/// Two sources that differ in every other file and in their host sets (`b` drops
/// hosts and adds others), and the out/ trees they build.
struct TwoFleets {
    fixture: Fixture,
    a: Tree,
    b: Tree,
}

impl TwoFleets {
    fn new() -> Self {
        let fixture = Fixture::new();
        fixture.write("a.ncl", &raw_fleet("generation-a", 24, 6));
        fixture.write("b.ncl", &raw_fleet("generation-b", 27, 5));
        let snapshot = |file: &str, out: &str| {
            let output = fixture.run(&["build", "--file", file, "--out", out]);
            assert!(output.status.success(), "{}", stderr(&output));
            let built = fixture.tree(out);
            fs::remove_dir_all(fixture.path().join(out)).unwrap();
            built
        };
        let a = snapshot("a.ncl", "snapshot-a");
        let b = snapshot("b.ncl", "snapshot-b");
        assert_ne!(a, b);
        assert!(a.len() > 120, "enough files for a kill to land mid-write");
        TwoFleets { fixture, a, b }
    }

    fn spawn(&self, file: &str) -> Child {
        Command::new(env!("CARGO_BIN_EXE_lugc"))
            .args(["build", "--file", file])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .env("HOME", self.fixture.path())
            .current_dir(self.fixture.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lugc")
    }

    /// Which of the two trees out/ holds once a command has read it (which
    /// finishes a killed build's journal); panics on anything else.
    fn which(&self, context: &str) -> char {
        settle(&self.fixture);
        let out = tree(&self.fixture.out());
        if out == self.a {
            'a'
        } else if out == self.b {
            'b'
        } else {
            let a_files = out
                .iter()
                .filter(|(p, c)| self.a.get(*p) == Some(c))
                .count();
            let b_files = out
                .iter()
                .filter(|(p, c)| self.b.get(*p) == Some(c))
                .count();
            panic!(
                "{context}: out/ is neither the old nor the new tree \
                 ({} files, {a_files} as in a, {b_files} as in b)",
                out.len()
            )
        }
    }

    fn leftovers(&self) -> Vec<String> {
        temp_dirs(self.fixture.path())
    }
}

/// Run a command that reads out/ (`build --check`, whatever it finds).
fn settle(fixture: &Fixture) {
    let output = fixture.run(&["build", "--check", "--file", "a.ncl"]);
    assert!(output.status.code().is_some(), "{}", stderr(&output));
}

fn temp_dirs(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".lugc-tmp-"))
        .collect()
}

/// Wait until `dir` holds a `.lugc-tmp-*` directory or the child exits;
/// true when the directory appeared first.
fn wait_for_temp_dir(child: &mut Child, dir: &Path, before: &[String]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if temp_dirs(dir).iter().any(|name| !before.contains(name)) {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    panic!("lugc build neither started writing nor exited");
}

/// How long a build of the other tree runs after its temporary directory
/// appears: the window in which kills are spread. Only chooses delays.
fn time_of_a_write(fleets: &TwoFleets, current: char) -> Duration {
    let next = if current == 'a' { 'b' } else { 'a' };
    let before = fleets.leftovers();
    let mut child = fleets.spawn(&format!("{next}.ncl"));
    assert!(wait_for_temp_dir(
        &mut child,
        fleets.fixture.path(),
        &before
    ));
    let start = Instant::now();
    assert!(child.wait().unwrap().success());
    start.elapsed()
}

#[test]
fn a_killed_build_leaves_the_old_or_the_new_out() {
    let fleets = TwoFleets::new();
    let fixture = &fleets.fixture;
    let output = fixture.run(&["build", "--file", "a.ncl"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut current = fleets.which("after the first build");
    let write_time = time_of_a_write(&fleets, current);
    current = fleets.which("after timing a write");
    let mut killed_mid_write = 0;
    let mut outcomes = Vec::new();
    // Kill at fixed delays (mostly during evaluation), then at fractions of a
    // write's duration after the temporary directory appeared (during the
    // write, around the swap, and just after it).
    let plan: Vec<(bool, Duration)> = [0u64, 60]
        .into_iter()
        .map(|ms| (false, Duration::from_millis(ms)))
        .chain(
            [0u32, 20, 45, 70, 90, 100, 115]
                .into_iter()
                .map(|percent| (true, write_time * percent / 100)),
        )
        .collect();
    for (after_temp_dir, delay) in plan {
        // Always build the other tree, so every kill interrupts a real change.
        let next = if current == 'a' { 'b' } else { 'a' };
        let before = fleets.leftovers();
        let mut child = fleets.spawn(&format!("{next}.ncl"));
        let writing = !after_temp_dir || wait_for_temp_dir(&mut child, fixture.path(), &before);
        std::thread::sleep(delay);
        let exited_already = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let status = child.wait().unwrap();
        if after_temp_dir && writing && !exited_already {
            killed_mid_write += 1;
        }
        let found = fleets.which(&format!(
            "kill after {delay:?} (after temp dir: {after_temp_dir}, status {status})"
        ));
        assert!(found == current || found == next);
        outcomes.push(found);
        current = found;
    }
    assert!(
        killed_mid_write > 0,
        "no kill landed after the temporary directory appeared: {outcomes:?}"
    );
    // The next build removes every leftover of the killed ones and completes.
    let next = if current == 'a' { 'b' } else { 'a' };
    let output = fixture.run(&["build", "--file", &format!("{next}.ncl")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fleets.which("after a clean build"), next);
    assert_eq!(fleets.leftovers(), Vec::<String>::new());
}

#[test]
fn leftovers_of_a_killed_build_are_removed_by_the_next_build() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let before = fixture.tree("out");
    // What a build killed before its swap leaves behind: a half-written temp dir.
    fixture.write(".lugc-tmp-killed/pve-5/etc/chrony/chrony.conf", "half");
    fixture.write(".lugc-tmp-killed/INDEX", "");
    fixture.lugc().arg("build").assert().success();
    assert_eq!(before, fixture.tree("out"));
    assert_eq!(temp_dirs(fixture.path()), Vec::<String>::new());
}

#[test]
fn concurrent_builds_are_serialised_and_both_finish() {
    let fleets = TwoFleets::new();
    for round in 0..3 {
        let mut first = fleets.spawn("a.ncl");
        let mut second = fleets.spawn("b.ncl");
        let first_status = first.wait().unwrap();
        let second_status = second.wait().unwrap();
        let read_stderr = |child: &mut Child| {
            let mut text = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut text).unwrap();
            text
        };
        assert!(
            first_status.success(),
            "round {round}: {}",
            read_stderr(&mut first)
        );
        assert!(
            second_status.success(),
            "round {round}: {}",
            read_stderr(&mut second)
        );
        fleets.which(&format!("round {round}, after two concurrent builds"));
        assert_eq!(fleets.leftovers(), Vec::<String>::new(), "round {round}");
    }
}

/// The inodes of out/, INDEX and every bundle's directory: a build that
/// writes nothing leaves them all.
fn out_inode(fixture: &Fixture) -> Vec<u64> {
    let mut entries: Vec<PathBuf> = (fs::read_dir(fixture.out()).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries.push(fixture.out());
    entries.iter().map(|path| inode_of(path)).collect()
}

/// The inode of an entry of out/ (a bundle written anew is swapped in).
fn inode_of(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&fs::symlink_metadata(path).unwrap())
}

#[test]
fn a_build_with_nothing_changed_leaves_out_alone_unless_out_was_edited() {
    let fixture = Fixture::new();
    let first = fixture.run(&["build"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(fixture.path().join(".lugc-cache").is_file());
    let tree_before = fixture.tree("out");
    let inode = out_inode(&fixture);

    let again = fixture.run(&["build"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(again.stdout, first.stdout, "the same bundle ids");
    assert_eq!(out_inode(&fixture), inode, "out/ was not rewritten");

    // A hand edit in out/ is repaired, not trusted: its bundle is swapped
    // in anew, the others are left alone.
    let bundle_inode = |name: &str| inode_of(&fixture.out().join(name));
    let (pve_5, pve_6) = (bundle_inode("pve-5"), bundle_inode("pve-6"));
    fixture.write("out/pve-5/etc/hostname", "edited\n");
    fixture.lugc().arg("build").assert().success();
    assert_ne!(bundle_inode("pve-5"), pve_5);
    assert_eq!(bundle_inode("pve-6"), pve_6);
    assert_eq!(fixture.tree("out"), tree_before);

    // An input change rebuilds; an output the same as out/ is not written again.
    let inode = out_inode(&fixture);
    let cache = fixture.read(".lugc-cache");
    let lib = fixture.read("lib/lugc.ncl");
    fixture.write("lib/lugc.ncl", &format!("{lib}\n# a comment\n"));
    fixture.lugc().arg("build").assert().success();
    assert_ne!(fixture.read(".lugc-cache"), cache, "lib/ is an input");
    assert_eq!(
        out_inode(&fixture),
        inode,
        "the same out/ was not rewritten"
    );
    assert_eq!(fixture.tree("out"), tree_before);

    // An output that differs is written: the files that changed, while
    // each file out/ holds already is linked into the new tree.
    let file_inode = |path: &str| {
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(fixture.path().join(path)).unwrap())
    };
    let hostname = file_inode("out/pve-5/etc/hostname");
    let chrony = file_inode("out/pve-5/etc/chrony/chrony.conf");
    let pve_5 = bundle_inode("pve-5");
    fixture.edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    fixture.lugc().arg("build").assert().success();
    assert_ne!(bundle_inode("pve-5"), pve_5);
    assert!(fixture
        .read("out/pve-5/etc/chrony/chrony.conf")
        .contains("ntp.example.org"));
    assert_eq!(
        file_inode("out/pve-5/etc/hostname"),
        hostname,
        "not written again"
    );
    assert_ne!(file_inode("out/pve-5/etc/chrony/chrony.conf"), chrony);
    let built = fixture.tree("out");
    fixture.lugc().args(["build", "--check"]).assert().success();
    assert_eq!(fixture.tree("out"), built);
}

#[test]
fn a_hand_edited_file_is_written_anew_not_linked() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let before = fixture.tree("out");
    fixture.write("out/pve-5/etc/hostname", "edited\n");
    fs::set_permissions(
        fixture.path().join("out/pve-5/etc/motd"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    fixture.edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    fixture.lugc().arg("build").assert().success();
    let after = fixture.tree("out");
    let hostname = std::path::Path::new("pve-5/etc/hostname");
    assert_eq!(after[hostname], before[hostname]);
    let motd = fixture.path().join("out/pve-5/etc/motd");
    let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(motd).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644);
    fixture.lugc().args(["build", "--check"]).assert().success();
}

/// A fleet output record: each host with a file that never changes and one
/// marked `mark`, `(host, mark)`.
fn marked_fleet(hosts: &[(&str, &str)]) -> String {
    let mut text = String::from("{\n  hosts = {\n");
    for (host, mark) in hosts {
        let _ = writeln!(
            text,
            "    \"{host}\" = {{ site = \"s\", cluster = false, ssh_target = \"root@{host}\", files = {{\n      \
             \"/etc/lugc-fault/same\" = {{ content = \"same {host}\\n\", mode = \"0644\", owner = \"root:root\" }},\n      \
             \"/etc/lugc-fault/sub/mark\" = {{ content = \"{mark} {host}\\n\", mode = \"0755\", owner = \"root:root\" }},\n    }} }},"
        );
    }
    text.push_str("  },\n  cluster = { files = {} },\n}\n");
    text
}

/// Fleets a and b: h-1 unchanged, h-2 and h-3 changed, h-4 gone, h-5 new;
/// the fixture, and the out/ each builds from nothing.
fn changed_fleets() -> (Fixture, Tree, Tree) {
    let fixture = Fixture::new();
    let a = [
        ("h-1", "one"),
        ("h-2", "one"),
        ("h-3", "one"),
        ("h-4", "one"),
    ];
    let b = [
        ("h-1", "one"),
        ("h-2", "two"),
        ("h-3", "two"),
        ("h-5", "two"),
    ];
    fixture.write("a.ncl", &marked_fleet(&a));
    fixture.write("b.ncl", &marked_fleet(&b));
    let snapshot = |file: &str| {
        let output = fixture.run(&["build", "--file", file, "--out", "snapshot"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let built = fixture.tree("snapshot");
        fs::remove_dir_all(fixture.path().join("snapshot")).unwrap();
        built
    };
    let (a, b) = (snapshot("a.ncl"), snapshot("b.ncl"));
    (fixture, a, b)
}

/// Each moment of a build's swaps (before its journal is committed, between
/// two bundles' swaps, before INDEX, before the journal's removal): the
/// build stopped there as a kill would leaves what the next command reads
/// the old out/ before the journal is committed and the new one after.
#[test]
fn a_build_stopped_at_each_moment_of_its_swaps_leaves_the_old_or_the_new_out() {
    let (fixture, a, b) = changed_fleets();
    let mut moment = 1;
    loop {
        let output = fixture.run(&["build", "--file", "a.ncl"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let stopped = Command::new(env!("CARGO_BIN_EXE_lugc"))
            .args(["build", "--file", "b.ncl"])
            .env("LUGC_TEST_STOP_AT", moment.to_string())
            .current_dir(fixture.path())
            .output()
            .unwrap();
        if stopped.status.success() {
            break;
        }
        assert_eq!(stopped.status.code(), None, "{}", stderr(&stopped));
        let journal = temp_dirs(fixture.path())
            .iter()
            .any(|dir| fixture.path().join(dir).join("JOURNAL").is_file());
        assert!(journal || moment != 2, "committed at moment 2");
        settle(&fixture);
        let expected = if moment > 1 { &b } else { &a };
        assert!(&fixture.tree("out") == expected, "moment {moment}");
        moment += 1;
    }
    assert!(moment > 8, "every swap was a moment: {moment}");
    assert_eq!(fixture.tree("out"), b);
    assert_eq!(temp_dirs(fixture.path()), Vec::<String>::new());
}

/// A build writes only the bundles that changed: an unchanged bundle keeps
/// its directory and files (the same inodes), a changed one keeps its
/// unchanged files; a vanished bundle is removed and a new one added.
#[test]
fn an_unchanged_bundle_is_not_written_again() {
    let (fixture, _, b) = changed_fleets();
    let output = fixture.run(&["build", "--file", "a.ncl"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = fixture.out();
    let inodes = |paths: &[&str]| -> Vec<u64> {
        paths.iter().map(|path| inode_of(&out.join(path))).collect()
    };
    let kept = [
        "h-1",
        "h-1/MANIFEST",
        "h-1/etc/lugc-fault",
        "h-1/etc/lugc-fault/sub/mark",
        "h-2/etc/lugc-fault/same",
    ];
    let before = inodes(&kept);
    let changed = inodes(&["h-2", "h-2/etc/lugc-fault/sub/mark"]);
    let output = fixture.run(&["build", "--file", "b.ncl"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(inodes(&kept), before);
    let now = inodes(&["h-2", "h-2/etc/lugc-fault/sub/mark"]);
    assert!(now.iter().zip(&changed).all(|(now, was)| now != was));
    assert_eq!(fixture.tree("out"), b);
    let output = fixture.run(&["build", "--check", "--file", "b.ncl"]);
    assert!(output.status.success(), "{}", stderr(&output));
}
