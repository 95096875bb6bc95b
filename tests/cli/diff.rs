//! `lugc diff`: real git repositories in temporary directories, made with the
//! `git` command under a hermetic environment (fixed identity and dates, no
//! user or system git config). Each view is checked whole against its
//! snapshot in snapshots/ (see common::snapshot), so a change of wording,
//! layout or of the fleet's own files shows in review; facts that do not
//! depend on layout (the files named, ids in out/INDEX) are checked against
//! the built out/.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Output;

use lugc::manifest::Manifest;

use crate::common::snapshot::assert_output;
use crate::common::{git, stderr, stdout, Fixture};

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
        repo.fixture
            .write(".gitignore", "/.lugc-cache\n/.lugc-cache-*\n/.lugc-tmp-*\n");
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

/// Append `# <bundle> only, change <n>` and `padding` more lines to `path`
/// in each bundle (changes that differ beyond the host's name), as if a
/// build had made them, and commit.
fn commit_appended(repo: &Repo, bundles: &[&str], path: &str, padding: usize) {
    for (n, bundle) in bundles.iter().enumerate() {
        let edited = format!(
            "{}# {bundle} only, change {n}\n{}",
            repo.fixture.read(&format!("out/{bundle}{path}")),
            "# padding\n".repeat(padding)
        );
        rewrite_out_file(repo, bundle, path, edited.as_bytes(), None);
    }
    repo.commit(&format!("{path} on {}", bundles.join(", ")));
}

/// pve-7 renamed to pve-12 in cluster.ncl, not built.
fn rename_pve_7_to_12(repo: &Repo) {
    repo.fixture
        .edit("cluster.ncl", "    pve-7 = {", "    pve-12 = {");
    repo.fixture.edit(
        "cluster.ncl",
        "\"esxi-5\", \"pve-7\"]",
        "\"esxi-5\", \"pve-12\"]",
    );
}

/// The similarity the summary of `text` gives the rename of pve-7 to pve-12.
fn renamed_pve_7(text: &str) -> u8 {
    text.split("  renamed: pve-7 → pve-12 (")
        .nth(1)
        .and_then(|rest| rest.split_once("% similar)\n"))
        .map(|(percent, _)| percent.parse::<u8>().unwrap())
        .unwrap_or_else(|| panic!("{text}"))
}

#[test]
fn the_ntp_change_is_one_group_on_every_host_it_touches() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!(stdout(&output));

    let names = repo.run(&["diff", "HEAD~1", "--name-only"]);
    assert_eq!(names.status.code(), Some(1));
    assert_eq!(lines(&names), changed);
    assert_output!("name-only", stdout(&names));
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
fn stat_has_one_line_per_group_and_per_change_of_a_single_host() {
    let (repo, _) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1", "--stat"]);
    assert_eq!(output.status.code(), Some(1));
    assert_output!(stdout(&output));

    // A change of one host's own is a row of its own.
    commit_appended(&repo, &["pve-6"], "/etc/hosts", 0);
    let output = repo.run(&["diff", "HEAD~2", "HEAD", "--stat"]);
    assert_eq!(output.status.code(), Some(1));
    assert_output!("own-change", stdout(&output));
}

