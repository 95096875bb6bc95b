//! Benchmark: `lugc diff HEAD` on a synthetic fleet of 1000 hosts where one
//! file changed. Run with `cargo bench -p lugc --bench diff` (or bench/diff.sh).
//!
//! Builds the bundles directly (no Nickel): 1000 host bundles of a few text
//! files each plus a cluster bundle, written by `write::write` in the
//! documented out/ format, committed with git2; then one host's chrony.conf
//! changes and out/ is written again. Times the `lugc` binary end to end and
//! `diff::compare` in process, and runs hyperfine too when it is installed.
//! Prints numbers; asserts only that the diff names the one changed file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lugc::bundle::{bundle, Bundle};
use lugc::diff::{DirTree, Repo};
use lugc::render::{BundleTree, TargetFile};

const HOSTS: usize = 1000;
const RUNS: usize = 20;
const CHANGED_HOST: usize = 500;

fn host_name(number: usize) -> String {
    format!("pve-{number:04}")
}

fn file(text: String, mode: u32, action: Option<&str>) -> TargetFile {
    TargetFile {
        bytes: text.into_bytes(),
        mode,
        owner: "root:root".to_owned(),
        action: action.map(str::to_owned),
    }
}

/// One host's files: a handful of realistic text files, a few KiB in all.
fn host_tree(number: usize, ntp: &str) -> BundleTree {
    let name = host_name(number);
    let address = format!(
        "10.{}.{}.{}",
        number / 65536,
        (number / 256) % 256,
        number % 256
    );
    let mut files = BTreeMap::new();
    let chrony = format!(
        "# Welcome to the chrony configuration file.\n\n{}server {ntp} iburst\n\nsourcedir /etc/chrony/sources.d\nkeyfile /etc/chrony/chrony.keys\ndriftfile /var/lib/chrony/chrony.drift\nntsdumpdir /var/lib/chrony\nlogdir /var/log/chrony\nmaxupdateskew 100.0\nrtcsync\nmakestep 1 3\nleapsectz right/UTC\n",
        "# comment line\n".repeat(10)
    );
    files.insert(
        "/etc/chrony/chrony.conf".to_owned(),
        file(chrony, 0o644, Some("systemctl restart chrony.service")),
    );
    files.insert(
        "/etc/hostname".to_owned(),
        file(format!("{name}\n"), 0o644, None),
    );
    files.insert(
        "/etc/hosts".to_owned(),
        file(
            format!("127.0.0.1 localhost\n{address} {name}.vm.example.org {name}\n"),
            0o644,
            None,
        ),
    );
    let interfaces = format!(
        "auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress {address}/16\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n{}",
        (1..=8)
            .map(|bridge| format!("\nauto vmbr{bridge}\niface vmbr{bridge} inet manual\n\tbridge-ports none\n"))
            .collect::<String>()
    );
    files.insert(
        "/etc/network/interfaces".to_owned(),
        file(interfaces, 0o644, Some("ifreload -a")),
    );
    files.insert(
        "/etc/apt/sources.list.d/debian.sources".to_owned(),
        file(
            "Types: deb\nURIs: https://mirrors.example.org/debian\nSuites: bookworm bookworm-updates\nComponents: main contrib non-free-firmware\n".to_owned(),
            0o644,
            None,
        ),
    );
    files.insert(
        "/etc/iptables/rules.v4".to_owned(),
        file(
            format!("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d {address}/32 -p tcp --dport 443 -j REDIRECT --to-ports 8006\nCOMMIT\n"),
            0o640,
            Some("iptables-restore /etc/iptables/rules.v4"),
        ),
    );
    BundleTree {
        name: name.clone(),
        reaches: vec![name],
        files,
    }
}

fn fleet(changed_ntp: Option<&str>) -> Vec<Bundle> {
    let mut trees: Vec<BundleTree> = (0..HOSTS)
        .map(|number| {
            let ntp = match changed_ntp {
                Some(ntp) if number == CHANGED_HOST => ntp,
                _ => "time.example.org",
            };
            host_tree(number, ntp)
        })
        .collect();
    let members: Vec<String> = (0..HOSTS).map(host_name).collect();
    trees.push(BundleTree {
        name: "cluster".to_owned(),
        files: members
            .iter()
            .map(|name| {
                (
                    format!("/etc/pve/nodes/{name}/host.fw"),
                    file("[OPTIONS]\nenable: 0\n".to_owned(), 0o640, None),
                )
            })
            .collect(),
        reaches: members,
    });
    trees.sort_by(|a, b| a.name.cmp(&b.name));
    trees.into_iter().map(bundle).collect()
}

fn commit_all(repo: &git2::Repository, message: &str) {
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("find tree");
    let time = git2::Time::new(1_767_225_600, 0);
    let signature = git2::Signature::new("Bench", "bench@example.org", &time).expect("sig");
    let parent = repo.head().ok().and_then(|head| head.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        message,
        &tree,
        &parents,
    )
    .expect("commit");
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("lugc-bench-diff-")
        .tempdir()
        .expect("tempdir");
    let root = dir.path();
    let out = root.join("out");
    std::fs::write(
        root.join("cluster.ncl"),
        "# synthetic fleet: out/ is generated by the diff benchmark\n{}\n",
    )
    .expect("cluster.ncl");

    let setup = Instant::now();
    lugc::write::write(&out, &fleet(None)).expect("write out/");
    let repo = git2::Repository::init(root).expect("git init");
    commit_all(&repo, "fleet of 1000 hosts");
    lugc::write::write(&out, &fleet(Some("ntp.example.org"))).expect("write out/");
    let files = walkdir::WalkDir::new(&out).into_iter().count();
    println!(
        "setup: {HOSTS} hosts, {files} entries under out/, committed in {:.1?}",
        setup.elapsed()
    );

    let lugc = env!("CARGO_BIN_EXE_lugc");
    let run = || {
        Command::new(lugc)
            .args(["diff", "HEAD", "--name-only"])
            .current_dir(root)
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run lugc")
    };
    let output = run();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}/etc/chrony/chrony.conf\n", host_name(CHANGED_HOST))
    );
    let times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    println!(
        "lugc diff HEAD (process, {RUNS} runs): median {:.1?}, min {:.1?}",
        median(times.clone()),
        times.iter().min().expect("runs")
    );

    let in_process: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let repo = Repo::discover(root, &out).expect("repo");
            let old = repo.at("HEAD").expect("HEAD");
            let new = DirTree::open(&out).expect("out/");
            let report =
                lugc::diff::compare(&old, &new, &lugc::diff::Options::default()).expect("compare");
            assert_eq!(report.bundles.len(), 1);
            start.elapsed()
        })
        .collect();
    println!(
        "diff::compare (in process, {RUNS} runs): median {:.1?}",
        median(in_process)
    );
    hyperfine(lugc, root);
}

/// Also time with hyperfine when it is installed (Debian package `hyperfine`).
fn hyperfine(lugc: &str, root: &Path) {
    let found = Command::new("hyperfine").arg("--version").output();
    if found.is_err() {
        println!("hyperfine is not installed; skipped");
        return;
    }
    let status = Command::new("hyperfine")
        .args(["--warmup", "3", "--runs", "30", "-N", "-i"])
        .arg(format!("{lugc} diff HEAD --name-only"))
        .current_dir(root)
        .env("NO_COLOR", "1")
        .status()
        .expect("run hyperfine");
    assert!(status.success(), "hyperfine failed");
}
