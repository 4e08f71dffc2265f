//! The rules file blackbox installs by default is the upstream stable file, unmodified.

mod common;

use common::rules_path;

#[test]
fn installed_default_is_the_upstream_stable_file() {
    let ours = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/upstream/falco_rules.yaml"
    ))
    .expect("rules/upstream/falco_rules.yaml");
    let upstream = std::fs::read(rules_path("falco_rules.yaml"))
        .expect("the corpus copy of falco_rules.yaml (../shared/corpus/falco-rules)");
    assert!(
        ours == upstream,
        "rules/upstream/falco_rules.yaml differs from the corpus copy: it must be the upstream \
         file byte for byte"
    );
}
