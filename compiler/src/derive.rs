//! derive: only the bundles whose sources changed are rendered, as Nix
//! builds only the derivations whose inputs changed.
//!
//! A bundle's key is the blake3 of what renders it (lugc, lib/ and facts/:
//! `cache::renderer_key`) and of its sources as `eval::sources` digests
//! them: a host's bundle, the description without its hosts, its own host
//! and every host's address (its tunnels' peers are read by address); the
//! cluster bundle, the whole description. `.lugc-cache` records each
//! bundle's key and id. The evaluation still runs every contract and check
//! over the whole fleet, then renders only the bundles whose key the last
//! build did not record; each other bundle is taken from out/ by its
//! MANIFEST alone, which must still hash to the recorded id, its files
//! neither read nor rendered (`take_from_out`: a file changed since the
//! cache was written is hashed against its line), or the whole fleet is
//! rendered again. The fleet is the one a full build gives, byte for byte.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::bundle::Bundle;
use crate::cache::{self, Derivation};
use crate::config::Config;
use crate::diagnostic::Diagnostics;
use crate::eval::sources::Sources;
use crate::eval::{self, Evaluated, Selection};
use crate::freshness::Looked;
use crate::manifest::Manifest;
use crate::render::CLUSTER_BUNDLE;

/// The directories beside the main file whose files render the bundles.
const RENDERER_DIRS: [&str; 2] = ["lib", "facts"];

/// The evaluated fleet, each bundle's key (none when the sources could not
/// be digested), and how many bundles were rendered.
#[derive(Debug)]
pub struct Derived {
    pub evaluated: Evaluated,
    pub keys: BTreeMap<String, String>,
    pub rendered: usize,
    /// The bundles taken from out/ (`bundle::taken`).
    pub taken: Vec<Bundle>,
    /// How many hosts the last build checked and this one took as checked.
    pub known: usize,
    /// The key of the description without its hosts and, as the contracts
    /// gave it, its Nickel text (`eval::Evaluated::checked_rest`).
    pub rest: Option<(String, String)>,
}

/// Evaluate `config`'s fleet; with `reuse`, render only the bundles whose
/// sources changed since the build that wrote out/, and take only their
/// hosts through the contracts and the checks of one host.
pub fn evaluate(config: &Config, reuse: bool) -> Result<Derived, Diagnostics> {
    let (recorded, recorded_rest) = if reuse {
        (cache::derivations(config), cache::checked_rest(config))
    } else {
        Default::default()
    };
    let everything = || {
        eval::evaluate_selected(&config.file, config.detail, config.facts, exporting())
            .or_else(|_| eval::evaluate_with(&config.file, config.detail, config.facts))
    };
    // With nothing to take from out/, the keys are worked out beside the
    // evaluation (for the next build), on the other core.
    if recorded.is_empty() {
        let (keys, evaluated) = std::thread::scope(|scope| {
            let keys = scope.spawn(|| keys(config));
            let evaluated = everything();
            (keys.join().ok().flatten().unwrap_or_default(), evaluated)
        });
        return whole(evaluated, keys);
    }
    // Otherwise the keys decide what the evaluation renders and checks: one
    // program digests the sources, then evaluates the fleet.
    let mut chosen = None;
    let evaluated =
        eval::evaluate_after_sources(&config.file, config.detail, config.facts, |sources| {
            let keys = sources
                .and_then(|sources| keys_of_sources(config, &sources))
                .unwrap_or_default();
            let reusing = Reusing::new(keys, &recorded, recorded_rest.as_ref());
            chosen.insert(reusing).selection()
        });
    let reusing =
        chosen.unwrap_or_else(|| Reusing::new(Keys::default(), &recorded, recorded_rest.as_ref()));
    if !reusing.reuses_anything() {
        return whole(evaluated.or_else(|_| everything()), reusing.keys);
    }
    match evaluated
        .ok()
        .and_then(|evaluated| reusing.finish(config, &recorded, evaluated))
    {
        Some(derived) => Ok(derived),
        None => whole(everything(), reusing.keys),
    }
}

/// The selection of a whole evaluation: every bundle, the checked hosts
/// exported for the next build.
fn exporting() -> Selection {
    Selection {
        export_checked: true,
        ..Selection::default()
    }
}

/// The hosts the last build checked from the same host and lib/, by name:
/// each its recorded text, valid whatever else changed.
fn known_hosts<'a>(
    keys: &Keys,
    recorded: &'a HashMap<String, Derivation>,
) -> BTreeMap<&'a str, &'a str> {
    (recorded.iter())
        .filter_map(|(name, derivation)| {
            let key = keys.checked.get(name)?;
            let text = cache::checked_text(derivation.checked.as_deref()?, key)?;
            Some((name.as_str(), text))
        })
        .collect()
}