#[test]
fn json_follows_the_documented_schema() {
    let (repo, changed) = ntp_change();
    let output = repo.run(&["diff", "HEAD~1", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    assert_output!(stdout(&output));
    // Ids and files agree with out/.
    let index = repo.fixture.read("out/INDEX");
    let mut files = BTreeSet::new();
    for bundle in json["bundles"].as_array().unwrap() {
        let name = bundle["name"].as_str().unwrap();
        let new_id = bundle["new_id"].as_str().unwrap();
        assert!(index.contains(&format!("{new_id} {name}\n")), "{name}");
        assert_ne!(bundle["old_id"], bundle["new_id"]);
        for file in bundle["files"].as_array().unwrap() {
            files.insert(format!("{name}{}", file["path"].as_str().unwrap()));
        }
    }
    assert_eq!(files, changed);

    let clean = repo.run(&["diff", "HEAD", "--json"]);
    assert_eq!(clean.status.code(), Some(0));
    assert_output!("clean", stdout(&clean));
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
    repo.commit("cluster: an edited host.fw");
    let member = &cluster.reaches[0];
    let output = repo.run(&["diff", "HEAD~1", "HEAD", "--host", member]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!("cluster", stdout(&output));

    let unknown = repo.run(&["diff", "HEAD~1", "HEAD", "--host", "pve-66"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert_output!("unknown", stderr(&unknown));
}

#[test]
fn markdown_shows_the_group_once_and_a_section_per_host_with_changes_of_its_own() {
    let (repo, _) = ntp_change();
    commit_appended(&repo, &["pve-6"], "/etc/hosts", 0);
    let output = repo.run(&["diff", "HEAD~2", "HEAD", "--format", "markdown"]);
    assert_eq!(output.status.code(), Some(1));
    assert_output!(stdout(&output));

    let clean = repo.run(&["diff", "HEAD", "HEAD", "--format", "markdown"]);
    assert_eq!(clean.status.code(), Some(0));
    assert_eq!(
        stdout(&clean),
        "### `lugc diff` HEAD → HEAD: no change to out/\n"
    );
}

#[test]
fn markdown_over_its_budget_keeps_the_summary_and_groups_and_says_where_the_rest_is() {
    let (repo, _) = ntp_change();
    commit_appended(&repo, &["pve-5", "pve-6", "pve-7"], "/etc/hosts", 40);
    let full = stdout(&repo.run(&["diff", "HEAD~2", "HEAD", "--format", "markdown"]));
    assert_eq!(full.matches("<details>").count(), 3, "{full}");
    let budget = full.len() - 500;
    let url = "https://ci.example.org/job/7/artifacts/diff.txt";
    let output = repo.run(&[
        "diff",
        "HEAD~2",
        "HEAD",
        "--format",
        "markdown",
        "--max-bytes",
        &budget.to_string(),
        "--details-url",
        url,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let cut = stdout(&output);
    assert!(cut.len() <= budget, "{} > {budget}", cut.len());
    let head_end = full.find("**modified `/etc/chrony").unwrap();
    assert!(cut.starts_with(&full[..head_end]), "summary kept: {cut}");
    assert_output!(cut);
}

#[test]
fn rebuild_compares_the_edited_source_before_it_is_built() {
    let repo = Repo::new();
    let before = repo.fixture.tree("out");
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    let plain = repo.run(&["diff", "HEAD"]);
    assert_eq!(plain.status.code(), Some(2), "out/ is stale");
    let output = repo.run(&["diff", "HEAD", "--rebuild"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!(stdout(&output));
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
    assert_output!("backward", stdout(&backward));

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
    repo.commit("binary");
    let output = repo.run(&["diff", "HEAD~1", "HEAD"]);
    assert_eq!(output.status.code(), Some(1));
    assert_output!(stdout(&output));
    let stat = repo.run(&["diff", "HEAD~1", "HEAD", "--stat"]);
    assert_eq!(stat.status.code(), Some(1));
    assert_output!("stat", stdout(&stat));
}

#[test]
fn a_bad_revision_names_the_revision_and_the_repository() {
    let repo = Repo::new();
    let output = repo.run(&["diff", "no-such-rev"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!(stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_directory_that_is_not_a_git_repository_is_an_error() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let output = fixture.run(&["diff", "HEAD"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!(stderr(&output));
}

#[test]
fn a_revision_without_out_is_an_error() {
    let repo = Repo::without_commit();
    repo.commit("the fleet, not yet built");
    repo.build();
    repo.commit("out/");
    let output = repo.run(&["diff", "HEAD~1"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!(stderr(&output));
    let fine = repo.run(&["diff", "HEAD"]);
    assert_eq!(fine.status.code(), Some(0), "{}", stderr(&fine));
}

#[test]
fn a_missing_working_tree_out_is_an_error() {
    let repo = Repo::new();
    fs::remove_dir_all(repo.fixture.out()).unwrap();
    let output = repo.run(&["diff", "HEAD"]);
    assert_eq!(output.status.code(), Some(2));
    assert_output!(stderr(&output));
}

#[test]
fn a_renamed_host_is_shown_as_a_rename_with_its_differences() {
    let repo = Repo::new();
    rename_pve_7_to_12(&repo);
    repo.build();
    let output = repo.run(&["diff"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(renamed_pve_7(&text) >= 50, "{text}");
    assert_output!(text);

    let json = repo.run(&["diff", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    assert_output!("json", stdout(&json));

    let plain = repo.run(&["diff", "--no-renames"]);
    assert_eq!(plain.status.code(), Some(1));
    assert_output!("no-renames", stdout(&plain));
}

#[test]
fn a_vm_moving_node_is_a_rename_that_says_what_lugc_does_not_do() {
    let repo = Repo::new();
    repo.fixture.edit(
        "cluster.ncl",
        "host = \"pve-5\", # assumed: the ZFS host",
        "host = \"pve-6\",",
    );
    repo.fixture.edit(
        "cluster.ncl",
        "vm_storage = [\"local-lvm\"], # assumed: the installer's LVM on the SAS disks",
        "vm_storage = [\"local-lvm\", \"local-zfs\"],",
    );
    repo.build();
    repo.commit("VM 230 on pve-6");
    let output = repo.run(&["diff", "HEAD~1", "HEAD"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!(stdout(&output));
    let stat = repo.run(&["diff", "HEAD~1", "HEAD", "--stat"]);
    assert_eq!(stat.status.code(), Some(1));
    assert_output!("stat", stdout(&stat));

    // A move is one change, counted once where the file arrived, not as
    // lines removed on the node it left.
    let output = repo.run(&["diff", "HEAD~1", "HEAD", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let files: Vec<&serde_json::Value> = json["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|bundle| bundle["files"].as_array().unwrap())
        .collect();
    let left: Vec<&&serde_json::Value> =
        files.iter().filter(|f| !f["moved_to"].is_null()).collect();
    assert!(!left.is_empty(), "{json:#}");
    for file in &left {
        assert_eq!(file["content"], "same", "{file:#}");
    }
    let count = |key: &str| -> u64 { files.iter().filter_map(|file| file[key].as_u64()).sum() };
    let summary = &json["summary"];
    assert_eq!(summary["files"], files.len() - left.len(), "{summary:#}");
    assert_eq!(
        summary["lines_removed"],
        count("lines_removed"),
        "{summary:#}"
    );
    assert_eq!(summary["lines_added"], count("lines_added"), "{summary:#}");
    let removed = summary["lines_removed"].as_u64().unwrap();
    assert!(
        removed <= 2 * summary["lines_added"].as_u64().unwrap() + 2,
        "{summary:#}"
    );
}

/// `lugc diff` with the record of the last build and without it (as in a fresh clone).
fn diff_with_and_without_cache(repo: &Repo) -> [(&'static str, Output); 2] {
    let with = repo.run(&["diff"]);
    fs::remove_file(repo.path().join(".lugc-cache")).unwrap();
    [("with-cache", with), ("without-cache", repo.run(&["diff"]))]
}

#[test]
fn a_stale_out_is_refused_unless_rebuilt() {
    let repo = Repo::new();
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    for (how, output) in diff_with_and_without_cache(&repo) {
        assert_eq!(output.status.code(), Some(2), "{how}");
        assert_eq!(stdout(&output), "", "{how}");
        assert_output!(how, stderr(&output));
    }
    let rebuilt = repo.run(&["diff", "--rebuild"]);
    assert_eq!(rebuilt.status.code(), Some(1), "{}", stderr(&rebuilt));
    repo.build();
    assert_eq!(repo.run(&["diff"]).status.code(), Some(1));
}

#[test]
fn a_hand_edited_out_is_reported() {
    let repo = Repo::new();
    let hosts = "out/pve-9/etc/hosts";
    let original = repo.fixture.read(hosts);
    repo.fixture
        .write(hosts, &format!("{original}10.0.0.9 by-hand\n"));
    for (how, output) in diff_with_and_without_cache(&repo) {
        assert_eq!(output.status.code(), Some(2), "{how}: {}", stdout(&output));
        assert_output!(how, stderr(&output));
    }

    // Committed, it is reported between two revisions, and the diff goes on.
    repo.commit("a hand edit");
    let output = repo.run(&["diff", "HEAD~1", "HEAD"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!("committed", stdout(&output));
    let json = repo.run(&["diff", "HEAD~1", "HEAD", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["hand_edits"][0]["location"], "pve-9/etc/hosts");
    assert_eq!(json["changed"], true);
}

#[test]
fn three_dots_compare_a_branch_with_where_it_left_main() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "motd"]);
    repo.fixture.edit(
        "cluster.ncl",
        "hardware = \"Oracle x86 server, 128 GB\"",
        "hardware = \"Oracle x86 server, 256 GB\"",
    );
    repo.build();
    repo.commit("pve-7: 256 GB");
    repo.git(&["checkout", "-q", "main"]);
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    repo.build();
    repo.commit("ntp: ntp.example.org");
    repo.git(&["checkout", "-q", "motd"]);

    let branch = repo.run(&["diff", "main...motd", "--name-only"]);
    assert_eq!(branch.status.code(), Some(1), "{}", stderr(&branch));
    assert_eq!(
        lines(&branch),
        BTreeSet::from(["pve-7/etc/motd".to_owned()])
    );
    let implicit = repo.run(&["diff", "main...", "--name-only"]);
    assert_eq!(lines(&implicit), lines(&branch), "B defaults to HEAD");

    // Two dots (or two revisions) also undo main's own commit on the stale branch.
    let both = repo.run(&["diff", "main..motd", "--name-only"]);
    assert!(lines(&both).len() > 1, "{}", stdout(&both));
    assert!(lines(&both).contains("pve-5/etc/chrony/chrony.conf"));

    let text = repo.run(&["diff", "main...motd"]);
    assert_eq!(text.status.code(), Some(1));
    assert_output!(stdout(&text));
    let extra = repo.run(&["diff", "main...motd", "HEAD"]);
    assert_eq!(extra.status.code(), Some(2));
}

#[test]
fn hunks_name_their_storage_section_stanza_and_vm_key_in_every_format() {
    let repo = Repo::new();
    repo.fixture
        .edit("cluster.ncl", "sparse = true,", "sparse = false,");
    repo.fixture
        .edit("cluster.ncl", "cores = 4, # assumed", "cores = 6,");
    repo.fixture.edit(
        "cluster.ncl",
        "gateway_intranet_address = \"10.254.0.1\", # assumed",
        "gateway_intranet_address = \"10.254.0.3\",",
    );
    repo.build();
    repo.commit("sparse off, 6 cores, another intranet gateway");
    let headers = |args: &[&str]| -> Vec<String> {
        let output = repo.run(&[&["diff", "HEAD~1", "HEAD"], args].concat());
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let text = stdout(&output);
        let text = if args == ["--json"] {
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let diffs = json["groups"]
                .as_array()
                .unwrap()
                .iter()
                .chain(
                    json["bundles"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|bundle| bundle["files"].as_array().unwrap()),
                )
                .filter_map(|file| file["diff"].as_str().map(str::to_owned));
            diffs.collect::<Vec<String>>().join("")
        } else {
            text
        };
        text.lines()
            .filter(|line| line.starts_with("@@ "))
            .map(str::to_owned)
            .collect()
    };
    for (format, args) in [
        ("text", &[][..]),
        ("markdown", &["--format", "markdown"]),
        ("json", &["--json"]),
    ] {
        assert_output!(format, headers(args).join("\n"));
    }
}

#[test]
fn a_committed_hand_edit_is_flagged_in_every_range_even_where_its_bundle_changed() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "edits"]);
    // HEAD~1: a hand edit in pve-9 and the NTP server built, in one commit.
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    repo.build();
    let hosts = "out/pve-9/etc/hosts";
    let original = repo.fixture.read(hosts);
    repo.fixture
        .write(hosts, &format!("{original}10.0.0.9 by-hand\n"));
    repo.commit("ntp: ntp.example.org, and a hand edit");
    // HEAD: pve-9 changes again, for another reason.
    repo.fixture
        .edit("cluster.ncl", "\"ntp.example.org\"", "\"ntp2.example.org\"");
    repo.build();
    repo.fixture
        .write(hosts, &format!("{original}10.0.0.9 by-hand\n"));
    repo.commit("ntp: ntp2.example.org");
    let flagged = "pve-9/etc/hosts";
    for range in [
        &["HEAD~1", "HEAD~2"][..],
        &["HEAD~2", "HEAD~1"],
        &["HEAD~2", "HEAD"],
        &["main...HEAD"],
        &["main...edits"],
    ] {
        let output = repo.run(&[&["diff"], range, &["--json"]].concat());
        assert_eq!(
            output.status.code(),
            Some(1),
            "{range:?}: {}",
            stderr(&output)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let modified = &json["summary"]["modified"];
        assert!(
            modified
                .as_array()
                .unwrap()
                .iter()
                .any(|name| name == "pve-9"),
            "{range:?}: pve-9 changed for the NTP server too: {modified}"
        );
        let edits: Vec<&str> = json["hand_edits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edit| edit["location"].as_str().unwrap())
            .collect();
        assert_eq!(edits, [flagged], "{range:?}");
    }
}

#[test]
fn a_renamed_host_stays_a_rename_beside_a_fleet_wide_change() {
    let repo = Repo::new();
    repo.git(&["checkout", "-q", "-b", "rename"]);
    rename_pve_7_to_12(&repo);
    repo.fixture
        .edit("cluster.ncl", "\"time.ustc.edu.cn\"", "\"ntp.example.org\"");
    repo.fixture.edit(
        "cluster.ncl",
        "mirror = \"mirrors.ustc.edu.cn\",",
        "mirror = \"mirror.example.org\",",
    );
    repo.build();
    repo.commit("pve-7 is pve-12; another NTP server and mirror");
    let output = repo.run(&["diff", "main...HEAD"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        renamed_pve_7(&text) >= 80,
        "all but chrony.conf and the apt lists: {text}"
    );
    // The apt list naming each host is one change, not one block per host.
    assert_output!(text);
    let list = "/etc/apt/sources.list.d/pve-enterprise.list";
    let json = repo.run(&["diff", "main...HEAD", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let groups = json["groups"].as_array().unwrap();
    let group = groups.iter().find(|group| group["path"] == list).unwrap();
    assert_eq!(group["host_named"], true, "{group:#}");
    assert_eq!(json["summary"]["renamed"][0]["old"], "pve-7");
}

#[test]
fn a_check_that_finds_out_current_records_it_as_a_build_would() {
    let repo = Repo::new();
    // A source that is not committed, and builds the same out/.
    repo.fixture.write("notes.ncl", "{ reviewed = true }\n");
    repo.build();
    let cache = repo.path().join(".lugc-cache");
    let recorded = fs::read(&cache).unwrap();
    for check in [
        &["build", "--check"][..],
        &["diff"],
        &["show", "pve-5", "/etc/hostname"],
    ] {
        fs::remove_file(&cache).unwrap();
        let output = repo.run(check);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{check:?}: {}",
            stderr(&output)
        );
        assert_eq!(fs::read(&cache).ok(), Some(recorded.clone()), "{check:?}");
    }
    // out/ edited by hand is not current: nothing is recorded.
    fs::remove_file(&cache).unwrap();
    let hosts = "out/pve-9/etc/hosts";
    repo.fixture.write(
        hosts,
        &format!("{}10.0.0.9 by-hand\n", repo.fixture.read(hosts)),
    );
    assert_eq!(repo.run(&["diff"]).status.code(), Some(2));
    assert_eq!(repo.run(&["build", "--check"]).status.code(), Some(1));
    assert!(!cache.exists());
}

#[test]
fn a_fresh_clone_is_checked_against_head_without_a_build() {
    let repo = Repo::new();
    let clone = tempfile::tempdir().unwrap();
    let path = clone.path().join("fleet");
    git(repo.path(), &["clone", "-q", ".", path.to_str().unwrap()]);
    let run = |args: &[&str]| crate::common::lugc_in(&path).args(args).output().unwrap();
    let cache = path.join(".lugc-cache");
    // A build in memory that finds out/ current records it: none is made.
    for check in [&["diff", "main"][..], &["show", "pve-5", "/etc/hostname"]] {
        let output = run(check);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{check:?}: {}",
            stderr(&output)
        );
        assert!(!cache.exists(), "{check:?} built the fleet in memory");
    }

    // Every file of out/ is still read against its MANIFEST line.
    let hosts = path.join("out/pve-9/etc/hosts");
    let original = fs::read_to_string(&hosts).unwrap();
    fs::write(&hosts, format!("{original}10.0.0.9 by-hand\n")).unwrap();
    git(&path, &["commit", "-q", "-am", "a hand edit"]);
    let output = run(&["diff", "main"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert_output!(stderr(&output));
    assert!(!cache.exists());

    // A source git does not hold: built in memory, compared, recorded.
    git(&path, &["reset", "-q", "--hard", "HEAD~1"]);
    fs::write(path.join("notes.ncl"), "{ reviewed = true }\n").unwrap();
    let output = run(&["diff", "main"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(cache.exists(), "notes.ncl could change the build");
}

#[test]
fn a_change_beside_each_hosts_own_address_is_one_change() {
    let repo = Repo::new();
    // Each host's interfaces holds its own address beside the gateway.
    repo.fixture.edit(
        "cluster.ncl",
        "gateway = \"192.168.93.254\",",
        "gateway = \"192.168.93.253\",",
    );
    repo.build();
    let output = repo.run(&["diff", "HEAD"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_output!(stdout(&output));
    let json = repo.run(&["diff", "HEAD", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let group = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|group| group["path"] == "/etc/network/interfaces")
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(group["host_named"], true, "{group:#}");
    assert!(group["bundles"].as_array().unwrap().len() > 1, "{group:#}");
}
