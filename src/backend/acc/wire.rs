//! The vendor's JSON shapes accord reads and writes, and the mapping of accord's
//! words to the vendor's (statuses, product keys, project access).
//!
//! Only the fields accord uses are declared; unknown fields in answers are ignored
//! (the vendor adds fields), and requests carry only fields the API documents.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{AccessLevel, MemberStatus, ProjectAccess, ProjectProduct};

/// Page size of `hq/v1` lists (the most the API gives).
pub const HQ_PAGE: usize = 100;

/// Page size of `construction/admin` lists (the most the API gives).
pub const ADMIN_PAGE: usize = 200;

/// An account company (`hq/v1`).
#[derive(Debug, Clone, Deserialize)]
pub struct Company {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its trade.
    #[serde(default)]
    pub trade: Option<String>,
}

/// An account user (`hq/v1`).
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Its id.
    pub id: String,
    /// Email.
    pub email: String,
    /// `not_invited`, `pending`, `active`, `inactive`.
    #[serde(default)]
    pub status: Option<String>,
    /// The account role (`account_admin`, `account_user`): readable, not writable.
    #[serde(default)]
    pub role: Option<String>,
    /// The company's id.
    #[serde(default)]
    pub company_id: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// When the user last signed in.
    #[serde(default)]
    pub last_sign_in: Option<String>,
    /// The user's Autodesk ID (`User-Id` may name a user by it too).
    #[serde(default)]
    pub uid: Option<String>,
}

impl User {
    /// Whether the user is an account admin (who may act for project changes).
    #[must_use]
    pub fn is_account_admin(&self) -> bool {
        self.role.as_deref() == Some("account_admin")
    }
}

/// A bulk import's answer (`hq/v1` companies and users): partial success in a 201.
#[derive(Debug, Clone, Deserialize)]
pub struct Import<T> {
    /// What was created.
    #[serde(default = "Vec::new")]
    pub success_items: Vec<T>,
    /// What was not, each with the item and the reason.
    #[serde(default)]
    pub failure_items: Vec<Value>,
}

/// The envelope of `construction/admin` lists.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope<T> {
    /// Where this page is.
    pub pagination: Pagination,
    /// The page.
    pub results: Vec<T>,
}

/// A page's position.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Offset of the page.
    #[serde(default)]
    pub offset: usize,
    /// Items in all pages.
    #[serde(default)]
    pub total_results: usize,
}

/// A project (`construction/admin`).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `active`, `pending` (being set up after its creation: it takes no writes yet),
    /// `archived`, `suspended`.
    #[serde(default)]
    pub status: Option<String>,
}

impl Project {
    /// Whether the project takes writes: not still being set up. A project whose
    /// status is not given is taken as set up.
    #[must_use]
    pub fn is_set_up(&self) -> bool {
        self.status.as_deref() != Some("pending")
    }
}

/// A project user (`construction/admin`).
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectUser {
    /// The user's id in the project.
    pub id: String,
    /// Email.
    pub email: String,
    /// Products and access.
    #[serde(default)]
    pub products: Vec<ProductAccess>,
}

/// One product and the access to it.
#[derive(Debug, Clone, Deserialize)]
pub struct ProductAccess {
    /// The vendor's product key (`designCollaboration`).
    pub key: String,
    /// `administrator`, `member`, `none`.
    pub access: String,
}

/// A member status from the vendor's word.
#[must_use]
pub fn status(word: Option<&str>) -> MemberStatus {
    match word {
        Some("not_invited") => MemberStatus::NotInvited,
        Some("pending") => MemberStatus::Pending,
        Some("inactive") => MemberStatus::Inactive,
        _ => MemberStatus::Active,
    }
}

/// The account access levels the vendor's account role stands for (it tells account
/// admins only; executives and standards admins are not readable).
#[must_use]
pub fn access(role: Option<&str>) -> BTreeSet<AccessLevel> {
    match role {
        Some("account_admin") => [AccessLevel::AccountAdmin].into(),
        _ => BTreeSet::new(),
    }
}

