mod build;
mod hosts;
