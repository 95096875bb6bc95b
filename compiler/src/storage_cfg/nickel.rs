//! lib/contracts/pve_storage.ncl, PVE's storage model as Nickel data,
//! generated from [`super::schema`]: lib/'s storage contract and renderer
//! read it, so that one table describes what PVE takes. A test fails while
//! the file in lib/ differs from what [`generate`] makes of the table
//! (`LUGC_REGENERATE=1 cargo test --lib storage_cfg` rewrites it).

use std::fmt::Write as _;

use super::format::{Format, CONTENT_TYPES};
use super::schema::{PROPERTIES, SECRETS, SOURCE, TYPES};

/// Where the generated file lives, relative to the repository's root.
pub const PATH: &str = "lib/contracts/pve_storage.ncl";

/// The text of lib/contracts/pve_storage.ncl.
pub fn generate() -> String {
    let mut out = format!(
        "# PVE's storage model ({SOURCE}): the storage types with the\n\
         # properties each takes (`fixed`: required and set at creation; `required`;\n\
         # `fixed_optional`; `optional`), and each property's format.\n\
         # Generated from compiler/src/storage_cfg/schema.rs: do not edit; a test\n\
         # fails while it differs (`LUGC_REGENERATE=1 cargo test --lib storage_cfg` rewrites it).\n\
         {{\n  source = {SOURCE:?},\n  content_types = {},\n  types = {{\n",
        list(CONTENT_TYPES)
    );
    for spec in TYPES {
        let _ = writeln!(out, "    {} = {{", spec.name);
        let options: Vec<String> = spec
            .options
            .iter()
            .map(|(key, need)| format!("{} = '{}", field(key), need.name()))
            .collect();
        let _ = writeln!(out, "      options = {{ {} }},", options.join(", "));
        let required: Vec<&str> = spec.required().collect();
        let _ = writeln!(out, "      required = {},", list(&required));
        let _ = writeln!(out, "      content = {},", list(spec.content));
        let _ = writeln!(
            out,
            "      default_content = {},",
            list(spec.default_content)
        );
        let _ = writeln!(out, "      formats = {},", list(spec.formats));
        let _ = writeln!(out, "      shared = {},", spec.shared);
        out.push_str("    },\n");
    }
    out.push_str("  },\n  properties = {\n");
    for (key, format) in PROPERTIES {
        let _ = writeln!(out, "    {} = {},", field(key), described(*format));
    }
    out.push_str("  },\n  secrets = {\n");
    for (key, file) in SECRETS {
        let _ = writeln!(out, "    {} = {file:?},", field(key));
    }
    out.push_str("  },\n}\n");
    out
}

/// A format as a Nickel record: its tag and bounds.
fn described(format: Format) -> String {
    let tag = format.tag();
    match format {
        Format::TextUpTo(most) => format!("{{ format = '{tag}, most = {most} }}"),
        Format::Integer(least, most) => {
            let most = if most == i64::MAX {
                String::new()
            } else {
                format!(", most = {most}")
            };
            format!("{{ format = '{tag}, least = {least}{most} }}")
        }
        Format::IntegerOf(values) => {
            let values: Vec<String> = values.iter().map(i64::to_string).collect();
            format!("{{ format = '{tag}, values = [{}] }}", values.join(", "))
        }
        Format::OneOf(values) => format!("{{ format = '{tag}, values = {} }}", list(values)),
        _ => format!("{{ format = '{tag} }}"),
    }
}

/// A field name, quoted unless it is a plain identifier.
fn field(name: &str) -> String {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}

fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lib_holds_the_storage_model_generated_from_the_rust_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(PATH);
        let generated = generate();
        if std::env::var_os("LUGC_REGENERATE").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{PATH} differs from compiler/src/storage_cfg/schema.rs (LUGC_REGENERATE=1 rewrites it):\n{}",
            similar::TextDiff::from_lines(&committed, &generated)
                .unified_diff()
                .header(PATH, "generated")
        );
    }
}
