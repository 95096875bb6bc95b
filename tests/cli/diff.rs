//! `lugc diff`: real git repositories in temporary directories, made with the
//! `git` command under a hermetic environment (fixed identity and dates, no
//! user or system git config). Expectations are derived from the built out/
//! so that a growing fleet does not break them; only pve-5, pve-6 and the
//! chrony line `server time.ustc.edu.cn iburst` are assumed.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Output;

use lugc::manifest::Manifest;

use crate::common::{git, stderr, stdout, Fixture};

const OLD_NTP: &str = "server time.ustc.edu.cn iburst";
const NEW_NTP: &str = "server ntp.example.org iburst";

/// A fixture whose directory is a git repository with the fleet and its out/ committed.
struct Repo {
    fixture: Fixture,
}

impl Repo {
    /// The committed fleet, built, in a fresh repository with one commit.
    fn new() -> Repo {
        let repo = Repo::without_commit();
        repo.build();
        repo.commit("fleet");
        repo
    }

    /// The committed fleet in a fresh repository with nothing committed yet.
    fn without_commit() -> Repo {
        let repo = Repo {
            fixture: Fixture::new(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.fixture.path()
    }

    fn git(&self, args: &[&str]) {
        git(self.path(), args);
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    fn build(&self) {
        let output = self.fixture.run(&["build"]);
        assert!(output.status.success(), "{}", stderr(&output));
    }

    fn run(&self, args: &[&str]) -> Output {
        self.fixture.run(args)
    }

    /// Changed files of out/ between two snapshots, as `<bundle>/<path>`, MANIFESTs and INDEX aside.
    fn changed_since(
        &self,
        before: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    ) -> BTreeSet<String> {
        let after = self.fixture.tree("out");
        before
            .keys()
            .chain(after.keys())
            .filter(|path| before.get(*path) != after.get(*path))
            .map(|path| path.to_string_lossy().into_owned())
            .filter(|path| path != "INDEX" && !path.ends_with("/MANIFEST"))
            .collect()
    }
}

/// HEAD~1: the committed fleet; HEAD (and the working tree): the NTP server
/// changed. Returns the out/ files that changed, as `<bundle>/<path>`.
fn ntp_change() -> (Repo, BTreeSet<String>) {
    let repo = Repo::new();
    let before = repo.fixture.tree("out");
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    repo.build();
    repo.commit("ntp: ntp.example.org");
    let changed = repo.changed_since(&before);
    assert!(
        changed.contains("pve-5/etc/chrony/chrony.conf"),
        "{changed:?}"
    );
    assert!(
        changed.contains("pve-6/etc/chrony/chrony.conf"),
        "{changed:?}"
    );
    (repo, changed)
}

fn bundles_of(files: &BTreeSet<String>) -> BTreeSet<String> {
    files
        .iter()
        .map(|file| file.split('/').next().unwrap().to_owned())
        .collect()
}

fn lines(output: &Output) -> BTreeSet<String> {
    stdout(output).lines().map(str::to_owned).collect()
}

/// Rewrite one file of out/ by hand with its MANIFEST line and the INDEX kept
/// consistent, as a build that produced these bytes would have.
fn rewrite_out_file(repo: &Repo, bundle: &str, path: &str, bytes: &[u8], mode: Option<u32>) {
    let out = repo.fixture.out();
    fs::write(out.join(bundle).join(path.trim_start_matches('/')), bytes).unwrap();
    let manifest_path = out.join(bundle).join("MANIFEST");
    let mut manifest = Manifest::parse(&fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let entry = manifest
        .entries
        .iter_mut()
        .find(|entry| entry.path == path)
        .unwrap_or_else(|| panic!("{bundle} has no {path}"));
    entry.blake3 = blake3::hash(bytes).to_hex().to_string();
    if let Some(mode) = mode {
        entry.mode = mode;
    }
    fs::write(&manifest_path, manifest.render()).unwrap();
    let index = fs::read_to_string(out.join("INDEX")).unwrap();
    let index: String = index
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((_, name)) if name == bundle => format!("{} {name}\n", manifest.id()),
            _ => format!("{line}\n"),
        })
        .collect();
    fs::write(out.join("INDEX"), index).unwrap();
}

#[test]
fn a_changed_ntp_server_names_exactly_the_hosts_and_files_that_changed() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    for bundle in bundles_of(&changed) {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("{bundle}: bundle "))),
            "{bundle} missing:\n{text}"
        );
    }
    let headed: BTreeSet<&str> = text
        .lines()
        .filter_map(|line| line.split_once(": bundle ").map(|(name, _)| name))
        .collect();
    assert_eq!(
        headed,
        bundles_of(&changed).iter().map(String::as_str).collect(),
        "{text}"
    );
    assert!(
        text.contains("--- a/pve-5/etc/chrony/chrony.conf\n+++ b/pve-5/etc/chrony/chrony.conf\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n-{OLD_NTP}\n+{NEW_NTP}\n")),
        "{text}"
    );
    assert!(
        text.contains("\n  pve-5: systemctl restart chrony.service\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("pve-6: systemctl restart chrony.service")
            .count(),
        1,
        "each action once: {text}"
    );

    let names = repo.run(&["diff", "HEAD~1", "--name-only"]);
    assert_eq!(names.status.code(), Some(1));
    assert_eq!(lines(&names), changed);
}

