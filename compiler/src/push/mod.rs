//! push: deliver a bundle to a host with rsync over ssh (see `cmd/push.rs`).
