//! VM configs as only the tests need them: PVE's writer (`write`), built on
//! the library's reading, so that the library does not ship it.

mod write;

pub use write::write;
