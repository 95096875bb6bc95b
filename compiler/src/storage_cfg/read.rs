//! storage.cfg as PVE reads it: [`read`], [`same`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::format::{Format, Kind};
use super::lexical::{integer, is_false, is_storage_id, split_header, split_list, split_property};
use super::schema::{spec, TypeSpec};

/// A property's value as PVE holds it after reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Text(String),
    /// Booleans and integers (`check_value` adds 0 to them).
    Number(i64),
    /// `content` and `nodes`.
    Set(BTreeSet<String>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(text) => f.write_str(text),
            Value::Number(number) => write!(f, "{number}"),
            Value::Set(items) => f.write_str(
                &items
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
    }
}

/// One section as PVE holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub storage_type: String,
    pub values: BTreeMap<String, Value>,
    /// Property lines pve-storage's plugin for the type does not define
    /// (a newer PVE's, a typo), as written: PVE drops them, lugc keeps them
    /// (a key written twice: its values joined by a line break).
    pub foreign: BTreeMap<String, String>,
}

/// A storage.cfg as PVE holds it: sections by id, and the order PVE writes them in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub storages: BTreeMap<String, Storage>,
    pub order: Vec<String>,
    /// Sections of a type pve-storage does not have (a third-party plugin,
    /// another PVE version's type), their lines in `foreign`: PVE skips
    /// them, lugc keeps them.
    pub foreign: BTreeMap<String, Storage>,
}

/// A line PVE warns about while reading, and what it does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line.
    pub line: usize,
    pub message: String,
}

/// What PVE makes of a storage.cfg.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub config: Config,
    pub warnings: Vec<Warning>,
}

/// Read storage.cfg as PVE does (`PVE::Storage::Plugin->parse_config`):
/// never fails; what PVE would drop is dropped and named in `warnings`,
/// except what pve-storage's schema lacks, which is kept in `foreign`.
pub fn read(text: &str) -> Reading {
    let mut reading = Reading::default();
    let mut lines = Lines::new(text);
    while let Some((number, line)) = lines.next_line() {
        if is_false(line) {
            continue;
        }
        match split_header(line) {
            Some((storage_type, id)) => {
                let body = lines.section();
                reading.section(number, &storage_type.to_ascii_lowercase(), id, &body);
            }
            None => reading.warn(number, format!("ignore config line: {line}")),
        }
    }
    reading.config.settle_local();
    reading
}

/// Whether PVE reads the two texts as the same storages: same ids, types,
/// properties and values; sets compared as sets, numbers as numbers;
/// comments, section order and whatever PVE drops do not count.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (read(a).config, read(b).config);
    a.storages == b.storages && a.foreign == b.foreign
}

impl Reading {
    fn warn(&mut self, line: usize, message: String) {
        self.warnings.push(Warning { line, message });
    }

    /// The section `storage_type: id` at line `header`, with its `body` lines.
    fn section(&mut self, header: usize, storage_type: &str, id: &str, body: &[(usize, &str)]) {
        if !is_storage_id(id) {
            let reason = format!("storage ID '{id}' contains illegal characters");
            self.warn(header, format!("skip section '{id}': {reason}"));
            return;
        }
        let mut raw: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut foreign: BTreeMap<String, String> = BTreeMap::new();
        let type_spec = spec(storage_type);
        if type_spec.is_none() {
            let reason = format!("unsupported type '{storage_type}'");
            self.warn(header, format!("skip section '{id}': {reason}"));
        }
        for &(number, line) in body {
            let Some((key, value)) = split_property(line) else {
                self.warn(
                    number,
                    format!("section '{id}' - ignore config line: {line}"),
                );
                continue;
            };
            match type_spec.map(|spec| accept(spec, &raw, key, value)) {
                Some(Ok(())) => {
                    raw.insert(key.to_owned(), value.map(str::to_owned));
                    continue;
                }
                Some(Err(problem)) => self.warn(
                    number,
                    format!("section '{id}' - unable to parse value of '{key}': {problem}"),
                ),
                None => {}
            }
            if type_spec.is_none_or(|spec| spec.property(key).is_none()) {
                let kept = foreign.entry(key.to_owned()).or_default();
                if !kept.is_empty() {
                    kept.push('\n');
                }
                kept.push_str(value.unwrap_or_default());
            }
        }
        let Some(spec) = type_spec else {
            let section = Storage {
                storage_type: storage_type.to_owned(),
                values: BTreeMap::new(),
                foreign,
            };
            self.config.foreign.insert(id.to_owned(), section);
            return;
        };
        let last = body.last().map_or(header, |&(number, _)| number);
        match checked(spec, raw) {
            Ok(values) => self
                .config
                .insert(id, storage_type.to_owned(), values, foreign),
            Err(problem) => self.warn(last, format!("skip section '{id}': {problem}")),
        }
    }
}

