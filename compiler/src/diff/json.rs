//! diff::json: the `--json` schema, `lugc-diff 1`, documented in
//! ARCHITECTURE.md. The only serialised form of a [`Report`]; the internal
//! types stay free to change. Any incompatible change bumps the version.
//!
//! Input: a report; output: one JSON document on a writer. Decides nothing.

use std::io::{self, Write};

use serde::Serialize;

use crate::diff::{Content, Report};
use crate::manifest::Entry;

/// Value of the `schema` field.
pub const SCHEMA: &str = "lugc-diff 1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    old: &'a str,
    new: &'a str,
    changed: bool,
    bundles: Vec<Bundle<'a>>,
}

#[derive(Serialize)]
struct Bundle<'a> {
    name: &'a str,
    status: &'static str,
    old_id: Option<&'a str>,
    new_id: Option<&'a str>,
    reaches: &'a [String],
    files: Vec<File<'a>>,
    actions: &'a [String],
}

#[derive(Serialize)]
struct File<'a> {
    path: &'a str,
    status: &'static str,
    old: Option<Meta<'a>>,
    new: Option<Meta<'a>>,
    /// `text`, `same`, `binary` or `too_large`.
    content: &'static str,
    lines_added: Option<usize>,
    lines_removed: Option<usize>,
    /// Unified diff hunks without the `---`/`+++` header; text only.
    diff: Option<&'a str>,
}

#[derive(Serialize)]
struct Meta<'a> {
    blake3: &'a str,
    mode: String,
    owner: &'a str,
    action: Option<&'a str>,
}

fn meta(entry: Option<&Entry>) -> Option<Meta<'_>> {
    entry.map(|entry| Meta {
        blake3: &entry.blake3,
        mode: format!("{:04o}", entry.mode),
        owner: &entry.owner,
        action: entry.action.as_deref(),
    })
}

/// Write `report` as one pretty-printed `lugc-diff 1` document and a newline.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let bundles = report
        .bundles
        .iter()
        .map(|bundle| Bundle {
            name: &bundle.name,
            status: bundle.status().as_str(),
            old_id: bundle.old_id.as_deref(),
            new_id: bundle.new_id.as_deref(),
            reaches: &bundle.reaches,
            actions: &bundle.actions,
            files: bundle
                .files
                .iter()
                .map(|file| {
                    let (content, added, removed, diff) = match &file.content {
                        Content::Same => ("same", None, None, None),
                        Content::Text {
                            added,
                            removed,
                            hunks,
                        } => ("text", Some(*added), Some(*removed), Some(hunks.as_str())),
                        Content::Binary { .. } => ("binary", None, None, None),
                        Content::TooLarge { .. } => ("too_large", None, None, None),
                    };
                    File {
                        path: &file.path,
                        status: file.status.as_str(),
                        old: meta(file.old.as_ref()),
                        new: meta(file.new.as_ref()),
                        content,
                        lines_added: added,
                        lines_removed: removed,
                        diff,
                    }
                })
                .collect(),
        })
        .collect();
    let document = Document {
        schema: SCHEMA,
        old: &report.old,
        new: &report.new,
        changed: !report.bundles.is_empty(),
        bundles,
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::other)?;
    writeln!(out)
}
