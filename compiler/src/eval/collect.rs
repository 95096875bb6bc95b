//! collect: after a failed evaluation, every independent error of the program.
//!
//! Takes the program whose export failed and hands each error to a sink. It
//! evaluates the main value one part at a time: a part that fully evaluates
//! is done; one that fails is taken apart (a record's fields, an array's
//! elements, with their pending contracts) until the failing parts are
//! leaves or fail before they can be taken apart. Evaluated parts are cached
//! by Nickel, so siblings share their work. The main value's `diagnose`
//! comes first (lib/lugc.ncl's: the contracted fleet and the cross-record
//! checks, split as finely as it can); its exported fields, which only repeat
//! those errors, are walked when nothing was found there. Its other
//! `not_exported` fields (`confirmed`, for `lugc build --assumed`) are not
//! walked: they only read the same values again.
//! Evaluates only; words nothing.

use nickel_lang_core::error::{Error, EvalError};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::value::{Container, NickelValue, ValueContentRef};
use nickel_lang_core::eval::{Closure, Environment};
use nickel_lang_core::position::PosIdx;
use nickel_lang_core::program::Program;
use nickel_lang_core::term::RuntimeContract;

/// The walk stops after this many errors (before deduplication) or this many
/// evaluated parts, whichever comes first, so a badly broken fleet still
/// answers quickly.
const MAX_ERRORS: usize = 500;
const MAX_PARTS: usize = 200_000;

/// The main value's field that lib/lugc.ncl fills for this walk.
const DIAGNOSE_FIELD: &str = "diagnose";

/// Hand every error found in `program`'s main value to `sink`; whether the
/// walk stopped at its limits before the end.
pub(super) fn every_error(program: &mut Program<CacheImpl>, sink: &mut dyn FnMut(Error)) -> bool {
    let mut walk = Walk {
        program,
        sink,
        errors: 0,
        parts: 0,
    };
    let main = match walk.program.eval() {
        Ok(main) => main,
        Err(error) => {
            (walk.sink)(error);
            return false;
        }
    };
    // The main value is known to fail: start with `diagnose`; the exported
    // parts only repeat its errors, unless none was found.
    match parts(&main) {
        Some(parts) => {
            let (diagnose, rest): (Vec<_>, Vec<_>) = parts
                .into_iter()
                .partition(|part| part.name == Some(DIAGNOSE_FIELD));
            for part in diagnose {
                walk.part(part.value);
            }
            if walk.errors == 0 {
                for part in rest.into_iter().filter(|part| !part.hidden) {
                    walk.part(part.value);
                }
            }
        }
        None => {
            walk.part(main);
        }
    }
    walk.exhausted()
}

struct Walk<'a> {
    program: &'a mut Program<CacheImpl>,
    sink: &'a mut dyn FnMut(Error),
    errors: usize,
    parts: usize,
}

impl Walk<'_> {
    fn exhausted(&self) -> bool {
        self.errors >= MAX_ERRORS || self.parts >= MAX_PARTS
    }

    fn report(&mut self, error: EvalError) {
        self.errors += 1;
        (self.sink)(Error::EvalError(error));
    }

    /// Walk one value; whether it held an error.
    fn part(&mut self, value: NickelValue) -> bool {
        if self.exhausted() {
            return false;
        }
        self.parts += 1;
        let closure = || Closure {
            value: value.clone(),
            env: Environment::new(),
        };
        let deep = match self.program.eval_deep_closure(closure()) {
            Ok(_) => return false,
            Err(error) => error,
        };
        let whnf = match self.program.eval_closure(closure()) {
            Ok(whnf) => whnf,
            Err(error) => {
                self.report(error);
                return true;
            }
        };
        let mut found_inside = false;
        for part in parts(&whnf).unwrap_or_default() {
            found_inside |= self.part(part.value);
        }
        // A failure no part shows (a field without a definition) is the value's own.
        if !found_inside {
            self.report(deep);
        }
        true
    }
}

/// A field of a record or an element of an array.
struct Part {
    /// The field's name.
    name: Option<&'static str>,
    /// Whether the field is `not_exported`.
    hidden: bool,
    value: NickelValue,
}

/// The fields of a record or the elements of an array, with their pending
/// contracts applied.
fn parts(value: &NickelValue) -> Option<Vec<Part>> {
    let with_contracts = |value: &NickelValue, contracts: &[RuntimeContract]| {
        RuntimeContract::apply_all(value.clone(), contracts.iter().cloned(), PosIdx::NONE)
    };
    match value.content_ref() {
        ValueContentRef::Record(Container::Alloc(record)) => Some(
            record
                .fields
                .iter()
                .filter_map(|(name, field)| {
                    let value = field.value.as_ref()?;
                    Some(Part {
                        name: Some(name.label()),
                        hidden: field.metadata.not_exported(),
                        value: with_contracts(value, &field.pending_contracts),
                    })
                })
                .collect(),
        ),
        ValueContentRef::Array(Container::Alloc(array)) => Some(
            array
                .array
                .iter()
                .map(|element| Part {
                    name: None,
                    hidden: false,
                    value: with_contracts(element, &array.pending_contracts),
                })
                .collect(),
        ),
        _ => None,
    }
}
