//! diff::compare: two [`OutTree`]s → a [`Report`]: the changed bundles and
//! files, with renamed bundles and renamed or moved files paired up.
//!
//! INDEX bundle ids are compared first: a bundle whose id is the same on both
//! sides is skipped without reading its MANIFEST or files, and inside a
//! changed bundle only files whose MANIFEST line differs are read (in a
//! revision each distinct content once, see [`OutTree::shares_claims`]).
//! Every MANIFEST read is checked against its INDEX id and every file read
//! against its MANIFEST line; a mismatch is reported as a hand edit. Equal changes
//! share one computed diff. Knows nothing of where the trees live, and
//! formats nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::diff::renames::{self, Candidate};
use crate::diff::report::{
    content_change, distinct_actions, BundleChange, Content, FileChange, HandEdit, Place, Report,
    Status,
};
use crate::diff::sections::{self, Kind};
use crate::diff::source::{parse_manifest, Index, OutTree};
use crate::diff::DiffError;
use crate::manifest::{Entry, Manifest};
use crate::natural;

/// What to compare and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Keep only bundles named after one of these hosts or reaching one; all when empty.
    pub hosts: Vec<String>,
    /// Pair removed and added bundles and files at least this similar
    /// (percent) as renames and moves; `None` never does.
    pub renames: Option<u8>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hosts: Vec::new(),
            renames: Some(renames::DEFAULT_THRESHOLD),
        }
    }
}

const OLD: usize = 0;
const NEW: usize = 1;

/// Compare `old` with `new`. A name in `options.hosts` that is no bundle on
/// either side is an error.
pub fn compare(
    old: &dyn OutTree,
    new: &dyn OutTree,
    options: &Options,
) -> Result<Report, DiffError> {
    let indexes = [old.index()?, new.index()?];
    known_hosts(&indexes, options, [old, new])?;
    let mut reader = Reader::new([old, new]);
    let [both, removed, added] = split(&indexes);
    let mut manifests: [HashMap<&str, Manifest>; 2] = Default::default();
    for (side, names) in [(OLD, [&both, &removed]), (NEW, [&both, &added])] {
        for name in names.into_iter().flatten() {
            let manifest = reader.manifest(side, name, &indexes[side][*name])?;
            manifests[side].insert(name, manifest);
        }
    }
    let mut notes = Vec::new();
    let renamed = match options.renames {
        Some(threshold) => rename_bundles(
            &mut reader,
            [&removed, &added],
            &manifests,
            threshold,
            &mut notes,
        )?,
        None => Vec::new(),
    };
    let mut bundles: Vec<BundleChange> = pairs([&both, &removed, &added], &renamed)
        .into_iter()
        .filter_map(|(names, similarity)| {
            let sides = [OLD, NEW].map(|side| {
                names[side].map(|name| (name, &manifests[side][name], &indexes[side][name]))
            });
            wanted(&options.hosts, &sides).then(|| bundle_change(sides, similarity))
        })
        .collect();
    if let Some(threshold) = options.renames {
        rename_files(&mut reader, &mut bundles, threshold, &mut notes)?;
    }
    read_contents(&mut reader, &mut bundles)?;
    add_addresses(&mut reader, &mut bundles, &manifests)?;
    bundles.sort_by(|a, b| natural::cmp(&a.name, &b.name));
    let mut hand_edits = reader.hand_edits;
    hand_edits.sort();
    hand_edits.dedup();
    Ok(Report {
        old: old.label().to_owned(),
        new: new.label().to_owned(),
        bundles,
        hand_edits,
        notes,
        harms: None,
    })
}

/// An error for the first host of `options.hosts` that neither side has.
fn known_hosts(
    indexes: &[Index; 2],
    options: &Options,
    trees: [&dyn OutTree; 2],
) -> Result<(), DiffError> {
    let Some(host) = options
        .hosts
        .iter()
        .find(|host| indexes.iter().all(|index| !index.contains_key(*host)))
    else {
        return Ok(());
    };
    let known: BTreeSet<&str> = indexes
        .iter()
        .flat_map(|index| index.keys())
        .map(String::as_str)
        .collect();
    let known: Vec<&str> = known.into_iter().collect();
    let suggestion = crate::eval::suggest::closest(host, &known)
        .map(|name| format!("did you mean `{name}`? "))
        .unwrap_or_default();
    Err(DiffError::UnknownHost {
        host: host.clone(),
        suggestion,
        old: trees[OLD].label().to_owned(),
        new: trees[NEW].label().to_owned(),
    })
}

/// The bundles that changed on both sides, those only the old side has,
/// and those only the new side has, by name.
fn split(indexes: &[Index; 2]) -> [Vec<&str>; 3] {
    let (mut both, mut removed, mut added) = (Vec::new(), Vec::new(), Vec::new());
    let names: BTreeSet<&String> = indexes.iter().flat_map(|index| index.keys()).collect();
    for name in names {
        match (indexes[OLD].get(name), indexes[NEW].get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(_)) => both.push(name.as_str()),
            (Some(_), None) => removed.push(name.as_str()),
            (None, _) => added.push(name.as_str()),
        }
    }
    [both, removed, added]
}

