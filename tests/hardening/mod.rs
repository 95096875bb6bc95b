//! Hardening: fault injection, property tests and the bad-input corpus (issue 7).

mod faults;
mod props;
