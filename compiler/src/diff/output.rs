//! diff::output: a [`Report`] drawn for people: the full text with unified
//! diffs, `--stat`, `--name-only` and `--format markdown`.
//!
//! Input: a report and whether to colour; output: text on a writer. Reads
//! no tree and decides nothing about what changed; JSON lives in `json`.

use std::io::{self, Write};

use crate::diff::{BundleChange, Content, FileChange, Report, Status};
use crate::manifest::Entry;

/// Length of the bundle ids shown in text and markdown (JSON has them whole).
const SHORT_ID: usize = 12;

/// ANSI styles, or nothing when colour is off.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
    fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }
    fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }
    fn cyan(self, text: &str) -> String {
        self.wrap("36", text)
    }
    fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }
}

fn short(id: Option<&String>) -> &str {
    id.map_or("(none)", |id| &id[..SHORT_ID.min(id.len())])
}

/// `pve-5: bundle 6c7c26410e9b → 3f1e0a9c2b7d`, or `new bundle` / `removed`.
fn bundle_line(bundle: &BundleChange) -> String {
    match bundle.status() {
        Status::Added => format!(
            "{}: new bundle {}",
            bundle.name,
            short(bundle.new_id.as_ref())
        ),
        Status::Removed => format!(
            "{}: bundle {} removed",
            bundle.name,
            short(bundle.old_id.as_ref())
        ),
        Status::Modified => format!(
            "{}: bundle {} → {}",
            bundle.name,
            short(bundle.old_id.as_ref()),
            short(bundle.new_id.as_ref())
        ),
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

/// `added /etc/x (0644 root:root)`, `removed /etc/x`, `modified /etc/x`.
fn file_line(file: &FileChange) -> String {
    match file.status {
        Status::Added => {
            let entry = file.entry();
            format!("added {} ({:04o} {})", file.path, entry.mode, entry.owner)
        }
        Status::Removed => format!("removed {}", file.path),
        Status::Modified => format!("modified {}", file.path),
    }
}

/// A line about content that is not shown, or `None` for text and same bytes.
fn content_note(content: &Content) -> Option<String> {
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
        Content::Same | Content::Text { .. } => None,
    }
}

/// `--- a/pve-5/etc/x` and `+++ b/pve-5/etc/x` (`/dev/null` for a missing side).
fn diff_header(bundle: &str, file: &FileChange) -> (String, String) {
    let name = |prefix: &str, present: bool| {
        if present {
            format!("{prefix}/{bundle}{}", file.path)
        } else {
            "/dev/null".to_owned()
        }
    };
    (
        format!("--- {}", name("a", file.old.is_some())),
        format!("+++ {}", name("b", file.new.is_some())),
    )
}

fn action_lines(bundle: &BundleChange) -> impl Iterator<Item = String> + '_ {
    bundle
        .actions
        .iter()
        .map(move |action| format!("{}: {action}", bundle.name))
}

