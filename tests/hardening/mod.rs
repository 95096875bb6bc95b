//! Hardening: fault injection, property tests and the bad-input corpus (issue 7).

mod corpus;
mod faults;
mod props;
mod storage_cfg_props;
mod symlinks;
