//! diff::renames: how alike two files are, and which removed things pair
//! with which added ones, as git's rename detection does.
//!
//! Input: scores of candidate pairs. Output: the pairs, best first, each
//! side used once. Pure; `compare` reads the bytes and builds the scores.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Pairs at least this similar (percent) are renames unless `--find-renames` says otherwise.
pub const DEFAULT_THRESHOLD: u8 = 50;

/// Removed × added candidates compared byte by byte at the most, for
/// bundles and for files each; beyond it only identical files pair up and
/// the report says so.
pub const MAX_PAIRS: usize = 10_000;

/// How much of the larger of `old` and `new` is made of lines both have,
/// in percent: git's similarity index, counted by lines in any order.
pub fn similarity(old: &[u8], new: &[u8]) -> u8 {
    let larger = old.len().max(new.len());
    if old == new || larger == 0 {
        return 100;
    }
    let smaller = old.len().min(new.len());
    if smaller == 0 {
        return 0;
    }
    let mut lines: HashMap<&[u8], usize> = HashMap::new();
    for line in old.split_inclusive(|byte| *byte == b'\n') {
        *lines.entry(line).or_default() += 1;
    }
    let mut common = 0;
    for line in new.split_inclusive(|byte| *byte == b'\n') {
        if let Some(count) = lines.get_mut(line).filter(|count| **count > 0) {
            *count -= 1;
            common += line.len();
        }
    }
    percent(common, larger)
}

/// `bytes` with each occurrence of the host name `from` as a whole word
/// (`pve-7.vm`, not `pve-70`) replaced by `to`: a renamed host's files
/// compared modulo its own name.
pub fn with_host_renamed<'a>(bytes: &'a [u8], from: &str, to: &str) -> Cow<'a, [u8]> {
    let from = from.as_bytes();
    if from.is_empty() || !bytes.windows(from.len()).any(|window| window == from) {
        return Cow::Borrowed(bytes);
    }
    let word = |byte: Option<&u8>| {
        byte.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    let mut renamed = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let before = at.checked_sub(1).and_then(|before| bytes.get(before));
        let whole =
            bytes[at..].starts_with(from) && !word(before) && !word(bytes.get(at + from.len()));
        if whole {
            renamed.extend_from_slice(to.as_bytes());
            at += from.len();
        } else {
            renamed.push(bytes[at]);
            at += 1;
        }
    }
    Cow::Owned(renamed)
}

/// Stands for a host's own name or address wherever a file holds it.
pub const OWN: &str = "\0host\0";

/// `bytes` with each of `words` (a host's names and addresses) as a whole
/// word replaced by [`OWN`]: what a file says modulo the host it is for.
pub fn without_own<'a>(bytes: &'a [u8], words: &[&str]) -> Cow<'a, [u8]> {
    let mut text: Cow<'a, [u8]> = Cow::Borrowed(bytes);
    for word in words {
        if let Cow::Owned(masked) = with_host_renamed(&text, word, OWN) {
            text = Cow::Owned(masked);
        }
    }
    text
}

/// The addresses a host bundle gives its host `name`: the first field of
/// each /etc/hosts line naming it, and each `address` of its
/// /etc/network/interfaces, without the prefix length.
pub fn own_addresses(name: &str, hosts: &str, interfaces: &str) -> Vec<String> {
    let named = hosts.lines().filter_map(|line| {
        let mut fields = line.split('#').next()?.split_whitespace();
        let address = fields.next()?;
        fields.any(|field| field == name).then_some(address)
    });
    let bridged = interfaces.lines().filter_map(|line| {
        let (key, value) = line.trim().split_once(char::is_whitespace)?;
        (key == "address").then(|| value.trim().split('/').next().unwrap_or_default())
    });
    let mut addresses: Vec<String> = named
        .chain(bridged)
        .filter(|address| !address.is_empty() && !address.starts_with("127."))
        .map(str::to_owned)
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

/// Whether `text` holds an IPv4 or IPv6 address (`192.168.93.7/24`, `fd00::7`).
pub fn holds_an_address(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .any(|word| word.len() > 2 && word.parse::<std::net::IpAddr>().is_ok())
}

/// `part` of `whole` in whole percent, rounded down.
pub fn percent(part: usize, whole: usize) -> u8 {
    if whole == 0 {
        return 100;
    }
    u8::try_from(part.min(whole) * 100 / whole).unwrap_or(100)
}

/// A candidate pair: indices into the removed and added lists, its
/// similarity, and a rank that breaks ties (lower first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub removed: usize,
    pub added: usize,
    pub similarity: u8,
    pub rank: u8,
}

