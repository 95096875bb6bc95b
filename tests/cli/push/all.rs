//! `lugc push --all` against eight loopback "hosts" (one sshd, a root per
//! host): `-j 4` at once, the cluster bundle after its members, each host's
//! lines kept together, the summary table, a host that fails, with and
//! without `--keep-going`, and the live lines on a terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;

use super::{Setup, CHRONY, RESTART_CHRONY};
use crate::common::snapshot::assert_output;
use crate::common::{require_tool, stderr, stdout, Fixture};

/// In the order `push --all` takes them.
const HOSTS: [&str; 8] = [
    "esxi-5", "pve-5", "pve-6", "pve-7", "pve-8", "pve-9", "pve-10", "pve-11",
];

/// The committed fleet with an eighth host, pve-11 (pve-11.txt, which
/// bench/push-all.sh adds too), each host with pmxcfs.
/// A timeline records, with times in ns, each locking session's start and end and its
/// host (`hold`, `release`; the cluster bundle's session is on its member)
/// and each chrony restart (`begin`, `end`; it takes 0.4 s). `failing`
/// refuses ssh.
fn eight_hosts(failing: &str) -> Setup {
    let fixture = Fixture::new();
    let eighth = format!("{}    pve-10 = {{", include_str!("pve-11.txt"));
    fixture.edit("cluster.ncl", "    pve-10 = {", &eighth);
    let setup = Setup::with(fixture);
    for host in HOSTS {
        fs::create_dir_all(setup.host_root(host).join("etc/pve")).unwrap();
    }
    let dir = setup.sshd.dir();
    let timeline = dir.join("timeline");
    let hosts = dir.join("hosts");
    setup.wrap_sessions(&format!(
        r#"  *"lugc hold {hosts}/"*)
    host=${{SSH_ORIGINAL_COMMAND##*lugc hold {hosts}/}}
    host=${{host%% *}}
    # Sessions that take no lock (the dry runs of the harm check) are not timed.
    log={timeline}
    case $SSH_ORIGINAL_COMMAND in *"lugc hold {hosts}/$host read "*) log=/dev/null ;; esac
    echo "$(date +%s%N) hold $host" >> "$log"
    if [ "$host" = {failing} ]; then
      echo "ssh: connect to host $host port 22: No route to host" >&2
      exit 255
    fi
    "${{SHELL:-/bin/sh}}" -c "$SSH_ORIGINAL_COMMAND"
    status=$?
    echo "$(date +%s%N) release $host" >> "$log"
    exit $status ;;
"#,
        hosts = hosts.display(),
        timeline = timeline.display(),
    ));
    setup.hook(&format!(
        r#"if [ "$1" = "{RESTART_CHRONY}" ]; then
  host=${{SSH_ORIGINAL_COMMAND##*/hosts/}}
  host=${{host%% *}}
  echo "$(date +%s%N) begin $host" >> {timeline}
  sleep 0.4
  echo "$(date +%s%N) end $host" >> {timeline}
fi
"#,
        timeline = timeline.display(),
    ));
    setup
}

impl Setup {
    /// `(ns, event, host)` for each line of the timeline.
    fn timeline(&self) -> Vec<(u128, String, String)> {
        fs::read_to_string(self.sshd.dir().join("timeline"))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                (
                    fields[0].parse().unwrap(),
                    fields[1].to_owned(),
                    fields[2].to_owned(),
                )
            })
            .collect()
    }

    /// The cluster bundle's members, the one it goes through first.
    fn members(&self) -> Vec<String> {
        self.manifest("cluster")
            .lines()
            .find_map(|line| line.strip_prefix("reaches "))
            .unwrap()
            .split(' ')
            .map(str::to_owned)
            .collect()
    }

    fn bundle_id(&self, bundle: &str) -> String {
        self.fixture
            .read("out/INDEX")
            .lines()
            .find(|line| line.ends_with(&format!(" {bundle}")))
            .unwrap()[..12]
            .to_owned()
    }
}

/// Each `[n/9] label` block of the output: label → its lines, in order.
fn blocks(output: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in output.lines() {
        if line.is_empty() || line.starts_with("BUNDLE ") {
            break;
        }
        match line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
        {
            Some((number, label)) => {
                assert_eq!(number, format!("{}/9", blocks.len() + 1), "{output}");
                blocks.push((label.to_owned(), Vec::new()));
            }
            None => blocks.last_mut().expect(output).1.push(line.to_owned()),
        }
    }
    blocks
}

/// The summary table as printed: its head, its rows and its last line.
fn table_text(output: &str) -> &str {
    let head = output
        .find("\nBUNDLE ")
        .unwrap_or_else(|| panic!("no table in {output}"));
    &output[head + 1..]
}

/// The summary table's rows, label → the words after the label, and its last line.
fn table(output: &str) -> (BTreeMap<String, Vec<String>>, String) {
    let lines: Vec<&str> = output.lines().collect();
    let head = lines
        .iter()
        .position(|line| line.starts_with("BUNDLE "))
        .unwrap_or_else(|| panic!("no table in {output}"));
    assert!(
        lines[head]
            .split_whitespace()
            .eq(["BUNDLE", "OLD", "->", "NEW", "WRITTEN", "REMOVED", "ACTIONS", "RESULT"]),
        "{output}"
    );
    let rows = lines[head + 1..head + 10]
        .iter()
        .map(|row| {
            let (label, rest) = match row.strip_prefix("cluster (") {
                Some(rest) => {
                    let (member, rest) = rest.split_once(')').unwrap();
                    (format!("cluster ({member})"), rest)
                }
                None => {
                    let (label, rest) = row.split_once(' ').unwrap();
                    (label.to_owned(), rest)
                }
            };
            (label, rest.split_whitespace().map(str::to_owned).collect())
        })
        .collect();
    (rows, lines[head + 10].to_owned())
}

#[test]
fn push_all_runs_four_hosts_at_once_then_the_cluster_bundle() {
    let setup = eight_hosts("none");
    let members = setup.members();
    let through = &members[0];
    let cluster = format!("cluster ({through})");
    let mut labels: Vec<String> = HOSTS.iter().map(|host| host.to_string()).collect();
    labels.push(cluster.clone());

    // A dry run shows every host's plan and content, and changes nothing.
    let output = setup.push(&["--all", "-j", "4"]);
    let shown = stdout(&output);
    assert!(output.status.success(), "{shown}\n{}", stderr(&output));
    let dry: Vec<String> = blocks(&shown).into_iter().map(|(label, _)| label).collect();
    assert_eq!(dry, labels, "{shown}");
    assert!(shown.contains("+server time.ustc.edu.cn iburst"), "{shown}");
    assert_output!("dry-run-table", table_text(&shown));
    for host in HOSTS {
        assert!(
            setup.host_tree(host).is_empty(),
            "a dry run wrote on {host}"
        );
    }
    let _ = fs::remove_file(setup.sshd.dir().join("timeline"));

    let output = setup.push(&["--all", "--yes", "-j", "4"]);
    let shown = stdout(&output);
    assert!(output.status.success(), "{shown}\n{}", stderr(&output));
    for host in HOSTS {
        assert_eq!(
            setup.host_file(host, CHRONY),
            setup.out_file(host, CHRONY),
            "{host}"
        );
    }
    assert_eq!(setup.host_files(through), {
        let mut both = setup.bundle_files(through);
        both.extend(setup.bundle_files("cluster"));
        both
    });

    // Four pushes at a time: four sessions at once, never more.
    let timeline = setup.timeline();
    let most = |start: &str, end: &str| {
        let mut running = 0;
        let mut most = 0;
        for (_, event, _) in &timeline {
            if event == start {
                running += 1;
            } else if event == end {
                running -= 1;
            }
            most = most.max(running);
        }
        most
    };
    assert_eq!(most("hold", "release"), 4, "{timeline:#?}");
    assert!(most("begin", "end") <= 4, "{timeline:#?}");
    // The cluster bundle's session (the second on its member) begins after every member's restart.
    let cluster_start = timeline
        .iter()
        .filter(|(_, event, host)| event == "hold" && host == through)
        .nth(1)
        .unwrap_or_else(|| panic!("{timeline:#?}"))
        .0;
    for member in &members {
        let (end, ..) = timeline
            .iter()
            .find(|(_, event, host)| event == "end" && host == member)
            .unwrap();
        assert!(*end < cluster_start, "{member} {timeline:#?}");
    }

    // Each host's lines together, in bundle order.
    let blocks = blocks(&shown);
    assert_eq!(
        blocks.iter().map(|(label, _)| label).collect::<Vec<_>>(),
        labels.iter().collect::<Vec<_>>(),
        "{shown}"
    );
    for ((label, lines), bundle) in blocks.iter().zip(HOSTS.iter().chain(&["cluster"])) {
        for line in lines {
            assert!(
                line.starts_with("  ") || line.starts_with(&format!("{bundle} ")),
                "{label}: {line}\n{shown}"
            );
        }
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with(&format!("  done: {bundle} ")),
            "{shown}"
        );
    }

    // The table: old -> new bundle, files written and removed, actions, result.
    let (rows, last) = table(&shown);
    for (label, bundle) in labels.iter().zip(HOSTS.iter().chain(&["cluster"])) {
        let files = setup.bundle_files(bundle).len();
        let ran = blocks
            .iter()
            .find(|(name, _)| name == label)
            .unwrap()
            .1
            .iter()
            .filter(|line| line.starts_with("  running: "))
            .count();
        let expected = [
            "none".to_owned(),
            "->".to_owned(),
            setup.bundle_id(bundle),
            files.to_string(),
            "0".to_owned(),
            ran.to_string(),
            "done".to_owned(),
        ];
        assert_eq!(rows[label], expected, "{label}\n{shown}");
    }
    assert_eq!(last, "9 bundles: 9 done");
    assert_output!("table", table_text(&shown));
}
#[test]
fn a_failing_host_stops_the_push_unless_keep_going() {
    let setup = eight_hosts("pve-6");

    // Two at a time: pve-6 fails; the push under way finishes; nothing else starts.
    let output = setup.push(&["--all", "--yes", "-j", "2"]);
    let shown = stdout(&output);
    let error = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{shown}\n{error}");
    assert!(error.contains("the push failed on pve-6"), "{error}");
    assert!(error.contains("No route to host"), "{error}");
    assert!(error.contains("--keep-going"), "{error}");
    let started: BTreeSet<String> = setup
        .timeline()
        .into_iter()
        .filter(|(_, event, _)| event == "hold")
        .map(|(_, _, host)| host)
        .collect();
    let (rows, _) = table(&shown);
    let failed = rows["pve-6"].join(" ");
    assert!(
        failed.starts_with("- - - - failed: ") && failed.ends_with("No route to host"),
        "{shown}"
    );
    for host in ["pve-8", "pve-9", "pve-10", "pve-11"] {
        assert!(!started.contains(host), "{host} started: {started:?}");
    }
    for host in HOSTS.iter().filter(|host| **host != "pve-6") {
        let result = rows[*host].join(" ");
        if started.contains(*host) {
            assert!(result.ends_with(" done"), "{host}: {shown}");
            assert_eq!(setup.host_file(host, CHRONY), setup.out_file(host, CHRONY));
        } else {
            assert!(
                result.ends_with("skipped: not started after pve-6 failed"),
                "{host}: {shown}"
            );
            assert!(setup.host_tree(host).is_empty(), "{host}");
        }
    }
    let cluster = format!("cluster ({})", setup.members()[0]);
    assert!(rows[&cluster]
        .join(" ")
        .ends_with("skipped: not started after pve-6 failed"));

    // --keep-going pushes every other host; the cluster bundle waits for a member that failed.
    let output = setup.push(&["--all", "--yes", "--keep-going"]);
    let shown = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{shown}\n{}",
        stderr(&output)
    );
    let (rows, last) = table(&shown);
    for host in HOSTS.iter().filter(|host| **host != "pve-6") {
        assert_eq!(setup.host_file(host, CHRONY), setup.out_file(host, CHRONY));
        let expected = if started.contains(*host) {
            " up to date"
        } else {
            " done"
        };
        assert!(rows[*host].join(" ").ends_with(expected), "{host}: {shown}");
    }
    assert!(
        rows[&cluster]
            .join(" ")
            .ends_with("skipped: pve-6 did not go through"),
        "{shown}"
    );
    assert!(
        last.contains("1 failed") && last.contains("1 skipped"),
        "{last}"
    );
}

