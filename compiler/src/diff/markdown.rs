//! diff::markdown: a [`Review`] as a merge-request comment: the summary,
//! each group of equal changes once, then a collapsible section per bundle
//! with its own changes, within a size budget.
//!
//! Input: a review, the budget in bytes and where the full diff can be read.
//! Output: markdown on a writer. Over budget it keeps the summary and the
//! groups (their diffs while they fit), drops bundle sections from the end
//! and says where the full diff is. Reads nothing, decides nothing.

use std::io::{self, Write};

use crate::diff::output::{
    action_facts, bundle_line, content_note, diff_header, each_named, file_line, metadata_changes,
    plural, short, shows_diff, summary_facts, totals,
};
use crate::diff::report::{BundleChange, Content, FileChange, Status};
use crate::diff::review::Review;
use crate::natural;

/// GitLab refuses a comment over 1 000 000 characters; a byte is at most a
/// character, and the rest leaves room for what CI puts around the diff.
pub const DEFAULT_MAX_BYTES: usize = 900_000;

/// Room kept for the line that says what was cut.
const NOTICE_ROOM: usize = 600;

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// `text` as inline code, delimited by more backticks than it holds in a row.
fn inline_code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let ticks = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{ticks}{text}{ticks}")
    } else {
        format!("{ticks} {text} {ticks}")
    }
}

/// A fenced `diff` block of the files' headers and hunks, or nothing.
fn diff_block(files: &[(Option<&BundleChange>, &FileChange)]) -> String {
    let body: String = files
        .iter()
        .filter(|(bundle, file)| shows_diff(*bundle, file))
        .filter_map(|(bundle, file)| match &file.content {
            Content::Text { hunks, .. } => {
                let (minus, plus) = diff_header(*bundle, file);
                Some(format!("{minus}\n{plus}\n{hunks}"))
            }
            _ => None,
        })
        .collect();
    if body.is_empty() {
        return String::new();
    }
    let fence = fence(&body);
    format!("{fence}diff\n{body}{fence}\n\n")
}

/// Metadata and content notes of a file: `: mode 0644 → 0600; binary file, not shown`.
fn notes(bundle: Option<&BundleChange>, file: &FileChange) -> String {
    if !shows_diff(bundle, file) {
        return String::new();
    }
    let mut notes = metadata_changes(file);
    notes.extend(content_note(&file.content));
    if notes.is_empty() {
        String::new()
    } else {
        format!(": {}", notes.join("; "))
    }
}

fn head(review: &Review<'_>) -> String {
    let report = review.report;
    let mut text = format!(
        "### `lugc diff` {} → {}: {}\n\n",
        report.old,
        report.new,
        totals(&review.summary, "−")
    );
    for (label, facts) in summary_facts(review) {
        let mut label = label.to_owned();
        label[..1].make_ascii_uppercase();
        text.push_str(&format!("- **{label}:** {facts}\n"));
    }
    let actions = action_facts(&review.summary);
    if !actions.is_empty() {
        text.push_str("- **Push runs:**\n");
        for (action, bundles) in actions {
            text.push_str(&format!("  - {} on {bundles}\n", inline_code(action)));
        }
    }
    text.push('\n');
    text
}

/// One group: its line, then its diff (the second part goes first when cutting).
fn group(review: &Review<'_>, index: usize) -> (String, String) {
    let group = &review.groups[index];
    let line = format!(
        "**{}**, same change on {}{}{}: {}\n\n",
        code_paths(&file_line(group.change), group.change),
        plural(group.bundles.len(), "host"),
        each_named(group),
        notes(None, group.change),
        natural::list(&group.bundles)
    );
    (line, diff_block(&[(None, group.change)]))
}

