//! Every generated artifact checked by the real Debian tool that reads it.