#[test]
fn a_commit_that_does_not_change_out_prints_nothing() {
    let repo = Repo::new();
    let source = repo.fixture.read("cluster.ncl");
    repo.fixture.write(
        "cluster.ncl",
        &format!("{source}\n# a comment changes no bundle\n"),
    );
    repo.build();
    repo.commit("a comment");
    for args in [
        &["diff", "HEAD~1"][..],
        &["diff", "HEAD~1", "HEAD"],
        &["diff"],
        &["diff", "HEAD~1", "--stat"],
        &["diff", "HEAD~1", "--name-only"],
    ] {
        let output = repo.run(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stdout(&output), "", "{args:?}");
        assert_eq!(stderr(&output), "", "{args:?}");
    }
}

#[test]
fn stat_counts_lines_per_host_and_file() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1", "--stat"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let row = |bundle: &str, path: &str| {
        text.lines()
            .find(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.first() == Some(&bundle) && fields.get(1) == Some(&path)
            })
            .unwrap_or_else(|| panic!("no row for {bundle} {path}:\n{text}"))
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("pve-5", "/etc/chrony/chrony.conf"), ["+1", "-1"]);
    assert_eq!(row("pve-6", "/etc/chrony/chrony.conf"), ["+1", "-1"]);
    let summary = text.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!(
            "{} bundles, {} files changed",
            bundles_of(&changed).len(),
            changed.len()
        )),
        "{text}"
    );
    assert!(!text.contains(OLD_NTP), "--stat shows no diff: {text}");
}

