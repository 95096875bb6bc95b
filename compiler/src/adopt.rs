//! adopt: the main file with each `# assumed` value the hosts' facts
//! determine taken from them, in place, for `lugc adopt`.
//!
//! In: the main file's text and the [`Claim`]s of lib/facts.ncl (each value
//! a check or comparison reads, with what the facts hold instead). Out: the
//! edited text, keeping every other byte, and an account: the values taken
//! from the facts or confirmed by them (whose mark goes) and those that stay
//! a guess, with why. Pure: no I/O; `cmd::adopt` evaluates and checks.

use std::collections::BTreeSet;
use std::ops::Range;

use crate::assumed::{self, Marked};
use crate::diagnostic::line_column;
use crate::eval::Claim;
use crate::natural;

/// What became of one marked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The facts hold it as written: only its mark goes.
    Confirmed,
    /// Rewritten to what the facts hold.
    Taken { from: String, to: String },
    /// Still a guess, for this reason.
    Stays(String),
}

/// One marked value (or a marked line no check reads) and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub line: usize,
    pub column: usize,
    /// The value's text as written (the line's code when no check reads it).
    pub text: String,
    pub outcome: Outcome,
}

/// The adopted text and what became of each marked value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub text: String,
    pub values: Vec<Value>,
}

/// Adopt what the facts of `hosts` (every host when empty) determine.
pub fn adopt(text: &str, claims: &[Claim], hosts: &[String]) -> Adoption {
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut values = Vec::new();
    for marked in assumed::marked(text) {
        let on_line = assumed::claims_in(claims, &marked.code);
        if !hosts.is_empty() && !on_line.iter().any(|c| hosts.contains(&c.host)) {
            continue;
        }
        let mut settled = !on_line.is_empty();
        for (range, about) in by_value(&on_line) {
            let outcome = judge(&about, hosts);
            settled &= !matches!(outcome, Outcome::Stays(_));
            if let Outcome::Taken { to, .. } = &outcome {
                edits.push((range.clone(), to.clone()));
            }
            values.push(located(text, range, outcome));
        }
        if on_line.is_empty() {
            let why = "the facts do not tell it".to_owned();
            values.push(located(text, marked.code.clone(), Outcome::Stays(why)));
        }
        if settled {
            let (range, kept) = unmarked(text, &marked);
            edits.push((range, kept));
        }
    }
    values.sort_by_key(|value| (value.line, value.column));
    Adoption {
        text: apply(text, edits),
        values,
    }
}

/// The claims of one line grouped by the value they read, in order.
fn by_value<'a>(claims: &[&'a Claim]) -> Vec<(Range<usize>, Vec<&'a Claim>)> {
    let ranges: BTreeSet<(usize, usize)> = claims
        .iter()
        .filter_map(|claim| claim.range.as_ref().map(|r| (r.start, r.end)))
        .collect();
    ranges
        .into_iter()
        .map(|(start, end)| {
            let about = claims
                .iter()
                .filter(|claim| claim.range == Some(start..end))
                .copied()
                .collect();
            (start..end, about)
        })
        .collect()
}

/// What the facts make of one value, read by `claims`.
fn judge(claims: &[&Claim], hosts: &[String]) -> Outcome {
    let names =
        |which: &dyn Fn(&Claim) -> bool| natural::list(&assumed::hosts_where(claims, which));
    let unnamed = |claim: &Claim| !hosts.is_empty() && !hosts.contains(&claim.host);
    if claims.iter().any(|claim| unnamed(claim)) {
        return Outcome::Stays(format!("it also concerns {}", names(&unnamed)));
    }
    if claims.iter().any(|claim| !claim.decided) {
        return Outcome::Stays(format!("no facts for {}", names(&|c| !c.decided)));
    }
    let differing: Vec<&&Claim> = claims.iter().filter(|claim| !claim.backed).collect();
    if differing.is_empty() {
        return Outcome::Confirmed;
    }
    if let Some(untold) = differing.iter().find(|claim| claim.fact.is_none()) {
        let why = untold.message.clone().unwrap_or_default();
        return Outcome::Stays(format!(
            "the facts contradict it without telling the value: {why}"
        ));
    }
    let facts: BTreeSet<&str> = differing.iter().filter_map(|c| c.fact.as_deref()).collect();
    if facts.len() > 1 || differing.len() < claims.len() {
        return Outcome::Stays(format!(
            "the facts disagree: {} hold it, {} hold {}",
            names(&|c| c.backed),
            names(&|c| !c.backed),
            facts.into_iter().collect::<Vec<_>>().join(" or ")
        ));
    }
    Outcome::Taken {
        from: String::new(),
        to: facts.into_iter().next().unwrap_or_default().to_owned(),
    }
}

