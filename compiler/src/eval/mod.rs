//! eval: `cluster.ncl` → [`Evaluated`], the only module that touches nickel-lang-core.
//!
//! Evaluates in-process like `nickel export`, on a thread with a large stack
//! (deep data overflows the default one), then goes through JSON into the
//! typed [`Fleet`]. When that fails, `collect` evaluates the program again
//! one value at a time to find every independent mistake, `explain` words
//! each one in the fleet's terms (and `syntax` a parse error), and they leave
//! as [`Diagnostics`] whose file names are relative to the main file's
//! directory. A correct fleet never reaches that path. On request `claims`
//! reads, after a correct evaluation, the values the facts checks read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::files::{FileId, Files};
use nickel_lang_core::identifier::Ident;
use nickel_lang_core::position::RawSpan;
use nickel_lang_core::program::{FieldOverride, FieldPath, Program, ProgramBuilder};
use nickel_lang_core::term::MergePriority;

use crate::diagnostic::{Diagnostics, SourceDiagnostic};
use crate::fleet::Fleet;

pub use checked::known_hosts as known_hosts_record;
pub use checked::literal as nickel_string;
pub use claims::{Claim, Proposal};

mod checked;
mod claims;
mod collect;
mod explain;
mod report;
mod source;
pub mod sources;
pub mod suggest;
mod syntax;
mod words;

/// Stack for the evaluation thread: deep records recurse in the evaluator.
const EVAL_STACK_BYTES: usize = 256 << 20;

/// The directory of the fleet's Nickel library, relative to the main file.
const LIBRARY_DIR: &str = "lib/";

/// What `eval` hands to the next stage: the typed fleet and the main source.
#[derive(Debug)]
pub struct Evaluated {
    pub fleet: Fleet,
    /// Display name and text of the main file, for locating later errors.
    pub main_name: String,
    pub main_text: Arc<str>,
    /// What lib/facts.ncl's checks and comparisons read, where facts were
    /// checked and some host has them (or on request).
    pub claims: Vec<Claim>,
    /// Nickel for what the hosts have and the description lacks (on request).
    pub proposals: Vec<Proposal>,
    /// Each host taken through the contracts here, as text (JSON or Nickel)
    /// for a later build's `known_hosts` (on request: [`Selection::export_checked`]).
    pub checked: std::collections::BTreeMap<String, String>,
    /// The description without its hosts taken through the contracts here,
    /// as Nickel text (on request, when it was not known).
    pub checked_rest: Option<String>,
}

impl Evaluated {
    /// Where the description differs from the state the hosts' facts show:
    /// each a change the next push makes.
    pub fn changes(&self) -> impl Iterator<Item = &Claim> {
        self.claims
            .iter()
            .filter(|claim| claim.state && claim.decided && !claim.backed)
    }
}

/// How much of an error to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Only what points into the user's files.
    #[default]
    Brief,
    /// Also where in lib/ (or Nickel's std) the error arose.
    Verbose,
}

/// Whether lib/ checks the description against the hosts' facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FactsUse {
    /// Checked: a disagreement fails the build.
    #[default]
    Checked,
    /// Only read (the helpers in lib/facts.ncl), for `lugc facts`, which
    /// must run however stale the facts are: the build result's
    /// `check_facts` is overridden with false.
    Unchecked,
}

/// The field of lib/lugc.ncl's build result that says whether the facts
/// must agree with the description (`true` by default).
const CHECK_FACTS_FIELD: &str = "check_facts";

/// The field of lib/lugc.ncl's build result that names the bundles to
/// render (all by default).
const RENDER_ONLY_FIELD: &str = "render_only";

/// The fields of lib/lugc.ncl's build result that take hosts checked before
/// and ask for the hosts checked now.
const KNOWN_HOSTS_FIELD: &str = "known_hosts";
const EXPORT_CHECKED_FIELD: &str = "export_checked";
const KNOWN_REST_FIELD: &str = "known_rest";

/// What `lugc build` asks of an evaluation besides the fleet (`derive`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// The build result's `render_only` (Nickel): the others get no files.
    pub render_only: Option<String>,
    /// The build result's `known_hosts` (Nickel): hosts the last build
    /// checked, which skip the contracts and the checks of one host.
    pub known_hosts: Option<String>,
    /// The build result's `known_rest` (Nickel): the description without
    /// its hosts as the last build's contracts gave it, which skips them.
    pub known_rest: Option<String>,
    /// Read back the hosts checked here, for the next build.
    pub export_checked: bool,
}

