//! The vendor as a whole (`autodesk://`): its Team Admin API, which takes only
//! three-legged tokens. [`login`] is `accord login`'s authorization-code flow and
//! the stored login it leaves; [`user_token`] turns that login (or, in CI,
//! `APS_REFRESH_TOKEN`) into access tokens, refreshed before they expire, with the
//! rotated refresh token written back.

pub mod login;
pub mod user_token;
