//! Symbolic links that lead out of the fleet. A fleet cannot declare one, but
//! out/ can hold one planted by hand or committed, and the source directory
//! can link to files elsewhere.
//!
//! In out/: `build` never follows a link (the cache refuses such an out/, the
//! rebuild leaves it clean and the link's target untouched), `build --check`
//! reports it, `diff` refuses to read through it and `push` refuses out/.
//! In the source: Nickel follows links, so the cache follows them too and
//! sees a change of the target.
//!
//! Links in out/ point at copies with the expected bytes, so only a reader
//! that looks at the link itself (not through it) can tell them apart.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use lugc::manifest::Manifest;
use tempfile::TempDir;

use crate::common::sshd::Sshd;
use crate::common::{git, lugc_in, require_tool, stderr, stdout, tree, Fixture};

/// A file every host bundle has, inside a directory of its own.
const HOSTNAME: &str = "pve-5/etc/hostname";
const SECRET: &str = "SECRET-outside-out-do-not-show\n";

fn outside() -> TempDir {
    tempfile::Builder::new()
        .prefix("lugc-outside-")
        .tempdir()
        .unwrap()
}

fn built() -> Fixture {
    let fixture = Fixture::new();
    let output = fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
    fixture
}

/// The inodes of out/'s entries, by name: a build that writes swaps in a
/// new INDEX or bundle directory.
fn out_inode(fixture: &Fixture) -> Vec<(std::ffi::OsString, u64)> {
    let mut entries: Vec<_> = (fs::read_dir(fixture.out()).unwrap())
        .map(|entry| entry.unwrap())
        .map(|entry| (entry.file_name(), entry.metadata().unwrap().ino()))
        .collect();
    entries.sort();
    entries
}

/// Every symbolic link below `dir`, not following any.
fn links_in(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_symlink())
        .map(walkdir::DirEntry::into_path)
        .collect()
}

/// Replace out/`relative` by a link to `target`.
fn plant(fixture: &Fixture, relative: &str, target: &Path) {
    let path = fixture.out().join(relative);
    if path.is_dir() {
        fs::remove_dir_all(&path).unwrap();
    } else {
        fs::remove_file(&path).unwrap();
    }
    symlink(target, &path).unwrap();
}

/// Run with a deadline: a reader that blocks on a FIFO must fail the test, not hang it.
fn run_within(fixture: &Fixture, args: &[&str]) -> Output {
    fixture
        .lugc()
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap_or_else(|error| panic!("lugc {args:?} did not finish: {error}"))
}