impl Selection {
    /// Whether an error is left unworded: the fields set here change what a
    /// failing program reports (a main file without lib/ merges them in), so
    /// the caller evaluates without them for the diagnostics.
    fn is_quiet(&self) -> bool {
        self.known_hosts.is_some()
            || self.known_rest.is_some()
            || self.export_checked
            || self.render_only.is_some()
    }
}

/// Evaluate `file` and read the result as a [`Fleet`], with the facts
/// beside it checked.
pub fn evaluate(file: &Path, detail: Detail) -> Result<Evaluated, Diagnostics> {
    evaluate_with(file, detail, FactsUse::Checked)
}

/// Evaluate `file` with the facts in its directory's facts/, used as `facts` says.
pub fn evaluate_with(
    file: &Path,
    detail: Detail,
    facts: FactsUse,
) -> Result<Evaluated, Diagnostics> {
    evaluate_selected(file, detail, facts, Selection::default())
}

/// [`evaluate_with`], as `selection` asks.
pub fn evaluate_selected(
    file: &Path,
    detail: Detail,
    facts: FactsUse,
    selection: Selection,
) -> Result<Evaluated, Diagnostics> {
    let file = file.to_path_buf();
    let reads = Reads::of_build(&file, facts);
    on_eval_thread(move |heap| {
        evaluate_on_this_thread(&file, detail, facts, reads, selection, heap)
    })
}

/// Evaluate `file` with its facts used as `facts` says, and read what
/// lib/facts.ncl's checks read (each value with its host and whether the
/// facts back it) and what it proposes.
pub fn evaluate_claims(
    file: &Path,
    detail: Detail,
    facts: FactsUse,
) -> Result<Evaluated, Diagnostics> {
    let file = file.to_path_buf();
    on_eval_thread(move |heap| {
        let selection = Selection::default();
        evaluate_on_this_thread(&file, detail, facts, Reads::Proposals, selection, heap)
    })
}

/// Run `evaluate` on a thread with a stack deep enough for Nickel. Its
/// result comes back before Nickel's heap, which `evaluate` leaves in its
/// [`Heap`], is freed there: the caller goes on meanwhile, on another core.
fn on_eval_thread<T: Send + 'static>(
    evaluate: impl FnOnce(&mut Heap) -> Result<T, Diagnostics> + Send + 'static,
) -> Result<T, Diagnostics> {
    let (sender, received) = std::sync::mpsc::channel();
    eval_thread()
        .spawn(move || {
            let mut heap = Heap::default();
            let _ = sender.send(evaluate(&mut heap));
            drop(heap);
        })
        .map_err(cannot_start)?;
    received
        .recv()
        .unwrap_or_else(|_| Err(SourceDiagnostic::new(PANICKED).into()))
}

/// [`on_eval_thread`] for an `evaluate` that borrows: the heap is freed
/// before the result comes back.
fn on_scoped_eval_thread<T: Send>(
    evaluate: impl FnOnce(&mut Heap) -> Result<T, Diagnostics> + Send,
) -> Result<T, Diagnostics> {
    std::thread::scope(|scope| {
        eval_thread()
            .spawn_scoped(scope, || evaluate(&mut Heap::default()))
            .map_err(cannot_start)?
            .join()
            .unwrap_or_else(|_| Err(SourceDiagnostic::new(PANICKED).into()))
    })
}

fn eval_thread() -> std::thread::Builder {
    std::thread::Builder::new()
        .name("nickel-eval".into())
        .stack_size(EVAL_STACK_BYTES)
}

fn cannot_start(error: std::io::Error) -> Diagnostics {
    SourceDiagnostic::new(format!("cannot start evaluation: {error}")).into()
}

const PANICKED: &str = "internal error: Nickel evaluation panicked (a lugc bug)";

/// What an evaluation leaves to be freed after its result is handed over:
/// its program and value, Nickel's whole heap.
#[derive(Default)]
struct Heap(Option<Box<dyn std::any::Any>>);

/// What an evaluation reads besides the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reads {
    Fleet,
    /// lib/facts.ncl's claims.
    Claims,
    /// Its claims and proposals.
    Proposals,
}