impl Config {
    fn insert(
        &mut self,
        id: &str,
        storage_type: String,
        values: BTreeMap<String, Value>,
        foreign: BTreeMap<String, String>,
    ) {
        let storage = Storage {
            storage_type,
            values,
            foreign,
        };
        if self.storages.insert(id.to_owned(), storage).is_none() {
            self.order.push(id.to_owned());
        }
    }

    /// `local` is `dir` at /var/lib/vz on every node, whatever the file says.
    fn settle_local(&mut self) {
        let usable = self.storages.get("local").is_some_and(|local| {
            local.storage_type == "dir"
                && local
                    .values
                    .get("path")
                    .is_none_or(|path| *path == Value::Text("/var/lib/vz".to_owned()))
        });
        if !usable {
            let values = [
                ("path", Value::Text("/var/lib/vz".to_owned())),
                ("prune-backups", Value::Text("keep-all=1".to_owned())),
                (
                    "content",
                    set(&["backup", "images", "iso", "rootdir", "snippets", "vztmpl"]),
                ),
            ];
            self.storages.remove("local");
            self.order.retain(|id| id != "local");
            self.insert(
                "local",
                "dir".to_owned(),
                values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                BTreeMap::new(),
            );
        }
        if let Some(local) = self.storages.get_mut("local") {
            local.values.remove("nodes");
            local
                .values
                .entry("path".to_owned())
                .or_insert_with(|| Value::Text("/var/lib/vz".to_owned()));
        }
    }
}

fn set(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|&item| item.to_owned()).collect())
}

/// A property line PVE keeps, checked as `check_value` does: a property of
/// the type, not yet set, and a value of its format.
fn accept(
    spec: &TypeSpec,
    raw: &BTreeMap<String, Option<String>>,
    key: &str,
    value: Option<&str>,
) -> Result<(), String> {
    let Some((format, _)) = spec.property(key) else {
        return Err(format!("unexpected property '{key}'"));
    };
    if raw.contains_key(key) {
        return Err("duplicate attribute".to_owned());
    }
    match (format, value) {
        (Format::Boolean, None) => Ok(()),
        (_, None) => Err("got undefined value".to_owned()),
        (format, Some(value)) => format.check(value),
    }
}

/// `check_config` with the required keys checked, then `decode_value`.
fn checked(
    spec: &TypeSpec,
    raw: BTreeMap<String, Option<String>>,
) -> Result<BTreeMap<String, Value>, String> {
    if let Some(key) = spec.required().find(|key| !raw.contains_key(*key)) {
        return Err(format!("missing value for required option '{key}'"));
    }
    let mut values = BTreeMap::new();
    for (key, value) in raw {
        let format = spec
            .property(&key)
            .map_or(Format::Text, |(format, _)| format);
        let text = value.unwrap_or_else(|| "1".to_owned());
        let value = match (key.as_str(), format.kind()) {
            ("content", _) => content(spec, &text)?,
            ("content-dirs", _) => Value::Set(content_dirs(spec, &text)),
            // `decode_value` skips a format the type does not store.
            ("format", _) if !spec.formats.contains(&text.as_str()) => continue,
            (_, Kind::Number) => Value::Number(integer(&text).unwrap_or_default()),
            (_, Kind::Set) => Value::Set(split_list(&text).map(str::to_owned).collect()),
            (_, Kind::Text) => Value::Text(text),
        };
        values.insert(key, value);
    }
    values
        .entry("content".to_owned())
        .or_insert_with(|| set(spec.default_content));
    Ok(values)
}