fn build_check(fixture: &Fixture) -> String {
    let output = fixture.run(&["build", "--check"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    stdout(&output)
}

/// `lugc build` rebuilds instead of trusting the cache, and leaves a clean out/.
fn assert_rebuilt_clean(fixture: &Fixture, before: &std::collections::BTreeMap<PathBuf, Vec<u8>>) {
    let inode = out_inode(fixture);
    let output = fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_ne!(
        out_inode(fixture),
        inode,
        "the cache accepted out/ with a link"
    );
    assert_eq!(links_in(&fixture.out()), Vec::<PathBuf>::new());
    assert_eq!(&fixture.tree("out"), before);
    let output = fixture.run(&["build", "--check"]);
    assert!(output.status.success(), "{}", stdout(&output));
}

#[test]
fn a_file_link_in_out_is_reported_and_rebuilt_never_followed() {
    let fixture = built();
    let before = fixture.tree("out");
    let elsewhere = outside();
    let copy = elsewhere.path().join("hostname");
    fs::copy(fixture.out().join(HOSTNAME), &copy).unwrap();
    plant(&fixture, HOSTNAME, &copy);

    let report = build_check(&fixture);
    assert!(
        report.contains(&format!("stale: out/{HOSTNAME}: modified\n")),
        "{report}"
    );
    let stale = report.lines().filter(|line| line.starts_with("stale: "));
    assert_eq!(stale.count(), 1, "only the link: {report}");

    assert_rebuilt_clean(&fixture, &before);
    assert_eq!(fs::read(&copy).unwrap(), before[Path::new(HOSTNAME)]);
}

#[test]
fn a_directory_link_in_out_is_reported_and_rebuilt_never_followed() {
    let fixture = built();
    let before = fixture.tree("out");
    let elsewhere = outside();
    let copy = elsewhere.path().join("etc");
    crate::common::copy_tree(&fixture.out().join("pve-5/etc"), &copy);
    let copied = tree(&copy);
    plant(&fixture, "pve-5/etc", &copy);

    let report = build_check(&fixture);
    assert!(
        report.contains("stale: out/pve-5/etc: not generated\n"),
        "{report}"
    );
    assert!(
        report.contains(&format!("stale: out/{HOSTNAME}: missing\n")),
        "{report}"
    );

    assert_rebuilt_clean(&fixture, &before);
    assert_eq!(
        tree(&copy),
        copied,
        "removing the old out/ went through the link"
    );
}

#[test]
fn a_link_in_out_to_a_fifo_is_neither_opened_nor_trusted() {
    let fixture = built();
    let before = fixture.tree("out");
    let elsewhere = outside();
    let fifo = make_fifo(elsewhere.path());
    for relative in ["INDEX", "pve-5/MANIFEST", HOSTNAME] {
        let original = fixture.out().join(relative);
        fs::remove_file(&original).unwrap();
        symlink(&fifo, &original).unwrap();
        let inode = out_inode(&fixture);
        let output = run_within(&fixture, &["build"]);
        assert!(output.status.success(), "{relative}: {}", stderr(&output));
        assert_ne!(
            out_inode(&fixture),
            inode,
            "{relative}: the cache accepted out/"
        );
        assert_eq!(fixture.tree("out"), before, "{relative}");
        assert_eq!(
            links_in(&fixture.out()),
            Vec::<PathBuf>::new(),
            "{relative}"
        );
    }
}

#[test]
fn a_leftover_link_beside_out_is_removed_not_followed() {
    let fixture = built();
    let elsewhere = outside();
    fs::write(elsewhere.path().join("kept"), "kept\n").unwrap();
    symlink(elsewhere.path(), fixture.path().join(".lugc-tmp-planted")).unwrap();
    fixture.lugc().arg("build").assert().success();
    assert!(fs::symlink_metadata(fixture.path().join(".lugc-tmp-planted")).is_err());
    assert_eq!(
        fs::read_to_string(elsewhere.path().join("kept")).unwrap(),
        "kept\n"
    );
}

/// Make pve-5's MANIFEST and out/INDEX say that /etc/hostname holds `bytes`,
/// as a crafted out/ would, so that a reader trusting them reads the file.
fn claim_hostname(fixture: &Fixture, bytes: &[u8]) {
    let text = fixture.read("out/pve-5/MANIFEST");
    let mut manifest = Manifest::parse(&text).unwrap();
    let entry = manifest
        .entries
        .iter_mut()
        .find(|entry| entry.path == "/etc/hostname")
        .expect("pve-5 has /etc/hostname");
    entry.blake3 = blake3::hash(bytes).to_hex().to_string();
    fixture.write("out/pve-5/MANIFEST", &manifest.render());
    let old_id = lugc::manifest::bundle_id(text.as_bytes());
    fixture.edit("out/INDEX", &old_id, &manifest.id());
}

fn assert_refused_without_secret(output: &Output, context: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{context}\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    assert!(
        stderr(output).contains("a symbolic link"),
        "{context}: {}",
        stderr(output)
    );
    for text in [stdout(output), stderr(output)] {
        assert!(
            !text.contains(SECRET.trim()),
            "{context} showed the secret: {text}"
        );
    }
}

#[test]
fn diff_never_reads_through_a_link_in_out() {
    require_tool("git");
    let fixture = built();
    git(fixture.path(), &["init", "-q", "-b", "main"]);
    git(fixture.path(), &["add", "-A"]);
    git(fixture.path(), &["commit", "-q", "-m", "fleet"]);
    let elsewhere = outside();
    let secret = elsewhere.path().join("secret");
    fs::write(&secret, SECRET).unwrap();
    fs::create_dir(elsewhere.path().join("etc")).unwrap();
    fs::write(elsewhere.path().join("etc/hostname"), SECRET).unwrap();

    // A link in place of the file, then in place of its directory.
    plant(&fixture, HOSTNAME, &secret);
    claim_hostname(&fixture, SECRET.as_bytes());
    let output = fixture.run(&["diff"]);
    assert_refused_without_secret(&output, "file link, working tree");

    git(fixture.path(), &["checkout", "-q", "--", "out"]);
    plant(&fixture, "pve-5/etc", &elsewhere.path().join("etc"));
    claim_hostname(&fixture, SECRET.as_bytes());
    let output = fixture.run(&["diff", "--json"]);
    assert_refused_without_secret(&output, "directory link, working tree");

    // Committed, the link is a blob holding its target's path, not a file of out/.
    git(fixture.path(), &["checkout", "-q", "--", "out"]);
    plant(&fixture, HOSTNAME, &secret);
    claim_hostname(&fixture, SECRET.as_bytes());
    git(fixture.path(), &["add", "-A"]);
    git(fixture.path(), &["commit", "-q", "-m", "a link in out/"]);
    let output = fixture.run(&["diff", "HEAD~1", "HEAD"]);
    assert_refused_without_secret(&output, "file link, committed");
}

#[test]
fn push_refuses_an_out_with_a_link_and_delivers_nothing() {
    require_tool("rsync");
    let sshd = Sshd::start();
    let host_root = sshd.dir().join("hosts/pve-5");
    fs::create_dir_all(&host_root).unwrap();
    let push = |fixture: &Fixture| {
        let mut command = fixture.lugc();
        command
            .args(["push", "pve-5", "--yes", "--allow-dirty"])
            .args(["--target", "root@127.0.0.1", "--port"])
            .arg(sshd.port().to_string())
            .arg("--root")
            .arg(&host_root)
            // Should a push get through, no action may run on this machine.
            .args(["--action-runner", "true"]);
        for option in sshd.client_options() {
            command.args(["--ssh-option", &option]);
        }
        command.output().unwrap()
    };
    let elsewhere = outside();

    // A link to a copy with the expected bytes: only the link gives it away.
    let fixture = built();
    let copy = elsewhere.path().join("hostname");
    fs::copy(fixture.out().join(HOSTNAME), &copy).unwrap();
    plant(&fixture, HOSTNAME, &copy);
    let output = push(&fixture);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains(&format!("{HOSTNAME} (modified)")),
        "{}",
        stderr(&output)
    );
    assert_eq!(tree(&host_root).len(), 0, "a file reached the host");

    // A link to a secret that a crafted MANIFEST vouches for.
    let fixture = built();
    let secret = elsewhere.path().join("secret");
    fs::write(&secret, SECRET).unwrap();
    plant(&fixture, HOSTNAME, &secret);
    claim_hostname(&fixture, SECRET.as_bytes());
    let output = push(&fixture);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stderr(&output).contains("is stale"), "{}", stderr(&output));
    assert_eq!(tree(&host_root).len(), 0, "a file reached the host");
}

