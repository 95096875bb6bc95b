use crate::common::{stderr, Fixture};

#[test]
fn diff_says_it_is_not_implemented() {
    let output = Fixture::new().run(&["diff"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not implemented yet"),
        "{}",
        stderr(&output)
    );
}