impl Reads {
    /// What a build reads: the claims where facts are checked and some host
    /// has them.
    fn of_build(file: &Path, facts: FactsUse) -> Reads {
        let has_facts = facts == FactsUse::Checked
            && crate::facts::has_any(file.parent().unwrap_or(Path::new("")));
        if has_facts {
            Reads::Claims
        } else {
            Reads::Fleet
        }
    }
}

/// The main file, read and checked before Nickel parses it.
struct Main {
    base: PathBuf,
    name: String,
    text: Arc<str>,
}

fn read_main(file: &Path) -> Result<Main, Diagnostics> {
    let base = display_base(file);
    let name = display_name(&base, &file.to_string_lossy());
    let text = source::read_main(file, &name)?;
    source::check_nesting(&name, &text)?;
    crate::facts::load(file.parent().unwrap_or(Path::new("")))?;
    Ok(Main { base, name, text })
}

fn evaluate_on_this_thread(
    file: &Path,
    detail: Detail,
    facts: FactsUse,
    reads: Reads,
    selection: Selection,
    heap: &mut Heap,
) -> Result<Evaluated, Diagnostics> {
    let main = read_main(file)?;
    let program = program(file, facts, &selection)
        .map_err(|error| SourceDiagnostic::new(format!("cannot read {}: {error}", main.name)))?;
    evaluate_program(program, main, detail, reads, &selection, heap)
}

/// Evaluate `file`'s sources (`sources::digest`), let `choose` make the
/// selection from their digest, then evaluate the fleet as it selects, in
/// the same program: lib/ and the description are parsed, typechecked and
/// transformed once. An error, unworded, when the sources could not be
/// evaluated.
pub fn evaluate_after_sources(
    file: &Path,
    detail: Detail,
    facts: FactsUse,
    choose: impl FnOnce(Option<sources::Sources>) -> Selection + Send,
) -> Result<Evaluated, Diagnostics> {
    let reads = Reads::of_build(file, facts);
    let evaluate = |heap: &mut Heap| {
        let prepared = read_main(file)
            .ok()
            .zip(program(file, facts, &Selection::default()).ok());
        let digested = prepared.and_then(|(main, mut program)| {
            let digest = sources::digest_program(&mut program)?;
            Some((main, program, digest))
        });
        let Some((main, mut program, digest)) = digested else {
            choose(None);
            return Err(SourceDiagnostic::new("the sources could not be evaluated").into());
        };
        let selection = choose(Some(digest));
        program.field = FieldPath::default();
        program.add_overrides(overrides(facts, &selection));
        evaluate_program(program, main, detail, reads, &selection, heap)
    };
    on_scoped_eval_thread(evaluate)
}

/// Evaluate `program` of the main file and read its fleet and what
/// `reads` and `selection` ask for.
/// Leaves Nickel's heap in `heap`.
fn evaluate_program(
    mut program: Program<CacheImpl>,
    main: Main,
    detail: Detail,
    reads: Reads,
    selection: &Selection,
    heap: &mut Heap,
) -> Result<Evaluated, Diagnostics> {
    let Main {
        base,
        name: main_name,
        text: main_text,
    } = main;
    // Places are taken after an evaluation: it reads the imported files.
    let places = |program: &Program<CacheImpl>| {
        Places::new(program.files(), base.clone(), &main_name, &main_text)
    };
    let value = match program.eval_full_for_export() {
        Ok(value) => value,
        Err(_) if selection.is_quiet() => {
            return Err(SourceDiagnostic::new("the selected evaluation failed").into())
        }
        Err(error) => {
            let places = places(&program);
            return Err(explain::every_error(&mut program, error, places, detail));
        }
    };
    let (claims, proposals) = if reads == Reads::Fleet {
        (Vec::new(), Vec::new())
    } else {
        let places = places(&program);
        let read = claims::read(&mut program, &places).and_then(|claims| {
            let proposals = if reads == Reads::Proposals {
                claims::proposals(&mut program)?
            } else {
                Vec::new()
            };
            Ok((claims, proposals))
        });
        read.map_err(|error| explain::every_error(&mut program, error, places, detail))?
    };
    let checked = checked::hosts(&value);
    let checked_rest = checked::rest(&value);
    let json = to_json(&value).map_err(|error| {
        SourceDiagnostic::new(format!("{main_name} does not export to data: {error}"))
    })?;
    let fleet = serde_json::from_value(json).map_err(|error| {
        let message = error.to_string();
        let (range, label) = shape_error_location(&main_text, &message);
        SourceDiagnostic::new(format!(
            "{main_name} does not evaluate to a lugc fleet: {message}"
        ))
        .at(&main_name, &main_text, range, label)
        .with_help("the main file must end with `lugc.build { … }` from lib/lugc.ncl")
    })?;
    heap.0 = Some(Box::new((program, value)));
    Ok(Evaluated {
        fleet,
        main_name,
        main_text,
        claims,
        proposals,
        checked,
        checked_rest,
    })
}