/// The full report: per bundle its ids, reach, files with unified diffs, and actions.
pub fn text(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint(color);
    for (number, bundle) in report.bundles.iter().enumerate() {
        if number > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", paint.bold(&bundle_line(bundle)))?;
        if !bundle.is_host() {
            writeln!(out, "reaches {}", bundle.reaches.join(" "))?;
        }
        for file in &bundle.files {
            writeln!(out, "{}", paint.bold(&file_line(file)))?;
            for change in metadata_changes(file) {
                writeln!(out, "  {}", paint.yellow(&change))?;
            }
            if let Some(note) = content_note(&file.content) {
                writeln!(out, "  {}", paint.yellow(&note))?;
            }
            if let Content::Text { hunks, .. } = &file.content {
                let (minus, plus) = diff_header(&bundle.name, file);
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
        }
        if !bundle.actions.is_empty() {
            writeln!(out, "actions on push:")?;
            for line in action_lines(bundle) {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(())
}

/// `+1 -1`, `binary`, `too large` or the metadata that changed.
fn stat_cell(file: &FileChange) -> (String, usize, usize) {
    match &file.content {
        Content::Text { added, removed, .. } => (String::new(), *added, *removed),
        Content::Binary { .. } => ("binary".to_owned(), 0, 0),
        Content::TooLarge { .. } => ("too large".to_owned(), 0, 0),
        Content::Same => (metadata_changes(file).join(", "), 0, 0),
    }
}

/// `--stat`: one line per bundle and file with lines added and removed, then a total.
pub fn stat(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint(color);
    let rows: Vec<(&str, &FileChange)> = report
        .bundles
        .iter()
        .flat_map(|bundle| bundle.files.iter().map(|file| (bundle.name.as_str(), file)))
        .collect();
    if report.bundles.is_empty() {
        return Ok(());
    }
    let name_width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let path_width = rows
        .iter()
        .map(|(_, file)| file.path.len())
        .max()
        .unwrap_or(0);
    let (mut total_added, mut total_removed) = (0, 0);
    for (name, file) in &rows {
        let (note, added, removed) = stat_cell(file);
        total_added += added;
        total_removed += removed;
        let counts = match &file.content {
            Content::Text { .. } => format!(
                "{} {}",
                paint.green(&format!("+{added}")),
                paint.red(&format!("-{removed}"))
            ),
            _ => note,
        };
        writeln!(
            out,
            "{name:name_width$}  {:path_width$}  {counts}",
            file.path
        )?;
    }
    let bundles = report.bundles.len();
    writeln!(
        out,
        "{bundles} bundle{}, {} file{} changed, +{total_added} -{total_removed} lines",
        if bundles == 1 { "" } else { "s" },
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
    )
}

/// `--name-only`: the changed files as paths inside out/, one a line.
pub fn name_only(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for bundle in &report.bundles {
        for file in &bundle.files {
            writeln!(out, "{}{}", bundle.name, file.path)?;
        }
    }
    Ok(())
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// `--format markdown`: a merge-request comment with one collapsible section per bundle.
pub fn markdown(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let title = format!("`lugc diff` {} → {}", report.old, report.new);
    if report.bundles.is_empty() {
        return writeln!(out, "### {title}: no change to out/");
    }
    writeln!(
        out,
        "### {title}: {} changed\n",
        plural(report.bundles.len(), "bundle")
    )?;
    for bundle in &report.bundles {
        let (added, removed) = bundle.files.iter().fold((0, 0), |(a, r), file| {
            let (_, added, removed) = stat_cell(file);
            (a + added, r + removed)
        });
        writeln!(out, "<details>")?;
        writeln!(
            out,
            "<summary><b>{}</b>: {}, +{added} −{removed} (<code>{}</code> → <code>{}</code>)</summary>\n",
            bundle.name,
            plural(bundle.files.len(), "file"),
            short(bundle.old_id.as_ref()),
            short(bundle.new_id.as_ref()),
        )?;
        if !bundle.is_host() {
            writeln!(out, "Reaches: {}\n", bundle.reaches.join(", "))?;
        }
        for file in &bundle.files {
            let mut notes = metadata_changes(file);
            notes.extend(content_note(&file.content));
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(": {}", notes.join("; "))
            };
            writeln!(out, "- {} `{}`{notes}", file.status.as_str(), file.path)?;
        }
        writeln!(out)?;
        let diffs: Vec<String> = bundle
            .files
            .iter()
            .filter_map(|file| match &file.content {
                Content::Text { hunks, .. } => {
                    let (minus, plus) = diff_header(&bundle.name, file);
                    Some(format!("{minus}\n{plus}\n{hunks}"))
                }
                _ => None,
            })
            .collect();
        if !diffs.is_empty() {
            let body = diffs.concat();
            let fence = fence(&body);
            writeln!(out, "{fence}diff\n{}{fence}\n", body)?;
        }
        if !bundle.actions.is_empty() {
            writeln!(out, "Actions on push:\n")?;
            for line in action_lines(bundle) {
                writeln!(out, "- `{line}`")?;
            }
            writeln!(out)?;
        }
        writeln!(out, "</details>\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ```` b"), "`````");
    }
}
