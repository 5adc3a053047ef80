//! The JSON rendering: the [`Plan`] itself, versioned, in the shape
//! `schemas/plan.schema.json` documents.

use crate::plan::model::Plan;

/// The plan as pretty JSON, ending with a newline.
///
/// # Panics
/// Never: a plan is plain data, which always serialises.
#[must_use]
pub fn json(plan: &Plan) -> String {
    let mut json = serde_json::to_string_pretty(plan).expect("a plan is plain data");
    json.push('\n');
    json
}
