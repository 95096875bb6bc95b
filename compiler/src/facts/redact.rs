//! facts::redact: no secret reaches a fact file, which is meant to be
//! committed. Every value the `secret` module flags (in a VM config: a
//! note, `cipassword`, `args: -object secret,…,data=…`; a storage.cfg
//! property such as `encryption-key` or `password`; an os-release value)
//! becomes `(redacted)`, and the file's `redacted` list says where and what
//! kind of secret it was, never the value. Pure.

use crate::secret::{self, REDACTED};
use crate::storage_cfg::schema::free_text;

use super::Facts;

/// Redact `facts` in place and list what was redacted, sorted.
pub fn facts(facts: &mut Facts) {
    let mut redacted = Vec::new();
    for (id, config) in &mut facts.vms {
        let (text, found) = secret::redact(config);
        for (line, class) in found {
            let name = text
                .lines()
                .nth(line)
                .and_then(|line| line.split_once(':'))
                .map_or("notes", |(name, _)| name)
                .trim_start_matches('#');
            redacted.push(format!(
                "vms.{id} line {}: {} ({name})",
                line + 1,
                class.name()
            ));
        }
        *config = text;
    }
    for (id, section) in facts.storage.iter_mut().flatten() {
        // A value PVE holds to a format (a number, a list, `default=…`) holds no secret.
        for (name, value) in section.iter_mut().filter(|(name, _)| free_text(name)) {
            if let Some(class) = value.as_str().and_then(|text| secret::setting(name, text)) {
                *value = REDACTED.into();
                redacted.push(format!("storage.{id}.{name}: {}", class.name()));
            }
        }
    }
    for (name, value) in &mut facts.os_release {
        if let Some(class) = secret::setting(name, value) {
            REDACTED.clone_into(value);
            redacted.push(format!("os_release.{name}: {}", class.name()));
        }
    }
    redacted.sort_by(|a, b| crate::natural::cmp(a, b));
    facts.redacted = redacted;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// VM 100's config redacted as `facts` does, and the `redacted` list.
    fn vm(text: &str) -> (String, Vec<String>) {
        let mut facts = Facts {
            vms: BTreeMap::from([("100".to_owned(), text.to_owned())]),
            ..Facts::default()
        };
        self::facts(&mut facts);
        (facts.vms.remove("100").unwrap(), facts.redacted)
    }

    #[test]
    fn vm_configs_keep_their_lines_but_not_their_secrets() {
        let text = "#web server\n#password%3A hunter2\nargs: -object secret,id=sec0,data=c2VjcmV0\ncipassword: $5$abcdefgh$0123456789012345678901234567890123456789012\nmemory: 2048\n";
        let (config, redacted) = vm(text);
        assert_eq!(
            config,
            "#web server\n#(redacted)\nargs: -object secret,id=sec0,data=(redacted)\ncipassword: (redacted)\nmemory: 2048\n"
        );
        assert_eq!(
            redacted,
            [
                "vms.100 line 2: password (notes)",
                "vms.100 line 3: token (args)",
                "vms.100 line 4: password hash (cipassword)",
            ]
        );
    }

    #[test]
    fn storage_properties_and_os_release_values() {
        let mut facts = Facts::default();
        let section = BTreeMap::from([
            ("type".to_owned(), "pbs".into()),
            (
                "encryption-key".to_owned(),
                "{\"kdf\":null,\"data\":\"c2VjcmV0\"}".into(),
            ),
            ("username".to_owned(), "root@pam".into()),
            ("port".to_owned(), 8007.into()),
        ]);
        // What PVE keeps in storage.cfg: a key's fingerprint, formatted values.
        let fingerprint = vec!["4f"; 32].join(":");
        let kept = BTreeMap::from([
            ("type".to_owned(), "pbs".into()),
            ("encryption-key".to_owned(), fingerprint.clone().into()),
            (
                "prune-backups".to_owned(),
                "keep-daily=7,keep-weekly=4".into(),
            ),
            ("bwlimit".to_owned(), "default=102400".into()),
        ]);
        facts.storage = Some(BTreeMap::from([
            ("backup".to_owned(), section),
            ("kept".to_owned(), kept.clone()),
        ]));
        facts.os_release = BTreeMap::from([
            (
                "PRETTY_NAME".to_owned(),
                "Debian GNU/Linux 12 (bookworm)".to_owned(),
            ),
            ("API_TOKEN".to_owned(), "abcdef123456".to_owned()),
        ]);
        self::facts(&mut facts);
        let backup = &facts.storage.as_ref().unwrap()["backup"];
        assert_eq!(backup["encryption-key"], REDACTED);
        assert_eq!(backup["username"], "root@pam");
        assert_eq!(facts.storage.as_ref().unwrap()["kept"], kept);
        assert_eq!(facts.os_release["API_TOKEN"], REDACTED);
        assert_eq!(
            facts.redacted,
            [
                "os_release.API_TOKEN: token",
                "storage.backup.encryption-key: token"
            ]
        );
        let text = facts.render();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("abcdef123456"),
            "{text}"
        );
    }
}
