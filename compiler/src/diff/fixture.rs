//! Small out/ trees built in memory for the tests of diff: bundles of a
//! few files, each with its mode and action.

use crate::bundle::bundle;
use crate::diff::source::MemTree;
use crate::render::{BundleTree, TargetFile};

/// A file: path, text, mode, action.
pub type FileSpec<'a> = (&'a str, &'a str, u32, Option<&'a str>);

pub fn tree(name: &str, reaches: &[&str], files: &[FileSpec<'_>]) -> BundleTree {
    BundleTree {
        name: name.to_owned(),
        reaches: reaches.iter().map(|host| (*host).to_owned()).collect(),
        files: files
            .iter()
            .map(|(path, text, mode, action)| {
                let file = TargetFile {
                    bytes: text.as_bytes().to_vec(),
                    mode: *mode,
                    owner: "root:root".to_owned(),
                    action: action.map(str::to_owned),
                    confirm: false,
                    check: false,
                };
                ((*path).to_owned(), file)
            })
            .collect(),
        absent: Vec::new(),
    }
}

pub fn mem(label: &str, trees: Vec<BundleTree>) -> MemTree {
    MemTree::new(label, trees.into_iter().map(bundle).collect())
}
