//! Text from a host never reaches the operator's terminal, or a JSON
//! consumer, with its control characters raw: each path a host's words take
//! to stdout or stderr is fed escape sequences (a terminal title, a screen
//! clear, a bell, a C1 CSI) and must show them escaped (`\x1b`).

use std::fs;
use std::process::Output;

use super::{Setup, CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::{repo_root, stderr, stdout};

/// Escape sequences a hostile host writes: retitle the terminal, clear the
/// screen, ring the bell, a C1 CSI, a right-to-left override.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J\u{9b}31m\u{202e}";

/// How lugc must show `HOSTILE`.
const ESCAPED: &str = "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}";

/// The characters of `text` that must not come from a host raw: any
/// control character but a line break and a tab, and the reordering marks.
fn raw(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
        })
        .collect()
}

fn assert_escaped(what: &str, output: &Output) {
    let text = format!("{}{}", stdout(output), stderr(output));
    assert_eq!(
        raw(&text),
        Vec::<char>::new(),
        "{what} printed host text raw:\n{text:?}"
    );
    assert!(
        text.contains("\\x1b"),
        "{what} did not show the host's text:\n{text}"
    );
}

/// A host file's content in the dry run's diff, its `--json`, and in
/// `status --diff`.
#[test]
fn file_contents_from_a_host_are_shown_escaped() {
    let setup = Setup::new();
    let file = setup.host_root("pve-5").join(CHRONY);
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(
        &file,
        format!("pool 2.debian.pool.ntp.org iburst {HOSTILE}\n"),
    )
    .unwrap();
    let shown = setup.push(&["pve-5"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert_escaped("the dry run", &shown);
    assert!(stdout(&shown).contains(&format!("-pool 2.debian.pool.ntp.org iburst {ESCAPED}")));
    let json = setup.push(&["pve-5", "--json"]);
    assert_escaped("the dry run's --json", &json);
    let status = setup.status_command(&["pve-5", "--diff"]).output().unwrap();
    assert_escaped("status --diff", &status);
}

/// os-release and `pveversion` in `lugc facts`' summary and file, and a NIC
/// name from `ip -j link` that a build error quotes among the host's NICs.
#[test]
fn facts_from_a_host_are_shown_escaped() {
    let setup = super::facts::recorded_hosts();
    let links = fs::read_to_string(repo_root().join("tests/facts/pve-ip-link.json"))
        .unwrap()
        .replace(
            "\"ifname\":\"eno2\"",
            "\"ifname\":\"eno2\\u001b]0;pwned\\u0007\"",
        );
    setup.record_facts(
        "pve-6",
        "pve",
        &[
            ("ip-link.json", &links),
            (
                "pveversion",
                &format!("pve-manager/8.2.4{HOSTILE}/faa83925c9641325\n"),
            ),
        ],
    );
    setup.host_write(
        "pve-6",
        "usr/lib/os-release",
        &format!("PRETTY_NAME=\"Debian {HOSTILE}\"\nVERSION_CODENAME=bookworm\n"),
    );
    let output = setup.facts(&["pve-6"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_escaped("lugc facts", &output);
    let file = setup.fact_file("pve-6");
    let facts: serde_json::Value = serde_json::from_str(&file).unwrap();
    // JSON would carry a control character as `\u001b`: a consumer that
    // prints the string would print it raw.
    assert!(!file.contains("\\u00"), "{file}");
    assert!(
        facts["links"].get("eno2\\x1b]0;pwned\\x07").is_some(),
        "{file}"
    );
    assert_eq!(
        facts["os_release"]["PRETTY_NAME"],
        format!("Debian {ESCAPED}")
    );

    // Hand it to the build raw, as a fact file may be edited: the error that
    // lists the host's NICs shows it escaped.
    fs::write(
        setup.fixture.path().join("facts/pve-6.json"),
        file.replace("eno2\\\\x1b]0;pwned\\\\x07", "eno2\\u001b]0;pwned\\u0007"),
    )
    .unwrap();
    setup.fixture.edit(
        "cluster.ncl",
        "uplink = \"eno1\", # assumed: one of the three",
        "uplink = \"wlan7\", # assumed: one of the three",
    );
    let build = setup.fixture.run(&["build"]);
    assert_eq!(build.status.code(), Some(2), "{}", stderr(&build));
    assert_output!("build", stderr(&build));
    assert_escaped("the build error", &build);
}

/// `HOSTILE` as printf(1) writes it from a shell script.
const HOSTILE_PRINTF: &str = r"\033]0;pwned\007\033[2J\302\23331m\342\200\256";

/// What a compromised host answers lugc's own commands (an action's
/// output, a path in its records, a file's owner, a record, the holder of
/// its lock) shows escaped wherever lugc prints it, or is refused: the
/// push's report, the dry run, its errors, `push --all`'s summary and
/// `status`.
#[test]
fn a_compromised_hosts_answers_are_shown_escaped() {
    let setup = Setup::new();
    setup.hook(&format!("printf '{HOSTILE_PRINTF}\\n'"));
    let output = setup.push(&["pve-5", "--yes"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_escaped("an action's output", &output);

    // A record on the host names a path of its own making.
    let record = setup.host_root("pve-5").join("var/lib/lugc/pve-5.MANIFEST");
    let recorded = fs::read_to_string(&record).unwrap();
    fs::write(
        &record,
        recorded.replace("/etc/motd", &format!("/etc/motd{HOSTILE}")),
    )
    .unwrap();
    let output = setup.push(&["pve-5"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert_output!("push", stderr(&output));
    let status = setup.status_command(&["pve-5"]).output().unwrap();
    assert_output!("status", stdout(&status));
    fs::write(&record, recorded).unwrap();

    // The host answers `files` with an owner of its own making.
    setup.change_ntp_server();
    setup.wrap_sessions(
        "  *\"' lugc files \"*)\n    sh -c \"$SSH_ORIGINAL_COMMAND\" | sed \"s/ root:root / root:$(printf '\\033')[0m /\"\n    exit ;;\n",
    );
    let output = setup.push(&["pve-5"]);
    assert_escaped("an owner in the dry run", &output);

    // …records that are none, which lugc quotes refusing them.
    setup.wrap_sessions(&format!(
        "  *\"' lugc records \"*)\n    printf 'pushed {HOSTILE_PRINTF}\\n'\n    exit 0 ;;\n"
    ));
    let output = setup.push(&["pve-5"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert_escaped("a push given a hostile record", &output);
    let output = setup.status_command(&["pve-5"]).output().unwrap();
    assert_escaped("status given a hostile record", &output);

    // …and the holder of its lock, to every push of `push --all`.
    setup.wrap_sessions(&format!(
        "  *\"' lugc hold \"*)\n    printf 'uid 0\\nbusy {HOSTILE_PRINTF}\\n'\n    exit 75 ;;\n"
    ));
    let output = setup.push(&["--all"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stdout(&output).contains("failed: "), "{}", stdout(&output));
    assert_escaped("push --all given a hostile lock holder", &output);
    let output = setup.status_command(&[]).output().unwrap();
    assert_escaped("status given a hostile lock holder", &output);
}
