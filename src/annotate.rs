//! Diagnostics in the forms CI systems render natively: GitHub Actions workflow
//! commands (an annotation on the offending line of the pull request's diff) and
//! SARIF 2.1.0 (GitHub code scanning, GitLab, most security dashboards).

use serde_json::{Value, json};

use crate::diagnostic::{Code, Diagnostic, Severity};

/// The diagnostics as GitHub Actions workflow commands, one a line:
/// `::error file=accord.yaml,line=24,col=13,title=R04::message`, the help on a
/// continuation line, each related place ("first declared here") as a `notice`.
#[must_use]
pub fn github(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let level = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let mut properties = vec![format!("title={}", property(diagnostic.code.as_str()))];
        if let Some(location) = &diagnostic.location {
            properties.insert(0, format!("col={}", location.column));
            properties.insert(0, format!("line={}", location.line));
            properties.insert(0, format!("file={}", property(&location.file)));
        }
        out.push_str(&format!(
            "::{level} {}::{}\n",
            properties.join(","),
            data(&message)
        ));
        for related in &diagnostic.related {
            out.push_str(&format!(
                "::notice file={},line={},col={},title={}::{}\n",
                property(&related.location.file),
                related.location.line,
                related.location.column,
                property(diagnostic.code.as_str()),
                data(&related.message)
            ));
        }
    }
    out
}

/// The escaping of a workflow command's message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The escaping of a workflow command's property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// What each code checks, for SARIF's rule descriptions.
fn rule_description(code: Code) -> &'static str {
    match code {
        Code::File => {
            "A configuration file can be read: it exists, is not too large, is UTF-8 text."
        }
        Code::Yaml => {
            "The YAML is well formed: syntax, no duplicate keys, no tabs, no alias bombs."
        }
        Code::Schema => {
            "The configuration matches its JSON Schema: types, required and unknown keys."
        }
        Code::R01 => "Every email is a valid address; members are unique by email.",
        Code::R02 => "Every agreement names one declared contract manager.",
        Code::R03 => "An agreement's software coordinator is a declared member.",
        Code::R04 => "The members assigned a product never outnumber its seats.",
        Code::R05 => "At most 3 members per cloud service of an agreement.",
        Code::R06 => "At most 6 members per licence have support benefits.",
        Code::R07 => "Every member named is declared; an inactive member holds nothing.",
        Code::R08 => "A project member always has docs.",
        Code::R09 => "References exist and names are unique.",
        Code::R10 => "At least one active member keeps account_admin.",
        Code::R11 => "A role holder is transferred before leaving.",
        Code::R12 => "Protected members are never changed.",
        Code::R13 => "A plan removes at most settings.max_removals members.",
        Code::R14 => "Declared teams and pools exist live, with room for their seats.",
    }
}

/// The diagnostics as one SARIF 2.1.0 log (one run of the `accord` tool), pretty
/// JSON ending with a newline.
///
/// # Panics
/// Never: the log is plain JSON.
#[must_use]
pub fn sarif(diagnostics: &[Diagnostic]) -> String {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort();
    codes.dedup();
    let rules: Vec<Value> = codes
        .iter()
        .map(|code| {
            json!({
                "id": code.as_str(),
                "shortDescription": { "text": rule_description(*code) },
                "helpUri": "https://github.com/accord-rs/accord#the-rules",
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": codes.iter().position(|c| *c == d.code).unwrap_or(0),
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": { "text": match &d.help {
                    Some(help) => format!("{}\nhelp: {help}", d.message),
                    None => d.message.clone(),
                } },
            });
            if let Some(location) = &d.location {
                result["locations"] = json!([physical(&location.file, location.line, location.column)]);
            }
            if !d.related.is_empty() {
                result["relatedLocations"] = Value::Array(
                    d.related
                        .iter()
                        .enumerate()
                        .map(|(id, r)| {
                            let mut place = physical(&r.location.file, r.location.line, r.location.column);
                            place["id"] = json!(id);
                            place["message"] = json!({ "text": r.message });
                            place
                        })
                        .collect(),
                );
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "accord",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/accord-rs/accord",
                "rules": rules,
            } },
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).expect("a SARIF log is plain JSON");
    text.push('\n');
    text
}

fn physical(file: &str, line: u32, column: u32) -> Value {
    json!({ "physicalLocation": {
        "artifactLocation": { "uri": file },
        "region": { "startLine": line.max(1), "startColumn": column.max(1) },
    } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Location;

    fn duplicate() -> Diagnostic {
        Diagnostic::error(Code::R01, "member `bob` is declared twice, 100% sure")
            .at(Some(Location::new("people, a.yaml", 16, 14)))
            .help("keep one declaration")
            .related(
                Some(Location::new("contractors.yaml", 6, 14)),
                "first declared here",
            )
    }

    #[test]
    fn github_annotations_escape_and_point_at_both_places() {
        let text = github(&[duplicate()]);
        assert_eq!(
            text,
            "::error file=people%2C a.yaml,line=16,col=14,title=R01::member `bob` is declared twice, 100%25 sure%0Ahelp: keep one declaration\n::notice file=contractors.yaml,line=6,col=14,title=R01::first declared here\n"
        );
    }

    #[test]
    fn sarif_has_the_rule_the_level_and_the_locations() {
        let log: Value = serde_json::from_str(&sarif(&[duplicate()])).unwrap();
        assert_eq!(log["version"], "2.1.0");
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "R01");
        let result = &run["results"][0];
        assert_eq!(result["level"], "error");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            16
        );
        assert_eq!(
            result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "contractors.yaml"
        );
    }
}
