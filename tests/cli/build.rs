use std::fs;

use crate::common::{repo_root, stderr, stdout, tree, Fixture};

#[test]
fn build_of_the_committed_fleet_matches_the_committed_out() {
    let fixture = Fixture::new();
    let output = fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let built = fixture.tree("out");
    let committed = tree(&repo_root().join("out"));
    let names = |t: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| {
        t.keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(
        names(&built),
        names(&committed),
        "out/ is stale: run `lugc build` and commit out/"
    );
    for (path, bytes) in &built {
        assert!(
            committed[path] == *bytes,
            "out/{} is stale: run `lugc build` and commit out/",
            path.display()
        );
    }
}

#[test]
fn committed_out_is_current() {
    let output = crate::common::lugc_in(&repo_root())
        .args(["build", "--check"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
}

#[test]
fn out_has_bundles_manifests_and_an_index() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let index = fixture.read("out/INDEX");
    assert!(index.starts_with("lugc-index 1\n"));
    for line in index.lines().skip(1) {
        let (id, name) = line.split_once(' ').unwrap();
        let manifest = fs::read(fixture.out().join(name).join("MANIFEST")).unwrap();
        assert_eq!(
            blake3::hash(&manifest).to_hex().as_str(),
            id,
            "bundle id of {name}"
        );
        for entry in crate::common::file_lines(&String::from_utf8(manifest).unwrap()) {
            let fields: Vec<&str> = entry.splitn(5, ' ').collect();
            let file = fs::read(
                fixture
                    .out()
                    .join(name)
                    .join(fields[3].trim_start_matches('/')),
            )
            .unwrap();
            assert_eq!(
                blake3::hash(&file).to_hex().as_str(),
                fields[0],
                "{}",
                fields[3]
            );
        }
    }
    let chrony = fixture.read("out/pve-5/etc/chrony/chrony.conf");
    assert!(chrony.contains("\nserver time.ustc.edu.cn iburst\n"));
    assert!(chrony.contains("\n#pool 2.debian.pool.ntp.org iburst\n"));
    let manifest = fixture.read("out/pve-5/MANIFEST");
    assert!(manifest
        .contains(" 0644 root:root /etc/chrony/chrony.conf systemctl restart chrony.service\n"));
    assert_eq!(
        fixture.read("out/cluster/etc/pve/nodes/pve-6/host.fw"),
        "[OPTIONS]\nenable: 0\n"
    );
    assert!(fixture.read("out/cluster/MANIFEST").contains("\nreaches "));
}

#[test]
fn two_builds_give_identical_out_wherever_they_run() {
    let first = Fixture::new();
    let second = Fixture::new();
    first.lugc().arg("build").assert().success();
    let once = first.tree("out");
    first.lugc().arg("build").assert().success();
    assert_eq!(once, first.tree("out"));
    second.lugc().arg("build").assert().success();
    assert_eq!(
        once,
        second.tree("out"),
        "out/ must not depend on the build directory"
    );
}

#[test]
fn check_is_clean_after_a_build_and_stale_after_a_hand_edit() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    fixture.lugc().args(["build", "--check"]).assert().code(0);

    fixture.write(
        "out/pve-5/etc/chrony/chrony.conf",
        "server pool.example iburst\n",
    );
    let output = fixture.run(&["build", "--check"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("out/pve-5/etc/chrony/chrony.conf: modified"),
        "{}",
        stdout(&output)
    );

    fixture.lugc().arg("build").assert().success();
    fixture.write("out/pve-5/etc/extra", "x");
    fs::remove_file(fixture.out().join("pve-6/MANIFEST")).unwrap();
    let output = fixture.run(&["build", "--check"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.contains("out/pve-5/etc/extra: not generated"),
        "{text}"
    );
    assert!(text.contains("out/pve-6/MANIFEST: missing"), "{text}");
}

#[test]
fn check_without_out_is_stale() {
    let fixture = Fixture::new();
    fixture.lugc().args(["build", "--check"]).assert().code(1);
    assert!(!fixture.out().exists(), "--check never writes");
}

/// Build the fleet, break cluster.ncl, and return the failed run's stderr after
/// asserting exit 2 and an untouched out/.
fn failing_build(fixture: &Fixture) -> String {
    let output = fixture.run(&["build"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "NO_COLOR output has no escape codes: {text}"
    );
    text
}

fn with_built_out(edit: impl FnOnce(&Fixture)) -> (Fixture, String) {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    let before = fixture.tree("out");
    edit(&fixture);
    let text = failing_build(&fixture);
    assert_eq!(
        before,
        fixture.tree("out"),
        "a failed build leaves out/ byte for byte as it was"
    );
    let leftovers: Vec<_> = fs::read_dir(fixture.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".lugc-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    (fixture, text)
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let (_, text) = with_built_out(|fixture| {
        fixture.edit("cluster.ncl", "domain = \"vm.ustclug.org\",", "domain = ,")
    });
    assert!(text.contains("a field has no value"), "{text}");
    let line = fixture_line("domain = \"vm.ustclug.org\",");
    assert!(text.contains(&format!("[cluster.ncl:{line}:")), "{text}");
}

#[test]
fn a_contract_violation_names_the_value_and_its_location() {
    let (_, text) = with_built_out(|fixture| {
        fixture.edit(
            "cluster.ncl",
            "address = \"10.38.95.115\"",
            "address = \"10.38.96.115\"",
        )
    });
    assert!(
        text.contains(
            "host pve-5: address 10.38.96.115 is outside site NIC's subnet 10.38.95.0/24"
        ),
        "{text}"
    );
    let line = fixture_line("address = \"10.38.95.115\"");
    assert!(text.contains(&format!("[cluster.ncl:{line}:17]")), "{text}");
}

#[test]
fn a_wrong_type_names_the_field() {
    let (_, text) = with_built_out(|fixture| {
        fixture.edit(
            "cluster.ncl",
            "ntp_servers = [\"time.ustc.edu.cn\"]",
            "ntp_servers = \"time.ustc.edu.cn\"",
        )
    });
    assert!(
        text.contains(
            "`ntp_servers` must be an array like [ … ], found the string \"time.ustc.edu.cn\""
        ),
        "{text}"
    );
    assert!(text.contains("[cluster.ncl:"), "{text}");
}

#[test]
fn an_imported_file_that_is_not_utf8_is_named_at_its_first_bad_byte() {
    let (_, text) = with_built_out(|fixture| {
        fs::write(
            fixture.path().join("extra.ncl"),
            b"{\n  name = \"caf\xe9\",\n}\n",
        )
        .unwrap();
        fixture.edit(
            "cluster.ncl",
            "let lugc = import \"lib/lugc.ncl\" in",
            "let lugc = import \"lib/lugc.ncl\" in\nlet extra = import \"extra.ncl\" in",
        );
    });
    assert!(text.contains("extra.ncl is not valid UTF-8"), "{text}");
    assert!(text.contains("[extra.ncl:2:14]"), "{text}");
    assert!(text.contains("imported here"), "{text}");
}

#[test]
fn verbose_adds_where_in_lib_a_check_failed() {
    let fixture = Fixture::new();
    fixture.edit("cluster.ncl", "cores = 4,", "cores = \"4\",");
    let brief = stderr(&fixture.run(&["build"]));
    let verbose = stderr(&fixture.run(&["build", "--verbose"]));
    let first_line = |text: &str| text.lines().next().unwrap_or_default().to_owned();
    assert_eq!(first_line(&brief), first_line(&verbose));
    assert!(!brief.contains("lib/contracts/"), "{brief}");
    assert!(verbose.contains("as Nickel reports it"), "{verbose}");
    assert!(verbose.contains("[lib/contracts/vm.ncl:"), "{verbose}");
}

#[test]
fn a_missing_input_file_is_an_error_not_a_panic() {
    let fixture = Fixture::new();
    let output = fixture.run(&["build", "--file", "nowhere.ncl"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read nowhere.ncl"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_removed_host_disappears_from_out() {
    let fixture = Fixture::new();
    fixture.lugc().arg("build").assert().success();
    assert!(fixture.out().join("pve-10").exists());
    let source = fixture.read("cluster.ncl");
    let start = source.find("    pve-10 = {").unwrap();
    let end = start + source[start..].find("    },\n").unwrap() + "    },\n".len();
    fixture.write(
        "cluster.ncl",
        &format!("{}{}", &source[..start], &source[end..]),
    );
    fixture.lugc().arg("build").assert().success();
    assert!(!fixture.out().join("pve-10").exists());
    assert!(!fixture.read("out/INDEX").contains("pve-10"));
}

#[test]
fn completions_and_help_are_generated() {
    let fixture = Fixture::new();
    let output = fixture.run(&["completions", "bash"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("lugc"));
    for command in ["build", "diff", "push", "hosts", "completions"] {
        let output = fixture.run(&[command, "--help"]);
        assert!(output.status.success(), "{command} --help");
        assert!(stdout(&output).contains("Usage: lugc"), "{command} --help");
    }
}

/// 1-based line of `needle` in the committed cluster.ncl.
fn fixture_line(needle: &str) -> usize {
    let source = fs::read_to_string(repo_root().join("cluster.ncl")).unwrap();
    let offset = source
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in cluster.ncl"));
    source[..offset].matches('\n').count() + 1
}

#[test]
fn build_prints_bundles_and_stale_files_in_natural_order() {
    let fixture = Fixture::new();
    let names = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| line.split_once(' ').unwrap().1.to_owned())
            .collect()
    };
    let expected = [
        "cluster", "esxi-5", "pve-5", "pve-6", "pve-7", "pve-8", "pve-9", "pve-10",
    ];
    let built = fixture.run(&["build"]);
    assert!(built.status.success(), "{}", stderr(&built));
    assert_eq!(names(&stdout(&built)), expected);
    // Unchanged since: the cached index prints the same.
    let cached = fixture.run(&["build"]);
    assert_eq!(stdout(&cached), stdout(&built));

    for bundle in ["pve-10", "pve-5"] {
        fixture.write(&format!("out/{bundle}/etc/hostname"), "edited\n");
    }
    let output = fixture.run(&["build", "--check"]);
    let text = stdout(&output);
    let pve_5 = text.find("out/pve-5/etc/hostname: modified").expect(&text);
    let pve_10 = text.find("out/pve-10/etc/hostname: modified").expect(&text);
    assert!(pve_5 < pve_10, "{text}");
}