/// Old and new name of each bundle change, with the similarity of a rename:
/// changed bundles, renamed ones, then those removed or added alone.
fn pairs<'a>(
    [both, removed, added]: [&[&'a str]; 3],
    renamed: &'a [([String; 2], u8)],
) -> Vec<([Option<&'a str>; 2], Option<u8>)> {
    let paired = |side: usize, name: &str| renamed.iter().any(|(names, _)| names[side] == name);
    both.iter()
        .map(|name| ([Some(*name), Some(*name)], None))
        .chain(renamed.iter().map(|(names, similarity)| {
            (
                names.each_ref().map(|name| Some(name.as_str())),
                Some(*similarity),
            )
        }))
        .chain(
            removed
                .iter()
                .filter(|name| !paired(OLD, name))
                .map(|name| ([Some(*name), None], None)),
        )
        .chain(
            added
                .iter()
                .filter(|name| !paired(NEW, name))
                .map(|name| ([None, Some(*name)], None)),
        )
        .collect()
}

/// Each file change's content, read and diffed; files in path order.
fn read_contents(reader: &mut Reader<'_>, bundles: &mut [BundleChange]) -> Result<(), DiffError> {
    for bundle in bundles {
        let old_name = bundle.old_name().to_owned();
        for file in &mut bundle.files {
            let old_bundle = file
                .from
                .as_ref()
                .map_or(old_name.as_str(), |from| from.bundle.as_str());
            let old = file.old.as_ref().map(|entry| (old_bundle, entry));
            let new = file.new.as_ref().map(|entry| (bundle.name.as_str(), entry));
            // A file that moved away changes nothing here: its move counts where it arrived.
            if file.moved_to.is_none() {
                file.content = reader.content(old, new)?;
            }
        }
        bundle.files.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(())
}

/// The paths inside out/ among `changed` (as git sees them) that no
/// MANIFEST or INDEX line of `report` explains: hand edits on the new side.
/// With a host filter, only bundles the filter keeps count.
pub fn unexplained(
    report: &Report,
    changed: &[String],
    new: &dyn OutTree,
    hosts: &[String],
) -> Vec<HandEdit> {
    let mut explained: BTreeSet<String> = BTreeSet::from(["INDEX".to_owned()]);
    for bundle in &report.bundles {
        for name in [bundle.old_name(), &bundle.name] {
            explained.insert(format!("{name}/MANIFEST"));
        }
        for file in &bundle.files {
            if file.new.is_some() {
                explained.insert(format!("{}{}", bundle.name, file.path));
            }
            if file.old.is_some() {
                let place = file.old_place(bundle);
                explained.insert(format!("{}{}", place.bundle, place.path));
            }
        }
    }
    // Files a renamed bundle kept as they were are not in the report: the
    // old name's are gone with it, the new name's must match their MANIFEST.
    for bundle in report.bundles.iter().filter(|b| b.old_name.is_some()) {
        let Ok(manifest) = new
            .manifest(&bundle.name)
            .and_then(|bytes| parse_manifest(&bytes, &bundle.name))
        else {
            continue;
        };
        for entry in manifest.entries {
            let path = format!("{}{}", bundle.name, entry.path);
            let intact = new
                .file(&bundle.name, &entry.path)
                .is_ok_and(|bytes| blake3::hash(&bytes).to_hex().as_str() == entry.blake3);
            if intact {
                explained.insert(path);
            }
            explained.insert(format!("{}{}", bundle.old_name(), entry.path));
        }
    }
    let in_scope = |bundle: &str| {
        hosts.is_empty()
            || hosts.iter().any(|host| host == bundle)
            || new
                .manifest(bundle)
                .ok()
                .and_then(|bytes| parse_manifest(&bytes, bundle).ok())
                .is_some_and(|manifest| hosts.iter().any(|host| manifest.reaches.contains(host)))
    };
    changed
        .iter()
        .filter(|path| !explained.contains(*path))
        .filter(|path| in_scope(path.split('/').next().unwrap_or_default()))
        .map(|path| HandEdit {
            side: new.label().to_owned(),
            location: path.clone(),
            reason: format!("changed since {}, but no MANIFEST line says so", report.old),
        })
        .collect()
}

/// One side of a bundle: its name, MANIFEST and INDEX id.
type Side<'a> = Option<(&'a str, &'a Manifest, &'a String)>;

/// Whether a bundle passes the host filter: named after a host, or reaching one.
fn wanted(hosts: &[String], sides: &[Side<'_>; 2]) -> bool {
    hosts.is_empty()
        || sides.iter().flatten().any(|(name, manifest, _)| {
            hosts
                .iter()
                .any(|host| host == name || manifest.reaches.contains(host))
        })
}

/// The files whose MANIFEST lines differ between the two sides (contents
/// still to be read), and the actions push runs for them.
fn bundle_change(sides: [Side<'_>; 2], similarity: Option<u8>) -> BundleChange {
    fn entries<'a>(side: &Side<'a>) -> BTreeMap<&'a str, &'a Entry> {
        side.iter()
            .flat_map(|(_, manifest, _)| &manifest.entries)
            .map(|entry| (entry.path.as_str(), entry))
            .collect()
    }
    let (old, new) = (entries(&sides[OLD]), entries(&sides[NEW]));
    let paths: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    let files: Vec<FileChange> = paths
        .into_iter()
        .filter(|path| old.get(path) != new.get(path))
        .map(|path| {
            let entry =
                |side: &BTreeMap<&str, &Entry>| side.get(path).map(|entry| (*entry).clone());
            FileChange::new(path, entry(&old), entry(&new), Content::Same)
        })
        .collect();
    let mut reaches: Vec<String> = sides
        .iter()
        .flatten()
        .flat_map(|(_, manifest, _)| manifest.reaches.iter().cloned())
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    natural::sort(&mut reaches);
    let [old_side, new_side] = sides;
    let name = new_side
        .or(old_side)
        .map(|(name, ..)| name)
        .unwrap_or_default();
    let mut change = BundleChange::new(
        name,
        old_side.map(|(.., id)| id.clone()),
        new_side.map(|(.., id)| id.clone()),
        reaches,
        files,
    );
    if let (Some((old_name, ..)), Some((_, manifest, _))) = (old_side, new_side) {
        if old_name != name {
            // Push has no record of the new name on the host: it runs every action.
            change.old_name = Some(old_name.to_owned());
            change.similarity = similarity;
            change.actions = distinct_actions(manifest.entries.iter());
        }
    }
    change
}

/// Removed and added bundles with mostly the same files, paired best first:
/// a file counts fully when its bytes are the same at the same path, and by
/// its similarity when they differ.
fn rename_bundles(
    reader: &mut Reader<'_>,
    [removed, added]: [&[&str]; 2],
    manifests: &[HashMap<&str, Manifest>; 2],
    threshold: u8,
    notes: &mut Vec<String>,
) -> Result<Vec<([String; 2], u8)>, DiffError> {
    if removed.is_empty() || added.is_empty() {
        return Ok(Vec::new());
    }
    if removed.len() * added.len() > renames::MAX_PAIRS {
        notes.push(format!(
            "renamed bundles were not looked for: {} removed × {} added bundles is over {}",
            removed.len(),
            added.len(),
            renames::MAX_PAIRS
        ));
        return Ok(Vec::new());
    }
    let mut candidates = Vec::new();
    for (i, old_name) in removed.iter().enumerate() {
        for (j, new_name) in added.iter().enumerate() {
            let names = [*old_name, *new_name];
            let pair = [&manifests[OLD][old_name], &manifests[NEW][new_name]];
            if let Some(similarity) = bundle_similarity(reader, names, pair, threshold)? {
                candidates.push(Candidate {
                    removed: i,
                    added: j,
                    similarity,
                    rank: 0,
                });
            }
        }
    }
    Ok(renames::pair(candidates, threshold)
        .into_iter()
        .map(|pair| {
            let names = [removed[pair.removed], added[pair.added]].map(str::to_owned);
            (names, pair.similarity)
        })
        .collect())
}

/// How alike removed bundle `names[0]` and added bundle `names[1]` are, in
/// percent; `None` when fewer than `threshold` percent of their paths match.
fn bundle_similarity(
    reader: &mut Reader<'_>,
    [old_name, new_name]: [&str; 2],
    [old, new]: [&Manifest; 2],
    threshold: u8,
) -> Result<Option<u8>, DiffError> {
    // Two host bundles are compared modulo their own names (and, inside
    // files, their addresses): every file a host gets may name it.
    let hosts = old.reaches == [old_name] && new.reaches == [new_name];
    let larger = old.entries.len().max(new.entries.len());
    let by_path: HashMap<&str, &Entry> = new
        .entries
        .iter()
        .map(|entry| (entry.path.as_str(), entry))
        .collect();
    let common: Vec<(&Entry, &Entry)> = old
        .entries
        .iter()
        .filter_map(|entry| {
            let path = if hosts {
                renames::with_host_renamed(entry.path.as_bytes(), old_name, new_name)
            } else {
                entry.path.as_bytes().into()
            };
            let path = std::str::from_utf8(&path).ok()?;
            Some((entry, *by_path.get(path)?))
        })
        .collect();
    if renames::percent(common.len(), larger) < threshold {
        return Ok(None);
    }
    let own = if hosts {
        [
            own_words(reader, OLD, old_name, old)?,
            own_words(reader, NEW, new_name, new)?,
        ]
    } else {
        Default::default()
    };
    let own = own
        .each_ref()
        .map(|words| words.iter().map(String::as_str).collect::<Vec<_>>());
    let mut score = 0;
    for (a, b) in common {
        let similarity = reader.similarity((old_name, a), (new_name, b), [&own[OLD], &own[NEW]])?;
        score += usize::from(similarity);
    }
    Ok(Some(renames::percent(score, larger * 100)))
}

/// A host bundle's own words on `side`: its name and its addresses.
fn own_words(
    reader: &mut Reader<'_>,
    side: usize,
    name: &str,
    manifest: &Manifest,
) -> Result<Vec<String>, DiffError> {
    let mut words = vec![name.to_owned()];
    words.extend(reader.own_addresses(side, name, manifest)?);
    Ok(words)
}

/// Each changed host bundle's own addresses, either side, where one of its
/// diffs holds an address: [`crate::diff::review`] groups changes modulo them.
fn add_addresses(
    reader: &mut Reader<'_>,
    bundles: &mut [BundleChange],
    manifests: &[HashMap<&str, Manifest>; 2],
) -> Result<(), DiffError> {
    for bundle in bundles.iter_mut().filter(|bundle| bundle.is_host()) {
        let may_hold_one = bundle.files.iter().any(|file| match &file.content {
            Content::Text { hunks, .. } => hunks
                .lines()
                .any(|line| !line.starts_with("@@") && renames::holds_an_address(line)),
            _ => false,
        });
        if !may_hold_one {
            continue;
        }
        let mut addresses = Vec::new();
        for (side, name) in [(OLD, bundle.old_name()), (NEW, bundle.name.as_str())] {
            if let Some(manifest) = manifests[side].get(name) {
                addresses.extend(reader.own_addresses(side, name, manifest)?);
            }
        }
        addresses.sort();
        addresses.dedup();
        bundle.addresses = addresses;
    }
    Ok(())
}

/// Pair files removed from and added to bundles present on both sides:
/// identical bytes first, then by similarity; within a bundle a pair is a
/// rename, across bundles a move (the removed file stays, saying where it went).
fn rename_files(
    reader: &mut Reader<'_>,
    bundles: &mut [BundleChange],
    threshold: u8,
    notes: &mut Vec<String>,
) -> Result<(), DiffError> {
    let removed = files_with(bundles, Status::Removed);
    let added = files_with(bundles, Status::Added);
    if removed.is_empty() || added.is_empty() {
        return Ok(());
    }
    let mut pairs = renames::pair(exact_candidates(bundles, &removed, &added), 100);
    let unpaired = |list: &[At], used: Vec<usize>| -> Vec<usize> {
        (0..list.len()).filter(|i| !used.contains(i)).collect()
    };
    let left_removed = unpaired(&removed, pairs.iter().map(|pair| pair.removed).collect());
    let left_added = unpaired(&added, pairs.iter().map(|pair| pair.added).collect());
    if left_removed.len() * left_added.len() > renames::MAX_PAIRS {
        notes.push(format!(
            "only identical files were paired as renames: {} removed × {} added files is over {}",
            left_removed.len(),
            left_added.len(),
            renames::MAX_PAIRS
        ));
    } else {
        let mut inexact = Vec::new();
        for &i in &left_removed {
            for &j in &left_added {
                let similarity = similarity(reader, bundles, removed[i], added[j])?;
                inexact.push(Candidate {
                    removed: i,
                    added: j,
                    similarity,
                    rank: rank(bundles, removed[i], added[j]),
                });
            }
        }
        pairs.extend(renames::pair(inexact, threshold));
    }
    apply_pairs(bundles, [&removed, &added], pairs);
    Ok(())
}

/// A file change as (bundle index, file index).
type At = (usize, usize);

/// The files of `status` in the bundles on both sides.
fn files_with(bundles: &[BundleChange], status: Status) -> Vec<At> {
    bundles
        .iter()
        .enumerate()
        .filter(|(_, bundle)| bundle.old_id.is_some() && bundle.new_id.is_some())
        .flat_map(|(b, bundle)| {
            bundle
                .files
                .iter()
                .enumerate()
                .filter(move |(_, file)| file.status == status)
                .map(move |(f, _)| (b, f))
        })
        .collect()
}

/// How close a pair is: the same bundle first, then the same path in another.
fn rank(bundles: &[BundleChange], r: At, a: At) -> u8 {
    let path = |(b, f): At| &bundles[b].files[f].path;
    match (r.0 == a.0, path(r) == path(a)) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    }
}

/// Every removed and added file with the same content, as candidates.
fn exact_candidates(bundles: &[BundleChange], removed: &[At], added: &[At]) -> Vec<Candidate> {
    let file = |(b, f): At| &bundles[b].files[f];
    let mut by_hash: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, place) in added.iter().enumerate() {
        let entry = file(*place).new.as_ref().expect("an added file is new");
        by_hash.entry(entry.blake3.as_str()).or_default().push(i);
    }
    let mut exact = Vec::new();
    for (i, place) in removed.iter().enumerate() {
        let entry = file(*place).old.as_ref().expect("a removed file is old");
        for j in by_hash.get(entry.blake3.as_str()).into_iter().flatten() {
            exact.push(Candidate {
                removed: i,
                added: *j,
                similarity: 100,
                rank: rank(bundles, *place, added[*j]),
            });
        }
    }
    exact
}

/// How alike a removed and an added file are; a file moving between hosts
/// is compared modulo their names.
fn similarity(
    reader: &mut Reader<'_>,
    bundles: &[BundleChange],
    (rb, rf): At,
    (ab, af): At,
) -> Result<u8, DiffError> {
    let (r_bundle, a_bundle) = (&bundles[rb], &bundles[ab]);
    let r_entry = r_bundle.files[rf]
        .old
        .as_ref()
        .expect("a removed file is old");
    let a_entry = a_bundle.files[af]
        .new
        .as_ref()
        .expect("an added file is new");
    let hosts = usize::from(r_bundle.is_host() && a_bundle.is_host());
    let own = [[r_bundle.old_name()], [a_bundle.name.as_str()]];
    reader.similarity(
        (r_bundle.old_name(), r_entry),
        (a_bundle.name.as_str(), a_entry),
        [&own[OLD][..hosts], &own[NEW][..hosts]],
    )
}

/// Mark each paired added file as renamed or moved from its removed file;
/// a renamed file's old entry leaves its bundle, a moved one says where it went.
fn apply_pairs(
    bundles: &mut [BundleChange],
    [removed, added]: [&[(usize, usize)]; 2],
    pairs: Vec<Candidate>,
) {
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    for pair in pairs {
        let ((rb, rf), (ab, af)) = (removed[pair.removed], added[pair.added]);
        let from = Place {
            bundle: bundles[rb].old_name().to_owned(),
            path: bundles[rb].files[rf].path.clone(),
        };
        let to = Place {
            bundle: bundles[ab].name.clone(),
            path: bundles[ab].files[af].path.clone(),
        };
        let old = bundles[rb].files[rf].old.clone();
        let target = &mut bundles[ab].files[af];
        target.status = if rb == ab {
            Status::Renamed
        } else {
            Status::Moved
        };
        target.from = Some(from);
        target.old = old;
        target.similarity = Some(pair.similarity);
        if rb == ab {
            dropped.push((rb, rf));
        } else {
            bundles[rb].files[rf].moved_to = Some(to);
        }
    }
    dropped.sort_unstable_by(|a, b| b.cmp(a));
    for (b, f) in dropped {
        bundles[b].files.remove(f);
    }
}

/// A file's bytes and their blake3 as hex.
type Read = (Arc<[u8]>, String);

/// Reads MANIFESTs and files of both trees, each distinct one once, checks
/// them, and computes each distinct change and similarity once.
struct Reader<'a> {
    trees: [&'a dyn OutTree; 2],
    /// By side and content id (or bundle and path): the bytes and their blake3.
    files: HashMap<(usize, String), Read>,
    /// By the blake3 of each side ("" where absent) and how hunks are named.
    contents: HashMap<(String, String, Option<Kind>), Content>,
    /// By the blake3 of each side and the host words masked on each.
    similarities: HashMap<(String, String, String), u8>,
    /// A host bundle's own addresses, by side and bundle.
    addresses: HashMap<(usize, String), Vec<String>>,
    hand_edits: Vec<HandEdit>,
}

impl<'a> Reader<'a> {
    fn new(trees: [&'a dyn OutTree; 2]) -> Reader<'a> {
        Reader {
            trees,
            files: HashMap::new(),
            contents: HashMap::new(),
            similarities: HashMap::new(),
            addresses: HashMap::new(),
            hand_edits: Vec::new(),
        }
    }

    fn hand_edit(&mut self, side: usize, location: String, reason: &str) {
        self.hand_edits.push(HandEdit {
            side: self.trees[side].label().to_owned(),
            location,
            reason: reason.to_owned(),
        });
    }

    /// `bundle`'s MANIFEST, checked against its INDEX `id`.
    fn manifest(&mut self, side: usize, bundle: &str, id: &str) -> Result<Manifest, DiffError> {
        let tree = self.trees[side];
        let bytes = tree.manifest(bundle)?;
        if crate::manifest::bundle_id(&bytes) != id {
            self.hand_edit(
                side,
                format!("{bundle}/MANIFEST"),
                "does not hash to the bundle id in INDEX",
            );
        }
        parse_manifest(&bytes, &format!("{bundle}/MANIFEST at {}", tree.label()))
    }

    /// The bytes of `entry` in `bundle` and their blake3, checked against the entry.
    fn file(&mut self, side: usize, bundle: &str, entry: &Entry) -> Result<Read, DiffError> {
        let tree = self.trees[side];
        let key = if tree.shares_claims() {
            entry.blake3.clone()
        } else {
            format!("{bundle}\0{}", entry.path)
        };
        let (bytes, blake3) = match self.files.get(&(side, key.clone())) {
            Some(found) => found.clone(),
            None => {
                let bytes: Arc<[u8]> = tree.file(bundle, &entry.path)?.into();
                let blake3 = blake3::hash(&bytes).to_hex().to_string();
                self.files
                    .insert((side, key), (Arc::clone(&bytes), blake3.clone()));
                (bytes, blake3)
            }
        };
        if blake3 != entry.blake3 {
            self.hand_edit(
                side,
                format!("{bundle}{}", entry.path),
                "does not match its MANIFEST line",
            );
        }
        Ok((bytes, blake3))
    }

    /// How the file at `old` became the one at `new` (`None`: absent).
    fn content(
        &mut self,
        old: Option<(&str, &Entry)>,
        new: Option<(&str, &Entry)>,
    ) -> Result<Content, DiffError> {
        if let (Some((_, a)), Some((_, b))) = (old, new) {
            if a.blake3 == b.blake3 {
                return Ok(Content::Same);
            }
        }
        let kind = new
            .or(old)
            .and_then(|(_, entry)| sections::kind(&entry.path));
        let old = old
            .map(|(bundle, entry)| self.file(OLD, bundle, entry))
            .transpose()?;
        let new = new
            .map(|(bundle, entry)| self.file(NEW, bundle, entry))
            .transpose()?;
        let hash = |side: &Option<Read>| {
            side.as_ref()
                .map(|(_, hash)| hash.clone())
                .unwrap_or_default()
        };
        let key = (hash(&old), hash(&new), kind);
        if old.is_some() && key.0 == key.1 {
            return Ok(Content::Same);
        }
        if let Some(content) = self.contents.get(&key) {
            return Ok(content.clone());
        }
        let bytes = |side: &Option<Read>| side.as_ref().map(|(bytes, _)| Arc::clone(bytes));
        let (old_bytes, new_bytes) = (bytes(&old), bytes(&new));
        let content = content_change(kind, old_bytes.as_deref(), new_bytes.as_deref());
        self.contents.insert(key, content.clone());
        Ok(content)
    }

    /// The addresses host bundle `bundle` on `side` gives its host, read
    /// from its /etc/hosts and /etc/network/interfaces; once per bundle.
    fn own_addresses(
        &mut self,
        side: usize,
        bundle: &str,
        manifest: &Manifest,
    ) -> Result<Vec<String>, DiffError> {
        let key = (side, bundle.to_owned());
        if let Some(found) = self.addresses.get(&key) {
            return Ok(found.clone());
        }
        let mut text = |path: &str| -> Result<String, DiffError> {
            match manifest.entries.iter().find(|entry| entry.path == path) {
                Some(entry) => {
                    let (bytes, _) = self.file(side, bundle, entry)?;
                    Ok(String::from_utf8_lossy(&bytes).into_owned())
                }
                None => Ok(String::new()),
            }
        };
        let (hosts, interfaces) = (text("/etc/hosts")?, text("/etc/network/interfaces")?);
        let addresses = renames::own_addresses(bundle, &hosts, &interfaces);
        self.addresses.insert(key, addresses.clone());
        Ok(addresses)
    }

    /// [`renames::similarity`] of an old and a new file, each read modulo
    /// its host's own words (`own`, per side: names and addresses).
    fn similarity(
        &mut self,
        old: (&str, &Entry),
        new: (&str, &Entry),
        own: [&[&str]; 2],
    ) -> Result<u8, DiffError> {
        if old.1.blake3 == new.1.blake3 {
            return Ok(100);
        }
        let (old_bytes, old_hash) = self.file(OLD, old.0, old.1)?;
        let (new_bytes, new_hash) = self.file(NEW, new.0, new.1)?;
        let masked = own.map(|words| words.join("\0")).join("\0\0");
        let key = (old_hash, new_hash, masked);
        if let Some(similarity) = self.similarities.get(&key) {
            return Ok(*similarity);
        }
        let similarity = renames::similarity(
            &renames::without_own(&old_bytes, own[OLD]),
            &renames::without_own(&new_bytes, own[NEW]),
        );
        self.similarities.insert(key, similarity);
        Ok(similarity)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::diff::fixture::{mem, tree, FileSpec};
    use crate::diff::source::{Index, MemTree};
    use crate::render::BundleTree;

    fn all() -> Options {
        Options::default()
    }

    /// Records which bundles had their MANIFEST or files read.
    struct Counting<'a> {
        inner: &'a MemTree,
        read: RefCell<BTreeSet<String>>,
    }

    impl OutTree for Counting<'_> {
        fn label(&self) -> &str {
            self.inner.label()
        }
        fn index(&self) -> Result<Index, DiffError> {
            self.inner.index()
        }
        fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError> {
            self.read.borrow_mut().insert(bundle.to_owned());
            self.inner.manifest(bundle)
        }
        fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
            self.read.borrow_mut().insert(format!("{bundle}{path}"));
            self.inner.file(bundle, path)
        }
    }

    const RESTART: Option<&str> = Some("systemctl restart chrony.service");

    fn old_fleet() -> MemTree {
        mem(
            "old",
            vec![
                tree(
                    "cluster",
                    &["a", "b"],
                    &[("/etc/pve/storage.cfg", "dir: local\n", 0o640, None)],
                ),
                tree(
                    "a",
                    &["a"],
                    &[
                        ("/etc/chrony/chrony.conf", "server x\n", 0o644, RESTART),
                        ("/etc/hostname", "a\n", 0o644, None),
                    ],
                ),
                tree(
                    "b",
                    &["b"],
                    &[
                        ("/etc/chrony/chrony.conf", "server x\n", 0o644, RESTART),
                        ("/etc/hostname", "b\n", 0o644, None),
                    ],
                ),
                tree(
                    "gone",
                    &["gone"],
                    &[("/etc/motd", "gone\n", 0o644, RESTART)],
                ),
            ],
        )
    }

    fn new_fleet() -> MemTree {
        mem(
            "new",
            vec![
                tree(
                    "cluster",
                    &["a", "b", "c"],
                    &[("/etc/pve/storage.cfg", "dir: local\n", 0o640, None)],
                ),
                tree(
                    "a",
                    &["a"],
                    &[
                        ("/etc/chrony/chrony.conf", "server y\n", 0o644, RESTART),
                        ("/etc/hostname", "a\n", 0o600, RESTART),
                    ],
                ),
                tree(
                    "b",
                    &["b"],
                    &[
                        ("/etc/chrony/chrony.conf", "server x\n", 0o644, RESTART),
                        ("/etc/hostname", "b\n", 0o644, None),
                    ],
                ),
                tree("c", &["c"], &[("/etc/hostname", "c\n", 0o644, None)]),
            ],
        )
    }

    #[test]
    fn unchanged_bundles_are_never_read() {
        let (old, new) = (old_fleet(), new_fleet());
        let old = Counting {
            inner: &old,
            read: RefCell::default(),
        };
        let new = Counting {
            inner: &new,
            read: RefCell::default(),
        };
        let report = compare(&old, &new, &all()).unwrap();
        let names: Vec<&str> = report.bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "cluster", "gone"]);
        for read in [&old.read, &new.read] {
            assert!(
                !read.borrow().iter().any(|name| name.starts_with('b')),
                "{read:?}"
            );
        }
        assert!(
            !old.read.borrow().contains("a/etc/hostname"),
            "same blake3: bytes not read"
        );
        assert!(report.hand_edits.is_empty(), "{:?}", report.hand_edits);
    }

    #[test]
    fn bundles_and_files_are_added_removed_and_modified() {
        let report = compare(&old_fleet(), &new_fleet(), &all()).unwrap();
        let bundle = |name: &str| report.bundles.iter().find(|b| b.name == name).unwrap();
        assert_eq!(bundle("c").status(), Status::Added);
        assert_eq!(bundle("gone").status(), Status::Removed);
        assert_eq!(bundle("gone").files[0].status, Status::Removed);
        assert!(
            bundle("gone").actions.is_empty(),
            "never run on a removed host"
        );
        let cluster = bundle("cluster");
        assert_eq!(cluster.reaches, ["a", "b", "c"]);
        assert!(cluster.files.is_empty(), "only `reaches` changed");
        let a = bundle("a");
        assert_eq!(a.files.len(), 2);
        assert_eq!(a.files[1].path, "/etc/hostname");
        assert_eq!(a.files[1].content, Content::Same);
        assert_eq!(
            a.actions,
            ["systemctl restart chrony.service"],
            "each action once"
        );
    }

    #[test]
    fn a_host_filter_keeps_bundles_that_reach_the_host() {
        let options = Options {
            hosts: vec!["c".to_owned()],
            ..all()
        };
        let report = compare(&old_fleet(), &new_fleet(), &options).unwrap();
        let names: Vec<&str> = report.bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["c", "cluster"]);
        let options = Options {
            hosts: vec!["z".to_owned()],
            ..all()
        };
        let error = compare(&old_fleet(), &new_fleet(), &options).unwrap_err();
        assert!(matches!(error, DiffError::UnknownHost { .. }), "{error}");
    }

    fn host(name: &str, extra: &[FileSpec<'_>]) -> BundleTree {
        let hostname = format!("{name}\n");
        let mut files: Vec<FileSpec<'_>> = vec![
            (
                "/etc/chrony/chrony.conf",
                "server x\niburst\nmakestep 1 3\n",
                0o644,
                RESTART,
            ),
            ("/etc/hostname", &hostname, 0o644, None),
            ("/etc/motd", "welcome\nto\nthe\nfleet\n", 0o644, None),
        ];
        files.extend_from_slice(extra);
        tree(name, &[name], &files)
    }

    #[test]
    fn a_renamed_host_is_one_bundle_with_the_differences() {
        let old = mem("old", vec![host("pve-7", &[])]);
        let new = mem("new", vec![host("pve-12", &[])]);
        let report = compare(&old, &new, &all()).unwrap();
        assert_eq!(report.bundles.len(), 1, "{report:#?}");
        let bundle = &report.bundles[0];
        assert_eq!(bundle.status(), Status::Renamed);
        assert_eq!(
            (bundle.old_name(), bundle.name.as_str()),
            ("pve-7", "pve-12")
        );
        assert_eq!(
            bundle.similarity,
            Some(100),
            "every file the same modulo the host's name"
        );
        let paths: Vec<&str> = bundle.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/etc/hostname"]);
        assert_eq!(bundle.actions, ["systemctl restart chrony.service"]);

        let off = Options {
            renames: None,
            ..all()
        };
        let report = compare(&old, &new, &off).unwrap();
        let statuses: Vec<Status> = report.bundles.iter().map(BundleChange::status).collect();
        assert_eq!(
            statuses,
            [Status::Removed, Status::Added],
            "pve-7 before pve-12"
        );
    }

    #[test]
    fn a_renamed_host_is_compared_modulo_its_addresses_too() {
        let addressed = |name: &str, address: &str| {
            let hosts = format!("127.0.0.1 localhost\n{address} {name}.vm {name}\n");
            let interfaces = format!(
                "iface vmbr0 inet static\n    address {address}/24\n    gateway 192.168.93.254\n"
            );
            let health = format!("reaches {address}\n");
            let files: [FileSpec<'_>; 3] = [
                ("/etc/hosts", &hosts, 0o644, None),
                ("/etc/network/interfaces", &interfaces, 0o644, None),
                ("/usr/local/lib/lugc/health", &health, 0o755, None),
            ];
            host(name, &files)
        };
        let old = mem("old", vec![addressed("pve-7", "192.168.93.7")]);
        let new = mem("new", vec![addressed("pve-12", "192.168.93.12")]);
        let report = compare(&old, &new, &all()).unwrap();
        let bundle = &report.bundles[0];
        assert_eq!(bundle.status(), Status::Renamed, "{report:#?}");
        assert_eq!(bundle.similarity, Some(100), "{report:#?}");
    }

    #[test]
    fn files_are_renamed_within_a_bundle_and_moved_across() {
        let config = "cores: 4\nmemory: 8192\nname: mirrorlog\nscsi0: local:1\n";
        let moved = "#!/bin/sh\nexec virtiofsd\n";
        let old = mem(
            "old",
            vec![
                tree(
                    "cluster",
                    &["pve-5", "pve-6"],
                    &[(
                        "/etc/pve/nodes/pve-5/qemu-server/230.conf",
                        config,
                        0o640,
                        None,
                    )],
                ),
                host(
                    "pve-5",
                    &[("/var/lib/vz/snippets/hook.sh", moved, 0o755, None)],
                ),
                host("pve-6", &[]),
            ],
        );
        let new_config = config.replace("cores: 4", "cores: 8");
        let new = mem(
            "new",
            vec![
                tree(
                    "cluster",
                    &["pve-5", "pve-6"],
                    &[(
                        "/etc/pve/nodes/pve-6/qemu-server/230.conf",
                        &new_config,
                        0o640,
                        None,
                    )],
                ),
                host("pve-5", &[]),
                host(
                    "pve-6",
                    &[("/var/lib/vz/snippets/hook.sh", moved, 0o755, None)],
                ),
            ],
        );
        let report = compare(&old, &new, &all()).unwrap();
        let bundle = |name: &str| report.bundles.iter().find(|b| b.name == name).unwrap();
        let cluster = bundle("cluster");
        assert_eq!(cluster.files.len(), 1, "{cluster:#?}");
        let renamed = &cluster.files[0];
        assert_eq!(renamed.status, Status::Renamed);
        assert_eq!(renamed.path, "/etc/pve/nodes/pve-6/qemu-server/230.conf");
        assert_eq!(
            renamed.from.as_ref().unwrap().path,
            "/etc/pve/nodes/pve-5/qemu-server/230.conf"
        );
        assert_eq!(renamed.similarity, Some(83), "44 of 53 bytes");
        assert_eq!(renamed.content.lines(), (1, 1), "the one changed line");

        let arrived = &bundle("pve-6").files[0];
        assert_eq!(arrived.status, Status::Moved);
        assert_eq!(arrived.from.as_ref().unwrap().bundle, "pve-5");
        assert_eq!(arrived.content, Content::Same);
        let left = &bundle("pve-5").files[0];
        assert_eq!(left.status, Status::Removed);
        assert_eq!(left.moved_to.as_ref().unwrap().bundle, "pve-6");
    }

    #[test]
    fn equal_changes_share_one_diff_and_bundles_sort_naturally() {
        let hosts = ["pve-10", "pve-9", "pve-5"];
        let fleet = |server: &str| {
            let conf = format!("server {server}\n");
            let trees = hosts
                .iter()
                .map(|name| {
                    tree(
                        name,
                        &[name],
                        &[("/etc/chrony/chrony.conf", &conf, 0o644, RESTART)],
                    )
                })
                .collect();
            mem(server, trees)
        };
        let report = compare(&fleet("x"), &fleet("y"), &all()).unwrap();
        let names: Vec<&str> = report.bundles.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["pve-5", "pve-9", "pve-10"]);
        let hunks: Vec<&Arc<str>> = report
            .bundles
            .iter()
            .map(|bundle| match &bundle.files[0].content {
                Content::Text { hunks, .. } => hunks,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(Arc::ptr_eq(hunks[0], hunks[2]), "computed once");
    }

    #[test]
    fn a_file_that_does_not_match_its_manifest_is_a_hand_edit() {
        struct Edited(MemTree);
        impl OutTree for Edited {
            fn label(&self) -> &str {
                self.0.label()
            }
            fn index(&self) -> Result<Index, DiffError> {
                self.0.index()
            }
            fn manifest(&self, bundle: &str) -> Result<Vec<u8>, DiffError> {
                self.0.manifest(bundle)
            }
            fn file(&self, bundle: &str, path: &str) -> Result<Vec<u8>, DiffError> {
                let bytes = self.0.file(bundle, path)?;
                Ok(if bundle == "a" {
                    b"edited\n".to_vec()
                } else {
                    bytes
                })
            }
        }
        let report = compare(&old_fleet(), &Edited(new_fleet()), &all()).unwrap();
        assert_eq!(
            report.hand_edits,
            [HandEdit {
                side: "new".to_owned(),
                location: "a/etc/chrony/chrony.conf".to_owned(),
                reason: "does not match its MANIFEST line".to_owned(),
            }]
        );
    }
}
