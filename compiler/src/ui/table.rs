//! Tables of plain columns, two spaces apart, from tabwriter: widths in
//! terminal columns (wide characters count two, ANSI styles count none).

use std::io::Write as _;

use tabwriter::TabWriter;

/// `rows` drawn as aligned columns, one line each, with no trailing spaces.
/// A cell must hold no tab or newline.
pub fn table<R: AsRef<[S]>, S: AsRef<str>>(rows: &[R]) -> String {
    let mut writer = TabWriter::new(Vec::new()).minwidth(0).padding(2).ansi(true);
    for row in rows {
        let cells: Vec<&str> = row.as_ref().iter().map(AsRef::as_ref).collect();
        // Writing to a Vec cannot fail.
        let _ = writeln!(writer, "{}", cells.join("\t"));
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_align_in_terminal_columns() {
        let rows = [
            ["HOST", "SITE", "BUNDLE"],
            ["pve-10", "日本", "abc"],
            ["a", "b", ""],
        ];
        assert_eq!(
            table(&rows),
            "HOST    SITE  BUNDLE\npve-10  日本  abc\na       b\n"
        );
    }

    #[test]
    fn styles_take_no_room() {
        let rows = [["\x1b[31mred\x1b[0m", "x"], ["longer", "y"]];
        assert_eq!(table(&rows), "\x1b[31mred\x1b[0m     x\nlonger  y\n");
    }
}