/// The candidates at or above `threshold`, best first (similarity, then
/// rank, then list order), each removed and each added thing used once.
pub fn pair(mut candidates: Vec<Candidate>, threshold: u8) -> Vec<Candidate> {
    candidates.retain(|candidate| candidate.similarity >= threshold);
    candidates.sort_by(|a, b| {
        b.similarity
            .cmp(&a.similarity)
            .then(a.rank.cmp(&b.rank))
            .then(a.removed.cmp(&b.removed))
            .then(a.added.cmp(&b.added))
    });
    let (mut removed_used, mut added_used) = (HashSet::new(), HashSet::new());
    candidates
        .into_iter()
        .filter(|candidate| {
            !removed_used.contains(&candidate.removed)
                && !added_used.contains(&candidate.added)
                && removed_used.insert(candidate.removed)
                && added_used.insert(candidate.added)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_counts_shared_lines_against_the_larger_side() {
        assert_eq!(similarity(b"a\nb\n", b"a\nb\n"), 100);
        assert_eq!(similarity(b"a\nb\nc\nd\n", b"a\nb\nc\nX\n"), 75);
        assert_eq!(similarity(b"pve-7\n", b"pve-12\n"), 0);
        assert_eq!(similarity(b"", b"x\n"), 0);
        assert_eq!(
            similarity(b"a\na\n", b"a\nb\n"),
            50,
            "each line counts once"
        );
    }

    #[test]
    fn a_hosts_addresses_come_from_its_hosts_file_and_its_bridges() {
        let hosts = "127.0.0.1 localhost\n127.0.1.1 pve-7\n192.168.93.7 pve-7.vm.example pve-7 # me\n192.168.93.8 pve-8\n";
        let interfaces = "iface vmbr0 inet static\n    address 192.168.93.7/24\n    gateway 192.168.93.254\niface vmbr1 inet static\n\taddress 10.254.0.243/21\n";
        assert_eq!(
            own_addresses("pve-7", hosts, interfaces),
            ["10.254.0.243", "192.168.93.7"]
        );
        let text = b"address 192.168.93.7/24\nserver 192.168.93.70\nup via 10.254.0.243 pve-7\n";
        assert_eq!(
            &*without_own(text, &["pve-7", "192.168.93.7", "10.254.0.243"]),
            b"address \0host\0/24\nserver 192.168.93.70\nup via \0host\0 \0host\0\n"
        );
    }

    #[test]
    fn addresses_are_told_from_other_numbers() {
        for text in [
            "    address 192.168.93.7/24",
            "up via 10.254.0.1 dev",
            "fd00::7",
            "[fe80::1]:22",
        ] {
            assert!(holds_an_address(text), "{text}");
        }
        for text in [
            "#pool 2.debian.pool.ntp.org iburst",
            "makestep 1 3",
            "maxupdateskew 100.0",
            "cores: 4",
            "@@ -1,3 +1,3 @@",
        ] {
            assert!(!holds_an_address(text), "{text}");
        }
    }

    #[test]
    fn a_host_name_is_renamed_as_a_whole_word_only() {
        let text = b"pve-7\npve-7.vm.example pve-70 xpve-7 pve-7-a [pve-7]\n";
        assert_eq!(
            &*with_host_renamed(text, "pve-7", "pve-12"),
            b"pve-12\npve-12.vm.example pve-70 xpve-7 pve-7-a [pve-12]\n"
        );
        assert!(matches!(
            with_host_renamed(b"a\n", "pve-7", "b"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn the_best_pairs_win_and_each_side_is_used_once() {
        let candidate = |removed, added, similarity, rank| Candidate {
            removed,
            added,
            similarity,
            rank,
        };
        let pairs = pair(
            vec![
                candidate(0, 0, 60, 1),
                candidate(0, 1, 90, 1),
                candidate(1, 1, 90, 0),
                candidate(1, 0, 40, 0),
                candidate(2, 2, 49, 0),
            ],
            50,
        );
        assert_eq!(pairs, [candidate(1, 1, 90, 0), candidate(0, 0, 60, 1)]);
    }
}
