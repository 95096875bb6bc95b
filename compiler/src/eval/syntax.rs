//! syntax: a parse error said as its likely cause.

use nickel_lang_core::error::ParseError;

use super::Places;
use crate::diagnostic::SourceDiagnostic;

pub(super) fn explain(errors: &[ParseError], places: &Places) -> Option<SourceDiagnostic> {
    let _ = (errors, places);
    None
}