/// The exported value as JSON, but for the checked hosts (their enum tags
/// have no JSON form) and the fields `lugc build` sets, which a main file
/// that does not declare them (a fleet written without lib/) exports.
fn to_json(
    value: &nickel_lang_core::eval::value::NickelValue,
) -> serde_json::Result<serde_json::Value> {
    let Some(record) = sources::record(value) else {
        return serde_json::to_value(value);
    };
    let mut fields = serde_json::Map::new();
    for (id, field) in &record.fields {
        let ours = [
            checked::CHECKED_HOSTS_FIELD,
            checked::CHECKED_REST_FIELD,
            KNOWN_HOSTS_FIELD,
            KNOWN_REST_FIELD,
            EXPORT_CHECKED_FIELD,
        ];
        if let (Some(value), false) = (&field.value, ours.contains(&id.label())) {
            fields.insert(id.label().to_owned(), serde_json::to_value(value)?);
        }
    }
    Ok(serde_json::Value::Object(fields))
}

/// The program of the main file, with `check_facts` overridden as `facts`
/// says and the fields of `selection` as given.
fn program(
    file: &Path,
    facts: FactsUse,
    selection: &Selection,
) -> Result<Program<CacheImpl>, nickel_lang_core::program::BuilderError> {
    ProgramBuilder::new()
        .add_path(file)
        .add_overrides(overrides(facts, selection))
        .build()
}

/// The fields of the build result that `facts` and `selection` set.
fn overrides(facts: FactsUse, selection: &Selection) -> Vec<FieldOverride> {
    let set = |name: &str, value: String| FieldOverride {
        path: FieldPath(vec![Ident::from(name).into()]),
        value,
        priority: MergePriority::Neutral,
    };
    let unchecked = (facts == FactsUse::Unchecked).then(|| set(CHECK_FACTS_FIELD, "false".into()));
    let only = selection
        .render_only
        .clone()
        .map(|only| set(RENDER_ONLY_FIELD, only));
    let known = (selection.known_hosts.clone())
        .map(|known| set(KNOWN_HOSTS_FIELD, known))
        .into_iter()
        .chain(
            selection
                .known_rest
                .clone()
                .map(|rest| set(KNOWN_REST_FIELD, rest)),
        );
    let export = selection
        .export_checked
        .then(|| set(EXPORT_CHECKED_FIELD, "true".into()));
    (unchecked.into_iter().chain(only).chain(known).chain(export)).collect()
}

/// Where to point when the evaluated value does not have the fleet's shape.
/// serde's message names no position, but often a field (`unknown field
/// `x``) or a value (`invalid type: string "x"`): point at it in the main
/// file if it is written there, else at the file's first line of code.
fn shape_error_location(text: &str, message: &str) -> (std::ops::Range<usize>, &'static str) {
    let named = ['`', '"'].into_iter().find_map(|quote| {
        let (_, rest) = message.split_once(quote)?;
        let (name, _) = rest.split_once(quote)?;
        crate::diagnostic::locate(text, name)
    });
    if let Some(range) = named {
        return (range, "this does not fit the fleet's shape");
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.trim_start();
        if !code.is_empty() && !code.starts_with('#') {
            let start = offset + line.len() - code.len();
            return (start..start + 1, "this file evaluates to something else");
        }
        offset += line.len();
    }
    (0..0, "this file evaluates to something else")
}

