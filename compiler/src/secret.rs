//! secret: whether a file may hold a secret, so that its content is never
//! printed (push's preview, `lugc status --diff`).
//!
//! In: a path, the path prefixes the fleet marks secret, and the bytes of
//! either side. Out: yes or no; when unsure, yes. Pure; knows nothing of
//! Nickel, ssh or the fleet's policy beyond the prefixes it is handed.

/// Markers of private keys (PEM, OpenSSH, PGP, PuTTY).
const KEY_MARKERS: [&str; 2] = ["PRIVATE KEY", "PuTTY-User-Key-File"];

/// A setting whose name ends with one of these holds a secret value.
const SECRET_NAMES: [&str; 11] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "psk",
    "apikey",
    "api_key",
    "api-key",
    "privatekey",
    "presharedkey",
];

/// Whether the file at `path`, with `sides` as its content on each side,
/// may hold a secret: `marked` names it (an entry starting with `/` is a
/// prefix of the path, any other a suffix), or content on either side looks
/// like a key, a password setting or a password hash.
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
    let text = String::from_utf8_lossy(bytes);
    KEY_MARKERS.iter().any(|marker| text.contains(marker))
        || text
            .lines()
            .any(|line| secret_setting(line) || crypt_hash(line))
}

/// `password = x`, `wpa-psk: x`, `PrivateKey = x`, `# secret x`: a name
/// ending in a secret word, then `=`, `:` or a space, then a value.
fn secret_setting(line: &str) -> bool {
    let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '#' || c == ';');
    let end = line
        .find(|c: char| c == '=' || c == ':' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = line[..end].trim_matches('"').to_ascii_lowercase();
    let value = line[end..].trim_start_matches(|c: char| c == '=' || c == ':' || c.is_whitespace());
    !value.is_empty()
        && SECRET_NAMES
            .iter()
            .any(|word| name.ends_with(word) && name.len() < 64)
}

/// A crypt(3) hash such as `$6$salt$hash` or `$y$j9T$…` anywhere on the line.
fn crypt_hash(line: &str) -> bool {
    line.match_indices('$').any(|(at, _)| {
        let rest = &line[at + 1..];
        let Some((id, tail)) = rest.split_once('$') else {
            return false;
        };
        let known = matches!(id, "1" | "2a" | "2b" | "2y" | "5" | "6" | "7" | "y" | "gy");
        let salted = tail
            .split('$')
            .next()
            .is_some_and(|salt| salt.len() >= 2 && salt.bytes().all(hash_char));
        known && salted && tail.contains('$')
    })
}

fn hash_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/' || b == b'='
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_passwords_and_hashes_look_secret() {
        for text in [
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
            "-----BEGIN RSA PRIVATE KEY-----\n",
            "auto wlan0\n  wpa-psk hunter2\n",
            "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n",
            "db_password: s3cret\n",
            "# password = old one\n",
            "root:$6$rounds=5000$abc$xyz:19000:0:99999:7:::\n",
            "user:$y$j9T$salt$hash:1::\n",
        ] {
            assert!(looks_secret(text.as_bytes()), "{text}");
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
        ] {
            assert!(!looks_secret(text.as_bytes()), "{text}");
        }
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
