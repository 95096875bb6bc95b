//! secret: the one judge of what may be a secret, for every caller: push's
//! preview and `lugc status --diff` (content never printed, only its line
//! counts), `lugc facts` (values redacted before the file is written) and
//! `validate` (no secret lands in out/).
//!
//! In: text (a file's bytes, a VM config, a `name value` line), or a path
//! and the prefixes the fleet marks secret. Out: what looks secret, each
//! finding with its [`Class`] and where its value is. When unsure, a
//! secret. Pure; knows nothing of Nickel, ssh or the fleet's policy beyond
//! the prefixes it is handed. The classes: private keys (PEM, OpenSSH,
//! PGP, PuTTY, age), tokens (API tokens, `Authorization` headers, QEMU's
//! secret objects, SNMP communities, TSIG secrets), credentials in URLs,
//! passwords (settings in ini, shell, YAML, JSON, XML, LDAP, netrc syntax,
//! PVE's `%3A`-encoded notes, a file that is one password) and password
//! hashes (crypt, htpasswd, LDAP `{SCHEME}`, argon2, DES in shadow lines).

mod rules;
mod setting;

use std::ops::Range;

/// What kind of secret a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    PrivateKey,
    Token,
    UrlCredential,
    Password,
    PasswordHash,
}

impl Class {
    /// The class as a message says it: "content holds a private key".
    pub fn noun(self) -> &'static str {
        match self {
            Class::PrivateKey => "a private key",
            Class::Token => "a token or shared secret",
            Class::UrlCredential => "credentials in a URL",
            Class::Password => "a password",
            Class::PasswordHash => "a password hash",
        }
    }

    /// The class as a word in a fact file's `redacted` list.
    pub fn name(self) -> &'static str {
        match self {
            Class::PrivateKey => "private key",
            Class::Token => "token",
            Class::UrlCredential => "URL credentials",
            Class::Password => "password",
            Class::PasswordHash => "password hash",
        }
    }
}

/// One secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub class: Class,
    /// The secret value itself (what a redaction replaces).
    pub value: Range<usize>,
    /// The whole match: the value with the name or marker that gave it away.
    pub matched: Range<usize>,
}

/// Whether the file at `path`, with `sides` as its content on each side,
/// may hold a secret: `marked` names it (an entry starting with `/` is a
/// prefix of the path, any other a suffix), or content on either side looks
/// secret.
pub fn hidden(path: &str, marked: &[String], sides: &[&[u8]]) -> bool {
    marked.iter().any(|entry| {
        if entry.starts_with('/') {
            path.starts_with(entry.as_str())
        } else {
            !entry.is_empty() && path.ends_with(entry.as_str())
        }
    }) || sides.iter().any(|bytes| looks_secret(bytes))
}

/// Whether `bytes` look like they hold a secret.
pub fn looks_secret(bytes: &[u8]) -> bool {
    !find(&String::from_utf8_lossy(bytes)).is_empty()
}

/// Every secret in `text`, in order of where it starts. Where findings
/// overlap, a marker or a shape (a key block, a hash) wins over a setting's
/// name, then the earlier one.
pub fn find(text: &str) -> Vec<Found> {
    let mut found = rules::find(text);
    let mut by_name = setting::find(text);
    by_name.extend(percent_encoded(text));
    for finding in by_name {
        let overlaps = |other: &Found| {
            other.matched.start < finding.matched.end && finding.matched.start < other.matched.end
        };
        if !found.iter().any(overlaps) {
            found.push(finding);
        }
    }
    if found.is_empty() {
        found.extend(rules::whole_text(text));
    }
    found.sort_by_key(|found| (found.matched.start, found.matched.end));
    found.dedup_by(|later, earlier| later.matched.start < earlier.matched.end);
    found
}

/// What replaces a secret value in redacted text.
pub const REDACTED: &str = "(redacted)";

/// `text` with every secret value replaced by [`REDACTED`], and each
/// secret's class with the line (0-based) where it starts.
pub fn redact(text: &str) -> (String, Vec<(usize, Class)>) {
    let mut redacted = String::with_capacity(text.len());
    let mut classes = Vec::new();
    let mut copied = 0;
    for found in find(text) {
        if found.value.start < copied {
            continue;
        }
        redacted.push_str(&text[copied..found.value.start]);
        redacted.push_str(REDACTED);
        copied = found.value.end;
        let line = text[..found.value.start].matches('\n').count();
        classes.push((line, found.class));
    }
    redacted.push_str(&text[copied..]);
    (redacted, classes)
}

