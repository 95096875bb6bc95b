//! Property tests of the parts written in Rust: the MANIFEST format and
//! target-path validation.

use std::path::{Component, Path};

use lugc::manifest::{Entry, Manifest};
use lugc::validate::{check_action, check_path};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

/// A path component that `check_path` accepts (its safe characters, not `.`/`..`).
fn component() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._@+=,:%-]{1,12}".prop_filter("not . or ..", |c| c != "." && c != "..")
}

/// An absolute, normalised target path.
fn target_path() -> impl Strategy<Value = String> {
    vec(component(), 1..6)
        .prop_map(|parts| format!("/{}", parts.join("/")))
        .prop_filter("accepted by check_path", |path| check_path(path).is_ok())
}

/// A component of any kind: normal, `.`, `..`, empty, or with unsafe characters.
fn any_component() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => component(),
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
        1 => "[ -~\u{e9}\u{2028}\\\\]{1,6}",
    ]
}

fn host_name() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?"
}

/// An action that validate accepts: anything printable on one line.
fn action() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        "[ -~\u{e9}\t\r]{1,40}".prop_filter("accepted by validate", |a| check_action(a).is_ok()),
    )
}

fn entry_fields() -> impl Strategy<Value = (String, u32, String, Option<String>)> {
    (
        "[0-9a-f]{64}",
        0u32..=0o7777,
        "[a-z_][a-z0-9_-]{0,7}:[a-z_][a-z0-9_-]{0,7}",
        action(),
    )
}

fn manifest() -> impl Strategy<Value = Manifest> {
    (
        host_name(),
        vec(host_name(), 0..4),
        btree_map(target_path(), entry_fields(), 0..8),
    )
        .prop_map(|(bundle, mut reaches, files)| {
            reaches.sort();
            reaches.dedup();
            let entries = files
                .into_iter()
                .map(|(path, (blake3, mode, owner, action))| Entry {
                    blake3,
                    mode,
                    owner,
                    path,
                    action,
                })
                .collect();
            Manifest {
                bundle,
                reaches,
                entries,
                ..Manifest::default()
            }
        })
}

proptest! {
    #[test]
    fn a_manifest_survives_render_and_parse(manifest in manifest()) {
        let text = manifest.render();
        let parsed = Manifest::parse(&text);
        prop_assert_eq!(parsed.as_ref(), Ok(&manifest), "{}", text);
        let again = parsed.unwrap().render();
        prop_assert_eq!(&again, &text);
        prop_assert_eq!(lugc::manifest::bundle_id(again.as_bytes()), manifest.id());
    }

    #[test]
    fn parsing_any_text_never_panics(text in "(lugc-manifest [123]\n)?[ -~\n]{0,200}") {
        let _ = Manifest::parse(&text);
    }

    #[test]
    fn a_path_with_a_dot_dot_component_is_rejected(
        before in vec(any_component(), 0..4),
        after in vec(any_component(), 0..4),
    ) {
        let path = format!("/{}", [before, vec!["..".to_owned()], after].concat().join("/"));
        prop_assert!(check_path(&path).is_err(), "{}", path);
    }

    #[test]
    fn a_path_not_starting_with_a_slash_is_rejected(path in "[^/][ -~]{0,30}") {
        prop_assert!(check_path(&path).is_err(), "{}", path);
    }

    #[test]
    fn an_accepted_path_joined_under_a_root_stays_under_it(
        parts in vec(any_component(), 1..6),
        leading in 0usize..3,
    ) {
        let path = format!("{}{}", "/".repeat(leading), parts.join("/"));
        if check_path(&path).is_ok() {
            // How write.rs and push.rs place a target path under a bundle root.
            let root = Path::new("/srv/out/pve-5");
            let joined = root.join(path.trim_start_matches('/'));
            prop_assert!(joined.starts_with(root), "{}", joined.display());
            let below: Vec<Component> = joined.strip_prefix(root).unwrap().components().collect();
            prop_assert_eq!(below.len(), path.split('/').count() - 1, "{}", path);
            prop_assert!(
                below.iter().all(|c| matches!(c, Component::Normal(_))),
                "{}", joined.display()
            );
        }
    }

}