/// A fleet output record (what `lugc.build` returns) with one host whose one
/// file has the content of `expression`; lib/ is not involved.
fn raw_fleet(expression: &str) -> String {
    format!(
        "{{\n  hosts = {{\n    h = {{ site = \"s\", cluster = false, ssh_target = \"root@h\", files = {{\n      \
         \"/etc/lugc-link\" = {{ content = {expression}, mode = \"0644\", owner = \"root:root\" }},\n    \
         }} }},\n  }},\n  cluster = {{ files = {{}} }},\n}}\n"
    )
}

/// A source directory of its own (no committed fleet) and what `build` makes of it.
struct Source {
    dir: TempDir,
}

impl Source {
    fn new(cluster: &str) -> Source {
        let dir = tempfile::Builder::new()
            .prefix("lugc-source-")
            .tempdir()
            .unwrap();
        fs::write(dir.path().join("cluster.ncl"), cluster).unwrap();
        Source { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Build (within a deadline) and return the one generated file and out/'s inode.
    fn build(&self) -> (String, u64) {
        let output = lugc_in(self.path())
            .arg("build")
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap_or_else(|error| panic!("lugc build did not finish: {error}"));
        assert!(output.status.success(), "{}", stderr(&output));
        let out = self.path().join("out");
        (
            fs::read_to_string(out.join("h/etc/lugc-link")).unwrap(),
            fs::metadata(out).unwrap().ino(),
        )
    }
}

#[test]
fn a_linked_directory_in_the_source_is_an_input() {
    let source = Source::new(&raw_fleet("import \"lib/content.ncl\""));
    let elsewhere = outside();
    for name in ["one", "two"] {
        fs::create_dir(elsewhere.path().join(name)).unwrap();
        fs::write(
            elsewhere.path().join(name).join("content.ncl"),
            format!("\"{name}\\n\""),
        )
        .unwrap();
    }
    symlink(elsewhere.path().join("one"), source.path().join("lib")).unwrap();
    assert_eq!(source.build().0, "one\n");

    fs::write(elsewhere.path().join("one/content.ncl"), "\"changed\\n\"").unwrap();
    assert_eq!(source.build().0, "changed\n", "a change behind the link");

    fs::remove_file(source.path().join("lib")).unwrap();
    symlink(elsewhere.path().join("two"), source.path().join("lib")).unwrap();
    assert_eq!(source.build().0, "two\n", "the link retargeted");

    let (content, inode) = source.build();
    assert_eq!(content, "two\n");
    assert_eq!(
        source.build(),
        (content, inode),
        "nothing changed: the cache answers"
    );
}

#[test]
fn a_linked_file_in_the_source_is_an_input() {
    let source = Source::new(&raw_fleet("import \"content.ncl\""));
    let elsewhere = outside();
    let target = elsewhere.path().join("content.ncl");
    fs::write(&target, "\"one\\n\"").unwrap();
    symlink(&target, source.path().join("content.ncl")).unwrap();
    assert_eq!(source.build().0, "one\n");
    fs::write(&target, "\"two\\n\"").unwrap();
    assert_eq!(source.build().0, "two\n", "a change behind the link");
}

#[test]
fn links_that_loop_dangle_or_reach_a_fifo_neither_break_nor_fool_the_build() {
    let source = Source::new(&raw_fleet("import \"lib/content.ncl\""));
    fs::create_dir(source.path().join("lib")).unwrap();
    fs::write(source.path().join("lib/content.ncl"), "\"one\\n\"").unwrap();
    symlink("..", source.path().join("lib/loop")).unwrap();
    // What an editor leaves while cluster.ncl is open.
    symlink("user@host.1234:1", source.path().join(".#cluster.ncl")).unwrap();
    let (content, inode) = source.build();
    assert_eq!(content, "one\n");
    assert_eq!(source.build(), (content, inode), "the cache answers");
    fs::write(source.path().join("lib/content.ncl"), "\"two\\n\"").unwrap();
    assert_eq!(source.build().0, "two\n");

    // An input name that leads to a FIFO is not read (it would block): a
    // full build, which records no cache for a later build to trust.
    let elsewhere = outside();
    let fifo = make_fifo(elsewhere.path());
    symlink(&fifo, source.path().join("unused.ncl")).unwrap();
    fs::remove_file(source.path().join(".lugc-cache")).unwrap();
    assert_eq!(source.build().0, "two\n");
    fs::write(source.path().join("lib/content.ncl"), "\"three\n\"").unwrap();
    assert_eq!(source.build().0, "three\n");
    assert!(
        !source.path().join(".lugc-cache").exists(),
        "a build with a FIFO input is never cached"
    );
}

/// A FIFO named `fifo` in `dir`: opening it for reading waits for a writer.
fn make_fifo(dir: &Path) -> PathBuf {
    let fifo = dir.join("fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    fifo
}
