//! diff: what changes on which host between two out/ trees (see `cmd/diff.rs`).
