//! R01: every email is a syntactically valid ASCII address; members are unique by
//! email, case-insensitively after trimming.
//!
//! Checked here: member emails (syntax, then uniqueness), `settings.protected`
//! entries, and every other place an email is written (seat, cloud-service, support
//! and group lists, project entries) when the address is not a declared member's.
//! A reference to an undeclared but well-formed address is R07's; a reference that
//! matches a declaration is not reported again, since the declaration carries the
//! error. Contract managers and coordinators are R02/R03's whatever their syntax.

use super::context::{Context, Entry, normalise};
use crate::diagnostic::{Code, Diagnostic};

/// The longest address SMTP can carry (RFC 5321: 254 characters in a path).
const MAX_EMAIL_LEN: usize = 254;
/// The longest local part (RFC 5321).
const MAX_LOCAL_LEN: usize = 64;
/// The longest domain label (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// What a valid address looks like, for help lines.
const EMAIL_HELP: &str = "write the address as name@example.com: ASCII letters, digits and . _ % + - before the @, a domain with at least one dot after it, no spaces";

/// Checks R01.
#[must_use]
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    member_emails(ctx, &mut out);
    protected(ctx, &mut out);
    references(ctx, &mut out);
    out
}

/// Whether `email` (already trimmed) is a valid address.
///
/// This is the address syntax people actually use (the HTML form rules, which
/// software portals follow) rather than everything RFC 5322 allows: an ASCII
/// local part of letters, digits and ``.!#$%&'*+/=?^_`{|}~-`` without leading,
/// trailing or doubled dots; a domain of at least two dot-separated labels of
/// letters, digits and inner hyphens. The domain must have a dot because an
/// account's members are reached over the internet: `dana@acme` is almost always a
/// typo for `dana@acme.example`.
#[must_use]
pub fn is_valid_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_LEN || !email.is_ascii() {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    valid_local_part(local) && valid_domain(domain)
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &[u8] = b".!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= MAX_LOCAL_LEN
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

fn valid_domain(domain: &str) -> bool {
    let mut labels = 0;
    for label in domain.split('.') {
        let well_formed = !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !well_formed {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

/// Member emails: syntax first (an invalid address is one defect, even if written
/// twice), then uniqueness, citing the first declaration.
fn member_emails(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for (index, member) in ctx.config.members.iter().enumerate() {
        let pointer = format!("/members/{index}/email");
        let email = &ctx.member_emails[index];
        if !is_valid_email(email) {
            out.push(
                ctx.error(
                    Code::R01,
                    pointer,
                    format!(
                        "member email `{}` is not a valid email address",
                        member.email
                    ),
                )
                .help(EMAIL_HELP),
            );
            continue;
        }
        let first = ctx.member_index(email).unwrap_or(index);
        if first != index {
            let first = ctx.locate(&format!("/members/{first}/email"));
            out.push(
                ctx.error(
                    Code::R01,
                    pointer,
                    format!(
                        "member `{email}` is declared twice ({}emails are compared ignoring case and surrounding spaces)",
                        first.as_ref().map_or_else(String::new, |l| format!(
                            "first declared at {}; ",
                            l.file_line()
                        ))
                    ),
                )
                .help("keep one declaration of this member and delete the other")
                .related(first, "first declared here"),
            );
        }
    }
}

/// `settings.protected`: they need not be declared, but must be addresses.
fn protected(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(settings) = &ctx.config.settings else {
        return;
    };
    for (index, raw) in settings.protected.iter().enumerate() {
        if !is_valid_email(raw.trim()) {
            out.push(
                ctx.error(
                    Code::R01,
                    format!("/settings/protected/{index}"),
                    format!("protected member `{raw}` is not a valid email address"),
                )
                .help(EMAIL_HELP),
            );
        }
    }
}

/// Emails written in lists and project entries that match no declaration and are
/// malformed. Pointers and descriptions are built only for those.
fn references(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let malformed = |email: &str| ctx.member_index(email).is_none() && !is_valid_email(email);
    let error = |pointer: String, raw: &str, place: String| {
        ctx.error(
            Code::R01,
            pointer,
            format!("`{raw}` in {place} is not a valid email address"),
        )
        .help(format!("{EMAIL_HELP}; to name a group, write `group:NAME`"))
    };
    for list in &ctx.member_lists {
        for (index, raw) in list.items.iter().enumerate() {
            if let Entry::Person(email) = Entry::parse(raw) {
                if malformed(&email) {
                    let pointer = format!("{}/{index}", list.pointer);
                    out.push(error(pointer, raw, list.holding.describe()));
                }
            }
        }
    }
    for (p, project) in ctx.config.projects.iter().enumerate() {
        for (m, entry) in project.members.iter().enumerate() {
            let Some(raw) = &entry.email else { continue };
            if malformed(&normalise(raw)) {
                let pointer = format!("/projects/{p}/members/{m}/email");
                out.push(error(pointer, raw, format!("project `{}`", project.name)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_valid_email;

    #[test]
    fn accepts_everyday_addresses() {
        for email in [
            "alice@acme.example",
            "a.b+tag@sub.acme-eu.example",
            "o'brien@acme.ie",
            "x@a.io",
            "1234@10.example",
        ] {
            assert!(is_valid_email(email), "{email}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for email in [
            "",
            "alice",
            "alice@",
            "@acme.example",
            "alice@acme",
            "alice@@acme.example",
            "al ice@acme.example",
            "alice@acme..example",
            ".alice@acme.example",
            "alice.@acme.example",
            "al..ice@acme.example",
            "alice@-acme.example",
            "alice@acme-.example",
            "alice@acme.example.",
            "alicé@acme.example",
            "alice@acme_eu.example",
            "group@name@acme.example",
        ] {
            assert!(!is_valid_email(email), "{email}");
        }
        let long_local = format!("{}@acme.example", "a".repeat(65));
        assert!(!is_valid_email(&long_local));
        let long_label = format!("a@{}.example", "b".repeat(64));
        assert!(!is_valid_email(&long_label));
    }
}
