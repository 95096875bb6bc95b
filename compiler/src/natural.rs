//! natural: the order people expect of host names, `pve-5` before `pve-10`,
//! and short lists of many such names (`h-0 … h-999`).
//!
//! Input: names; output: an ordering or a line of text. Pure. out/INDEX and
//! MANIFESTs keep their byte order: this is for what people read.

use std::cmp::Ordering;

/// Compare runs of digits by their value and everything else byte by byte.
pub fn cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (x_digits, x_rest) = split_digits(a);
                let (y_digits, y_rest) = split_digits(b);
                let order = number_cmp(x_digits, y_digits);
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (x_rest, y_rest);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn split_digits(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = bytes
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(bytes.len());
    bytes.split_at(end)
}

/// Digit strings by value; with equal values the one with fewer leading zeros first.
fn number_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |digits: &[u8]| -> usize { digits.iter().take_while(|d| **d == b'0').count() };
    let (a_value, b_value) = (&a[trim(a)..], &b[trim(b)..]);
    a_value
        .len()
        .cmp(&b_value.len())
        .then_with(|| a_value.cmp(b_value))
        .then_with(|| a.len().cmp(&b.len()))
}

/// Sort names in natural order.
pub fn sort<S: AsRef<str>>(names: &mut [S]) {
    names.sort_by(|a, b| cmp(a.as_ref(), b.as_ref()));
}

/// Lists up to this long are written out in full by [`list`].
const SHORT_LIST: usize = 8;

/// `names` (in natural order) joined with `, `; a list longer than eight
/// names writes each run of three or more consecutive numbers with the same
/// prefix as `first … last`: `esxi-5, h-0 … h-999`.
pub fn list<S: AsRef<str>>(names: &[S]) -> String {
    let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    if names.len() <= SHORT_LIST {
        return names.join(", ");
    }
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    while start < names.len() {
        let mut end = start + 1;
        while end < names.len() && follows(names[end - 1], names[end]) {
            end += 1;
        }
        if end - start >= 3 {
            parts.push(format!("{} … {}", names[start], names[end - 1]));
        } else {
            parts.extend(names[start..end].iter().map(|name| (*name).to_owned()));
        }
        start = end;
    }
    parts.join(", ")
}

/// Whether `next` is `previous` with its trailing number one higher (`h-9`, `h-10`).
fn follows(previous: &str, next: &str) -> bool {
    let split = |name: &str| -> Option<(usize, u64)> {
        let digits = name.len() - name.bytes().rev().take_while(u8::is_ascii_digit).count();
        let number = &name[digits..];
        let canonical = !number.is_empty() && (number == "0" || !number.starts_with('0'));
        canonical
            .then(|| number.parse().ok().map(|value| (digits, value)))
            .flatten()
    };
    match (split(previous), split(next)) {
        (Some((p, a)), Some((n, b))) => previous[..p] == next[..n] && a.checked_add(1) == Some(b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_by_value() {
        let mut names = vec![
            "pve-10", "pve-5", "esxi-5", "cluster", "pve-9", "pve-05", "pve",
        ];
        sort(&mut names);
        assert_eq!(
            names,
            ["cluster", "esxi-5", "pve", "pve-5", "pve-05", "pve-9", "pve-10"]
        );
        assert_eq!(cmp("a2b10", "a2b9"), Ordering::Greater);
        assert_eq!(cmp("h-1", "h-1"), Ordering::Equal);
        assert_eq!(cmp("99999999999999999999999", "1"), Ordering::Greater);
    }

    #[test]
    fn long_lists_fold_runs_of_numbers() {
        let short = ["esxi-5", "pve-5", "pve-6", "pve-7"];
        assert_eq!(list(&short), "esxi-5, pve-5, pve-6, pve-7");
        let mut many: Vec<String> = (0..1000).map(|n| format!("h-{n}")).collect();
        many.remove(500);
        many.insert(0, "esxi-5".to_owned());
        many.push("x".to_owned());
        assert_eq!(list(&many), "esxi-5, h-0 … h-499, h-501 … h-999, x");
        let pairs: Vec<String> = [
            "a-1", "a-2", "b-1", "b-2", "c-1", "c-2", "d-1", "d-2", "e-01",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(list(&pairs), pairs.join(", "), "runs of two stay");
    }
}
