//! diff::output: a [`Review`] drawn for a terminal: the full text with
//! unified diffs, `--stat` and `--name-only`, each (but the names) opening
//! with the summary. The pieces markdown shares live here too.
//!
//! Input: a review and whether to colour; output: text on a writer. Reads
//! no tree and decides nothing about what changed.

use std::io::{self, Write};

use crate::diff::report::{BundleChange, Content, FileChange, Report, Status};
use crate::diff::review::{Group, Review, Summary};
use crate::manifest::Entry;
use crate::natural;

pub use crate::ui::plural;
use crate::ui::{pad, width, Paint};

/// A bundle id as text and markdown show it.
pub fn short(id: Option<&String>) -> &str {
    crate::ui::short_id(id.map(String::as_str))
}

/// `7 hosts, 7 files changed, +7 -7 lines`.
pub fn totals(summary: &Summary<'_>, minus: &str) -> String {
    format!(
        "{}, {} changed, +{} {minus}{} lines",
        plural(summary.hosts.len(), "host"),
        plural(summary.files, "file"),
        summary.lines_added,
        summary.lines_removed,
    )
}

/// The lines of the summary under its title, without styling: bundles by
/// status, warnings, hand edits, notes. Markdown draws the same facts.
pub fn summary_facts(review: &Review<'_>) -> Vec<(&'static str, String)> {
    let summary = &review.summary;
    let mut facts = Vec::new();
    let mut push = |label: &'static str, names: &[&str]| {
        if !names.is_empty() {
            facts.push((label, natural::list(names)));
        }
    };
    push("modified", &summary.modified);
    push("added", &summary.added);
    if !summary.removed.is_empty() {
        facts.push((
            "removed",
            format!(
                "{} (push leaves those hosts as they are)",
                natural::list(&summary.removed)
            ),
        ));
    }
    if !summary.renamed.is_empty() {
        let renames: Vec<String> = summary.renamed.iter().map(|b| bundle_rename(b)).collect();
        facts.push(("renamed", renames.join(", ")));
    }
    for warning in &summary.warnings {
        facts.push(("warning", warning.clone()));
    }
    for edit in &review.report.hand_edits {
        facts.push((
            "hand edit",
            format!("{} (out/ at {}) {}", edit.location, edit.side, edit.reason),
        ));
    }
    for note in &review.report.notes {
        facts.push(("note", note.clone()));
    }
    facts
}

/// `pve-7 → pve-12 (92% similar)`.
fn bundle_rename(bundle: &BundleChange) -> String {
    format!(
        "{} → {}{}",
        bundle.old_name(),
        bundle.name,
        similar(bundle.similarity)
    )
}

fn similar(similarity: Option<u8>) -> String {
    similarity.map_or_else(String::new, |percent| format!(" ({percent}% similar)"))
}

/// The action lines of the summary: `systemctl restart chrony.service on pve-5, pve-6`.
pub fn action_facts<'a>(summary: &Summary<'a>) -> Vec<(&'a str, String)> {
    summary
        .actions
        .iter()
        .map(|(action, bundles)| (*action, natural::list(bundles)))
        .collect()
}

fn write_summary(review: &Review<'_>, paint: Paint, out: &mut dyn Write) -> io::Result<()> {
    let report = review.report;
    let title = format!(
        "{} → {}: {}",
        report.old,
        report.new,
        totals(&review.summary, "-")
    );
    writeln!(out, "{}", paint.bold(&title))?;
    for (label, text) in summary_facts(review) {
        let line = format!("  {label}: {text}");
        match label {
            "warning" | "hand edit" | "note" => writeln!(out, "{}", paint.yellow(&line))?,
            _ => writeln!(out, "{line}")?,
        }
    }
    let actions = action_facts(&review.summary);
    if !actions.is_empty() {
        writeln!(out, "push runs:")?;
        for (action, bundles) in actions {
            writeln!(out, "  {action} on {bundles}")?;
        }
    }
    Ok(())
}

