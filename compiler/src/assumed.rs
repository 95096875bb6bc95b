//! assumed: the values the main file marks `# assumed`, each with what the
//! hosts' facts say of it, for `lugc build --assumed`.
//!
//! A line is marked when code on it is followed by a `#` comment holding the
//! word "assumed" (a plain scan of the text, reading comments as the syntax
//! hints do). The values lib/facts.ncl's checks read ([`Claim`]s, located by
//! Nickel) are matched to the marked line their value starts on: a value
//! that the facts of every host it concerns agree with is backed; one that
//! only hosts without facts concern, or that no check reads, is still a guess.

use std::io::{self, Write};
use std::ops::Range;

use serde::Serialize;

use crate::diagnostic::comment_start;
use crate::diagnostic::line_column;
use crate::eval::Claim;
use crate::natural;

/// Value of the `schema` field of `--json`.
pub const SCHEMA: &str = "lugc-assumed 1";

/// The text of a value is cut to this many characters in the listing.
const SHOWN_CHARS: usize = 60;

/// One value marked `# assumed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assumed {
    pub line: usize,
    /// Of the value where a facts check reads it, else of the line's code.
    pub column: usize,
    /// `name = value` where a facts check reads the value, else the code on
    /// the line, without its comment and final comma.
    pub text: String,
    /// The comment, without its `#`.
    pub comment: String,
    /// Hosts whose facts agree with the value.
    pub backed_by: Vec<String>,
    /// Hosts whose facts would decide the value, and that have none.
    pub guess_for: Vec<String>,
    /// Hosts whose facts hold something else (`lugc adopt` takes it).
    pub differs_on: Vec<String>,
}

/// What the facts make of an assumed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The facts of every host it concerns agree with it.
    Backed,
    /// The facts of some of the hosts it concerns agree; others have none.
    Partly,
    /// The facts of some host it concerns hold something else.
    Differs,
    /// Still a guess.
    Guess,
}

impl Standing {
    pub fn name(self) -> &'static str {
        match self {
            Standing::Backed => "backed",
            Standing::Partly => "partly",
            Standing::Differs => "differs",
            Standing::Guess => "guess",
        }
    }
}

impl Assumed {
    pub fn standing(&self) -> Standing {
        if !self.differs_on.is_empty() {
            return Standing::Differs;
        }
        match (self.backed_by.is_empty(), self.guess_for.is_empty()) {
            (false, true) => Standing::Backed,
            (false, false) => Standing::Partly,
            (true, _) => Standing::Guess,
        }
    }

    /// Why it stands so, in words.
    fn why(&self) -> String {
        let backed = format!("backed by facts of {}", natural::list(&self.backed_by));
        let missing = format!("no facts for {}", natural::list(&self.guess_for));
        match self.standing() {
            Standing::Backed => backed,
            Standing::Partly => format!("{backed}; {missing}"),
            Standing::Differs => format!(
                "facts of {} hold another value; `lugc adopt` takes it",
                natural::list(&self.differs_on)
            ),
            Standing::Guess if self.guess_for.is_empty() => "facts do not cover it".to_owned(),
            Standing::Guess => missing,
        }
    }
}

/// A line of code with a comment that marks it `# assumed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marked {
    /// Byte range of the line's code, without indentation and comment.
    pub code: Range<usize>,
    /// Byte range of the comment, from its `#` to the end of the line.
    pub comment: Range<usize>,
}

/// Every line of `text` that code and a `# assumed` comment share, in order.
pub fn marked(text: &str) -> Vec<Marked> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let start = line_start;
        line_start += line.len();
        let Some(hash) = comment_start(line) else {
            continue;
        };
        let comment = line[hash + 1..].trim();
        let code = line[..hash].trim_end();
        let indent = code.len() - code.trim_start().len();
        if code.trim().is_empty() || !marks_assumed(comment) {
            continue;
        }
        let end = start + line.trim_end_matches(['\n', '\r']).len();
        found.push(Marked {
            code: start + indent..start + code.len(),
            comment: start + hash..end,
        });
    }
    found
}