/// On a terminal (a pseudo-terminal from util-linux's `script`), the live
/// lines are drawn and redrawn in place, each host's block is printed whole
/// above them, and the table ends the output.
#[test]
fn on_a_terminal_live_lines_are_redrawn_under_the_finished_blocks() {
    let script = require_tool("script");
    let setup = Setup::new();
    let hosts = [
        "esxi-5", "pve-5", "pve-6", "pve-7", "pve-8", "pve-9", "pve-10",
    ];
    for host in hosts {
        fs::create_dir_all(setup.host_root(host).join("etc/pve")).unwrap();
    }
    let root = setup.sshd.dir().join("hosts").join("{host}");
    let lugc = setup.push_command(setup.sshd.port(), &root.display().to_string(), &["--all"]);
    let quote =
        |word: &std::ffi::OsStr| format!("'{}'", word.to_str().unwrap().replace('\'', r"'\''"));
    let line: Vec<String> = std::iter::once(lugc.get_program())
        .chain(lugc.get_args())
        .map(quote)
        .collect();
    let mut command = Command::new(script);
    command
        .args(["-qec", &line.join(" "), "/dev/null"])
        .env_clear()
        // A terminal that can move its cursor (without TERM, or with TERM=dumb, no live lines are drawn).
        .env("TERM", "xterm")
        .current_dir(lugc.get_current_dir().unwrap());
    for (key, value) in lugc.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let output = command.output().unwrap();
    let text = stdout(&output).replace("\r\n", "\n");
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    // A line cleared after the cursor moved up onto it: redrawn in place.
    assert!(
        text.contains("A\r\x1b[2K"),
        "no live line was redrawn:\n{text:?}"
    );
    assert!(
        text.contains("connecting") || text.contains("waiting"),
        "{text:?}"
    );
    for host in hosts {
        assert!(
            text.contains(&format!("] {host}\n{host} (")),
            "{host}: {text:?}"
        );
    }
    assert!(text.contains("\nBUNDLE "), "{text:?}");
    // Each finished block ends with its verdict on a line of its own; a live
    // line may show the same words while its host finishes.
    assert_eq!(
        text.matches("\n  dry run: nothing was changed").count(),
        hosts.len() + 1,
        "{text:?}"
    );
}
