//! secret::setting: a setting whose name says it holds a secret, in the
//! syntaxes configuration files use: `name = value` (ini, shell, systemd),
//! `name: value` (YAML), `"name": "value"` (JSON), `name value` at the
//! start of a line (LDAP's bindpw/rootpw, snmpd, netrc, TSIG),
//! `name=value` inside a line (option lists, query strings, XML
//! attributes) and `<name>value</name>` (XML).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{Class, Found};

/// `name value` at the start of a line, after indentation, a comment sign,
/// a YAML list dash or `export`; the value is the rest of the line.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)^[ \t]*(?:[#;!]+[ \t]*)?(?:-[ \t]+)?(?:(?:export|set|local|readonly|declare[ \t]+-x)[ \t]+)?["']?(?P<n>[A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*(?:=>|[=:]|[ \t])[ \t]*(?P<v>[^\n]*?)[ \t]*\r?$"#,
    )
    .expect("a valid setting expression")
});

/// `name=value` or `"name": "value"` after a separator inside a line.
static INLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"[\s,;&?{(\[|"'<=-]["']?(?P<n>[A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*(?:=>|[=:])[ \t]*(?P<v>"[^"\n]*"|'[^'\n]*'|[^\s,;&"'<>)}\]]+)"#,
    )
    .expect("a valid setting expression")
});

/// `<name attributes>value</name>`, with or without a namespace prefix.
static ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<(?:[A-Za-z_][\w.-]*:)?(?P<n>[A-Za-z_][\w.-]*)(?:[ \t][^>\n]*)?>(?P<v>[^<\n]+)</")
        .expect("a valid setting expression")
});

/// Last words of a name that hold a password.
const PASSWORD_WORDS: [&str; 6] = ["password", "passwd", "passphrase", "pass", "pwd", "pw"];

/// Last words of a name that hold a token or a shared secret.
const TOKEN_WORDS: [&str; 8] = [
    "secret",
    "token",
    "psk",
    "apikey",
    "credential",
    "credentials",
    "authorization",
    "community",
];

/// Names run together that end in a secret word: `bindpw`, `rootpw`,
/// `cipassword`, `rocommunity`, `PrivateKey` is split by its capitals.
const ENDINGS: [(&str, Class); 9] = [
    ("password", Class::Password),
    ("passwd", Class::Password),
    ("bindpw", Class::Password),
    ("rootpw", Class::Password),
    ("requirepass", Class::Password),
    ("masterauth", Class::Password),
    ("secret", Class::Token),
    ("token", Class::Token),
    ("community", Class::Token),
];

/// The words before `key` that make it a secret: `private_key`, `secret_key`…
const KEY_QUALIFIERS: [&str; 9] = [
    "private",
    "privatekey",
    "secret",
    "api",
    "preshared",
    "encryption",
    "auth",
    "shared",
    "master",
];

/// Values that say something about a secret rather than hold one.
const NOT_VALUES: [&str; 10] = [
    "yes", "no", "true", "false", "none", "null", "nil", "on", "off", "~",
];

/// First words of a value that make the line something else: a PAM rule
/// (`password required pam_unix.so`), an NSS source (`passwd: files`).
const NOT_FIRST_WORDS: [&str; 11] = [
    "required",
    "requisite",
    "sufficient",
    "optional",
    "include",
    "substack",
    "files",
    "compat",
    "systemd",
    "sss",
    "ldap",
];

/// Every secret setting in `text`.
pub(super) fn find(text: &str) -> Vec<Found> {
    let mut found: Vec<Found> = LINE
        .captures_iter(text)
        .filter_map(|captures| judge(&captures, true))
        .collect();
    found.extend(
        ELEMENT
            .captures_iter(text)
            .filter_map(|captures| judge(&captures, false)),
    );
    // Settings nest (`Environment=DB_PASSWORD=x`): each search for the
    // next one starts after the last one's name, not after its value.
    let mut at = 0;
    while let Some(captures) = INLINE.captures_at(text, at) {
        at = captures.name("n").map_or(text.len(), |name| name.end());
        found.extend(judge(&captures, false));
    }
    found
}

/// The class of a setting given apart from any text, by its name, or by
/// its value where the name alone is no proof (a bare `key`).
pub(super) fn named(name: &str, value: &str) -> Option<Class> {
    let value = value_of(value);
    class_of(name, value, true).filter(|_| !value.is_empty() && !fingerprint(value))
}