/// A whole evaluation's result.
fn whole(evaluated: Result<Evaluated, Diagnostics>, keys: Keys) -> Result<Derived, Diagnostics> {
    let rendered = bundle_count(&evaluated);
    let mut evaluated = evaluated?;
    keys.record_checked(&mut evaluated, &BTreeMap::new());
    let rest = evaluated.checked_rest.take().map(|text| (keys.rest, text));
    Ok(Derived {
        evaluated,
        rest: rest.filter(|_| !keys.bundles.is_empty()),
        keys: keys.bundles,
        rendered,
        taken: Vec::new(),
        known: 0,
    })
}

/// What a build over an earlier out/ takes from it.
struct Reusing<'a> {
    keys: Keys,
    /// The bundles whose key the last build recorded.
    reused: Vec<&'a str>,
    /// The hosts the last build checked from the same host and lib/ (the
    /// reused ones among them), each its recorded text.
    known: BTreeMap<&'a str, &'a str>,
    /// The description without its hosts as the last build's contracts
    /// gave it, if it did not change.
    known_rest: Option<&'a str>,
}

impl<'a> Reusing<'a> {
    fn new(
        keys: Keys,
        recorded: &'a HashMap<String, Derivation>,
        recorded_rest: Option<&'a (String, String)>,
    ) -> Self {
        let reused = (keys.bundles.iter())
            .filter_map(|(name, key)| {
                let (name, was) = recorded.get_key_value(name)?;
                (&was.input == key).then_some(name.as_str())
            })
            .collect();
        Reusing {
            reused,
            known: known_hosts(&keys, recorded),
            known_rest: recorded_rest
                .filter(|(key, _)| *key == keys.rest)
                .map(|(_, text)| text.as_str()),
            keys,
        }
    }

    fn reuses_anything(&self) -> bool {
        !self.reused.is_empty() || !self.known.is_empty()
    }

    /// The evaluation that renders every bundle but the reused ones and
    /// takes the known hosts as the last build checked them.
    fn selection(&self) -> Selection {
        if !self.reuses_anything() {
            return exporting();
        }
        Selection {
            render_only: Some(render_only(&self.keys.bundles, &self.reused)),
            known_hosts: (!self.known.is_empty())
                .then(|| eval::known_hosts_record(self.known.iter().map(|(n, t)| (*n, *t)))),
            known_rest: self.known_rest.map(str::to_owned),
            export_checked: true,
        }
    }

    /// What [`Self::selection`] evaluated to, with the reused bundles taken
    /// from out/; `None` when out/ does not hold them as recorded.
    fn finish(
        &self,
        config: &Config,
        recorded: &HashMap<String, Derivation>,
        mut evaluated: Evaluated,
    ) -> Option<Derived> {
        let keys = &self.keys;
        keys.record_checked(&mut evaluated, &self.known);
        let taken = take_from_out(config, &self.reused, recorded)?;
        let rest = (evaluated.checked_rest.take())
            .or(self.known_rest.map(str::to_owned))
            .map(|text| (keys.rest.clone(), text));
        Some(Derived {
            evaluated,
            keys: keys.bundles.clone(),
            rendered: keys.bundles.len() - self.reused.len(),
            taken,
            // Hosts whose own checks ran here, against a changed rest, count
            // as checked.
            known: self.known_rest.map_or(0, |_| self.known.len()),
            rest,
        })
    }
}

fn bundle_count(evaluated: &Result<Evaluated, Diagnostics>) -> usize {
    evaluated
        .as_ref()
        .map_or(0, |evaluated| evaluated.fleet.hosts.len() + 1)
}

/// The keys of a build's sources (`keys`).
#[derive(Debug, Default)]
struct Keys {
    /// Every bundle's key, by name.
    bundles: BTreeMap<String, String>,
    /// The key of the description without its hosts.
    rest: String,
    /// The key of each host's checked text, by name: lib/ and the host
    /// alone make it.
    checked: BTreeMap<String, String>,
}

impl Keys {
    /// Give each host checked here its key in `evaluated.checked`, as the
    /// cache records it, and add the `known` hosts' texts.
    fn record_checked(&self, evaluated: &mut Evaluated, known: &BTreeMap<&str, &str>) {
        let texts = std::mem::take(&mut evaluated.checked);
        let known = known
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()));
        evaluated.checked = (texts.into_iter().chain(known))
            .filter_map(|(name, text)| {
                let entry = cache::checked_entry(self.checked.get(&name)?, &text);
                Some((name, entry))
            })
            .collect();
    }
}

fn keys(config: &Config) -> Option<Keys> {
    keys_of_sources(config, &eval::sources::digest(&config.file, config.facts)?)
}

fn keys_of_sources(config: &Config, sources: &Sources) -> Option<Keys> {
    let renderer = cache::renderer_key(config.root(), &RENDERER_DIRS)?;
    let checked = (sources.hosts.iter())
        .map(|(name, host)| (name.clone(), key(&renderer, "checked", name, &[host])))
        .collect();
    Some(Keys {
        bundles: keys_of(&renderer, sources),
        rest: key(&renderer, "rest", "", &[&sources.rest]),
        checked,
    })
}

