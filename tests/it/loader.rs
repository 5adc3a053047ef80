//! Tests of the loader area.
