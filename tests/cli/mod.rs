mod adopt;
mod assumed;
mod bench;
mod build;
mod diff;
mod hosts;
mod push;
mod show;
