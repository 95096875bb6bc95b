//! `lugc status`: every bundle (or those named) against its host, read-only,
//! `-j N` hosts at a time. Text rows are printed as each host answers, so a
//! slow host delays only its own row (when stdout is not a terminal, rows
//! keep host order, the cluster bundle last); then a summary line. `--json`
//! prints one `lugc-status 1` document instead (the same order); `--diff`
//! adds each host's content diffs as a dry run shows them. Exit 0 when every
//! bundle is in sync, 1 when any is not, 2 when a host could not be looked
//! at (unreachable, or an error), as `lugc facts` does.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use clap::Args;
use serde::Serialize;

use super::connect::{self, label, ConnectArgs};
use crate::compile;
use crate::config::{Config, InputArgs};
use crate::diff::View;
use crate::error::{Error, Outcome};
use crate::host::probe::RevertState;
use crate::host::Remote;
use crate::plan::{Change, Desired};
use crate::push::{self, guard};
use crate::status::{self, Ask, Row, State};
use crate::ui::{plural, short_id};

/// Value of the `schema` field of `--json`.
pub const SCHEMA: &str = "lugc-status 1";

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Hosts (or `cluster`) to look at [default: every host, then the cluster bundle].
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,

    #[command(flatten)]
    pub jobs: connect::JobsArgs,

    /// One `lugc-status 1` JSON document instead of the table.
    #[arg(long, conflicts_with = "diff")]
    pub json: bool,

    /// Also show each file that differs, the host's version against out/'s (secrets hidden); reads their content.
    #[arg(long)]
    pub diff: bool,

    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// One bundle to look at.
struct Job {
    desired: Desired,
    out_id: String,
    host: String,
    remote: Remote,
}

pub fn run(args: &StatusArgs, color: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    let config = Config::from_args(&args.input)?;
    let compilation = compile(&config)?;
    guard::current(&config, &compilation.bundles)?;
    let jobs = jobs(args, &config, &compilation)?;
    let secret_paths = &compilation.fleet.secret_paths;
    let names: Vec<String> = jobs
        .iter()
        .map(|job| label(&job.desired.bundle, &job.host))
        .collect();
    let width = names
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("BUNDLE".len());
    if !args.json {
        writeln!(
            out,
            "{:width$}  {:12}  {:12}  STATE",
            "BUNDLE", "OUT", "PUSHED"
        )?;
        out.flush()?;
    }
    // On a terminal each row as its host answers; else in host order, each once those before it are in.
    let in_order = !std::io::stdout().is_terminal();
    let mut printed = 0;
    let mut rows: Vec<Option<Row>> = vec![None; jobs.len()];
    let look = |job: &Job| {
        let ask = Ask {
            desired: &job.desired,
            out_id: &job.out_id,
            diff: args.diff,
            secret_paths,
        };
        status::check(&job.remote, &job.host, &ask)
    };
    connect::in_parallel(
        &jobs,
        args.jobs.jobs,
        look,
        |index, row| -> Result<(), Error> {
            rows[index] = Some(row?);
            if args.json {
                return Ok(());
            }
            let ready = if in_order {
                let next = rows[printed..]
                    .iter()
                    .take_while(|row| row.is_some())
                    .count();
                (printed..printed + next).collect()
            } else {
                vec![index]
            };
            for index in ready {
                let row = rows[index].as_ref().expect("answered");
                writeln!(out, "{}", text_row(&names[index], width, row))?;
                printed += 1;
            }
            out.flush()?;
            Ok(())
        },
    )?;
    let rows: Vec<Row> = rows.into_iter().flatten().collect();
    if args.json {
        write_json(&rows, out)?;
    } else {
        writeln!(out, "{}", summary(&rows))?;
        if args.diff {
            let previews = rows.iter().filter_map(|row| row.preview.clone()).collect();
            super::push::draw_previews(previews, Vec::new(), &View::Text, color, out)?;
        }
    }
    Ok(outcome(&rows))
}