/// `pve-5: bundle 6c7c26410e9b → 3f1e0a9c2b7d`, `new bundle`, `removed`, `renamed`.
pub fn bundle_line(bundle: &BundleChange) -> String {
    let (old, new) = (short(bundle.old_id.as_ref()), short(bundle.new_id.as_ref()));
    match bundle.status() {
        Status::Added => format!("{}: new bundle {new}", bundle.name),
        Status::Removed => format!(
            "{}: bundle {old} removed; push leaves {} as it is",
            bundle.name, bundle.name
        ),
        Status::Renamed => format!(
            "{}: bundle renamed, {old} → {new}; push treats {} as new and runs every action",
            bundle_rename(bundle),
            bundle.name
        ),
        Status::Modified | Status::Moved => format!("{}: bundle {old} → {new}", bundle.name),
    }
}

/// Changes of mode, owner and action, e.g. `mode 0644 → 0600`.
pub fn metadata_changes(file: &FileChange) -> Vec<String> {
    let (Some(old), Some(new)) = (&file.old, &file.new) else {
        return Vec::new();
    };
    let action = |entry: &Entry| entry.action.clone().unwrap_or_else(|| "-".to_owned());
    let mut changes = Vec::new();
    if old.mode != new.mode {
        changes.push(format!("mode {:04o} → {:04o}", old.mode, new.mode));
    }
    if old.owner != new.owner {
        changes.push(format!("owner {} → {}", old.owner, new.owner));
    }
    if old.action != new.action {
        changes.push(format!("action {} → {}", action(old), action(new)));
    }
    changes
}

/// `added /etc/x (0644 root:root)`, `removed /etc/x`, `modified /etc/x`,
/// `renamed /a → /b (80% similar)`, `moved /etc/x from pve-5`.
pub fn file_line(file: &FileChange) -> String {
    let from = file.from.as_ref();
    match file.status {
        Status::Added => {
            let entry = file.entry();
            format!("added {} ({:04o} {})", file.path, entry.mode, entry.owner)
        }
        Status::Removed => match &file.moved_to {
            Some(to) if to.path == file.path => {
                format!("removed {} (moved to {})", file.path, to.bundle)
            }
            Some(to) => format!("removed {} (moved to {}:{})", file.path, to.bundle, to.path),
            None => format!("removed {}", file.path),
        },
        Status::Modified => format!("modified {}", file.path),
        Status::Renamed => format!(
            "renamed {} → {}{}",
            from.map_or("?", |from| from.path.as_str()),
            file.path,
            similar(file.similarity)
        ),
        Status::Moved => {
            let from = from.map_or_else(String::new, |from| {
                if from.path == file.path {
                    from.bundle.clone()
                } else {
                    format!("{}:{}", from.bundle, from.path)
                }
            });
            format!(
                "moved {} from {from}{}",
                file.path,
                similar(file.similarity)
            )
        }
    }
}

/// A line about content that is not shown, or `None` for text and same bytes.
pub fn content_note(content: &Content) -> Option<String> {
    match content {
        Content::Binary {
            old_bytes,
            new_bytes,
        } => Some(format!(
            "binary file, not shown: {old_bytes} → {new_bytes} bytes"
        )),
        Content::TooLarge {
            old_bytes,
            new_bytes,
        } => Some(format!(
            "too large to show: {old_bytes} → {new_bytes} bytes"
        )),
        Content::Hidden { added, removed } => Some(format!(
            "(content hidden, {} changed)",
            plural(added + removed, "line")
        )),
        Content::Same | Content::Text { .. } => None,
    }
}

/// Whether a file's diff is shown: not for a file whose content is shown
/// where it moved to, nor for the files of a removed bundle (named only).
pub fn shows_diff(bundle: Option<&BundleChange>, file: &FileChange) -> bool {
    file.moved_to.is_none() && bundle.is_none_or(|bundle| bundle.status() != Status::Removed)
}

