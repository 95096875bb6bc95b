//! source: the main file read before Nickel sees it: a clear error for a
//! missing or non-UTF-8 file, and a refusal of nesting deep enough to
//! overflow the evaluation stack. Reads the file; knows nothing of Nickel.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::SourceDiagnostic;

/// Deepest bracket nesting accepted in the main file. Nickel's typechecker
/// recurses once per level of literal nesting: about 20 000 levels overflow
/// even the evaluation stack (debug build) and abort the process, which no
/// error handling can catch. Fleets nest a few dozen levels; data built by
/// Nickel functions at run time is not limited by this.
const MAX_NESTING: usize = 1000;

/// Read the main file ourselves first: a clear error for a missing or non-UTF-8 file.
pub(super) fn read_main(file: &Path, name: &str) -> Result<Arc<str>, SourceDiagnostic> {
    let bytes = std::fs::read(file)
        .map_err(|error| SourceDiagnostic::new(format!("cannot read {name}: {error}")))?;
    utf8(name, bytes)
}

/// `bytes` as text, or an error at the first byte that is not UTF-8.
pub(super) fn utf8(name: &str, bytes: Vec<u8>) -> Result<Arc<str>, SourceDiagnostic> {
    String::from_utf8(bytes).map(Arc::from).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let text: Arc<str> = Arc::from(String::from_utf8_lossy(error.as_bytes()));
        SourceDiagnostic::new(format!("{name} is not valid UTF-8"))
            .at(name, &text, offset..offset + 1, "invalid byte here")
            .with_help("save the file as UTF-8")
    })
}

/// Refuse source nested deeper than [`MAX_NESTING`] brackets, located at the
/// first bracket past the limit. The scan is `syntax`'s rough one: strings
/// and comments are skipped, and anything it misreads is left for Nickel's
/// parser to report.
pub(super) fn check_nesting(name: &str, text: &str) -> Result<(), SourceDiagnostic> {
    let Some(index) = super::syntax::Scan::of(text, MAX_NESTING).too_deep else {
        return Ok(());
    };
    Err(
        SourceDiagnostic::new(format!("{name} nests deeper than {MAX_NESTING} levels"))
            .at(
                name,
                &Arc::from(text),
                index..index + 1,
                "too deep from here",
            )
            .with_help(
                "flatten the data, or build it with a Nickel function: \
                 lugc refuses such input rather than overflow its stack",
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_past_the_limit_is_refused_where_it_happens() {
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        let error = check_nesting("cluster.ncl", &deep).unwrap_err();
        let limit = MAX_NESTING + 1;
        assert_eq!(
            error.location().as_deref(),
            Some(format!("cluster.ncl:1:{limit}").as_str())
        );
        let ok = format!(
            "{}1{}",
            "{ a = ".repeat(MAX_NESTING),
            "}".repeat(MAX_NESTING)
        );
        assert!(check_nesting("cluster.ncl", &ok).is_ok());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let noise = "[".repeat(MAX_NESTING + 1);
        for text in [
            format!("# {noise}\n1"),
            format!("\"{noise}\""),
            format!("\"\\\" {noise}\""),
            format!("m%\"{noise}\"%"),
            format!("m%%\" \"% {noise}\"%%"),
        ] {
            assert!(check_nesting("cluster.ncl", &text).is_ok(), "{text}");
        }
    }
}
