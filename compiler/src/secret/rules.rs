//! secret::rules: secrets that a marker or a shape gives away wherever they
//! stand (key blocks, hashes, credentials in URLs, tokens in headers), each
//! a regular expression whose `v` group is the secret value; and a file
//! that is one password.

use std::sync::LazyLock;

use regex::Regex;

use super::{Class, Found};

/// A rule: its class, its expression, and a last check of the value.
struct Rule {
    class: Class,
    regex: Regex,
    accept: fn(&str) -> bool,
}

fn rule(class: Class, pattern: &str) -> Rule {
    ruled(class, pattern, |_| true)
}

fn ruled(class: Class, pattern: &str, accept: fn(&str) -> bool) -> Rule {
    Rule {
        class,
        regex: Regex::new(pattern).expect("a valid secret rule"),
        accept,
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use Class::*;
    vec![
        // PEM and OpenSSH keys, PGP key blocks; an unterminated block runs to the end.
        rule(
            PrivateKey,
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<v>.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        ),
        rule(PrivateKey, r"(?ms)^PuTTY-User-Key-File-\d+:(?P<v>.*)"),
        rule(PrivateKey, r"(?P<v>AGE-SECRET-KEY-1[0-9A-Z]{20,})"),
        // `scheme://user:password@host`
        rule(
            UrlCredential,
            r#"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@"'<>]*:(?P<v>[^\s/@"'<>]+)@"#,
        ),
        // netrc and apt's auth.conf on one line: `machine h login u password p`.
        rule(
            Password,
            r"(?m)^[ \t]*(?:machine[ \t]+\S+|default)\b.*?\bpass(?:word|wd)?[ \t]+(?P<v>\S+)",
        ),
        rule(
            Token,
            r"(?i)\bauthorization:[ \t]*(?:bearer|basic|token|negotiate|pveapitoken)[ \t=]+(?P<v>\S+)",
        ),
        rule(Token, r"PVEAPIToken[= \t]+(?P<v>[^\s'\x22]+)"),
        // QEMU's `-object secret,id=…,data=…` (a VM's `args`).
        rule(
            Token,
            r"-object[ \t]+secret,(?:[^\s,]*,)*?data=(?P<v>[^\s,]+)",
        ),
        // BIND's and knot's TSIG keys: `secret "…";` anywhere on a line.
        rule(Token, r#"\bsecret[ \t]+"(?P<v>[^"\n]+)""#),
        // snmpd.conf's `com2sec NAME SOURCE COMMUNITY`.
        rule(
            Token,
            r"(?m)^[ \t]*com2sec6?[ \t]+(?:-Cn[ \t]+\S+[ \t]+)?\S+[ \t]+\S+[ \t]+(?P<v>\S+)",
        ),
        // ~/.pgpass: `host:port:database:user:password`.
        rule(
            Password,
            r"(?m)^[^:\s#]+:(?:\d+|\*):[^:\s]+:[^:\s]+:(?P<v>(?:[^:\s\\]|\\.)+)\r?$",
        ),
        // crypt(3): `$1$`, `$5$`, `$6$`, `$y$`, bcrypt `$2b$`, htpasswd `$apr1$`…
        rule(
            PasswordHash,
            r"(?P<v>\$(?:1|2[abxy]?|5|6|7|y|gy|md5|sha1|apr1)\$[^\s$:]+\$[./0-9A-Za-z$=,]{12,})",
        ),
        rule(
            PasswordHash,
            r#"(?P<v>\$(?:argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?)\$[^\s:'"]{12,})"#,
        ),
        // LDAP's and htpasswd's `{SHA}…`, `{SSHA}…`, `{CRYPT}…`.
        rule(
            PasswordHash,
            r#"(?i)\{(?:S?SHA(?:256|512)?|S?MD5|CRYPT|PBKDF2(?:-SHA\d+)?|ARGON2|BLF-CRYPT|SHA(?:256|512)-CRYPT|CLEARTEXT|PLAIN)\}(?P<v>[^\s'"<,]+)"#,
        ),
        // GRUB's `password_pbkdf2 USER grub.pbkdf2.sha512.ROUNDS.SALT.HASH`.
        rule(
            PasswordHash,
            r"grub\.pbkdf2\.sha\d+\.\d+\.(?P<v>[0-9A-Za-z.]+)",
        ),
        // Traditional DES crypt in a shadow line (nine fields).
        rule(
            PasswordHash,
            r"(?m)^[A-Za-z_][A-Za-z0-9_.-]*\$?:(?P<v>[./0-9A-Za-z]{13}):(?:[^:\n]*:){6}[^:\n]*$",
        ),
        // …and in an htpasswd line, `user:hash`.
        ruled(
            PasswordHash,
            r"(?m)^[A-Za-z0-9_.@-]+:(?P<v>[./0-9A-Za-z]{13})\r?$",
            |hash| {
                hash.bytes().any(|b| b.is_ascii_uppercase())
                    && hash.bytes().any(|b| b.is_ascii_lowercase())
            },
        ),
    ]
});

/// What the rules find in `text`.
pub(super) fn find(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for rule in RULES.iter() {
        for captures in rule.regex.captures_iter(text) {
            let matched = captures.get(0).expect("group 0");
            let value = captures.name("v").map_or(matched.range(), |v| v.range());
            if !(rule.accept)(&text[value.clone()]) {
                continue;
            }
            // A key block cut off after its marker is still a key.
            let value = if value.is_empty() {
                matched.range()
            } else {
                value
            };
            found.push(Found {
                class: rule.class,
                value,
                matched: matched.range(),
            });
        }
    }
    found
}

/// A file that is one password: a single word with letters of three kinds
/// (lower case, upper case, digits, other signs than those of names and
/// paths), as a `.pw` file or rsync's secrets file holds it.
pub(super) fn whole_text(text: &str) -> Option<Found> {
    let word = text.trim();
    let one_word = (8..=256).contains(&word.len()) && !word.contains(char::is_whitespace);
    if !one_word {
        return None;
    }
    let kinds = [
        word.bytes().any(|b| b.is_ascii_lowercase()),
        word.bytes().any(|b| b.is_ascii_uppercase()),
        word.bytes().any(|b| b.is_ascii_digit()),
        word.bytes()
            .any(|b| !b.is_ascii_alphanumeric() && !b"._-/:@".contains(&b)),
    ];
    let start = text.find(word).unwrap_or(0);
    (kinds.iter().filter(|kind| **kind).count() >= 3).then(|| Found {
        class: Class::Password,
        value: start..start + word.len(),
        matched: start..start + word.len(),
    })
}
