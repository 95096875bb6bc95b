//! validate: `&Evaluated` → `Ok(())` or every problem at once.
//!
//! These checks protect lugc's own machinery (paths stay inside a host root,
//! manifests stay parseable, secrets stay out of out/). Fleet policy lives in
//! lib/ as Nickel contracts, which catch most mistakes earlier and with a
//! precise location; here a problem is located by finding the offending string
//! in the main file. Does no I/O.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{locate, Diagnostics, SourceDiagnostic};
use crate::eval::Evaluated;
use crate::fleet::{FileSpec, Fleet, Host};
use crate::pve::{on_pmxcfs, PMXCFS};
use crate::render::{parse_mode, CLUSTER_BUNDLE};
use crate::secret::Found;

/// Target paths reserved for lugc's own files in a bundle directory.
const RESERVED_PATHS: [&str; 1] = ["/MANIFEST"];

const TARGET_PATH_HELP: &str =
    "target paths are absolute, normalised, and stay inside the host root";

/// Check the evaluated fleet's names, targets and files. A bundle taken
/// from out/ (`derive`) has no files here: a build with the same lugc
/// checked them when it wrote them.
pub fn validate(evaluated: &Evaluated) -> Result<(), Diagnostics> {
    let fleet = &evaluated.fleet;
    let secrets = Secrets::of(fleet);
    let mut problems: Vec<Problem> = Vec::new();
    for (name, host) in &fleet.hosts {
        check_host(name, host, &secrets, &mut problems);
    }
    for (path, file) in &fleet.cluster.files {
        check_file(CLUSTER_BUNDLE, path, file, &secrets, &mut problems);
        if !on_pmxcfs(path) {
            problems.push(Problem::new(
                path,
                format!("cluster bundle: {path} is not under {PMXCFS}"),
                "the cluster bundle holds only files that pmxcfs replicates",
            ));
        }
    }
    into_result(problems, evaluated)
}

/// The first secret in each content of the fleet's files, each content
/// scanned once (many hosts get the same file), on every core.
struct Secrets<'a>(HashMap<&'a str, Found>);

impl<'a> Secrets<'a> {
    fn of(fleet: &'a Fleet) -> Self {
        let contents: HashSet<&str> = (fleet.hosts.values())
            .flat_map(|host| host.files.values())
            .chain(fleet.cluster.files.values())
            .map(|file| file.content.as_str())
            .collect();
        let scan = |content: &'a str| (content, crate::secret::find(content).into_iter().next());
        let found = crate::parallel::map_on_every_core(contents.into_iter().collect(), scan);
        let found = found.into_iter();
        Secrets(
            found
                .filter_map(|(content, found)| Some((content, found?)))
                .collect(),
        )
    }

    fn in_content(&self, content: &str) -> Option<&Found> {
        self.0.get(content)
    }
}

/// Host `name`'s problems and its files'.
fn check_host(name: &str, host: &Host, secrets: &Secrets, problems: &mut Vec<Problem>) {
    if !is_host_name(name) || name == CLUSTER_BUNDLE {
        problems.push(Problem::new(
            name,
            format!("host name `{name}` is not usable as a bundle name"),
            "host names are lowercase letters, digits and inner dashes, and not `cluster`",
        ));
    }
    if let Err(reason) = crate::host::Remote::check_target(&host.ssh_target) {
        problems.push(Problem::new(
            &host.ssh_target,
            format!("host `{name}`: ssh_target {reason}"),
            "set ssh_target to user@address, e.g. root@pve-5.vm.ustclug.org",
        ));
    }
    for (path, file) in &host.files {
        check_file(name, path, file, secrets, problems);
        if host.cluster && on_pmxcfs(path) {
            problems.push(Problem::new(
                path,
                format!("host `{name}`: {path} is replicated by pmxcfs"),
                "put files under /etc/pve of cluster members into the cluster bundle",
            ));
        }
    }
    for path in &host.absent {
        let mut fail = |what: String, help: &str| {
            problems.push(Problem::new(
                path,
                format!("{name}: absent {path}: {what}"),
                help,
            ));
        };
        if let Err(reason) = check_path(path) {
            fail(reason, TARGET_PATH_HELP);
        } else if host.files.contains_key(path) {
            fail(
                "the host also gets a file there".to_owned(),
                "a path is either one of the host's files or absent, not both",
            );
        }
    }
}

fn check_file(
    bundle: &str,
    path: &str,
    file: &FileSpec,
    secrets: &Secrets,
    problems: &mut Vec<Problem>,
) {
    let mut fail = |needle: &str, what: String, help: &str| {
        problems.push(Problem::new(
            needle,
            format!("{bundle}: {path}: {what}"),
            help,
        ));
    };
    if let Err(reason) = check_path(path) {
        fail(path, reason, TARGET_PATH_HELP);
    }
    if parse_mode(&file.mode).is_none() {
        fail(
            &file.mode,
            format!("mode `{}` is not octal like 0644", file.mode),
            "write the mode as 3 or 4 octal digits",
        );
    }
    if !is_owner(&file.owner) {
        fail(
            &file.owner,
            format!("owner `{}` is not `user:group`", file.owner),
            "write the owner as user:group, e.g. root:root",
        );
    }
    if let Some(Err(reason)) = file.action.as_deref().map(check_action) {
        fail(path, reason, "join several commands with `&&`");
    }
    if let Some(found) = secrets.in_content(&file.content) {
        problems.push(Problem::secret(bundle, path, &file.content, found));
    }
}