/// Exit 2 when a host could not be looked at, else 1 when a bundle is not in sync.
fn outcome(rows: &[Row]) -> Outcome {
    if rows
        .iter()
        .any(|row| matches!(row.state, State::Unreachable(_) | State::Error(_)))
    {
        Outcome::Failed
    } else if rows.iter().all(|row| row.state == State::InSync) {
        Outcome::Clean
    } else {
        Outcome::Differs
    }
}

/// The bundles `args` name, each with where it lands.
fn jobs(
    args: &StatusArgs,
    config: &Config,
    compilation: &crate::Compilation,
) -> Result<Vec<Job>, Error> {
    connect::selected(&args.hosts, &compilation.bundles)?
        .into_iter()
        .map(|bundle| {
            let (host, remote) = args.connect.destination(&compilation.fleet, bundle)?;
            Ok(Job {
                desired: push::desired_from_out(&config.out, &bundle.name)?,
                out_id: bundle.id.clone(),
                host,
                remote,
            })
        })
        .collect()
}

/// `pve-5  bba1809cc079  bba1809cc079  in sync`, with what is behind the state.
fn text_row(name: &str, width: usize, row: &Row) -> String {
    let detail = match &row.state {
        State::InSync | State::NotPushed => String::new(),
        State::Drift(paths) => format!(": {}", paths.join(", ")),
        State::CutShort(ids) if !row.confirmed.is_empty() => format!(
            ": {} (confirmed on {}: push again to record it complete)",
            ids.join(", "),
            row.host
        ),
        State::CutShort(ids) => format!(
            ": {} (push again to complete, or --rollback)",
            ids.join(", ")
        ),
        State::RollbackCutShort(ids) => format!(
            ": {} (`lugc push {} --rollback` finishes it)",
            ids.join(", "),
            row.bundle
        ),
        State::Armed(armed) => match armed.state() {
            RevertState::Due => format!(": {}", push::armed::due(armed, &row.host)),
            RevertState::Gone => format!(
                ": {}; `lugc push {} --force` abandons it once its backup is checked",
                push::armed::gone(armed, &row.host),
                row.bundle
            ),
            RevertState::Stale => format!(
                ": push {} was never confirmed and its revert never ran (did {} restart?); push again to complete it, or --rollback",
                armed.id, row.host
            ),
        },
        State::NeverPushed { matching } => {
            format!(" ({matching} of {} files already match)", row.files)
        }
        State::Unreachable(error) | State::Error(error) => format!(": {error}"),
    };
    let pushed = match row.state {
        State::Unreachable(_) => "?",
        _ => short_id(row.pushed_id.as_deref()),
    };
    let reverted = row.reverted.as_ref().map_or_else(String::new, |reverted| {
        let incomplete = if reverted.complete {
            ""
        } else {
            " (incomplete: see its REVERT.log)"
        };
        format!(
            "; {} reverted push {} at {} because it was not confirmed{incomplete}",
            row.host, reverted.push, reverted.at
        )
    });
    let dropped = if row.storage_dropped.is_empty() {
        String::new()
    } else {
        let lost: Vec<String> = row
            .storage_dropped
            .iter()
            .map(ToString::to_string)
            .collect();
        format!(
            "; {}'s storage.cfg holds what out/ lacks, which a push would drop: {}",
            row.host,
            lost.join(", ")
        )
    };
    format!(
        "{name:width$}  {:12}  {pushed:12}  {}{detail}{reverted}{dropped}",
        short_id(Some(&row.out_id)),
        row.state.name()
    )
}

/// `8 bundles: 5 in sync, 1 drift, 1 not pushed, 1 unreachable`.
fn summary(rows: &[Row]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for row in rows {
        match counts
            .iter_mut()
            .find(|(name, _)| *name == row.state.name())
        {
            Some((_, count)) => *count += 1,
            None => counts.push((row.state.name(), 1)),
        }
    }
    counts.sort_by_key(|(name, _)| ORDER.iter().position(|known| known == name));
    let parts: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{count} {name}"))
        .collect();
    format!("{}: {}", plural(rows.len(), "bundle"), parts.join(", "))
}

