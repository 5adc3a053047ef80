//! Writing a configuration back as YAML (for `accord export` and round-trip tests).
//!
//! Hand-written rather than through a generic serialiser so the output reads like a
//! file a person wrote: keys in declaration order (`email` first), small lists of
//! names in flow style (`[docs, build]`), and a scalar quoted only when YAML would
//! otherwise read it as something else (a number, a boolean, `null`, a key).

use std::fmt::Write;

use super::model::{
    Account, Agreement, CloudService, Company, ConfigFile, Group, Member, Product, Project,
    ProjectMember, Role, Settings, Team, TeamProduct,
};

/// The configuration as YAML text, sections in the order of DOMAIN.md.
#[must_use]
pub fn to_yaml(config: &ConfigFile) -> String {
    let mut out = Emitter::default();
    if let Some(account) = &config.account {
        out.account(account);
    }
    if let Some(settings) = &config.settings {
        out.settings(settings);
    }
    out.section("companies", &config.companies, Emitter::company);
    out.section("roles", &config.roles, Emitter::role);
    out.section("groups", &config.groups, Emitter::group);
    out.section("members", &config.members, Emitter::member);
    out.section("agreements", &config.agreements, Emitter::agreement);
    out.section("teams", &config.teams, Emitter::team);
    out.section("projects", &config.projects, Emitter::project);
    out.text
}

#[derive(Default)]
struct Emitter {
    text: String,
}

/// One `key: value` of a flow or block mapping, before it is written.
type Field = (&'static str, String);

impl Emitter {
    fn account(&mut self, account: &Account) {
        let _ = writeln!(
            self.text,
            "account: {}",
            flow_map(&[("id", scalar(&account.id)), ("name", scalar(&account.name))])
        );
    }

    fn settings(&mut self, settings: &Settings) {
        self.text.push_str("settings:\n");
        let _ = writeln!(self.text, "  prune: {}", settings.prune);
        if let Some(max) = settings.max_removals {
            let _ = writeln!(self.text, "  max_removals: {max}");
        }
        if !settings.protected.is_empty() {
            let _ = writeln!(self.text, "  protected: {}", flow_list(&settings.protected));
        }
    }

    fn section<T>(&mut self, name: &str, items: &[T], item: fn(&mut Self, &T)) {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(self.text, "{name}:");
        for entry in items {
            item(self, entry);
        }
    }

    /// A list item as a flow mapping on one line: `  - { name: X, trade: Y }`.
    fn flow_item(&mut self, indent: &str, fields: &[Field]) {
        let _ = writeln!(self.text, "{indent}- {}", flow_map(fields));
    }

    /// A list item as a block mapping, one key a line.
    fn block_item(&mut self, indent: &str, fields: &[Field]) {
        for (i, (key, value)) in fields.iter().enumerate() {
            let lead = if i == 0 { "- " } else { "  " };
            let _ = writeln!(self.text, "{indent}{lead}{key}: {value}");
        }
    }

    fn company(&mut self, company: &Company) {
        let mut fields = vec![("name", scalar(&company.name))];
        push_opt(&mut fields, "trade", company.trade.as_deref());
        self.flow_item("  ", &fields);
    }

    fn role(&mut self, role: &Role) {
        let mut fields = vec![("name", scalar(&role.name))];
        if !role.default_access.is_empty() {
            fields.push(("default_access", flow_words(&role.default_access)));
        }
        self.flow_item("  ", &fields);
    }

    fn group(&mut self, group: &Group) {
        self.flow_item(
            "  ",
            &[
                ("name", scalar(&group.name)),
                ("members", flow_list(&group.members)),
            ],
        );
    }

    fn member(&mut self, member: &Member) {
        let mut fields = vec![("email", scalar(&member.email))];
        push_opt(&mut fields, "first_name", member.first_name.as_deref());
        push_opt(&mut fields, "last_name", member.last_name.as_deref());
        push_opt(&mut fields, "company", member.company.as_deref());
        push_opt(&mut fields, "role", member.role.as_deref());
        if let Some(access) = &member.access {
            fields.push(("access", flow_words(access)));
        }
        if let Some(status) = member.status {
            fields.push(("status", word(&status)));
        }
        if !member.external_subscriptions.is_empty() {
            fields.push((
                "external_subscriptions",
                flow_list(&member.external_subscriptions),
            ));
        }
        self.flow_item("  ", &fields);
    }

    fn agreement(&mut self, agreement: &Agreement) {
        let mut fields = vec![
            ("number", quoted(&agreement.number)),
            ("name", scalar(&agreement.name)),
            ("contract_manager", scalar(&agreement.contract_manager)),
        ];
        push_opt(
            &mut fields,
            "software_coordinator",
            agreement.software_coordinator.as_deref(),
        );
        self.block_item("  ", &fields);
        if !agreement.products.is_empty() {
            self.text.push_str("    products:\n");
            for product in &agreement.products {
                self.product(product);
            }
        }
        if !agreement.cloud_services.is_empty() {
            self.text.push_str("    cloud_services:\n");
            for service in &agreement.cloud_services {
                self.cloud_service(service);
            }
        }
        if !agreement.support.is_empty() {
            let _ = writeln!(self.text, "    support: {}", flow_list(&agreement.support));
        }
    }

    fn product(&mut self, product: &Product) {
        let mut fields = vec![("name", scalar(&product.name))];
        if let Some(seats) = product.seats {
            fields.push(("seats", seats.to_string()));
        }
        fields.push(("assigned", flow_list(&product.assigned)));
        self.flow_item("      ", &fields);
    }

    fn cloud_service(&mut self, service: &CloudService) {
        self.flow_item(
            "      ",
            &[
                ("name", scalar(&service.name)),
                ("assigned", flow_list(&service.assigned)),
            ],
        );
    }

    fn team(&mut self, team: &Team) {
        let mut fields = vec![("id", quoted(&team.id)), ("name", scalar(&team.name))];
        if !team.members.is_empty() {
            fields.push(("members", flow_list(&team.members)));
        }
        self.block_item("  ", &fields);
        if !team.products.is_empty() {
            self.text.push_str("    products:\n");
            for product in &team.products {
                self.team_product(product);
            }
        }
    }

    fn team_product(&mut self, product: &TeamProduct) {
        let mut fields = vec![("name", scalar(&product.name))];
        if let Some(seats) = product.seats {
            fields.push(("seats", seats.to_string()));
        }
        fields.push(("assigned", flow_list(&product.assigned)));
        self.flow_item("      ", &fields);
    }

    fn project(&mut self, project: &Project) {
        let _ = writeln!(self.text, "  - name: {}", scalar(&project.name));
        if project.members.is_empty() {
            self.text.push_str("    members: []\n");
            return;
        }
        self.text.push_str("    members:\n");
        for member in &project.members {
            self.project_member(member);
        }
    }

    fn project_member(&mut self, member: &ProjectMember) {
        let mut fields = Vec::new();
        push_opt(&mut fields, "email", member.email.as_deref());
        push_opt(&mut fields, "group", member.group.as_deref());
        fields.push(("access", word(&member.access)));
        if let Some(products) = &member.products {
            fields.push(("products", flow_words(products)));
        }
        self.flow_item("      ", &fields);
    }
}

fn push_opt(fields: &mut Vec<Field>, key: &'static str, value: Option<&str>) {
    if let Some(value) = value {
        fields.push((key, scalar(value)));
    }
}

fn flow_map(fields: &[Field]) -> String {
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{ {} }}", inner.join(", "))
}