/// Every project product accord knows, with the vendor's key.
pub const PRODUCT_KEYS: [(ProjectProduct, &str); 7] = [
    (ProjectProduct::Docs, "docs"),
    (ProjectProduct::Build, "build"),
    (ProjectProduct::Cost, "cost"),
    (ProjectProduct::Insight, "insight"),
    (ProjectProduct::DesignCollaboration, "designCollaboration"),
    (ProjectProduct::ModelCoordination, "modelCoordination"),
    (ProjectProduct::Takeoff, "takeoff"),
];

/// The vendor's key of project administration.
pub const PROJECT_ADMINISTRATION: &str = "projectAdministration";

/// Whether a project member with `access` and `products` is something the vendor
/// keeps: it makes a project admin administrator of every product, so an admin holds
/// every product accord knows.
#[must_use]
pub fn keeps(access: ProjectAccess, products: &BTreeSet<ProjectProduct>) -> bool {
    access == ProjectAccess::Member || PRODUCT_KEYS.iter().all(|(p, _)| products.contains(p))
}

/// The product a vendor key names, if accord knows it.
#[must_use]
pub fn product(key: &str) -> Option<ProjectProduct> {
    PRODUCT_KEYS
        .iter()
        .find(|(_, k)| *k == key)
        .map(|(p, _)| *p)
}

/// A project user's access and products, read from the vendor's product list: a
/// project admin administers project administration; products are those with any access.
#[must_use]
pub fn membership(products: &[ProductAccess]) -> (ProjectAccess, BTreeSet<ProjectProduct>) {
    let admin = products
        .iter()
        .any(|p| p.key == PROJECT_ADMINISTRATION && p.access == "administrator");
    let held = products
        .iter()
        .filter(|p| p.access != "none")
        .filter_map(|p| product(&p.key))
        .collect();
    let access = if admin {
        ProjectAccess::Admin
    } else {
        ProjectAccess::Member
    };
    (access, held)
}

/// The vendor's product list for `access` and `products`: an admin administers
/// project administration and every product held; a member has no project
/// administration and `member` on every product held. With `complete`, products not
/// held are listed with `none` (an update takes them away).
#[must_use]
pub fn products_json(
    access: ProjectAccess,
    products: &BTreeSet<ProjectProduct>,
    complete: bool,
) -> Value {
    let (admin_word, product_word) = match access {
        ProjectAccess::Admin => ("administrator", "administrator"),
        ProjectAccess::Member => ("none", "member"),
    };
    let mut list = vec![json!({"key": PROJECT_ADMINISTRATION, "access": admin_word})];
    for (product, key) in PRODUCT_KEYS {
        if products.contains(&product) {
            list.push(json!({"key": key, "access": product_word}));
        } else if complete {
            list.push(json!({"key": key, "access": "none"}));
        }
    }
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_lists_round_trip_for_members_and_admins() {
        for access in [ProjectAccess::Member, ProjectAccess::Admin] {
            let products: BTreeSet<_> =
                [ProjectProduct::Docs, ProjectProduct::DesignCollaboration].into();
            let listed: Vec<ProductAccess> =
                serde_json::from_value::<Vec<Value>>(products_json(access, &products, true))
                    .unwrap()
                    .into_iter()
                    .map(|v| ProductAccess {
                        key: v["key"].as_str().unwrap().to_owned(),
                        access: v["access"].as_str().unwrap().to_owned(),
                    })
                    .collect();
            assert_eq!(listed.len(), 8);
            assert_eq!(membership(&listed), (access, products));
        }
    }

    #[test]
    fn statuses_map_to_accords() {
        assert_eq!(status(Some("not_invited")), MemberStatus::NotInvited);
        assert_eq!(status(Some("pending")), MemberStatus::Pending);
        assert_eq!(status(Some("inactive")), MemberStatus::Inactive);
        assert_eq!(status(Some("active")), MemberStatus::Active);
    }
}