fn located(text: &str, range: Range<usize>, outcome: Outcome) -> Value {
    let (line, column) = line_column(text, range.start);
    let written = text[range].trim_end_matches(',').to_owned();
    let outcome = match outcome {
        Outcome::Taken { to, .. } => Outcome::Taken {
            from: written.clone(),
            to,
        },
        other => other,
    };
    Value {
        line,
        column,
        text: written,
        outcome,
    }
}

/// The edit that takes the mark off a line: its comment without the
/// clauses (split at `;`) that say "assumed"; with none left, no comment.
fn unmarked(text: &str, marked: &Marked) -> (Range<usize>, String) {
    let comment = &text[marked.comment.start + 1..marked.comment.end];
    let kept: Vec<&str> = comment
        .split(';')
        .map(str::trim)
        .filter(|clause| !clause.is_empty() && !assumed::marks_assumed(clause))
        .collect();
    if kept.is_empty() {
        // The comment and the blanks before it.
        (marked.code.end..marked.comment.end, String::new())
    } else {
        (marked.comment.clone(), format!("# {}", kept.join("; ")))
    }
}

/// `text` with each edit's range replaced; edits do not overlap.
fn apply(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut result = text.to_owned();
    for (range, replacement) in edits {
        result.replace_range(range, &replacement);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(text: &str, value: &str, host: &str, backed: bool, fact: Option<&str>) -> Claim {
        let start = text.find(value).unwrap();
        Claim {
            host: host.to_owned(),
            backed,
            decided: true,
            state: true,
            message: Some(format!("{value} differs")),
            fact: fact.map(str::to_owned),
            range: Some(start..start + value.len()),
        }
    }

    const TEXT: &str = "{\n  debian = \"bookworm\", # assumed: PVE 8\n\
        \x20 address = \"192.168.93.6\", # assumed\n\
        \x20 uplink = \"eno1\", # installed in 2022; assumed: not renamed\n\
        \x20 cores = 4, # assumed\n\
        \x20 carrier = 'Vlan 2, # assumed VLAN id\n}\n";

    #[test]
    fn determined_values_are_taken_and_lose_their_mark_the_rest_stay() {
        let mut undecided = claim(TEXT, "'Vlan 2", "pve-7", false, None);
        undecided.decided = false;
        let claims = [
            claim(TEXT, "\"bookworm\"", "pve-6", true, None),
            claim(
                TEXT,
                "\"192.168.93.6\"",
                "pve-6",
                false,
                Some("\"192.168.93.16\""),
            ),
            claim(TEXT, "\"eno1\"", "pve-6", false, Some("\"enp3s0\"")),
            claim(TEXT, "'Vlan 2", "pve-6", false, Some("'Vlan 3")),
            undecided,
        ];
        let adoption = adopt(TEXT, &claims, &[]);
        assert_eq!(
            adoption.text,
            "{\n  debian = \"bookworm\",\n\
             \x20 address = \"192.168.93.16\",\n\
             \x20 uplink = \"enp3s0\", # installed in 2022\n\
             \x20 cores = 4, # assumed\n\
             \x20 carrier = 'Vlan 2, # assumed VLAN id\n}\n"
        );
        let outcomes: Vec<_> = adoption
            .values
            .iter()
            .map(|v| (v.line, &v.outcome))
            .collect();
        assert_eq!(outcomes[0], (2, &Outcome::Confirmed));
        assert_eq!(
            outcomes[1],
            (
                3,
                &Outcome::Taken {
                    from: "\"192.168.93.6\"".into(),
                    to: "\"192.168.93.16\"".into()
                }
            )
        );
        assert_eq!(
            outcomes[3],
            (5, &Outcome::Stays("the facts do not tell it".into()))
        );
        assert_eq!(
            outcomes[4],
            (6, &Outcome::Stays("no facts for pve-7".into()))
        );
        // Adopting again changes nothing.
        let again = adopt(&adoption.text, &[], &[]);
        assert_eq!(again.text, adoption.text);
    }

    #[test]
    fn facts_that_disagree_or_concern_unnamed_hosts_decide_nothing() {
        let claims = [
            claim(TEXT, "\"bookworm\"", "pve-6", true, None),
            claim(TEXT, "\"bookworm\"", "pve-7", false, Some("\"trixie\"")),
            claim(TEXT, "\"eno1\"", "pve-6", false, Some("\"enp3s0\"")),
        ];
        let adoption = adopt(TEXT, &claims, &[]);
        assert!(adoption.text.contains("\"bookworm\", # assumed: PVE 8"));
        assert!(
            matches!(&adoption.values[0].outcome, Outcome::Stays(why) if why.starts_with("the facts disagree: pve-6 hold it, pve-7 hold \"trixie\""))
        );
        let only_pve_7 = adopt(TEXT, &claims, &["pve-7".to_owned()]);
        assert!(
            matches!(&only_pve_7.values[0].outcome, Outcome::Stays(why) if why == "it also concerns pve-6")
        );
        assert!(only_pve_7.text.contains("\"eno1\", # installed"));
    }
}
