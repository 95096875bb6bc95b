//! diff::json: the `--json` schema, `lugc-diff 2`, documented in
//! ARCHITECTURE.md. The only serialised form of a [`Report`]; the internal
//! types stay free to change. Any incompatible change bumps the version.
//!
//! Input: a review; output: one JSON document on a writer. Decides nothing.

use std::io::{self, Write};

use serde::Serialize;

use crate::diff::report::{BundleChange, Content, FileChange, HandEdit, Place};
use crate::diff::review::Review;
use crate::manifest::Entry;

/// Value of the `schema` field.
pub const SCHEMA: &str = "lugc-diff 2";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    old: &'a str,
    new: &'a str,
    changed: bool,
    summary: Summary<'a>,
    hand_edits: &'a [HandEdit],
    notes: &'a [String],
    groups: Vec<Group<'a>>,
    bundles: Vec<Bundle<'a>>,
    /// Only in `push --json`: `[ { bundle, host, kind, path, words } ]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    harms: Option<&'a [crate::harm::Listed]>,
}

#[derive(Serialize)]
struct Summary<'a> {
    hosts: &'a [&'a str],
    modified: &'a [&'a str],
    added: &'a [&'a str],
    removed: &'a [&'a str],
    renamed: Vec<Rename<'a>>,
    files: usize,
    lines_added: usize,
    lines_removed: usize,
    actions: Vec<Action<'a>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct Rename<'a> {
    old: &'a str,
    new: &'a str,
    similarity: Option<u8>,
}

#[derive(Serialize)]
struct Action<'a> {
    action: &'a str,
    bundles: &'a [&'a str],
}

#[derive(Serialize)]
struct Group<'a> {
    bundles: &'a [&'a str],
    /// Each bundle's diff names its own host where `diff` names the first.
    host_named: bool,
    #[serde(flatten)]
    change: File<'a>,
}

#[derive(Serialize)]
struct Bundle<'a> {
    name: &'a str,
    old_name: Option<&'a str>,
    status: &'static str,
    similarity: Option<u8>,
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
    from: Option<&'a Place>,
    moved_to: Option<&'a Place>,
    similarity: Option<u8>,
    /// Index into `groups`, for a change other bundles make too.
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<Option<usize>>,
    old: Option<Meta<'a>>,
    new: Option<Meta<'a>>,
    /// `text`, `same`, `binary`, `too_large` or `hidden`.
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

impl Serialize for HandEdit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut edit = serializer.serialize_struct("HandEdit", 3)?;
        edit.serialize_field("side", &self.side)?;
        edit.serialize_field("location", &self.location)?;
        edit.serialize_field("reason", &self.reason)?;
        edit.end()
    }
}

impl Serialize for Place {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut place = serializer.serialize_struct("Place", 2)?;
        place.serialize_field("bundle", &self.bundle)?;
        place.serialize_field("path", &self.path)?;
        place.end()
    }
}

fn meta(entry: Option<&Entry>) -> Option<Meta<'_>> {
    entry.map(|entry| Meta {
        blake3: &entry.blake3,
        mode: format!("{:04o}", entry.mode),
        owner: &entry.owner,
        action: entry.action.as_deref(),
    })
}

fn file(file: &FileChange, group: Option<Option<usize>>) -> File<'_> {
    let (content, added, removed, diff) = match &file.content {
        Content::Same => ("same", None, None, None),
        Content::Text {
            added,
            removed,
            hunks,
        } => ("text", Some(*added), Some(*removed), Some(&**hunks)),
        Content::Binary { .. } => ("binary", None, None, None),
        Content::TooLarge { .. } => ("too_large", None, None, None),
        Content::Hidden { added, removed } => ("hidden", Some(*added), Some(*removed), None),
    };
    File {
        path: &file.path,
        status: file.status.as_str(),
        from: file.from.as_ref(),
        moved_to: file.moved_to.as_ref(),
        similarity: file.similarity,
        group,
        old: meta(file.old.as_ref()),
        new: meta(file.new.as_ref()),
        content,
        lines_added: added,
        lines_removed: removed,
        diff,
    }
}

fn bundle<'a>(review: &'a Review<'_>, index: usize, bundle: &'a BundleChange) -> Bundle<'a> {
    Bundle {
        name: &bundle.name,
        old_name: bundle.old_name.as_deref(),
        status: bundle.status().as_str(),
        similarity: bundle.similarity,
        old_id: bundle.old_id.as_deref(),
        new_id: bundle.new_id.as_deref(),
        reaches: &bundle.reaches,
        actions: &bundle.actions,
        files: bundle
            .files
            .iter()
            .zip(&review.group_of[index])
            .map(|(change, group)| file(change, Some(*group)))
            .collect(),
    }
}

/// Write `review` as one pretty-printed `lugc-diff 2` document and a newline.
pub fn write(review: &Review<'_>, out: &mut dyn Write) -> io::Result<()> {
    let report = review.report;
    let summary = &review.summary;
    let document = Document {
        schema: SCHEMA,
        old: &report.old,
        new: &report.new,
        changed: report.changed(),
        summary: Summary {
            hosts: &summary.hosts,
            modified: &summary.modified,
            added: &summary.added,
            removed: &summary.removed,
            renamed: summary
                .renamed
                .iter()
                .map(|bundle| Rename {
                    old: bundle.old_name(),
                    new: &bundle.name,
                    similarity: bundle.similarity,
                })
                .collect(),
            files: summary.files,
            lines_added: summary.lines_added,
            lines_removed: summary.lines_removed,
            actions: summary
                .actions
                .iter()
                .map(|(action, bundles)| Action { action, bundles })
                .collect(),
            warnings: &summary.warnings,
        },
        hand_edits: &report.hand_edits,
        notes: &report.notes,
        groups: review
            .groups
            .iter()
            .map(|group| Group {
                bundles: &group.bundles,
                host_named: group.host_named,
                change: file(group.change, None),
            })
            .collect(),
        bundles: report
            .bundles
            .iter()
            .enumerate()
            .map(|(index, change)| bundle(review, index, change))
            .collect(),
        harms: report.harms.as_deref(),
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::other)?;
    writeln!(out)
}