/// The claims about values that start within `code`.
pub fn claims_in<'a>(claims: &'a [Claim], code: &Range<usize>) -> Vec<&'a Claim> {
    claims
        .iter()
        .filter(|claim| {
            claim
                .range
                .as_ref()
                .is_some_and(|range| code.contains(&range.start))
        })
        .collect()
}

/// The hosts of the `claims` that satisfy `which`, in natural order, once each.
pub fn hosts_where(claims: &[&Claim], which: impl Fn(&Claim) -> bool) -> Vec<String> {
    let mut hosts: Vec<String> = claims
        .iter()
        .filter(|claim| which(claim))
        .map(|claim| claim.host.clone())
        .collect();
    natural::sort(&mut hosts);
    hosts.dedup();
    hosts
}

/// Every value marked `# assumed` in `text`, in order, with the claims
/// about it.
pub fn assess(text: &str, claims: &[Claim]) -> Vec<Assumed> {
    let mut found = Vec::new();
    for marked in marked(text) {
        let code_range = marked.code;
        let start = text[..code_range.start].rfind('\n').map_or(0, |i| i + 1);
        let comment = text[marked.comment.start + 1..marked.comment.end].trim();
        let on_line = claims_in(claims, &code_range);
        let hosts = |which: fn(&Claim) -> bool| hosts_where(&on_line, which);
        let first = on_line
            .iter()
            .filter_map(|claim| claim.range.clone())
            .min_by_key(|range| range.start);
        let shown = match &first {
            Some(range) => named_value(text, start, range.start..range.end.min(code_range.end)),
            None => text[code_range.clone()].trim_end_matches(',').to_owned(),
        };
        let (line, column) = line_column(text, first.map_or(code_range.start, |range| range.start));
        found.push(Assumed {
            line,
            column,
            text: shown,
            comment: comment.to_owned(),
            backed_by: hosts(|claim| claim.backed),
            guess_for: hosts(|claim| !claim.decided),
            differs_on: hosts(|claim| claim.decided && !claim.backed),
        });
    }
    found
}

/// The value at `value` in `text` as `name = value` when a field or `let`
/// name precedes it on its line (which starts at `line_start`).
fn named_value(text: &str, line_start: usize, value: std::ops::Range<usize>) -> String {
    let shown = &text[value.clone()];
    let before = text[line_start..value.start].trim_end();
    let Some(before) = before.strip_suffix('=') else {
        return shown.to_owned();
    };
    let before = before.trim_end();
    let name_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '"'))
        .map_or(0, |index| index + 1);
    match &before[name_start..] {
        "" => shown.to_owned(),
        name => format!("{name} = {shown}"),
    }
}

/// Whether a comment holds the word "assumed".
pub fn marks_assumed(comment: &str) -> bool {
    comment
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| word.eq_ignore_ascii_case("assumed"))
}

/// How many values stand each way: (backed, partly, differs, guess).
fn counts(values: &[Assumed]) -> (usize, usize, usize, usize) {
    let count = |standing| values.iter().filter(|v| v.standing() == standing).count();
    (
        count(Standing::Backed),
        count(Standing::Partly),
        count(Standing::Differs),
        count(Standing::Guess),
    )
}

/// One line per value, `file:line:column: standing: text (why)`, then a summary.
pub fn write(name: &str, values: &[Assumed], out: &mut dyn Write) -> io::Result<()> {
    for value in values {
        writeln!(
            out,
            "{name}:{}:{}: {}: {} ({})",
            value.line,
            value.column,
            value.standing().name(),
            shortened(&value.text),
            value.why()
        )?;
    }
    let (backed, partly, differs, guess) = counts(values);
    let partly = if partly > 0 {
        format!(", {partly} more in part")
    } else {
        String::new()
    };
    let differs = if differs > 0 {
        format!("; {differs} differ from them")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{backed} of {} assumed values are backed by facts{partly}{differs}; {guess} still a guess",
        values.len()
    )
}

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    file: &'a str,
    assumed: usize,
    backed: usize,
    partly: usize,
    differs: usize,
    guess: usize,
    values: Vec<JsonValue<'a>>,
}

