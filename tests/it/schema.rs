//! Tests of the schema area.
