//! Bad-input corpus, fault injection and property tests.