/// A fingerprint of a key or certificate (`4f:e1:0a:…`, colon-separated
/// hex pairs), which names a secret without holding it: PVE's storage.cfg
/// keeps a PBS `encryption-key`'s fingerprint, the key itself lives in
/// /etc/pve/priv/.
fn fingerprint(value: &str) -> bool {
    let pairs: Vec<&str> = value.split(':').collect();
    pairs.len() >= 8
        && pairs
            .iter()
            .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The setting `captures` holds, if it is a secret. A bare `key` counts
/// only at the start of a line (a Ceph keyring's `key = AQB…`).
fn judge(captures: &Captures<'_>, line_start: bool) -> Option<Found> {
    let name = captures.name("n")?;
    let value = captures.name("v")?;
    let trimmed = value_of(value.as_str());
    let class = class_of(name.as_str(), trimmed, line_start)?;
    if !is_value(trimmed) {
        return None;
    }
    let offset = value.as_str().find(trimmed).unwrap_or(0);
    let start = value.start() + offset;
    Some(Found {
        class,
        value: start..start + trimmed.len(),
        matched: name.start()..value.end(),
    })
}

/// The value without quotes, a closing `;` or `,`.
fn value_of(raw: &str) -> &str {
    let raw = raw.trim().trim_end_matches([';', ',']).trim();
    ['"', '\'']
        .into_iter()
        .find_map(|quote| raw.strip_prefix(quote)?.strip_suffix(quote))
        .unwrap_or(raw)
        .trim()
}

/// Whether `value` can be a secret: not empty, not a yes or no, not a
/// path to where the secret is kept, not a variable that holds it, not a
/// nested structure, not a small number (corosync's `token: 3000`).
fn is_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    let first_word = lower.split_whitespace().next().unwrap_or_default();
    let variable = value.strip_prefix('$').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_alphanumeric() || "{(_@*#?".contains(c))
    });
    let small_number = value.len() < 6 && value.bytes().all(|b| b.is_ascii_digit());
    !value.is_empty()
        && !NOT_VALUES.contains(&lower.as_str())
        && !NOT_FIRST_WORDS.contains(&first_word)
        && !value.starts_with(['/', '[', '{'])
        && !variable
        && !small_number
        && !fingerprint(value)
}

/// The class of a setting named `name` holding `value`, if the name says
/// secret; a bare `key` only with key material at the start of a line.
fn class_of(name: &str, value: &str, line_start: bool) -> Option<Class> {
    let words = words(name);
    let last = words.last()?.as_str();
    let before = words.len().checked_sub(2).map(|at| words[at].as_str());
    if PASSWORD_WORDS.contains(&last) {
        return Some(Class::Password);
    }
    if TOKEN_WORDS.contains(&last) {
        return Some(Class::Token);
    }
    if last == "privatekey" || last == "presharedkey" {
        return Some(Class::PrivateKey);
    }
    if last == "key" {
        let qualified = before.is_some_and(|word| KEY_QUALIFIERS.contains(&word))
            || (before == Some("access") && words.iter().any(|word| word == "secret"));
        let material = line_start && words.len() == 1 && key_material(value);
        return (qualified || material).then_some(if before == Some("private") {
            Class::PrivateKey
        } else {
            Class::Token
        });
    }
    ENDINGS
        .iter()
        .find(|(ending, _)| last.ends_with(ending))
        .map(|(_, class)| *class)
}

/// A name's words, lower case: split at `_`, `-`, `.` and where a capital
/// follows a small letter (`PrivateKey`, `PVEAPIToken` → pveapi, token).
fn words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (at, &c) in chars.iter().enumerate() {
        let boundary = c.is_ascii_uppercase()
            && at > 0
            && (chars[at - 1].is_ascii_lowercase()
                || chars.get(at + 1).is_some_and(char::is_ascii_lowercase)
                    && chars[at - 1].is_ascii_uppercase());
        if "_-.".contains(c) || boundary {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if "_-.".contains(c) {
                continue;
            }
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Key material: base64 of at least 16 characters (a Ceph keyring's
/// `key = AQB…==`) or at least 32 hex digits.
fn key_material(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    let base64 = body.len() >= 16
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && body
            .bytes()
            .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    let hex = value.len() >= 32 && value.bytes().all(|b| b.is_ascii_hexdigit());
    base64 || hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("PrivateKey"), ["private", "key"]);
        assert_eq!(words("PVEAPIToken"), ["pveapi", "token"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("olcRootPW"), ["olc", "root", "pw"]);
        assert_eq!(words("wpa-psk"), ["wpa", "psk"]);
    }

    #[test]
    fn names_that_say_secret() {
        for name in [
            "password",
            "DB_PASS",
            "MYSQL_PWD",
            "bindpw",
            "rootpw",
            "cipassword",
            "API_TOKEN",
            "secret_key",
            "private_key",
            "AWS_SECRET_ACCESS_KEY",
            "rocommunity",
            "encryption-key",
        ] {
            assert!(class_of(name, "x", true).is_some(), "{name}");
        }
        for name in [
            "PasswordAuthentication",
            "PermitEmptyPasswords",
            "keyfile",
            "HostKey",
            "bypass",
            "token_ttl",
            "aws_access_key_id",
            "password_file",
            "key",
        ] {
            assert_eq!(class_of(name, "x", true), None, "{name}");
        }
        assert_eq!(
            class_of("key", "AQBsGwRkAAAAABAAmXq0rLyGkJ2ZCz/ZhfJ0tQ==", true),
            Some(Class::Token)
        );
        assert_eq!(
            class_of("key", "AQBsGwRkAAAAABAAmXq0rLyGkJ2ZCz/ZhfJ0tQ==", false),
            None
        );
    }

    #[test]
    fn a_fingerprint_names_a_secret_without_holding_one() {
        let fingerprint = vec!["4f"; 32].join(":");
        assert_eq!(named("encryption-key", &fingerprint), None);
        assert!(find(&format!("\tencryption-key {fingerprint}\n")).is_empty());
        assert_eq!(named("encryption-key", "4f:e1"), Some(Class::Token));
        assert_eq!(
            named("encryption-key", "{\"kdf\": null}"),
            Some(Class::Token)
        );
    }
}
