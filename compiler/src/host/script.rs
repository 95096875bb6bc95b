//! host::script: `host.sh`, lugc's side of every command on a host, and the
//! exit codes it names at its top. Each code means one thing whatever the
//! command; a test reads the script's header and holds the two together.

/// lugc's side of every command on a host.
pub const HOST_SH: &str = include_str!("host.sh");

/// The command failed; its message says why.
pub const EXIT_FAILED: i32 = 1;
/// `hold`: the root is not a directory.
pub const EXIT_NO_ROOT: i32 = 3;
/// A symbolic link below the root, or not a regular file.
pub const EXIT_LINK: i32 = 4;
/// `disarm`: the armed revert began before the confirmation.
pub const EXIT_REVERT_BEGAN: i32 = 5;
/// `quorum`: no /etc/pve below the root.
pub const EXIT_NO_PMXCFS: i32 = 6;
/// `quorum`: /etc/pve does not take writes.
pub const EXIT_NO_QUORUM: i32 = 7;
/// `disarm`: lugc did not answer its `ready`; nothing was confirmed.
pub const EXIT_NOT_CONFIRMED: i32 = 8;
/// `hold`: another push holds the lock.
pub const EXIT_BUSY: i32 = 75;
/// `action`: stopped after its time limit (timeout(1)'s code).
pub const EXIT_TIMED_OUT: i32 = 124;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// `EXIT_NAME=N` lines before the script's first function.
    fn header() -> BTreeMap<&'static str, i32> {
        HOST_SH
            .lines()
            .take_while(|line| !line.ends_with("() {"))
            .filter_map(|line| {
                let (name, rest) = line.split_once('=')?;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                name.starts_with("EXIT_")
                    .then(|| (name, digits.parse().expect("a number")))
            })
            .collect()
    }

    #[test]
    fn the_exit_codes_are_the_scripts_and_each_means_one_thing() {
        let named = BTreeMap::from([
            ("EXIT_FAILED", EXIT_FAILED),
            ("EXIT_NO_ROOT", EXIT_NO_ROOT),
            ("EXIT_LINK", EXIT_LINK),
            ("EXIT_REVERT_BEGAN", EXIT_REVERT_BEGAN),
            ("EXIT_NO_PMXCFS", EXIT_NO_PMXCFS),
            ("EXIT_NO_QUORUM", EXIT_NO_QUORUM),
            ("EXIT_NOT_CONFIRMED", EXIT_NOT_CONFIRMED),
            ("EXIT_BUSY", EXIT_BUSY),
            ("EXIT_TIMED_OUT", EXIT_TIMED_OUT),
        ]);
        assert_eq!(header(), named);
        let mut codes: Vec<i32> = named.values().copied().collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), named.len(), "a code with two names");
        // 255 is ssh's own, 0 success.
        assert!(!codes.contains(&255) && !codes.contains(&0));
    }

    /// `exit N` or `fail "…" N` with a number other than 0.
    fn numbered_exit(line: &str) -> bool {
        let number = |word: &str| !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit());
        let words: Vec<&str> = line.split_whitespace().collect();
        let exit = words
            .windows(2)
            .any(|pair| pair[0] == "exit" && number(pair[1]) && pair[1] != "0");
        let fail = line.contains("fail \"")
            && line
                .rsplit('"')
                .next()
                .and_then(|tail| tail.split_whitespace().next())
                .is_some_and(number);
        exit || fail
    }

    #[test]
    fn the_script_exits_only_by_name() {
        assert!(numbered_exit("  [ -d x ] || exit 3"));
        assert!(numbered_exit(r#"    1) fail "$prefix is a link" 4 ;;"#));
        assert!(!numbered_exit(
            r#"    1) fail "$prefix is a link" "$EXIT_LINK" ;;"#
        ));
        for (index, line) in HOST_SH.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with('#') {
                assert!(!numbered_exit(code), "line {}: {line}", index + 1);
            }
        }
    }
}