/// Directory that diagnostics name files relative to.
fn display_base(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    absolute.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn display_name(base: &Path, name: &str) -> String {
    let absolute = std::path::absolute(name).unwrap_or_else(|_| PathBuf::from(name));
    match absolute.strip_prefix(base) {
        Ok(relative) if !name.starts_with('<') => relative.to_string_lossy().into_owned(),
        _ => name.to_owned(),
    }
}

/// `text` with `base/` removed and `base` itself written as `.`.
fn relative_paths(text: &str, base: &Path) -> String {
    let base = base.to_string_lossy();
    if base.len() <= 1 {
        return text.to_owned();
    }
    text.replace(&format!("{base}/"), "").replace(&*base, ".")
}

/// A place in a source: its display name, text and byte range.
#[derive(Debug, Clone)]
struct Place {
    name: String,
    text: Arc<str>,
    range: std::ops::Range<usize>,
}

impl Place {
    /// A diagnostic located here, with the range cut to its first character
    /// when it spans lines: an excerpt never shows a whole record or file.
    fn diagnostic(&self, message: impl Into<String>, label: &str) -> SourceDiagnostic {
        SourceDiagnostic::new(message).at(&self.name, &self.text, self.tight(), label)
    }

    fn tight(&self) -> std::ops::Range<usize> {
        tighten(&self.text, self.range.clone())
    }

    fn source(&self) -> &str {
        &self.text[self.range.clone()]
    }
}

/// `range`, or its first character when it holds a line break.
fn tighten(text: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    match text.get(range.clone()) {
        Some(slice) if slice.contains('\n') => {
            let width = slice.chars().next().map_or(0, char::len_utf8);
            range.start..range.start + width
        }
        _ => range,
    }
}

/// Nickel's sources seen as the user sees them: names relative to the main
/// file's directory, the user's files told apart from lib/ and Nickel's own.
struct Places {
    files: Files,
    base: PathBuf,
    main_name: String,
    main_text: Arc<str>,
}

impl Places {
    fn new(files: Files, base: PathBuf, main_name: &str, main_text: &Arc<str>) -> Self {
        Places {
            files,
            base,
            main_name: main_name.to_owned(),
            main_text: Arc::clone(main_text),
        }
    }

    fn name(&self, id: FileId) -> String {
        display_name(&self.base, &self.files.name(id).to_string_lossy())
    }

    fn place(&self, span: RawSpan) -> Option<Place> {
        let text = self.files.clone_source(span.src_id);
        let range = span.start.to_usize()..span.end.to_usize();
        text.get(range.clone())?;
        Some(Place {
            name: self.name(span.src_id),
            text,
            range,
        })
    }

    /// Whether a file is the user's: neither lib/, nor Nickel's std, nor a
    /// snippet Nickel generated.
    fn is_user_file(&self, name: &str) -> bool {
        !name.starts_with(LIBRARY_DIR) && !name.starts_with('<')
    }

    fn is_user_place(&self, place: &Place) -> bool {
        self.is_user_file(&place.name)
    }

    fn in_std(&self, span: RawSpan) -> bool {
        self.files.is_stdlib(span.src_id)
    }

    /// The value `message` names in the main file, for an error that lost
    /// its position on the way (e.g. a record's key checked as a value).
    fn mentioned(&self, message: &str) -> Option<Place> {
        // A name in backticks as a whole (it may hold a space), else the
        // most specific word of the message.
        let quoted = message
            .split('`')
            .skip(1)
            .step_by(2)
            .find_map(|name| crate::diagnostic::locate_quoted(&self.main_text, name));
        let range =
            quoted.or_else(|| crate::diagnostic::locate_mentioned(&self.main_text, &[message]))?;
        Some(Place {
            name: self.main_name.clone(),
            text: Arc::clone(&self.main_text),
            range,
        })
    }

    fn relative(&self, text: &str) -> String {
        relative_paths(text, &self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_error_points_at_the_field_or_the_first_line_of_code() {
        let text = "# a comment\n{ hosts = {}, clusters = {} }\n";
        let (range, _) = shape_error_location(text, "unknown field `clusters`, expected `hosts`");
        assert_eq!(&text[range], "clusters");
        let (range, _) = shape_error_location(text, "missing field `cluster`");
        assert_eq!(range, 12..13);
    }

    #[test]
    fn messages_name_files_relative_to_the_main_directory() {
        let base = Path::new("/tmp/fleet");
        assert_eq!(
            relative_paths("could not find import (looked in [/tmp/fleet])", base),
            "could not find import (looked in [.])"
        );
        assert_eq!(
            relative_paths("when parsing /tmp/fleet/cluster.ncl", base),
            "when parsing cluster.ncl"
        );
        assert_eq!(relative_paths("/etc/x", Path::new("/")), "/etc/x");
    }

    #[test]
    fn a_range_over_lines_shrinks_to_its_first_character() {
        let text = "a = {\n  b = 1,\n}\n";
        assert_eq!(tighten(text, 4..16), 4..5);
        assert_eq!(tighten(text, 0..1), 0..1);
    }
}
