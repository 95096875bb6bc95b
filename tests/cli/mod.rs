mod adopt;
mod assumed;
mod build;
mod diff;
mod hosts;
mod push;
mod show;