const ORDER: [&str; 12] = [
    "in sync",
    "not pushed",
    "drift",
    "push cut short",
    "rollback cut short",
    "revert armed",
    "reverting",
    "revert gone",
    "unconfirmed",
    "never pushed",
    "unreachable",
    "error",
];

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    in_sync: bool,
    summary: BTreeMap<String, usize>,
    bundles: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    bundle: &'a str,
    host: &'a str,
    target: &'a str,
    /// `in_sync`, `not_pushed`, `drift`, `cut_short`, `rollback_cut_short`,
    /// `revert_armed`, `reverting`, `revert_gone`, `unconfirmed`,
    /// `never_pushed`, `unreachable`, `error`.
    state: String,
    out_id: &'a str,
    pushed_id: Option<&'a str>,
    files: usize,
    /// Files that already match, for a bundle never pushed.
    matching: Option<usize>,
    drift: &'a [String],
    pending: &'a [String],
    /// The push the host last reverted on its own, unconfirmed.
    reverted: Option<JsonReverted<'a>>,
    /// The push whose revert is armed, running or gone.
    armed: Option<JsonArmed<'a>>,
    /// Pending pushes confirmed on the host but not recorded complete.
    confirmed: &'a [String],
    error: Option<&'a str>,
    changes: Vec<JsonChange<'a>>,
    /// What the host's storage.cfg holds that out/'s lacks.
    storage_dropped: Vec<JsonLost<'a>>,
}

#[derive(Serialize)]
struct JsonLost<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    storage_type: &'a str,
    /// null: the whole section.
    property: Option<&'a str>,
    /// Unknown to pve-storage's schema.
    foreign: bool,
}

#[derive(Serialize)]
struct JsonReverted<'a> {
    push: &'a str,
    bundle_id: &'a str,
    at: &'a str,
    complete: bool,
}

#[derive(Serialize)]
struct JsonArmed<'a> {
    push: &'a str,
    /// `due`, `gone` or `stale`, as the state says.
    revert: &'static str,
    reverting: bool,
    /// The deadline in UTC, by the host's clock.
    deadline: Option<&'a str>,
    seconds_left: i64,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    path: &'a str,
    /// `add`, `modify`, `metadata` or `remove`: what a push would do.
    change: &'static str,
}

