//! The catalog, registry and pipelines shipped in the repository load without a problem.

use pmm_catalog::{Catalog, Direction, MembersRegistry};

use crate::repo_root;

#[test]
fn shipped_catalog_loads_with_every_definition() {
    let catalog = Catalog::load(&repo_root().join("indicators")).unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(catalog.dimensions.len(), 4);
    assert_eq!(catalog.outcomes.len(), 14);
    assert_eq!(catalog.datasets.len(), 8);
    assert_eq!(catalog.indicators.len(), 29);
    let official = catalog.indicators.iter().filter(|i| i.official).count();
    assert_eq!(official, 9, "the nine publicly named KPIs");
    let informational = catalog
        .indicators
        .iter()
        .filter(|i| i.direction == Direction::Informational)
        .count();
    assert_eq!(informational, 9);
    for i in &catalog.indicators {
        assert_eq!(
            i.scoring.is_some(),
            i.direction != Direction::Informational,
            "{}",
            i.id
        );
        assert!(!i.tests.is_empty(), "{}", i.id);
    }
    assert_eq!(catalog.hash.len(), 64);
}

#[test]
fn example_registry_is_fictitious_and_valid() {
    let registry = MembersRegistry::load(&repo_root().join("indicators/members.yaml"))
        .unwrap_or_else(|p| panic!("{p}"));
    assert!(registry.members.len() >= 10);
    assert!(
        registry.members.iter().all(|m| m.code.starts_with('X')),
        "only fictitious XA..XZ codes"
    );
}