/// The key of what `renderer` makes of `parts` as `kind` `name`.
fn key(renderer: &blake3::Hash, kind: &str, name: &str, parts: &[&blake3::Hash]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(renderer.as_bytes());
    hasher.update(format!("{kind}\0{name}\0").as_bytes());
    for part in parts {
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

fn keys_of(renderer: &blake3::Hash, sources: &Sources) -> BTreeMap<String, String> {
    let mut keys: BTreeMap<String, String> = sources
        .hosts
        .iter()
        .map(|(name, host)| {
            let parts = [&sources.rest, &sources.addresses, host];
            (name.clone(), key(renderer, "host", name, &parts))
        })
        .collect();
    let mut hosts = blake3::Hasher::new();
    for (name, host) in &sources.hosts {
        hosts.update(format!("{name}\0").as_bytes());
        hosts.update(host.as_bytes());
    }
    let parts = [&sources.rest, &hosts.finalize()];
    keys.insert(
        CLUSTER_BUNDLE.to_owned(),
        key(renderer, "cluster", CLUSTER_BUNDLE, &parts),
    );
    keys
}

/// The build result's `render_only` for rendering every bundle but `reused`.
fn render_only(keys: &BTreeMap<String, String>, reused: &[&str]) -> String {
    let reused: std::collections::HashSet<&str> = reused.iter().copied().collect();
    let hosts: Vec<String> = keys
        .keys()
        .filter(|name| name.as_str() != CLUSTER_BUNDLE && !reused.contains(name.as_str()))
        .map(|name| format!("{} = true", eval::nickel_string(name)))
        .collect();
    format!(
        "{{ hosts = {{ {} }}, cluster = {} }}",
        hosts.join(", "),
        !reused.contains(CLUSTER_BUNDLE)
    )
}

/// Each `reused` bundle as out/ holds it, by its MANIFEST alone; `None` if
/// one is not there as recorded.
///
/// Its files are neither read nor rendered: out/ is trusted as git trusts
/// its index (`freshness::Looked`). A file is read and hashed only when it
/// changed (ctime) since the cache was written, or is not a plain file under
/// plain directories, so a hand edit in out/ is found and the fleet rendered
/// again; a listed file that is missing or differs is never taken.
fn take_from_out(
    config: &Config,
    reused: &[&str],
    recorded: &HashMap<String, Derivation>,
) -> Option<Vec<Bundle>> {
    let since = cache::written_at(config).unwrap_or((i64::MIN, i64::MIN));
    let mut looked = Looked::new(&config.out, since);
    reused
        .iter()
        .map(|name| from_out(&mut looked, name, recorded.get(*name)?))
        .collect()
}

/// Bundle `name` as out/ holds it, if its MANIFEST hashes to the recorded
/// id, each file it lists is there as listed and nothing else is.
fn from_out(looked: &mut Looked, name: &str, recorded: &Derivation) -> Option<Bundle> {
    let root = Path::new(name);
    let (text, _) = crate::write::read_below(looked.out(), &root.join("MANIFEST")).ok()?;
    if crate::manifest::bundle_id(&text) != recorded.id {
        return None;
    }
    let text = String::from_utf8(text).ok()?;
    let manifest = Manifest::parse(&text).ok()?;
    if manifest.bundle != name {
        return None;
    }
    let intact = manifest.entries.iter().all(|entry| {
        let relative = root.join(entry.path.trim_start_matches('/'));
        looked.edited(&relative, entry).is_none()
    });
    // `write` leaves a taken bundle's directory as it is: nothing else may be there.
    (intact && looked.holds_only(root, &manifest.entries))
        .then(|| crate::bundle::taken(manifest, text))
}

/// What the cache records of each bundle: its key, bundle id and checked
/// host. A compilation without keys (a whole evaluation) keeps what was
/// recorded of each bundle whose id did not change.
pub fn records(config: &Config, compilation: &crate::Compilation) -> Vec<(String, Derivation)> {
    let keys = &compilation.keys;
    let recorded = if keys.is_empty() {
        cache::derivations(config)
    } else {
        Default::default()
    };
    compilation
        .bundles
        .iter()
        .filter_map(|bundle| {
            let derivation = match keys.get(&bundle.name) {
                Some(key) => Derivation {
                    input: key.clone(),
                    id: bundle.id.clone(),
                    checked: compilation.checked.get(&bundle.name).cloned(),
                },
                None => recorded
                    .get(&bundle.name)
                    .filter(|was| was.id == bundle.id)?
                    .clone(),
            };
            Some((bundle.name.clone(), derivation))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_only_names_the_bundles_not_reused() {
        let keys: BTreeMap<String, String> = ["cluster", "h-1", "h-2"]
            .into_iter()
            .map(|name| (name.to_owned(), String::new()))
            .collect();
        assert_eq!(
            render_only(&keys, &["h-1", "cluster"]),
            r#"{ hosts = { "h-2" = true }, cluster = false }"#
        );
        assert_eq!(
            render_only(&keys, &["h-1"]),
            r#"{ hosts = { "h-2" = true }, cluster = true }"#
        );
    }
}
