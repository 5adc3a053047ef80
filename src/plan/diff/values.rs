//! Comparing and describing values: text compared trimmed, optional fields left out
//! kept, member records, and field changes written as text.

use std::collections::BTreeSet;

use crate::plan::operation::{FieldChange, MemberRecord, words as list};
use crate::state::MemberState;

pub(super) fn change(field: &str, from: String, to: String) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        from,
        to,
    }
}

fn text(value: Option<&String>) -> String {
    value.map_or_else(|| "null".to_owned(), Clone::clone)
}

/// The value of an optional text field after the plan: the backend's when the
/// configuration leaves it out or it matches after trimming, else the configured one
/// (recording the change).
pub(super) fn kept_or_changed(
    field: &str,
    have: Option<&String>,
    want: Option<&String>,
    changes: &mut Vec<FieldChange>,
) -> Option<String> {
    let Some(wanted) = want else {
        return have.cloned();
    };
    let wanted = wanted.trim();
    if have.map(|h| h.trim()) == Some(wanted) {
        return have.cloned();
    }
    changes.push(change(field, text(have), wanted.to_owned()));
    Some(wanted.to_owned())
}

/// A member's record as configured, for an invitation.
pub(super) fn record_of(want: &MemberState) -> MemberRecord {
    MemberRecord {
        first_name: want.first_name.clone(),
        last_name: want.last_name.clone(),
        company: want.company.clone(),
        role: want.role.clone(),
        access: want.access.clone(),
        external_subscriptions: want.external_subscriptions.clone(),
    }
}

/// The whole record a member will have, and the fields that change.
pub(super) fn updated_record(
    have: &MemberState,
    want: &MemberState,
) -> (MemberRecord, Vec<FieldChange>) {
    let mut changes = Vec::new();
    let first_name = kept_or_changed(
        "first_name",
        have.first_name.as_ref(),
        want.first_name.as_ref(),
        &mut changes,
    );
    let last_name = kept_or_changed(
        "last_name",
        have.last_name.as_ref(),
        want.last_name.as_ref(),
        &mut changes,
    );
    let company = kept_or_changed(
        "company",
        have.company.as_ref(),
        want.company.as_ref(),
        &mut changes,
    );
    let role = kept_or_changed("role", have.role.as_ref(), want.role.as_ref(), &mut changes);
    if have.access != want.access {
        changes.push(change("access", list(&have.access), list(&want.access)));
    }
    let trimmed = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter().map(|s| s.trim().to_owned()).collect()
    };
    let external_subscriptions = trimmed(&want.external_subscriptions);
    if trimmed(&have.external_subscriptions) != external_subscriptions {
        changes.push(change(
            "external_subscriptions",
            list(&have.external_subscriptions),
            list(&external_subscriptions),
        ));
    }
    let record = MemberRecord {
        first_name,
        last_name,
        company,
        role,
        access: want.access.clone(),
        external_subscriptions,
    };
    (record, changes)
}
