//! sources: what each bundle is made from, as digests. Evaluates the build
//! result's `sources` (lib/lugc.ncl: the description before any contract,
//! as each host and the rest) and hashes each part's value as Nickel holds
//! it, enum tags and their arguments included, with no JSON in between.
//!
//! Never an error: `None` when the fleet has no `sources`, a value is not
//! plain data, or the evaluation fails; the build then renders every bundle.

use std::collections::BTreeMap;
use std::path::Path;

use nickel_lang_core::eval::value::{
    ArrayData, Container, EnumVariantData, NickelValue, ValueContentRef,
};
use nickel_lang_core::term::record::RecordData;

use super::{program, FactsUse, EVAL_STACK_BYTES};

/// The build result's field that holds the sources.
const SOURCES_FIELD: &str = "sources";

/// The digests of a fleet's sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// Each host's record as described, by name.
    pub hosts: BTreeMap<String, blake3::Hash>,
    /// Every host's name and `address` (what a tunnel's peer reads).
    pub addresses: blake3::Hash,
    /// The description without its hosts.
    pub rest: blake3::Hash,
}

/// Evaluate `file`'s sources and digest them.
pub fn digest(file: &Path, facts: FactsUse) -> Option<Sources> {
    let file = file.to_path_buf();
    std::thread::Builder::new()
        .name("nickel-sources".into())
        .stack_size(EVAL_STACK_BYTES)
        .spawn(move || digest_on_this_thread(&file, facts))
        .ok()?
        .join()
        .ok()?
}

fn digest_on_this_thread(file: &Path, facts: FactsUse) -> Option<Sources> {
    let mut program = program(
        file,
        facts,
        &super::Selection::default(),
        Some(SOURCES_FIELD),
    )
    .ok()?;
    let value = program.eval_full_for_export().ok()?;
    let sources = record(&value)?;
    let rest = of(field(sources, "rest")?)?;
    let mut hosts = BTreeMap::new();
    let mut addresses = blake3::Hasher::new();
    for (name, host) in sorted(record(field(sources, "hosts")?)?)? {
        hosts.insert(name.clone(), of(host)?);
        feed_str(&mut addresses, &name);
        match record(host).and_then(|host| field(host, "address")) {
            Some(address) => feed(&mut addresses, address)?,
            None => {
                addresses.update(b"-");
            }
        }
    }
    Some(Sources {
        hosts,
        addresses: addresses.finalize(),
        rest,
    })
}

/// The digest of one value.
fn of(value: &NickelValue) -> Option<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    feed(&mut hasher, value)?;
    Some(hasher.finalize())
}

pub(super) fn record(value: &NickelValue) -> Option<&RecordData> {
    match value.content_ref() {
        ValueContentRef::Record(Container::Alloc(record)) => Some(record),
        _ => None,
    }
}

pub(super) fn field<'a>(record: &'a RecordData, name: &str) -> Option<&'a NickelValue> {
    record
        .fields
        .iter()
        .find(|(id, _)| id.label() == name)
        .and_then(|(_, field)| field.value.as_ref())
}

/// An array's elements; `None` while a contract is pending on them.
pub(super) fn elements(data: &ArrayData) -> Option<impl Iterator<Item = &NickelValue>> {
    data.pending_contracts.is_empty().then(|| data.array.iter())
}

/// A record's fields with a value, by name; `None` if one that must have a
/// value has none, or the record hides a part under a contract.
pub(super) fn sorted(record: &RecordData) -> Option<Vec<(String, &NickelValue)>> {
    if record.sealed_tail.is_some() {
        return None;
    }
    let mut fields = Vec::with_capacity(record.fields.len());
    for (id, field) in &record.fields {
        if !field.pending_contracts.is_empty() {
            return None;
        }
        match &field.value {
            Some(value) => fields.push((id.label().to_owned(), value)),
            None if field.metadata.opt() => {}
            None => return None,
        }
    }
    fields.sort_by(|(a, _), (b, _)| a.cmp(b));
    Some(fields)
}

fn feed_str(hasher: &mut blake3::Hasher, text: &str) {
    hasher.update(&(text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

/// Feed `value`, each kind of value with its own tag; `None` for what is
/// not plain data (a function, a value not evaluated).
fn feed(hasher: &mut blake3::Hasher, value: &NickelValue) -> Option<()> {
    match value.content_ref() {
        ValueContentRef::Null => {
            hasher.update(b"n");
        }
        ValueContentRef::Bool(flag) => {
            hasher.update(if flag { b"t" } else { b"f" });
        }
        ValueContentRef::Number(number) => {
            hasher.update(b"#");
            feed_str(hasher, &number.to_string());
        }
        ValueContentRef::String(text) => {
            hasher.update(b"s");
            feed_str(hasher, text.as_str());
        }
        ValueContentRef::EnumVariant(EnumVariantData { tag, arg }) => {
            hasher.update(b"e");
            feed_str(hasher, tag.label());
            match arg {
                Some(arg) => {
                    hasher.update(b"+");
                    feed(hasher, arg)?;
                }
                None => {
                    hasher.update(b"-");
                }
            }
        }
        ValueContentRef::Array(Container::Empty) => {
            hasher.update(b"[");
            hasher.update(&0u64.to_le_bytes());
        }
        ValueContentRef::Array(Container::Alloc(data)) => {
            let array = elements(data)?;
            hasher.update(b"[");
            hasher.update(&(data.array.len() as u64).to_le_bytes());
            for item in array {
                feed(hasher, item)?;
            }
        }
        ValueContentRef::Record(Container::Empty) => {
            hasher.update(b"{");
            hasher.update(&0u64.to_le_bytes());
        }
        ValueContentRef::Record(Container::Alloc(record)) => {
            let fields = sorted(record)?;
            hasher.update(b"{");
            hasher.update(&(fields.len() as u64).to_le_bytes());
            for (name, value) in fields {
                feed_str(hasher, &name);
                feed(hasher, value)?;
            }
        }
        _ => return None,
    }
    Some(())
}