fn flow_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| scalar(s)).collect();
    format!("[{}]", inner.join(", "))
}

/// A list of enum values (`[account_admin, executive]`).
fn flow_words<T: serde::Serialize>(items: &[T]) -> String {
    let inner: Vec<String> = items.iter().map(word).collect();
    format!("[{}]", inner.join(", "))
}

/// An enum value as its snake_case name.
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// Text, written plain when YAML reads it back as the same text, else double-quoted.
#[must_use]
pub fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// Text, always double-quoted (a JSON string is a valid YAML double-quoted scalar,
/// once the byte order mark, which JSON leaves as it is but YAML refuses inside a
/// document, is escaped too).
fn quoted(text: &str) -> String {
    let json = serde_json::to_string(text).expect("a string serialises");
    // JSON escapes U+0000-U+001F only: DEL, the C1 controls and the bidirectional
    // overrides would reach the file (and a reviewer's diff) as they are.
    if json.chars().any(|c| c == BOM || crate::text::hostile(c)) {
        json.chars()
            .map(|c| {
                if c == BOM || crate::text::hostile(c) {
                    format!("\\u{:04x}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        json
    }
}

/// U+FEFF, the byte order mark: YAML accepts it only at the start of a stream, so a
/// name carrying one (pasted from a spreadsheet) must be written escaped.
const BOM: char = '\u{feff}';

/// Whether `text` can be written as a plain scalar, in flow context, and read back as
/// the same string under the YAML 1.2 core schema.
fn is_plain_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    let reserved_start = matches!(
        first,
        '-' | '?'
            | ':'
            | ','
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
            | '.'
            | '+'
            | '~'
    );
    let looks_typed = matches!(
        text.to_ascii_lowercase().as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || text.parse::<f64>().is_ok()
        || text.starts_with("0x")
        || text.starts_with("0o");
    !reserved_start
        && !looks_typed
        && text.trim() == text
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && text.chars().all(|c| {
            !crate::text::hostile(c) && !matches!(c, ',' | '[' | ']' | '{' | '}' | '"' | '\\' | BOM)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_yaml_would_read_as_something_else() {
        assert_eq!(scalar("ACME Architects"), "ACME Architects");
        assert_eq!(scalar("alice@acme.example"), "alice@acme.example");
        assert_eq!(scalar("110001234567"), "\"110001234567\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("null"), "\"null\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("a, b"), "\"a, b\"");
        assert_eq!(scalar("key: value"), "\"key: value\"");
        assert_eq!(scalar(" padded"), "\" padded\"");
        assert_eq!(scalar("Stahl & Partner"), "Stahl & Partner");
        assert_eq!(scalar("group:structural"), "group:structural");
        assert_eq!(scalar("\u{feff}ACME"), "\"\\ufeffACME\"");
        assert_eq!(scalar("ACME\u{202e}\u{7f}"), "\"ACME\\u202e\\u007f\"");
        assert_eq!(scalar("a\u{1b}b"), "\"a\\u001bb\"");
    }
}