/// The class of a setting `name` with `value` (a storage.cfg property, an
/// os-release variable) if its name says secret or its value holds one.
pub fn setting(name: &str, value: &str) -> Option<Class> {
    setting::named(name, value).or_else(|| find(value).first().map(|found| found.class))
}

/// Lines that hide a secret behind percent-encoding, as PVE writes a VM's
/// notes (`#password%3A x`): each decoded line is judged again, and a
/// finding covers the whole encoded line but its comment sign.
fn percent_encoded(text: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let range = start..start + line.trim_end_matches(['\n', '\r']).len();
        start += line.len();
        if !line.contains('%') {
            continue;
        }
        let decoded = percent_decode(&text[range.clone()]);
        if decoded == text[range.clone()] {
            continue;
        }
        let mut inner = rules::find(&decoded);
        inner.extend(setting::find(&decoded));
        if let Some(first) = inner.first() {
            let line = &text[range.clone()];
            let sign = line.len() - line.trim_start_matches(['#', ' ', '\t']).len();
            found.push(Found {
                class: first.class,
                value: range.start + sign..range.end,
                matched: range,
            });
        }
    }
    found
}

/// `%3A` → `:` and so on; anything that is no `%XX` stays as it is.
fn percent_decode(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                at += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> Option<Class> {
        find(text).first().map(|found| found.class)
    }

    #[test]
    fn keys_passwords_and_hashes_look_secret() {
        for (text, expected) in [
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
                Class::PrivateKey,
            ),
            ("-----BEGIN RSA PRIVATE KEY-----\n", Class::PrivateKey),
            ("auto wlan0\n  wpa-psk hunter2\n", Class::Token),
            (
                "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n",
                Class::PrivateKey,
            ),
            ("db_password: s3cret\n", Class::Password),
            ("# password = old one\n", Class::Password),
            (
                "root:$6$rounds=5000$abcdefgh$0123456789abcdefghij:19000:0:99999:7:::\n",
                Class::PasswordHash,
            ),
            ("#password%3A hunter2\nmemory: 2048\n", Class::Password),
        ] {
            assert_eq!(class(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn ordinary_configuration_does_not() {
        for text in [
            "server time.ustc.edu.cn iburst\nkeyfile /etc/chrony/chrony.keys\n",
            "PasswordAuthentication no\nPermitEmptyPasswords no\n",
            "auto vmbr0\niface vmbr0 inet static\n\taddress 10.38.95.115/24\n",
            "echo $HOME $1 $$\nprice=$5$\n",
            "token\n",
            "pve-5\n",
            "HostKey /etc/ssh/ssh_host_ed25519_key\n",
            "description: web%20server\n",
        ] {
            assert_eq!(find(text), [], "{text}");
        }
    }

    #[test]
    fn a_value_is_found_where_it_is() {
        let text = "user = admin\npassword = hunter2\n";
        let found = find(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].value.clone()], "hunter2");
        assert_eq!(&text[found[0].matched.clone()], "password = hunter2");
    }

    #[test]
    fn redaction_replaces_the_values_only() {
        let text = "user = admin\npassword = hunter2\nargs: -object secret,id=s0,data=c2Vj,format=raw\n#pass%3A x\n";
        let (redacted, classes) = redact(text);
        assert_eq!(
            redacted,
            "user = admin\npassword = (redacted)\nargs: -object secret,id=s0,data=(redacted),format=raw\n#(redacted)\n"
        );
        assert_eq!(
            classes,
            [
                (1, Class::Password),
                (2, Class::Token),
                (3, Class::Password)
            ]
        );
        let key = "a\n-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\nb\n";
        let (redacted, classes) = redact(key);
        assert!(!redacted.contains("MHcC"), "{redacted}");
        assert_eq!(classes, [(1, Class::PrivateKey)]);
        assert_eq!(
            setting("encryption-key", "{\"kdf\": null}"),
            Some(Class::Token)
        );
        assert_eq!(setting("PRETTY_NAME", "Debian GNU/Linux 12"), None);
    }

    #[test]
    fn a_marked_prefix_or_either_side_hides_the_file() {
        let marked = vec!["/etc/pve/priv/".to_owned(), ".key".to_owned()];
        assert!(hidden("/etc/pve/priv/storage/x.pw", &marked, &[b"x"]));
        assert!(hidden(
            "/etc/pve/nodes/a/pveproxy-ssl.key",
            &marked,
            &[b"x"]
        ));
        assert!(!hidden("/etc/keys/a", &marked, &[b"x"]));
        assert!(hidden("/etc/x", &marked, &[b"ok\n", b"password=1\n"]));
        assert!(!hidden("/etc/x", &marked, &[b"ok\n", b"fine\n"]));
    }
}
