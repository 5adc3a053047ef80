//! The portal's CSV formats written from a state (`accord export --format
//! users-csv|members-csv|usage-csv`): the same columns [`super::read`] reads, so a
//! file exported from an account imports back to the configuration of that account.

use super::columns::Kind;
use crate::state::{AccessLevel, MemberStatus, State};

/// The state as the export of `kind`, CSV text with a header line.
#[must_use]
pub fn csv(state: &State, kind: Kind) -> String {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<&str> = kind.columns().iter().map(|c| c.title()).collect();
    let _ = writer.write_record(&header);
    for row in rows(state, kind) {
        let _ = writer.write_record(&row);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Each row's cells, in `kind.columns()` order.
fn rows(state: &State, kind: Kind) -> Vec<Vec<String>> {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    match kind {
        Kind::Users => state
            .members
            .iter()
            .map(|(email, m)| vec![text(&m.first_name), text(&m.last_name), email.to_string()])
            .collect(),
        Kind::Members => state
            .members
            .iter()
            .map(|(email, m)| {
                vec![
                    email.to_string(),
                    text(&m.first_name),
                    text(&m.last_name),
                    text(&m.company),
                    text(&m.role),
                    m.access
                        .iter()
                        .map(|a| access_title(*a))
                        .collect::<Vec<_>>()
                        .join("; "),
                    status_title(m.status).to_owned(),
                    m.external_subscriptions
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect(),
        Kind::Usage => {
            let mut rows = Vec::new();
            for (id, team) in &state.teams {
                for (product, pool) in &team.pools {
                    let holders = pool.direct.iter().map(|e| (e, "Direct")).chain(
                        pool.inherited
                            .difference(&pool.direct)
                            .map(|e| (e, "Inherited")),
                    );
                    for (email, assignment) in holders {
                        // No backend records when a seat was last used: the cell is empty.
                        rows.push(vec![
                            email.to_string(),
                            product.clone(),
                            id.clone(),
                            team.name.clone(),
                            assignment.to_owned(),
                            String::new(),
                        ]);
                    }
                }
            }
            rows
        }
    }
}

/// An access level as the portal names it.
fn access_title(level: AccessLevel) -> &'static str {
    match level {
        AccessLevel::AccountAdmin => "Account Admin",
        AccessLevel::Executive => "Executive",
        AccessLevel::StandardsAdmin => "Standards Admin",
    }
}

/// A status as the portal names it.
fn status_title(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::NotInvited => "Not invited",
        MemberStatus::Pending => "Pending",
        MemberStatus::Active => "Active",
        MemberStatus::Inactive => "Inactive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Email, MemberState};

    #[test]
    fn a_member_is_written_in_the_portal_s_words_and_reads_back() {
        let mut state = State::default();
        state.members.insert(
            Email::new("ada@x.example"),
            MemberState {
                first_name: Some("Ada, the first".into()),
                access: [AccessLevel::AccountAdmin, AccessLevel::Executive].into(),
                status: MemberStatus::Inactive,
                ..MemberState::default()
            },
        );
        let text = csv(&state, Kind::Members);
        assert_eq!(
            text,
            "Email,First Name,Last Name,Company,Role,Access Level,Status,External Subscriptions\n\
             ada@x.example,\"Ada, the first\",,,,Account Admin; Executive,Inactive,\n"
        );
        let source = super::super::Source {
            name: "m.csv".into(),
            text,
        };
        let imported = super::super::read(&[source], None).unwrap();
        let person = &imported.people[&Email::new("ada@x.example")];
        assert_eq!(person.first_name.as_deref(), Some("Ada, the first"));
        assert!(person.inactive);
        assert_eq!(person.access.as_ref().map(|a| a.len()), Some(2));
    }
}
