//! PVE's writer of storage.cfg (pve-common's SectionConfig `write_config`):
//! how a rendered storage.cfg must be laid out.

use super::schema::{spec, Format, Need};
use super::{read, Config, Value};

/// What PVE's `write_config` writes for `config`; sets are written sorted
/// where PVE uses Perl's hash order.
pub fn write(config: &Config) -> String {
    let mut out = String::new();
    for id in &config.order {
        let storage = &config.storages[id];
        out += &format!("{}: {id}\n", storage.storage_type);
        let values = &storage.values;
        if values
            .get("disable")
            .is_some_and(|v| *v != Value::Number(0))
        {
            out += "\tdisable\n";
        }
        let Some(spec) = spec(&storage.storage_type) else {
            continue;
        };
        let mut keys: Vec<(&str, Need)> = spec.options.to_vec();
        keys.sort_by_key(|&(key, need)| (!need.required(), key));
        for (key, _) in keys {
            let Some(value) = values.get(key).filter(|_| key != "disable") else {
                continue;
            };
            let shown = match (spec.property(key), value) {
                (Some((Format::Boolean, _)), Value::Number(n)) => i64::from(*n != 0).to_string(),
                // `content_hash_to_string($value) || 'none'`
                (_, Value::Set(items)) if key == "content" && items.is_empty() => "none".to_owned(),
                (_, value) => value.to_string(),
            };
            if !shown.is_empty() {
                out += &format!("\t{key} {shown}\n");
            }
        }
        out.push('\n');
    }
    out
}

/// As `pvesm add`/`pvesm set` write it.
const WRITTEN: &str = include_str!("written.cfg");

#[test]
fn pves_writer_gives_back_what_it_wrote() {
    let reading = read(WRITTEN);
    assert_eq!(reading.warnings, []);
    assert_eq!(
        reading.config.order,
        ["local", "local-lvm", "local-zfs", "esxi-5-data"]
    );
    assert_eq!(
        write(&reading.config),
        WRITTEN
            .replace("iso,vztmpl,backup,snippets", "backup,iso,snippets,vztmpl")
            .replace("rootdir,images", "images,rootdir")
    );
}