/// A normalised absolute path with no `.`/`..` components and only safe characters.
pub fn check_path(path: &str) -> Result<(), String> {
    let Some(relative) = path.strip_prefix('/') else {
        return Err("the path is not absolute".to_owned());
    };
    if RESERVED_PATHS.contains(&path) {
        return Err("the path is reserved for lugc's MANIFEST".to_owned());
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "._-+@=,:%/".contains(c);
    if let Some(bad) = path.chars().find(|c| !safe(*c)) {
        return Err(format!("the path contains {bad:?}"));
    }
    for component in relative.split('/') {
        match component {
            "" => return Err("the path has an empty component".to_owned()),
            "." | ".." => return Err(format!("the path contains `{component}`")),
            _ => {}
        }
    }
    Ok(())
}

/// An action the MANIFEST can hold: one non-empty line, read back as written.
///
/// A MANIFEST line ends at `\n` and a parser drops a `\r` before it, and `-`
/// there means "no action", so those, like other control characters, would
/// not survive a render/parse round trip.
pub fn check_action(action: &str) -> Result<(), String> {
    if action.trim().is_empty() || action.contains(['\n', '\r']) {
        return Err("action must be one non-empty line".to_owned());
    }
    if action == "-" {
        return Err("action `-` reads as \"no action\" in the MANIFEST".to_owned());
    }
    if let Some(bad) = action.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(format!("action contains the control character {bad:?}"));
    }
    Ok(())
}

fn is_host_name(name: &str) -> bool {
    let inner_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    inner_ok
        && !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.len() <= 63
}

fn is_owner(owner: &str) -> bool {
    let is_name = |name: &str| {
        name.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    owner
        .split_once(':')
        .is_some_and(|(user, group)| is_name(user) && is_name(group))
}

/// A problem and the strings to look for in the main file to locate it.
struct Problem {
    /// Tried in turn; the first found locates the problem.
    needles: Vec<String>,
    message: String,
    help: String,
}

impl Problem {
    fn new(needle: &str, message: String, help: &str) -> Self {
        Problem {
            needles: vec![needle.to_owned()],
            message,
            help: help.to_owned(),
        }
    }

    /// A secret in a file's content, located at its value where the main
    /// file writes it, else at its marker, else at the file's path.
    fn secret(bundle: &str, path: &str, content: &str, found: &crate::secret::Found) -> Self {
        let first_line = |range: std::ops::Range<usize>| {
            content[range]
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or_default()
                .to_owned()
        };
        Problem {
            needles: vec![
                first_line(found.value.clone()),
                first_line(found.matched.clone()),
                path.to_owned(),
            ],
            message: format!("{bundle}: {path}: content holds {}", found.class.noun()),
            help: "secrets never land in out/: keep them on the host and reference them by path"
                .to_owned(),
        }
    }

    fn into_diagnostic(self, evaluated: &Evaluated) -> SourceDiagnostic {
        let diagnostic = SourceDiagnostic::new(self.message).with_help(self.help);
        let range = self
            .needles
            .iter()
            .find_map(|needle| locate(&evaluated.main_text, needle));
        match range {
            Some(range) => diagnostic.at(
                &evaluated.main_name,
                &evaluated.main_text,
                range,
                "defined here",
            ),
            None => diagnostic,
        }
    }
}

fn into_result(problems: Vec<Problem>, evaluated: &Evaluated) -> Result<(), Diagnostics> {
    if problems.is_empty() {
        return Ok(());
    }
    let diagnostics = problems
        .into_iter()
        .map(|problem| problem.into_diagnostic(evaluated))
        .collect();
    Err(Diagnostics::new(diagnostics, &evaluated.main_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_root() {
        assert!(check_path("/etc/chrony/chrony.conf").is_ok());
        assert!(check_path("etc/x").is_err());
        assert!(check_path("/etc/../root/x").is_err());
        assert!(check_path("/etc//x").is_err());
        assert!(check_path("/etc/x/").is_err());
        assert!(check_path("/etc/a b").is_err());
        assert!(check_path("/MANIFEST").is_err());
    }

    #[test]
    fn actions_survive_the_manifest() {
        assert!(check_action("systemctl restart chrony.service").is_ok());
        assert!(check_action("a\tb").is_ok());
        assert!(check_action(" ").is_err());
        assert!(check_action("a\nb").is_err());
        assert!(check_action("ifreload -a\r").is_err());
        assert!(check_action("-").is_err());
        assert!(check_action("a\u{1b}[0m").is_err());
    }

    #[test]
    fn owners_and_host_names() {
        assert!(is_owner("root:www-data"));
        assert!(!is_owner("root"));
        assert!(!is_owner("Root:root"));
        assert!(is_host_name("pve-10"));
        assert!(!is_host_name("-pve"));
        assert!(!is_host_name("PVE"));
    }
}
