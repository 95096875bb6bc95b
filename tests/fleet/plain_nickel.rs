//! Plain Nickel evaluates the fleet: nickel-lang-core alone, as `nickel
//! typecheck` and `nickel export` run it, with nothing bound by lugc. The
//! facts reach lib/ through facts/index.ncl, with or without fact files.

use std::path::{Path, PathBuf};

use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::program::{Program, ProgramBuilder};
use nickel_lang_core::typecheck::TypecheckMode;

use crate::common::{repo_root, Fixture};

/// `file` typechecked and exported by nickel-lang-core alone, as JSON, or
/// Nickel's error report.
pub(super) fn plain_nickel(file: &Path) -> Result<serde_json::Value, String> {
    let file = file.to_path_buf();
    // Deep data needs a larger stack than a test thread has.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut program: Program<CacheImpl> = ProgramBuilder::new()
                .add_path(&file)
                .build()
                .map_err(|error| error.to_string())?;
            let report = |program: &mut Program<CacheImpl>, error| {
                let mut files = program.files();
                nickel_lang_core::error::report::report_as_str(
                    &mut files,
                    error,
                    nickel_lang_core::error::report::ColorOpt::Never,
                )
            };
            if let Err(error) = program.typecheck(TypecheckMode::Walk) {
                return Err(report(&mut program, error));
            }
            match program.eval_full_for_export() {
                Ok(value) => Ok(serde_json::to_value(&value).expect("JSON")),
                Err(error) => Err(report(&mut program, error)),
            }
        })
        .expect("spawn")
        .join()
        .expect("join")
}

fn config(file: PathBuf) -> lugc::config::Config {
    lugc::config::Config {
        out: file.with_file_name("out"),
        file,
        detail: lugc::eval::Detail::Brief,
        facts: lugc::eval::FactsUse::Checked,
    }
}

#[test]
fn plain_nickel_exports_every_file_that_lugc_builds() {
    let file = repo_root().join("cluster.ncl");
    let exported = plain_nickel(&file).unwrap();
    let compilation = lugc::compile(&config(file)).unwrap();
    let mut files = 0;
    for bundle in &compilation.bundles {
        let bundle_files = match bundle.name.as_str() {
            "cluster" => &exported["cluster"]["files"],
            host => &exported["hosts"][host]["files"],
        };
        let paths = bundle_files.as_object().unwrap().keys();
        assert!(paths.eq(bundle.files.keys()), "{}'s paths", bundle.name);
        for (path, file) in &bundle.files {
            let content = bundle_files[path]["content"].as_str().unwrap();
            assert_eq!(content.as_bytes(), file.bytes, "{} {path}", bundle.name);
            files += 1;
        }
    }
    assert!(files > 50, "{files} files");
}

#[test]
fn plain_nickel_checks_the_facts_that_facts_index_imports() {
    let fixture = Fixture::new();
    let facts = repo_root().join("tests/bad/facts_uplink_not_a_nic.facts/esxi-5.json");
    let mut facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(facts).unwrap()).unwrap();
    // The release cluster.ncl names for esxi-5.
    facts["os_release"]["VERSION_CODENAME"] = "bullseye".into();
    fixture.write("facts/esxi-5.json", &facts.to_string());
    fixture.edit("cluster.ncl", "uplink = \"enp3s0\"", "uplink = \"enp5s0\"");
    let file = fixture.path().join("cluster.ncl");
    // A fact file that facts/index.ncl does not import is not seen.
    plain_nickel(&file).unwrap();
    lugc::facts::write_index(fixture.path()).unwrap();
    let error = plain_nickel(&file).unwrap_err();
    assert!(
        error.contains("host esxi-5: uplink `enp5s0` is not a NIC of esxi-5"),
        "{error}"
    );
    fixture.edit("cluster.ncl", "uplink = \"enp5s0\"", "uplink = \"enp3s0\"");
    plain_nickel(&file).unwrap();
}