/// The `---`/`+++` lines: `a/pve-5/etc/x` with the bundle (or without for a
/// group), `/dev/null` for a missing side.
pub fn diff_header(bundle: Option<&BundleChange>, file: &FileChange) -> (String, String) {
    let old = file.old.as_ref().map(|_| match bundle {
        Some(bundle) => {
            let place = file.old_place(bundle);
            format!("a/{}{}", place.bundle, place.path)
        }
        None => format!(
            "a{}",
            file.from.as_ref().map_or(&file.path, |from| &from.path)
        ),
    });
    let new = file.new.as_ref().map(|_| match bundle {
        Some(bundle) => format!("b/{}{}", bundle.name, file.path),
        None => format!("b{}", file.path),
    });
    let or_null = |name: Option<String>| name.unwrap_or_else(|| "/dev/null".to_owned());
    (
        format!("--- {}", or_null(old)),
        format!("+++ {}", or_null(new)),
    )
}

/// `modified /etc/x, same change on 7 hosts: pve-5, …`; `… on 7 hosts,
/// each with its own name: …` when each diff names its host.
pub fn group_line(group: &Group<'_>) -> String {
    format!(
        "{}, same change on {}{}: {}",
        file_line(group.change),
        plural(group.bundles.len(), "host"),
        each_named(group),
        natural::list(&group.bundles)
    )
}

