//! The fleet of FLEET.md as it lands in out/, and every contract in lib/ fed a wrong value.
