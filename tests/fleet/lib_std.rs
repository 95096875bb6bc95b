//! lib/std.ncl, the untyped std that lib/ calls in loops, gives what Nickel's
//! std gives: tests/fleet/lib_std.ncl compares every replaced function.

use crate::common::{stderr, Fixture};

const COMPARISON: &str = include_str!("lib_std.ncl");

#[test]
fn lib_std_agrees_with_nickels_std() {
    let fixture = Fixture::with_cluster(COMPARISON);
    let output = fixture.run(&["build"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_function_that_disagrees_is_named() {
    let fixture = Fixture::with_cluster(COMPARISON);
    // An unstable merge: equal keys swap places.
    fixture.edit(
        "lib/std.ncl",
        "if compare y x == 'Lesser then",
        "if compare y x != 'Greater then",
    );
    let output = fixture.run(&["build"]);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("lib/std.ncl differs from std in: array.sort is stable"),
        "{text}"
    );
}