/// `, each with its own name` for a group whose diffs differ by the host's name.
pub fn each_named(group: &Group<'_>) -> &'static str {
    if group.host_named {
        ", each with its own name"
    } else {
        ""
    }
}

fn write_file(
    bundle: Option<&BundleChange>,
    file: &FileChange,
    headline: &str,
    paint: Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "{}", paint.bold(headline))?;
    if !shows_diff(bundle, file) {
        return Ok(());
    }
    for change in metadata_changes(file) {
        writeln!(out, "  {}", paint.yellow(&change))?;
    }
    if let Some(note) = content_note(&file.content) {
        writeln!(out, "  {}", paint.yellow(&note))?;
    }
    if let Content::Text { hunks, .. } = &file.content {
        let (minus, plus) = diff_header(bundle, file);
        writeln!(out, "{}", paint.bold(&minus))?;
        writeln!(out, "{}", paint.bold(&plus))?;
        for line in hunks.lines() {
            let line = match line.as_bytes().first() {
                Some(b'@') => paint.cyan(line),
                Some(b'-') => paint.red(line),
                Some(b'+') => paint.green(line),
                _ => line.to_owned(),
            };
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The summary, each group once, then per bundle what is its own.
pub fn text(review: &Review<'_>, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let report = review.report;
    if !report.changed() {
        return Ok(());
    }
    let paint = Paint(color);
    write_summary(review, paint, out)?;
    for group in &review.groups {
        writeln!(out)?;
        write_file(None, group.change, &group_line(group), paint, out)?;
    }
    for (index, bundle) in report.bundles.iter().enumerate() {
        if !review.has_own_section(index) {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{}", paint.bold(&bundle_line(bundle)))?;
        if !bundle.is_host() {
            writeln!(out, "reaches {}", natural::list(&bundle.reaches))?;
        }
        let shared = review.shared_paths(index);
        if !shared.is_empty() {
            writeln!(out, "and the changes above to {}", shared.join(", "))?;
        }
        for file in review.own_files(index) {
            write_file(Some(bundle), file, &file_line(file), paint, out)?;
        }
    }
    Ok(())
}

/// A path as `--stat` shows it: a rename as `/etc/pve/nodes/{pve-5 → pve-6}/qemu-server/230.conf`.
pub fn stat_path(file: &FileChange) -> String {
    match (&file.from, file.status) {
        (Some(from), Status::Renamed) => rename_path(&from.path, &file.path),
        (Some(from), Status::Moved) if from.path == file.path => {
            format!("{} (from {})", file.path, from.bundle)
        }
        (Some(from), Status::Moved) => {
            format!("{} (from {}:{})", file.path, from.bundle, from.path)
        }
        _ => file.path.clone(),
    }
}

/// `old` and `new` with their common leading directories and trailing part
/// written once, as git's `--stat` does.
fn rename_path(old: &str, new: &str) -> String {
    let prefix = old
        .char_indices()
        .zip(new.chars())
        .take_while(|((_, a), b)| a == b)
        .filter(|((_, a), _)| *a == '/')
        .last()
        .map_or(0, |((index, _), _)| index + 1);
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let suffix = old_rest
        .char_indices()
        .rev()
        .zip(new_rest.chars().rev())
        .take_while(|((_, a), b)| a == b)
        .filter(|((_, a), _)| *a == '/')
        .last()
        .map_or(old_rest.len(), |((index, _), _)| index);
    let common_suffix = &old_rest[suffix..];
    let new_middle = &new_rest[..new_rest.len() - common_suffix.len()];
    format!(
        "{}{{{} → {new_middle}}}{common_suffix}",
        &old[..prefix],
        &old_rest[..suffix]
    )
}

/// `+1 -1`, `binary`, `too large`, or the metadata that changed.
pub fn stat_counts(file: &FileChange, minus: &str) -> String {
    if let Some(to) = &file.moved_to {
        return format!("moved to {}", to.bundle);
    }
    match &file.content {
        Content::Text { added, removed, .. } => format!("+{added} {minus}{removed}"),
        Content::Binary { .. } => "binary".to_owned(),
        Content::TooLarge { .. } => "too large".to_owned(),
        Content::Hidden { added, removed } => format!("+{added} {minus}{removed} (hidden)"),
        Content::Same => {
            let changes = metadata_changes(file);
            if changes.is_empty() {
                "same bytes".to_owned()
            } else {
                changes.join(", ")
            }
        }
    }
}

/// `--stat`: the summary, then one line per group and per own file change.
pub fn stat(review: &Review<'_>, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let report = review.report;
    if !report.changed() {
        return Ok(());
    }
    let paint = Paint(color);
    write_summary(review, paint, out)?;
    let mut rows: Vec<(String, String, &FileChange, Option<String>)> = review
        .groups
        .iter()
        .map(|group| {
            let who = plural(group.bundles.len(), "host");
            let hosts = natural::list(&group.bundles);
            (who, stat_path(group.change), group.change, Some(hosts))
        })
        .collect();
    for (index, bundle) in report.bundles.iter().enumerate() {
        rows.extend(
            review
                .own_files(index)
                .map(|file| (bundle.name.clone(), stat_path(file), file, None)),
        );
    }
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let who_width = rows.iter().map(|row| width(&row.0)).max().unwrap_or(0);
    let path_width = rows.iter().map(|row| width(&row.1)).max().unwrap_or(0);
    for (who, path, file, hosts) in rows {
        let counts = match &file.content {
            Content::Text { added, removed, .. } if file.moved_to.is_none() => format!(
                "{} {}",
                paint.green(&format!("+{added}")),
                paint.red(&format!("-{removed}"))
            ),
            _ => stat_counts(file, "-"),
        };
        let line = format!(
            "{}  {}  {counts}",
            pad(&who, who_width),
            pad(&path, path_width)
        );
        match hosts {
            Some(hosts) => writeln!(out, "{line}  {hosts}")?,
            None => writeln!(out, "{line}")?,
        }
    }
    Ok(())
}

/// `--name-only`: the paths inside out/ that change, one a line: a renamed
/// file's old path too (a moved file's is listed by the bundle it left).
pub fn name_only(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for bundle in &report.bundles {
        for file in &bundle.files {
            let new = file
                .new
                .as_ref()
                .map(|_| format!("{}{}", bundle.name, file.path));
            let old = file
                .old
                .as_ref()
                .filter(|_| file.status != Status::Moved)
                .map(|_| {
                    let place = file.old_place(bundle);
                    format!("{}{}", place.bundle, place.path)
                })
                .filter(|old| Some(old) != new.as_ref());
            for path in old.into_iter().chain(new) {
                writeln!(out, "{path}")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_write_the_common_parts_once() {
        assert_eq!(
            rename_path(
                "/etc/pve/nodes/pve-5/qemu-server/230.conf",
                "/etc/pve/nodes/pve-6/qemu-server/230.conf"
            ),
            "/etc/pve/nodes/{pve-5 → pve-6}/qemu-server/230.conf"
        );
        assert_eq!(rename_path("/etc/a", "/etc/b"), "/etc/{a → b}");
        assert_eq!(rename_path("/a/x", "/b/c/x"), "/{a → b/c}/x");
    }
}
