//! storage.cfg as only the tests need it: the strict reading every rendered
//! storage.cfg is held to (`parse`) and PVE's writer (`write`), beside the
//! library's `read`, `same` and schema, which they stand on (with the
//! library's lexical rules, compiled into this binary from their source),
//! so that the library ships neither and the storage model has one owner.

// This side uses only part of the lexical rules.
#[allow(dead_code)]
#[path = "../../compiler/src/storage_cfg/lexical.rs"]
mod lexical;
mod strict;
mod write;

pub use lugc::storage_cfg::*;
pub use strict::{parse, ParseError, StorageCfg};
pub use write::write;
