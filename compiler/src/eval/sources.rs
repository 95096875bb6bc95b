//! sources: what each bundle is made from, as digests. Evaluates the build
//! result's `sources` (lib/lugc.ncl: the description before any contract,
//! as each host and the rest) and hashes each part as one line of Nickel
//! (`checked::text`, the walker that also writes the checked hosts): enum
//! tags and their arguments included, with no JSON in between.
//!
//! Never an error: `None` when the fleet has no `sources`, a value is not
//! plain data, or the evaluation fails; the build then renders every bundle.

use std::collections::BTreeMap;
use std::path::Path;

use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::value::{ArrayData, Container, NickelValue, ValueContentRef};
use nickel_lang_core::identifier::Ident;
use nickel_lang_core::program::{FieldPath, Program};
use nickel_lang_core::term::record::RecordData;

use super::checked::{self, record_of, text};
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
    let mut program = program(file, facts, &super::Selection::default()).ok()?;
    digest_program(&mut program)
}

/// Evaluate the sources of `program` (of the main file) and digest them;
/// the program is left as it was but for its parsed and prepared files, so
/// that it can evaluate the main value next.
pub(super) fn digest_program(program: &mut Program<CacheImpl>) -> Option<Sources> {
    program.field = FieldPath(vec![Ident::from(SOURCES_FIELD).into()]);
    let value = program.eval_full_for_export().ok()?;
    let sources = record(&value)?;
    let rest = checked::digest(field(sources, "rest")?)?;
    let mut hosts = BTreeMap::new();
    let mut addresses = Vec::new();
    for (name, host) in sorted(record(field(sources, "hosts")?)?)? {
        hosts.insert(name.clone(), checked::digest(host)?);
        // `{}` for a host without one: every name counts.
        let address = match record(host).and_then(|host| field(host, "address")) {
            Some(address) => format!("{{address={}}}", text(address)?),
            None => "{}".to_owned(),
        };
        addresses.push((name, address));
    }
    let addresses = record_of(
        addresses
            .iter()
            .map(|(name, address)| (name.as_str(), address.as_str())),
    );
    Some(Sources {
        hosts,
        addresses: blake3::hash(addresses.as_bytes()),
        rest,
    })
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