#[test]
fn json_follows_the_documented_schema() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_eq!(json["schema"], "lugc-diff 1");
    assert_eq!(json["old"], "HEAD~1");
    assert_eq!(json["new"], "working tree");
    assert_eq!(json["changed"], true);
    let bundles = json["bundles"].as_array().unwrap();
    let mut files = BTreeSet::new();
    let index = repo.fixture.read("out/INDEX");
    for bundle in bundles {
        let name = bundle["name"].as_str().unwrap();
        assert_eq!(bundle["status"], "modified");
        let new_id = bundle["new_id"].as_str().unwrap();
        assert!(index.contains(&format!("{new_id} {name}\n")), "{name}");
        assert_ne!(bundle["old_id"], bundle["new_id"]);
        for file in bundle["files"].as_array().unwrap() {
            files.insert(format!("{name}{}", file["path"].as_str().unwrap()));
        }
    }
    assert_eq!(files, changed);
    let pve5 = bundles.iter().find(|b| b["name"] == "pve-5").unwrap();
    assert_eq!(pve5["reaches"], serde_json::json!(["pve-5"]));
    assert_eq!(
        pve5["actions"],
        serde_json::json!(["systemctl restart chrony.service"])
    );
    let chrony = pve5["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == "/etc/chrony/chrony.conf")
        .unwrap();
    assert_eq!(chrony["status"], "modified");
    assert_eq!(chrony["content"], "text");
    assert_eq!(chrony["lines_added"], 1);
    assert_eq!(chrony["lines_removed"], 1);
    assert_eq!(chrony["old"]["mode"], "0644");
    assert_eq!(chrony["new"]["action"], "systemctl restart chrony.service");
    let diff = chrony["diff"].as_str().unwrap();
    assert!(diff.starts_with("@@ "), "{diff}");
    assert!(
        diff.contains(&format!("\n-{OLD_NTP}\n+{NEW_NTP}\n")),
        "{diff}"
    );

    let clean = repo.run(&["diff", "HEAD", "--json"]);
    assert_eq!(clean.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert_eq!(json["changed"], false);
    assert_eq!(json["bundles"], serde_json::json!([]));
}

#[test]
fn host_filter_keeps_that_host_and_the_cluster_bundle_that_reaches_it() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1", "--name-only", "--host", "pve-6"]);
    assert_eq!(output.status.code(), Some(1));
    let expected: BTreeSet<String> = changed
        .iter()
        .filter(|file| file.starts_with("pve-6/"))
        .cloned()
        .collect();
    assert_eq!(lines(&output), expected);

    // A cluster bundle change reaches every member.
    let cluster = Manifest::parse(&repo.fixture.read("out/cluster/MANIFEST")).unwrap();
    let fw = "/etc/pve/nodes/pve-6/host.fw";
    assert!(cluster.entries.iter().any(|entry| entry.path == fw));
    let edited = format!(
        "{}# edited\n",
        repo.fixture.read(&format!("out/cluster{fw}"))
    );
    rewrite_out_file(&repo, "cluster", fw, edited.as_bytes(), None);
    let member = &cluster.reaches[0];
    let output = repo.run(&["diff", "HEAD", "--host", member]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("cluster: bundle "), "{text}");
    assert!(
        text.contains(&format!("\nreaches {}\n", cluster.reaches.join(" "))),
        "{text}"
    );
    assert!(text.contains("\n+# edited\n"), "{text}");
    assert!(text.contains(&format!("\n--- a/cluster{fw}\n")), "{text}");

    let unknown = repo.run(&["diff", "HEAD", "--host", "pve-66"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("no host or bundle `pve-66`"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn markdown_has_a_collapsible_section_per_host() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let bundles = bundles_of(&changed);
    assert!(
        text.starts_with(&format!(
            "### `lugc diff` HEAD~1 → working tree: {} bundles changed\n",
            bundles.len()
        )),
        "{text}"
    );
    assert_eq!(text.matches("<details>").count(), bundles.len(), "{text}");
    assert_eq!(text.matches("</details>").count(), bundles.len(), "{text}");
    for bundle in &bundles {
        assert!(
            text.contains(&format!("<summary><b>{bundle}</b>: ")),
            "{bundle}: {text}"
        );
    }
    assert!(
        text.contains("- modified `/etc/chrony/chrony.conf`\n"),
        "{text}"
    );
    assert!(
        text.contains("```diff\n--- a/pve-5/etc/chrony/chrony.conf\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n-{OLD_NTP}\n+{NEW_NTP}\n")),
        "{text}"
    );
    assert!(
        text.contains("- `pve-5: systemctl restart chrony.service`\n"),
        "{text}"
    );

    let clean = repo.run(&["diff", "HEAD", "--format", "markdown"]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(
        stdout(&clean),
        "### `lugc diff` HEAD → working tree: no change to out/\n"
    );
}

#[test]
fn rebuild_compares_the_edited_source_before_it_is_built() {
    let repo = Repo::new();
    let before = repo.fixture.tree("out");
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    let plain = repo.run(&["diff", "HEAD"]);
    assert_eq!(plain.status.code(), Some(0), "out/ itself did not change");
    let output = repo.run(&["diff", "HEAD", "--rebuild"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains(&format!("\n-{OLD_NTP}\n+{NEW_NTP}\n")),
        "{text}"
    );
    assert_eq!(repo.fixture.tree("out"), before, "--rebuild writes nothing");

    let names = repo.run(&["diff", "HEAD", "--rebuild", "--name-only"]);
    repo.build();
    assert_eq!(lines(&names), repo.changed_since(&before));
}

#[test]
fn two_revisions_compare_with_each_other_not_with_the_working_tree() {
    let (repo, changed) = ntp_change();
    let forward = repo.run(&["diff", "HEAD~1", "HEAD", "--name-only"]);
    assert_eq!(forward.status.code(), Some(1));
    assert_eq!(lines(&forward), changed);

    let backward = repo.run(&["diff", "HEAD", "HEAD~1"]);
    assert_eq!(backward.status.code(), Some(1));
    assert!(
        stdout(&backward).contains(&format!("\n-{NEW_NTP}\n+{OLD_NTP}\n")),
        "{}",
        stdout(&backward)
    );

    // The working tree's out/ plays no part: wipe it.
    fs::remove_dir_all(repo.fixture.out()).unwrap();
    let output = repo.run(&["diff", "HEAD~1", "HEAD", "--name-only"]);
    assert_eq!(lines(&output), changed);
    let main = repo.run(&["diff", "main~1", "main", "--name-only"]);
    assert_eq!(lines(&main), changed);
}

#[test]
fn mode_and_binary_changes_are_reported_not_dumped() {
    let repo = Repo::new();
    let path = "/etc/chrony/chrony.conf";
    rewrite_out_file(&repo, "pve-5", path, b"\x00\xff binary\n", Some(0o600));
    let output = repo.run(&["diff", "HEAD"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("\nmodified /etc/chrony/chrony.conf\n"),
        "{text}"
    );
    assert!(text.contains("\n  mode 0644 → 0600\n"), "{text}");
    assert!(text.contains("binary file, not shown"), "{text}");
    assert!(!text.contains("--- a/"), "{text}");
    let stat = repo.run(&["diff", "HEAD", "--stat"]);
    assert!(stdout(&stat).contains("binary"), "{}", stdout(&stat));
}

#[test]
fn a_bad_revision_names_the_revision_and_the_repository() {
    let repo = Repo::new();
    let output = repo.run(&["diff", "no-such-rev"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    let root = fs::canonicalize(repo.path()).unwrap();
    assert!(
        text.contains(&format!(
            "unknown revision `no-such-rev` in the repository at {}",
            root.display()
        )),
        "{text}"
    );
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_directory_that_is_not_a_git_repository_is_an_error() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let output = fixture.run(&["diff", "HEAD"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not inside a git repository"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_revision_without_out_is_an_error() {
    let repo = Repo::without_commit();
    repo.commit("the fleet, not yet built");
    repo.build();
    repo.commit("out/");
    let output = repo.run(&["diff", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("revision `HEAD~1` has no out/"),
        "{}",
        stderr(&output)
    );
    let fine = repo.run(&["diff", "HEAD"]);
    assert_eq!(fine.status.code(), Some(0), "{}", stderr(&fine));
}

#[test]
fn a_missing_working_tree_out_is_an_error() {
    let repo = Repo::new();
    fs::remove_dir_all(repo.fixture.out()).unwrap();
    let output = repo.run(&["diff", "HEAD"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
}