impl<'a> JsonArmed<'a> {
    fn of(state: &'a State) -> Option<JsonArmed<'a>> {
        let State::Armed(armed) = state else {
            return None;
        };
        Some(JsonArmed {
            push: &armed.id,
            revert: match armed.state() {
                RevertState::Due => "due",
                RevertState::Gone => "gone",
                RevertState::Stale => "stale",
            },
            reverting: armed.reverting,
            deadline: armed.deadline.as_deref(),
            seconds_left: armed.left,
        })
    }
}

impl<'a> JsonChange<'a> {
    fn of(path: &'a str, change: &Change) -> JsonChange<'a> {
        let change = match change {
            Change::Add => "add",
            Change::Modify => "modify",
            Change::Metadata => "metadata",
            Change::Remove => "remove",
        };
        JsonChange { path, change }
    }
}

fn write_json(rows: &[Row], out: &mut dyn Write) -> std::io::Result<()> {
    let key = |state: &State| state.name().replace("push ", "").replace(' ', "_");
    let mut summary = BTreeMap::new();
    for row in rows {
        *summary.entry(key(&row.state)).or_insert(0) += 1;
    }
    let bundles = rows
        .iter()
        .map(|row| JsonRow {
            bundle: &row.bundle,
            host: &row.host,
            target: &row.target,
            state: key(&row.state),
            out_id: &row.out_id,
            pushed_id: row.pushed_id.as_deref(),
            files: row.files,
            matching: match row.state {
                State::NeverPushed { matching } => Some(matching),
                _ => None,
            },
            drift: match &row.state {
                State::Drift(paths) => paths,
                _ => &[],
            },
            pending: match &row.state {
                State::CutShort(ids) | State::RollbackCutShort(ids) => ids,
                _ => &[],
            },
            reverted: row.reverted.as_ref().map(|reverted| JsonReverted {
                push: &reverted.push,
                bundle_id: &reverted.bundle_id,
                at: &reverted.at,
                complete: reverted.complete,
            }),
            armed: JsonArmed::of(&row.state),
            confirmed: &row.confirmed,
            error: match &row.state {
                State::Unreachable(error) | State::Error(error) => Some(error),
                _ => None,
            },
            changes: row
                .changes
                .iter()
                .map(|(path, change)| JsonChange::of(path, change))
                .collect(),
            storage_dropped: row
                .storage_dropped
                .iter()
                .map(|lost| JsonLost {
                    id: &lost.id,
                    storage_type: &lost.storage_type,
                    property: lost.property.as_deref(),
                    foreign: lost.foreign,
                })
                .collect(),
        })
        .collect();
    let document = Document {
        schema: SCHEMA,
        in_sync: rows.iter().all(|row| row.state == State::InSync),
        summary,
        bundles,
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(std::io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: State) -> Row {
        Row {
            bundle: "pve-5".into(),
            host: "pve-5".into(),
            target: "root@pve-5".into(),
            out_id: "a".repeat(64),
            pushed_id: Some("b".repeat(64)),
            state,
            files: 14,
            changes: Vec::new(),
            preview: None,
            reverted: None,
            storage_dropped: Vec::new(),
            confirmed: Vec::new(),
        }
    }

    /// A row of every state, and what a row adds (a revert that ran, what
    /// a push would drop), checked whole; then the summary.
    #[test]
    fn status_rows_are_drawn_whole() {
        let id = "pve-5-0123456789ab.Xy3kP0aQ";
        let armed = |rest: &str| {
            crate::host::probe::ArmedPush::parse(&format!("{id} pve-5 {rest}")).unwrap()
        };
        let mut rows = vec![
            row(State::InSync),
            row(State::NotPushed),
            row(State::Drift(vec!["/etc/hosts".into(), "/etc/motd".into()])),
            row(State::CutShort(vec![id.into()])),
            row(State::RollbackCutShort(vec![id.into()])),
            row(State::Armed(armed("armed live 30 2026-01-01T00:00:00Z"))),
            row(State::Armed(armed("armed gone 3600 -"))),
            row(State::Armed(armed("armed unknown -600 -"))),
            row(State::NeverPushed { matching: 3 }),
            row(State::Unreachable(
                "ssh: connect to host pve-5 port 22: No route to host".into(),
            )),
            row(State::Error(
                "/var/lib/lugc/pve-5.MANIFEST is not UTF-8".into(),
            )),
        ];
        let mut confirmed = row(State::CutShort(vec![id.into()]));
        confirmed.confirmed = vec![id.into()];
        rows.push(confirmed);
        let mut reverted = row(State::NotPushed);
        reverted.reverted = Some(crate::host::record::Reverted {
            push: id.into(),
            bundle_id: "c".repeat(64),
            at: "2026-01-01T00:00:00Z".into(),
            complete: false,
        });
        reverted.storage_dropped = vec![crate::storage_cfg::Lost {
            id: "tank".into(),
            storage_type: "zfspool".into(),
            property: None,
            foreign: false,
        }];
        rows.push(reverted);
        let mut text: String = rows
            .iter()
            .map(|row| format!("{}\n", text_row("pve-5", 6, row)))
            .collect();
        text.push_str(&summary(&rows));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn rows_say_what_is_behind_the_state() {
        let drift = row(State::Drift(vec!["/etc/hosts".into()]));
        assert_eq!(
            text_row("pve-5", 6, &drift),
            format!(
                "pve-5   {}  {}  drift: /etc/hosts",
                "a".repeat(12),
                "b".repeat(12)
            )
        );
        let never = row(State::NeverPushed { matching: 3 });
        assert!(
            text_row("pve-5", 5, &never).ends_with("never pushed (3 of 14 files already match)")
        );
        let rows = [row(State::InSync), drift, row(State::InSync), never];
        assert_eq!(
            summary(&rows),
            "4 bundles: 2 in sync, 1 drift, 1 never pushed"
        );
    }
}
