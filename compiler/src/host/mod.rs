//! host: lugc's conversation with a host, the transport that `push`,
//! `status` and `lugc facts` share.
//!
//! `remote` is the one ssh connection to a host (`Session`, an ssh
//! ControlMaster whose own command may hold the host's push lock) and the
//! only code that spawns ssh or rsync; every command on the host is
//! `host.sh` (`script`, with its exit codes). `probe` reads what a host
//! has (lugc's records, files, their hashes, what facts come from),
//! `record` is the records' names and formats, `target` an ssh destination
//! as ssh and rsync each read it, `private` the operator's temporary files.
//! `HostError` is what can go wrong on the way.
//!
//! Knows nothing of plans, pushes' stages or the fleet.

pub mod error;
pub mod private;
pub mod probe;
pub mod record;
pub mod remote;
pub mod script;
pub mod target;

pub use error::HostError;
pub use record::HostFile;
pub use remote::{Armed, Ended, Hold, Metadata, Remote, Session};
pub use script::HOST_SH;
pub use target::Target;
