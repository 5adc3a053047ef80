//! Text that crosses a trust boundary: what may be stored as a name, and what may
//! be shown on a terminal or in a markdown comment.
//!
//! Names and addresses reach accord from configuration files (anyone who can open a
//! pull request writes them) and from backends (which store what they were given).
//! A control character or a bidirectional override in one is never meant: an ESC or
//! a CR rewrites the lines a terminal shows (a plan that hides a removal), a NUL
//! cuts a C string, an override reorders what a reviewer reads. So one rule decides
//! both questions (issue 14): `validate` and the account service refuse such a
//! name before it is stored ([`name_problem`]), and every output replaces it before
//! it is shown ([`shown`]), for the backends that stored one anyway.

use std::borrow::Cow;

/// What replaces a character that may not be shown.
pub const REPLACEMENT: char = '\u{FFFD}';

/// A control character (tabs and line breaks included) or a bidirectional
/// override or isolate: no name, address or number holds one.
#[must_use]
pub fn hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why `text` may not be stored as a name, an address or a number: the first
/// character [`hostile`] finds, named by its code point. `None` when it is fine.
#[must_use]
pub fn name_problem(text: &str) -> Option<String> {
    // Printable ASCII, nearly every name, is checked a byte at a time: the loader
    // asks this of every text in a 50,000-member configuration.
    if text.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return None;
    }
    text.chars().find(|&c| hostile(c)).map(|c| {
        format!(
            "holds the control character U+{:04X}; names, addresses and numbers may not hold control characters or bidirectional overrides",
            u32::from(c)
        )
    })
}

/// `text` fit for a terminal or a markdown comment: every [`hostile`] character but
/// line breaks and tabs replaced by [`REPLACEMENT`]. Borrowed when nothing needs
/// replacing, which is nearly always. For a text accord composed itself around
/// values it did not (a summary, a progress line), not for one that carries
/// accord's own colours.
#[must_use]
pub fn shown(text: &str) -> Cow<'_, str> {
    shown_keeping(text, &['\n', '\t'])
}

/// `text` on one line: as [`shown`], and line breaks replaced too, for a value
/// quoted inside a line (a name in a table cell, an error body in a message).
#[must_use]
pub fn shown_inline(text: &str) -> Cow<'_, str> {
    shown_keeping(text, &['\t'])
}

/// `text` for a markdown table cell or list line of a pull-request comment: on one
/// line, with no column separator, and no HTML or link a name could smuggle in
/// (`<img src=...>` would load a remote image where the plan is reviewed,
/// `[text](url)` would turn a name into a link).
#[must_use]
pub fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push(' '),
            '|' => out.push_str("\\|"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            // A tag opens with `<`; a lone `>` (as in `->`) opens nothing mid-line.
            '<' => out.push_str("&lt;"),
            c if hostile(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    out
}

fn shown_keeping<'a>(text: &'a str, kept: &[char]) -> Cow<'a, str> {
    let replaced = |c: char| hostile(c) && !kept.contains(&c);
    if !text.chars().any(replaced) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if replaced(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_carriage_returns_and_overrides_are_hostile_and_letters_are_not() {
        for c in [
            '\u{1B}', '\r', '\0', '\n', '\t', '\u{7F}', '\u{9B}', '\u{202E}', '\u{2066}',
        ] {
            assert!(hostile(c), "{c:?}");
        }
        for c in ['a', 'é', ' ', '-', '\u{200D}', '\u{FFFD}'] {
            assert!(!hostile(c), "{c:?}");
        }
    }

    #[test]
    fn a_name_problem_names_the_code_point() {
        assert_eq!(name_problem("Acme GmbH"), None);
        let problem = name_problem("Acme\u{1B}[2K").unwrap();
        assert!(
            problem.starts_with("holds the control character U+001B;"),
            "{problem}"
        );
    }

    #[test]
    fn shown_keeps_line_breaks_and_tabs_and_replaces_the_rest() {
        assert!(matches!(shown("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(shown("a\u{1B}[31mb\rc\n"), "a\u{FFFD}[31mb\u{FFFD}c\n");
        assert_eq!(shown_inline("a\nb\u{202E}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn a_markdown_cell_holds_no_separator_html_or_link() {
        assert_eq!(markdown_cell("Stahl & Partner"), "Stahl & Partner");
        assert_eq!(
            markdown_cell("a|b <img src=x> [c](http://e)\nd\re"),
            "a\\|b &lt;img src=x> \\[c\\](http://e) d\u{FFFD}e"
        );
    }
}
