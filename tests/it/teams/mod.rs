//! The vendor's Team Admin API: a stateful fake of it and of its OAuth endpoints
//! (`fake.rs`, built from `../shared/aps/team-admin.md`), and checks that the fake
//! behaves as the fact sheet says (`fake_checks.rs`, plain HTTP, no accord code).

pub mod fake;

mod fake_checks;
mod vendor;