#[derive(Serialize)]
struct JsonValue<'a> {
    standing: &'static str,
    #[serde(flatten)]
    value: &'a Assumed,
}

/// One `lugc-assumed 1` JSON document.
pub fn write_json(name: &str, values: &[Assumed], out: &mut dyn Write) -> io::Result<()> {
    let (backed, partly, differs, guess) = counts(values);
    let document = Document {
        schema: SCHEMA,
        file: name,
        assumed: values.len(),
        backed,
        partly,
        differs,
        guess,
        values: values
            .iter()
            .map(|value| JsonValue {
                standing: value.standing().name(),
                value,
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::other)?;
    writeln!(out)
}

/// `text` cut to [`SHOWN_CHARS`] characters, with `…` where it was cut.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(host: &str, backed: bool, text: &str, value: &str) -> Claim {
        let start = text.find(value).unwrap();
        Claim {
            host: host.to_owned(),
            backed,
            decided: backed,
            state: false,
            message: None,
            fact: None,
            range: Some(start..start + value.len()),
        }
    }

    const TEXT: &str = "# every value here is assumed\n\
        let f = \"a#b\" in # assumed\n\
        {\n  uplink = \"eno1\", # assumed: one of three\n\
        \x20 site = \"EL\", # assumed\n\
        \x20 carrier = 'Vlan 2, # assumed VLAN id\n\
        \x20 mtu = 1500, # not assumedly anything\n\
        \x20 { port = 1 }, # assumed\n}\n";

    #[test]
    fn marked_lines_with_code_are_listed_with_their_claims() {
        let claims = [
            claim("pve-6", true, TEXT, "\"eno1\""),
            claim("pve-6", true, TEXT, "'Vlan 2"),
            claim("pve-10", false, TEXT, "'Vlan 2"),
            claim("pve-7", false, TEXT, "'Vlan 2"),
        ];
        let values = assess(TEXT, &claims);
        let shown: Vec<_> = values
            .iter()
            .map(|v| (v.line, v.column, v.text.as_str(), v.standing()))
            .collect();
        assert_eq!(
            shown,
            [
                (2, 1, "let f = \"a#b\" in", Standing::Guess),
                (4, 12, "uplink = \"eno1\"", Standing::Backed),
                (5, 3, "site = \"EL\"", Standing::Guess),
                (6, 13, "carrier = 'Vlan 2", Standing::Partly),
                (8, 3, "{ port = 1 }", Standing::Guess),
            ]
        );
        assert_eq!(values[1].comment, "assumed: one of three");
        assert_eq!(values[3].guess_for, ["pve-7", "pve-10"]);
        assert_eq!(
            values[3].why(),
            "backed by facts of pve-6; no facts for pve-7, pve-10"
        );
        assert_eq!(values[2].why(), "facts do not cover it");
    }

    #[test]
    fn a_located_value_is_shown_with_its_name() {
        let line = "  vmbr1 = { carries = \"a = b\", carrier = 'Vlan 101 }, # assumed\n";
        let at = |value: &str| {
            let start = line.find(value).unwrap();
            named_value(line, 0, start..start + value.len())
        };
        assert_eq!(at("'Vlan 101"), "carrier = 'Vlan 101");
        assert_eq!(at("\"a = b\""), "carries = \"a = b\"");
        assert_eq!(named_value("[\"x\"]", 0, 1..4), "\"x\"");
    }

    #[test]
    fn the_listing_ends_with_a_count() {
        let claims = [claim("pve-6", true, TEXT, "\"eno1\"")];
        let mut out = Vec::new();
        write("cluster.ncl", &assess(TEXT, &claims), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out
            .contains("cluster.ncl:4:12: backed: uplink = \"eno1\" (backed by facts of pve-6)\n"));
        assert!(out.ends_with("1 of 5 assumed values are backed by facts; 4 still a guess\n"));
        assert_eq!(shortened(&"x".repeat(70)).chars().count(), SHOWN_CHARS + 1);
    }
}