fn section(review: &Review<'_>, index: usize) -> String {
    let bundle = &review.report.bundles[index];
    let files: Vec<&FileChange> = review.own_files(index).collect();
    let (added, removed) = files.iter().fold((0, 0), |(a, r), file| {
        let (added, removed) = file.content.lines();
        (a + added, r + removed)
    });
    let mut text = format!(
        "<details>\n<summary><b>{}</b>: {}, +{added} −{removed} (<code>{}</code> → <code>{}</code>)</summary>\n\n",
        bundle.name,
        plural(files.len(), "file"),
        short(bundle.old_id.as_ref()),
        short(bundle.new_id.as_ref()),
    );
    if bundle.status() != Status::Modified {
        text.push_str(&format!("{}\n\n", bundle_line(bundle)));
    }
    if !bundle.is_host() {
        text.push_str(&format!("Reaches: {}\n\n", natural::list(&bundle.reaches)));
    }
    let shared = review.shared_paths(index);
    if !shared.is_empty() {
        text.push_str(&format!(
            "And the changes above to {}.\n\n",
            shared
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for file in &files {
        text.push_str(&format!(
            "- {}{}\n",
            code_paths(&file_line(file), file),
            notes(Some(bundle), file)
        ));
    }
    if !files.is_empty() {
        text.push('\n');
    }
    let pairs: Vec<(Option<&BundleChange>, &FileChange)> =
        files.iter().map(|file| (Some(bundle), *file)).collect();
    text.push_str(&diff_block(&pairs));
    text.push_str("</details>\n\n");
    text
}

/// A file line with its paths in backticks.
fn code_paths(line: &str, file: &FileChange) -> String {
    let mut line = line.replacen(&file.path, &format!("`{}`", file.path), 1);
    if let Some(from) = &file.from {
        if from.path != file.path {
            line = line.replacen(&from.path, &format!("`{}`", from.path), 1);
        }
    }
    line
}

/// Write the comment, at most `max_bytes` long unless the summary alone is
/// longer; `details` names where the full diff is when something is cut.
pub fn write(
    review: &Review<'_>,
    max_bytes: usize,
    details: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let report = review.report;
    if !report.changed() {
        return writeln!(
            out,
            "### `lugc diff` {} → {}: no change to out/",
            report.old, report.new
        );
    }
    let groups: Vec<(String, String)> = (0..review.groups.len())
        .map(|index| group(review, index))
        .collect();
    let sections: Vec<String> = (0..report.bundles.len())
        .filter(|index| review.has_own_section(*index))
        .map(|index| section(review, index))
        .collect();
    let mut text = head(review);
    let whole = text.len()
        + groups.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>()
        + sections.iter().map(String::len).sum::<usize>();
    if whole <= max_bytes {
        for (line, diff) in &groups {
            text.push_str(line);
            text.push_str(diff);
        }
        text.extend(sections);
        return out.write_all(text.as_bytes());
    }
    let budget = max_bytes.saturating_sub(NOTICE_ROOM);
    let (mut cut_diffs, mut cut_sections) = (0, 0);
    for (line, diff) in &groups {
        if text.len() + line.len() <= budget {
            text.push_str(line);
        }
        if text.len() + diff.len() <= budget {
            text.push_str(diff);
        } else if !diff.is_empty() {
            cut_diffs += 1;
        }
    }
    for section in &sections {
        if cut_sections == 0 && text.len() + section.len() <= budget {
            text.push_str(section);
        } else {
            cut_sections += 1;
        }
    }
    let mut cut = Vec::new();
    if cut_diffs > 0 {
        cut.push(format!("the diffs of {}", plural(cut_diffs, "group")));
    }
    if cut_sections > 0 {
        cut.push(format!(
            "{} of single hosts",
            plural(cut_sections, "section")
        ));
    }
    let full = details.map_or_else(
        || "in the job's artifacts (`lugc diff` without `--max-bytes`)".to_owned(),
        |url| format!("at {url}"),
    );
    text.push_str(&format!(
        "> **Cut to stay under {max_bytes} bytes:** {} are left out. The full diff is {full}.\n",
        cut.join(" and ")
    ));
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert_eq!(fence("plain"), "```");
        assert_eq!(fence("a ```` b"), "`````");
        assert_eq!(inline_code("ifreload -a"), "`ifreload -a`");
        assert_eq!(inline_code("echo `x`"), "`` echo `x` ``");
    }
}
