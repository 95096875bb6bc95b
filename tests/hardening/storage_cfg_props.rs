//! storage.cfg as lib/ renders it, read back strictly by `storage_cfg::parse`:
//! every generated table survives.

use std::fmt::Write as _;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use crate::storage_cfg;

use crate::common::render_storage_cfg;

/// One generated section: its type and properties as storage.cfg shows them.
#[derive(Debug, Clone)]
struct Section {
    storage_type: &'static str,
    /// (key, Nickel literal, value as rendered)
    properties: Vec<(&'static str, String, String)>,
}

fn text() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,8}"
}

/// An LVM name as PVE takes it: two characters at least.
fn lvm_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{1,8}"
}

fn path() -> impl Strategy<Value = String> {
    vec(text(), 1..4).prop_map(|parts| format!("/{}", parts.join("/")))
}

fn string(key: &'static str, value: String) -> (&'static str, String, String) {
    (key, format!("{value:?}"), value)
}

fn flag(key: &'static str, value: bool) -> (&'static str, String, String) {
    (
        key,
        value.to_string(),
        if value { "1" } else { "0" }.to_owned(),
    )
}

fn section() -> impl Strategy<Value = Section> {
    let nodes = vec("pve-[0-9]{1,2}", 1..4).prop_map(|mut nodes| {
        nodes.sort();
        nodes.dedup();
        let literal = format!(
            "[{}]",
            nodes
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        ("nodes", literal, nodes.join(","))
    });
    // Content types PVE accepts on every type generated here.
    let content =
        proptest::sample::subsequence(vec!["images", "rootdir"], 1..3).prop_map(|content| {
            let literal = format!(
                "[{}]",
                content
                    .iter()
                    .map(|c| format!("{c:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            ("content", literal, content.join(","))
        });
    prop_oneof![
        (path(), any::<bool>(), nodes.clone(), content.clone()).prop_map(
            |(p, mkdir, nodes, content)| Section {
                storage_type: "dir",
                properties: vec![string("path", p), flag("mkdir", mkdir), nodes, content],
            }
        ),
        (lvm_name(), lvm_name(), nodes.clone()).prop_map(|(vg, pool, nodes)| Section {
            storage_type: "lvmthin",
            properties: vec![string("vgname", vg), string("thinpool", pool), nodes],
        }),
        (text(), any::<bool>(), nodes.clone(), content.clone()).prop_map(
            |(pool, sparse, nodes, content)| Section {
                storage_type: "zfspool",
                properties: vec![
                    string("pool", format!("rpool/{pool}")),
                    flag("sparse", sparse),
                    nodes,
                    content
                ],
            }
        ),
        (text(), path(), path(), content).prop_map(|(server, export, p, content)| Section {
            storage_type: "nfs",
            properties: vec![
                string("server", format!("{server}.example.org")),
                string("export", export),
                string("path", p),
                content,
            ],
        }),
        (text(), text(), "[0-9A-F]{2}").prop_map(|(server, store, byte)| Section {
            storage_type: "pbs",
            properties: vec![
                string("server", format!("{server}.example.org")),
                string("datastore", store),
                string("username", "root@pam".to_owned()),
                string("fingerprint", vec![byte; 32].join(":")),
            ],
        }),
    ]
}

/// storage.cfg as lib/render/storage_cfg.ncl renders `table` (checked by
/// the Storage contracts first).
fn render(table: &std::collections::BTreeMap<String, Section>) -> String {
    let mut storage = String::from("{\n");
    for (id, section) in table {
        let _ = write!(storage, "    {id:?} = {{ type = {:?}", section.storage_type);
        for (key, literal, _) in &section.properties {
            let _ = write!(storage, ", {key:?} = {literal}");
        }
        storage.push_str(" },\n");
    }
    storage.push_str("  }");
    render_storage_cfg(&storage).unwrap_or_else(|error| panic!("{error:?}\n{storage}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rendered_storage_cfg_parses_back_to_the_same_sections(
        table in btree_map(
            "[a-z][a-z0-9-]{0,8}[a-z0-9]".prop_filter("`local` has rules of its own", |id| id != "local"),
            section(),
            1..5,
        ),
    ) {
        let text = render(&table);
        let parsed = storage_cfg::parse(&text)
            .map_err(|errors| TestCaseError::fail(format!("{errors:?}\n{text}")))?;
        let ids: Vec<&str> = parsed.sections.iter().map(|s| s.id.as_str()).collect();
        let expected: Vec<&str> = table.keys().map(String::as_str).collect();
        prop_assert_eq!(ids, expected, "{}", text);
        for (id, section) in &table {
            let read = parsed.section(id).unwrap();
            prop_assert_eq!(read.storage_type.as_str(), section.storage_type);
            let mut want: Vec<(String, String)> = section
                .properties
                .iter()
                .map(|(key, _, shown)| ((*key).to_owned(), shown.clone()))
                .collect();
            if section.storage_type == "pbs" {
                want.push(("port".to_owned(), "8007".to_owned()));
            }
            let mut got = read.properties.clone();
            want.sort();
            got.sort();
            prop_assert_eq!(got, want, "{}", text);
        }
    }
}
