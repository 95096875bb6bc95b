//! /etc/pve/storage.cfg by PVE's own rules, taken from pve-common's
//! `PVE::SectionConfig` (`parse_config`, `check_value`, `write_config`) and
//! pve-storage's `PVE::Storage::Plugin` (`parse_config`, `decode_value`,
//! `encode_value`) and `*Plugin.pm` (`options`, `plugindata`).
//!
//! In: storage.cfg text. Out: what PVE keeps of it ([`read`]: the sections
//! and the warnings PVE logs while dropping lines or sections), and whether
//! two texts are the same configuration to PVE ([`same`]). The tests add,
//! on the same schema, PVE's writer and a strict reading that turns
//! everything PVE would drop, warn about or misread into an error
//! (tests/storage_cfg/). Does no I/O and knows nothing of Nickel or the fleet.
//!
//! The grammar, as PVE reads it:
//!
//! ```text
//! # comment
//! dir: local
//! <TAB>path /var/lib/vz
//! <TAB>content iso,vztmpl,backup
//!
//! zfspool: local-zfs
//! <TAB>pool rpool/data
//! <TAB>nodes pve-5
//! <TAB>sparse
//! ```
//!
//! A header is `^(\S+):\s*(\S+)\s*$` (type lower-cased, id
//! `[a-z][a-z0-9\-_.]*[a-z0-9]` ignoring case); a property line is
//! `^\s+(\S+)(\s+(.*\S))?\s*$`; a section ends at an empty line; `#` lines are
//! comments anywhere. A property the type does not have, a repeated one, or a
//! value failing its type is dropped with a warning; an unknown type, a bad id
//! or a missing required property drops the whole section. `content` and
//! `nodes` are sets (PVE writes them in Perl hash order, which changes from
//! run to run); booleans and integers are numbers (`sparse` alone is
//! `sparse 1`). `local` is always `dir` at /var/lib/vz without `nodes`, and a
//! section without `content` gets its type's default.
//!
//! PVE's writer puts each section as `type: id`, then `disable` (bare, only
//! when set), then the required properties sorted by name, then the others
//! sorted by name, booleans as 0/1, and an empty line after every section,
//! the last one included.

mod format;
mod lexical;
mod lost;
#[cfg(test)]
mod nickel;
mod read;
pub mod schema;

pub use lost::{lost, Lost};
pub use read::{read, same, Config, Reading, Storage, Value, Warning};