/// `content` as `decode_value` keeps it: the types the storage type holds.
fn content(spec: &TypeSpec, text: &str) -> Result<Value, String> {
    let content: BTreeSet<String> = split_list(text)
        .filter(|c| spec.content.contains(c))
        .map(str::to_owned)
        .collect();
    if content.contains("none") && content.len() > 1 {
        return Err("unable to combine 'none' with other content types".to_owned());
    }
    if content.is_empty() && !spec.content.contains(&"none") {
        return Err("storage does not support content type 'none'".to_owned());
    }
    Ok(Value::Set(content))
}

/// `content-dirs` as `decode_value` keeps it: one directory per content
/// type the storage type holds, the last one written winning.
fn content_dirs(spec: &TypeSpec, text: &str) -> BTreeSet<String> {
    let dirs: BTreeMap<&str, &str> = split_list(text)
        .filter_map(|item| item.split_once('='))
        .filter(|(content, _)| spec.content.contains(content))
        .collect();
    dirs.into_iter()
        .map(|(content, dir)| format!("{content}={dir}"))
        .collect()
}

/// Lines with their 1-based numbers, comment lines (`^\s*#`) skipped, as
/// SectionConfig's `$nextline` gives them.
struct Lines<'a> {
    lines: std::iter::Enumerate<std::str::Split<'a, char>>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.split('\n').enumerate(),
        }
    }

    /// The lines of the section whose header was just read: up to a false line.
    fn section(&mut self) -> Vec<(usize, &'a str)> {
        let mut body = Vec::new();
        while let Some((number, line)) = self.next_line() {
            if is_false(line) {
                break;
            }
            body.push((number, line));
        }
        body
    }

    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        self.lines
            .by_ref()
            .map(|(index, line)| (index + 1, line))
            .find(|(_, line)| !line.trim_start().starts_with('#'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As `pvesm add`/`pvesm set` write it.
    const WRITTEN: &str = include_str!("../../../tests/storage_cfg/written.cfg");

    fn edited(from: &str, to: &str) -> String {
        assert_eq!(WRITTEN.matches(from).count(), 1, "{from:?}");
        WRITTEN.replacen(from, to, 1)
    }

    #[test]
    fn what_pve_reads_the_same_is_the_same() {
        for (from, to) in [
            // Hash order inside sets, on another run of PVE's writer.
            ("nodes pve-5,pve-6,pve-7", "nodes pve-7,pve-5,pve-6"),
            ("content rootdir,images", "content images,rootdir"),
            // Another layout of the same values.
            ("\tsparse 1\n", "\tsparse\n"),
            ("\tport 8007\n", "    port   +8007  \n"),
            ("\tnodes pve-5\n", "\tnodes pve-5\n# a comment PVE drops\n"),
            // Lines and values PVE drops with a warning.
            ("\tsparse 1\n", "\tsparse 1\n\tsparse 0\n"),
            ("\tsparse 1\n", "\tsparse 1\n\tblocksize 3k\n"),
            ("\tcontent rootdir,images", "\tcontent rootdir,images,iso"),
            // What PVE fills in: `local` never scoped, a type's default content.
            (
                "\tpath /var/lib/vz\n",
                "\tpath /var/lib/vz\n\tnodes pve-5\n",
            ),
            ("\tcontent rootdir,images\n", ""),
        ] {
            assert!(same(WRITTEN, &edited(from, to)), "{from:?} -> {to:?}");
        }
        let reordered = WRITTEN.split("\n\n").collect::<Vec<_>>();
        let reordered = [reordered[2], reordered[0], reordered[3], reordered[1], ""].join("\n\n");
        assert!(same(WRITTEN, &reordered), "{reordered}");
    }

    #[test]
    fn a_real_edit_is_not_the_same() {
        for (from, to) in [
            ("nodes pve-5,pve-6,pve-7", "nodes pve-5,pve-6"),
            ("\tnodes pve-5\n", ""),
            ("\tdisable\n", ""),
            ("\tsparse 1\n", "\tsparse 0\n"),
            ("\tport 8007\n", "\tport 8008\n"),
            ("\tusername root@pam\n", "\tusername backup@pbs\n"),
            ("pbs: esxi-5-data", "pbs: esxi-5-vdp2"),
            ("\tpool rpool/data\n", "\tpool tank/data\n"),
            // What pve-storage does not know is kept, not dropped.
            ("\tsparse 1\n", "\tsparse 1\n\tthin 1\n"),
            ("\n\npbs:", "\n\nglusterfs: gv\n\tvolume gv0\n\npbs:"),
            // PVE skips a section without a required key.
            ("\tthinpool data\n", ""),
            // A whitespace-only line does not end a section: PVE ignores the
            // next header and the storage below it is gone.
            (
                "rootdir\n\tnodes pve-5,pve-6,pve-7\n\n",
                "rootdir\n\tnodes pve-5,pve-6,pve-7\n \n",
            ),
            ("\tsparse 1\n\n", "\tsparse 1\r\n\r\n"),
        ] {
            assert!(!same(WRITTEN, &edited(from, to)), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn warnings_name_the_line_and_what_pve_drops() {
        let text = edited("\tsparse 1\n", "\tsparse yes\n\tthin 1\n");
        let reading = read(&text);
        let lines: Vec<(usize, &str)> = reading
            .warnings
            .iter()
            .map(|w| (w.line, w.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (16, "section 'local-zfs' - unable to parse value of 'sparse': type check ('boolean') failed - got 'yes'"),
                (17, "section 'local-zfs' - unable to parse value of 'thin': unexpected property 'thin'"),
            ]
        );
        let skipped = read("glusterfs: gv\n\tvolume gv0\n\nzfspool: Z\n\tpool tank\n");
        assert_eq!(skipped.config.order, ["local"], "{skipped:?}");
        assert!(skipped.warnings[0]
            .message
            .contains("unsupported type 'glusterfs'"));
        let kept = &skipped.config.foreign["gv"];
        assert_eq!(kept.storage_type, "glusterfs");
        assert_eq!(kept.foreign["volume"], "gv0");
    }

    #[test]
    fn local_is_always_the_dir_at_var_lib_vz() {
        let reading = read("lvm: local\n\tvgname pve\n");
        let local = &reading.config.storages["local"];
        assert_eq!(local.storage_type, "dir");
        assert_eq!(local.values["path"], Value::Text("/var/lib/vz".to_owned()));
        assert!(same("", "dir: local\n\tpath /var/lib/vz\n\tprune-backups keep-all=1\n\tcontent images,rootdir,iso,vztmpl,backup,snippets\n"));
    }

    #[test]
    fn headers_and_properties_follow_pves_regexes() {
        assert_eq!(split_header("nfs: vdp"), Some(("nfs", "vdp")));
        assert_eq!(split_header("nfs:vdp \r"), Some(("nfs", "vdp")));
        assert_eq!(split_header("a:b: c"), Some(("a:b", "c")));
        assert_eq!(split_header("a:b:c"), Some(("a:b", "c")));
        assert_eq!(split_header("nfs :vdp"), None);
        assert_eq!(split_header("nfs: a b"), None);
        assert_eq!(split_header("\tpool: x"), None);
        assert_eq!(
            split_property("\tpool rpool/data\r"),
            Some(("pool", Some("rpool/data")))
        );
        assert_eq!(split_property(" \t sparse "), Some(("sparse", None)));
        assert_eq!(
            split_property("\toptions vers=4 ,soft"),
            Some(("options", Some("vers=4 ,soft")))
        );
        assert_eq!(split_property("pool x"), None);
        assert_eq!(split_property(" \r"), None);
    }
}
