//! suggest: the closest valid name for an unknown one, read from the note
//! lib/ attaches to the message (util.ncl's `unknown_name`), or from the
//! `let` names of a file. Takes and gives strings only.

/// How alike an unknown name and a valid one must be to suggest it.
const MIN_SIMILARITY: f64 = 0.6;

/// Most valid names listed after an unknown one.
const MAX_LISTED: usize = 20;

/// The one candidate closest to `name`: equal but for case, or at least
/// [`MIN_SIMILARITY`] alike (normalised Damerau-Levenshtein, as Nickel's own
/// suggestions) and closer than every other.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = candidates.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    let mut scored: Vec<(f64, &str)> = candidates
        .iter()
        .map(|candidate| {
            (
                strsim::normalized_damerau_levenshtein(name, candidate),
                *candidate,
            )
        })
        .filter(|(score, _)| *score >= MIN_SIMILARITY)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    match scored.as_slice() {
        [(best, name), (second, _), ..] if best > second => Some(name),
        [(_, name)] => Some(name),
        _ => None,
    }
}

/// Whether `message` names `field` before its value ("mtu 1462",
/// "schedule `21 4 * *`") or in backticks.
pub(super) fn names_field(message: &str, field: &str) -> bool {
    // ASCII lower case keeps byte offsets: "MAC" names `mac`.
    let lower = message.to_ascii_lowercase();
    let field = field.to_ascii_lowercase();
    lower.contains(&format!("`{field}`"))
        || lower.match_indices(&field).any(|(start, _)| {
            let before = message[..start].chars().next_back();
            let mut after = message[start + field.len()..].chars();
            !before.is_some_and(char::is_alphanumeric)
                && after.next() == Some(' ')
                && after.next().is_some_and(|c| !c.is_lowercase())
        })
}

/// lib/'s message for an unknown name (util.ncl's `unknown_name`) names it in
/// backticks, and its last note lists the valid names as `what: a, b, c`.
/// The closest valid name becomes "did you mean `b`?"; without one, the
/// note stays (unless the message lists them already), cut to
/// [`MAX_LISTED`] names.
pub(super) fn suggest(message: &str, notes: &[String]) -> (String, Vec<String>) {
    let name = message.split('`').nth(1);
    let listed = notes.last().and_then(|note| note.split_once(": "));
    let (Some(name), Some((what, list))) = (name, listed) else {
        return (message.to_owned(), notes.to_vec());
    };
    let candidates: Vec<&str> = list.split(", ").collect();
    let others = notes[..notes.len() - 1].to_vec();
    if let Some(best) = closest(name, &candidates) {
        return (format!("{message}; did you mean `{best}`?"), others);
    }
    let mut kept = others;
    if message.contains(list) {
        return (message.to_owned(), kept);
    }
    kept.push(if candidates.len() > MAX_LISTED {
        let more = candidates.len() - MAX_LISTED;
        format!(
            "{what}: {} and {more} more",
            candidates[..MAX_LISTED].join(", ")
        )
    } else {
        format!("{what}: {list}")
    });
    (message.to_owned(), kept)
}

/// The names `let` binds in `text` (a rough look, for suggestions only).
pub(super) fn let_names(text: &str) -> Vec<&str> {
    text.split("let ")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest
                .trim_start()
                .strip_prefix("rec ")
                .unwrap_or(rest)
                .trim_start();
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || "_-'".contains(c)))
                .unwrap_or(rest.len());
            (end > 0).then(|| &rest[..end])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn let_names_are_found_for_suggestions() {
        let text =
            "let lugc = import \"lib/lugc.ncl\" in\nlet rec esxi_5_fp = \"00\" in\n# let it be\n";
        assert_eq!(let_names(text), ["lugc", "esxi_5_fp", "it"]);
        assert_eq!(closest("esxi_5_pf", &let_names(text)), Some("esxi_5_fp"));
    }

    #[test]
    fn a_message_that_names_its_field_keeps_its_words() {
        assert!(names_field("tunnel mtu 1462 is not allowed", "mtu"));
        assert!(names_field(
            "schedule `21 4 * *` is not five fields",
            "schedule"
        ));
        assert!(names_field("unknown storage `x` in `storage`", "storage"));
        assert!(!names_field(
            "`10.38.95.300` is not an IPv4 address",
            "address"
        ));
        assert!(names_field("MAC `bc:24` is not a unicast MAC", "mac"));
    }

    #[test]
    fn an_unknown_name_gets_the_closest_valid_one_or_a_short_list() {
        let notes = ["sites: EL, NIC".to_owned()];
        assert_eq!(
            suggest("host pve-8: unknown site `ELL`", &notes),
            (
                "host pve-8: unknown site `ELL`; did you mean `EL`?".to_owned(),
                vec![]
            )
        );
        assert_eq!(
            suggest("host pve-8: unknown site `LIBRARY`", &notes),
            (
                "host pve-8: unknown site `LIBRARY`".to_owned(),
                notes.to_vec()
            )
        );
        let bridges = ["bridges of site NIC: vmbr0, vmbr1, vmbr2".to_owned()];
        assert_eq!(
            suggest("net0: bridge `vmbr7` is not in the vmbr table", &bridges).1,
            bridges,
            "no suggestion among equally close names"
        );
        let many: Vec<String> = (0..28).map(|n| format!("host-{n:02}")).collect();
        let (_, notes) = suggest(
            "unknown host `web`",
            &[format!("hosts: {}", many.join(", "))],
        );
        assert_eq!(
            notes,
            [format!("hosts: {} and 8 more", many[..20].join(", "))]
        );
    }
}
