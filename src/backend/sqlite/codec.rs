//! How enum values are spelled in the store's TEXT columns: the same `snake_case` words
//! as the configuration, so a row read with the `sqlite3` shell makes sense.

use crate::state::{AccessLevel, MemberStatus, ProjectAccess, ProjectProduct};

/// The column spelling of an access level.
pub(super) fn access_to_str(level: AccessLevel) -> &'static str {
    match level {
        AccessLevel::AccountAdmin => "account_admin",
        AccessLevel::Executive => "executive",
        AccessLevel::StandardsAdmin => "standards_admin",
    }
}

/// Reads an access level back.
pub(super) fn access_from_str(text: &str) -> Option<AccessLevel> {
    Some(match text {
        "account_admin" => AccessLevel::AccountAdmin,
        "executive" => AccessLevel::Executive,
        "standards_admin" => AccessLevel::StandardsAdmin,
        _ => return None,
    })
}

/// The column spelling of a member status.
pub(super) fn status_to_str(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::NotInvited => "not_invited",
        MemberStatus::Pending => "pending",
        MemberStatus::Active => "active",
        MemberStatus::Inactive => "inactive",
    }
}

/// Reads a member status back.
pub(super) fn status_from_str(text: &str) -> Option<MemberStatus> {
    Some(match text {
        "not_invited" => MemberStatus::NotInvited,
        "pending" => MemberStatus::Pending,
        "active" => MemberStatus::Active,
        "inactive" => MemberStatus::Inactive,
        _ => return None,
    })
}

/// The column spelling of a project access level.
pub(super) fn project_access_to_str(access: ProjectAccess) -> &'static str {
    match access {
        ProjectAccess::Member => "member",
        ProjectAccess::Admin => "admin",
    }
}

/// Reads a project access level back.
pub(super) fn project_access_from_str(text: &str) -> Option<ProjectAccess> {
    Some(match text {
        "member" => ProjectAccess::Member,
        "admin" => ProjectAccess::Admin,
        _ => return None,
    })
}

/// The column spelling of a project product.
pub(super) fn product_to_str(product: ProjectProduct) -> &'static str {
    match product {
        ProjectProduct::Docs => "docs",
        ProjectProduct::Build => "build",
        ProjectProduct::Cost => "cost",
        ProjectProduct::Insight => "insight",
        ProjectProduct::DesignCollaboration => "design_collaboration",
        ProjectProduct::ModelCoordination => "model_coordination",
        ProjectProduct::Takeoff => "takeoff",
    }
}

/// Reads a project product back.
pub(super) fn product_from_str(text: &str) -> Option<ProjectProduct> {
    Some(match text {
        "docs" => ProjectProduct::Docs,
        "build" => ProjectProduct::Build,
        "cost" => ProjectProduct::Cost,
        "insight" => ProjectProduct::Insight,
        "design_collaboration" => ProjectProduct::DesignCollaboration,
        "model_coordination" => ProjectProduct::ModelCoordination,
        "takeoff" => ProjectProduct::Takeoff,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store must spell values as serde (and so the configuration) does.
    fn serde_word<T: serde::Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn spellings_match_serde_and_round_trip() {
        for level in [
            AccessLevel::AccountAdmin,
            AccessLevel::Executive,
            AccessLevel::StandardsAdmin,
        ] {
            assert_eq!(access_to_str(level), serde_word(level));
            assert_eq!(access_from_str(access_to_str(level)), Some(level));
        }
        for status in [
            MemberStatus::NotInvited,
            MemberStatus::Pending,
            MemberStatus::Active,
            MemberStatus::Inactive,
        ] {
            assert_eq!(status_to_str(status), serde_word(status));
            assert_eq!(status_from_str(status_to_str(status)), Some(status));
        }
        for access in [ProjectAccess::Member, ProjectAccess::Admin] {
            assert_eq!(project_access_to_str(access), serde_word(access));
            assert_eq!(
                project_access_from_str(project_access_to_str(access)),
                Some(access)
            );
        }
        for product in [
            ProjectProduct::Docs,
            ProjectProduct::Build,
            ProjectProduct::Cost,
            ProjectProduct::Insight,
            ProjectProduct::DesignCollaboration,
            ProjectProduct::ModelCoordination,
            ProjectProduct::Takeoff,
        ] {
            assert_eq!(product_to_str(product), serde_word(product));
            assert_eq!(product_from_str(product_to_str(product)), Some(product));
        }
        assert_eq!(access_from_str("root"), None);
    }
}
