//! bench/gen-fleet.py, run on a copy of the repository's bench/ and lib/.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{copy_tree, repo_root, require_tool, stderr, tree};

/// `python3 gen-fleet.py --hosts 10 --out OUT` as the copy in `repo` holds it.
fn gen_fleet(repo: &Path, out: &Path) -> std::process::Output {
    Command::new(require_tool("python3"))
        .arg(repo.join("bench/gen-fleet.py"))
        .args(["--hosts", "10", "--out"])
        .arg(out)
        .output()
        .expect("run gen-fleet.py")
}

#[test]
fn gen_fleet_refuses_an_out_inside_the_repository() {
    let repo = tempfile::tempdir().unwrap();
    copy_tree(&repo_root().join("lib"), &repo.path().join("lib"));
    fs::create_dir_all(repo.path().join("bench")).unwrap();
    fs::copy(
        repo_root().join("bench/gen-fleet.py"),
        repo.path().join("bench/gen-fleet.py"),
    )
    .unwrap();
    let before = tree(repo.path());
    for inside in [repo.path().to_path_buf(), repo.path().join("fleets/1000")] {
        let output = gen_fleet(repo.path(), &inside);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("inside the repository"),
            "{}",
            stderr(&output)
        );
        assert_eq!(tree(repo.path()), before, "--out {}", inside.display());
    }

    let outside = tempfile::tempdir().unwrap();
    let output = gen_fleet(repo.path(), outside.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(outside.path().join("cluster.ncl").is_file());
    assert_eq!(
        tree(&outside.path().join("lib")),
        tree(&repo.path().join("lib"))
    );
}
