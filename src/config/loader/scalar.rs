//! Typing of YAML scalars by the YAML 1.2 core schema.
//!
//! A plain (unquoted) scalar is `null`, a boolean, an integer or a float when its
//! text says so, and a string otherwise; quoted and block scalars are always
//! strings. Only the core schema's spellings count (`true`/`True`/`TRUE`, never
//! `yes` or `on`), so `country: no` stays the string "no".

use serde_json::{Number, Value};

/// What a plain scalar resolves to, before it becomes a JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Resolved {
    /// A JSON value.
    Value(Value),
    /// `.inf`, `-.inf` or `.nan`: valid YAML numbers that JSON cannot hold.
    NotFinite,
}

/// Resolves a plain scalar by the core schema; `None` when it is a string (the
/// caller owns the text and makes the string without copying it again).
#[must_use]
pub(super) fn resolve_plain(text: &str) -> Option<Resolved> {
    let Some(&first) = text.as_bytes().first() else {
        return Some(Resolved::Value(Value::Null));
    };
    // Cheap dispatch on the first byte: most scalars of a configuration are
    // names and addresses that cannot be anything but strings.
    match first {
        b'n' | b'N' | b'~' => null(text).map(Resolved::Value),
        b't' | b'T' | b'f' | b'F' => boolean(text).map(Resolved::Value),
        b'0'..=b'9' | b'-' | b'+' | b'.' => number(text),
        _ => None,
    }
}

/// Resolves a scalar tagged `!!null`, `!!bool`, `!!int` or `!!float` (the tag
/// suffix is `kind`); `None` when the text is not of that kind.
#[must_use]
pub(super) fn resolve_tagged(kind: &str, text: &str) -> Option<Resolved> {
    match kind {
        "null" => null(text)
            .or_else(|| text.is_empty().then_some(Value::Null))
            .map(Resolved::Value),
        "bool" => boolean(text).map(Resolved::Value),
        "int" => integer(text).map(Resolved::Value),
        "float" => match number(text)? {
            Resolved::Value(Value::Number(n)) => {
                let float = n.as_f64().and_then(Number::from_f64).unwrap_or(n);
                Some(Resolved::Value(Value::Number(float)))
            }
            other => Some(other),
        },
        _ => None,
    }
}

fn null(text: &str) -> Option<Value> {
    matches!(text, "~" | "null" | "Null" | "NULL").then_some(Value::Null)
}

fn boolean(text: &str) -> Option<Value> {
    match text {
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// An integer, a float or a non-finite number; `None` when the text is none of these.
fn number(text: &str) -> Option<Resolved> {
    if let Some(value) = integer(text) {
        return Some(Resolved::Value(value));
    }
    if is_non_finite(text) {
        return Some(Resolved::NotFinite);
    }
    if !is_float(text) {
        return None;
    }
    // A float by syntax that f64 cannot hold (1e999) is not finite either.
    Some(
        text.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Resolved::NotFinite, |n| Resolved::Value(Value::Number(n))),
    )
}

/// `[-+]?[0-9]+`, `0o[0-7]+` or `0x[0-9a-fA-F]+`. Integers beyond 64 bits
/// become floats, as in JSON.
fn integer(text: &str) -> Option<Value> {
    if let Some(octal) = text.strip_prefix("0o") {
        return radix(octal, 8);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return radix(hex, 16);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    if let Ok(signed) = text.parse::<i64>() {
        return Some(Value::Number(signed.into()));
    }
    if let Ok(unsigned) = text.parse::<u64>() {
        return Some(Value::Number(unsigned.into()));
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

fn radix(digits: &str, radix: u32) -> Option<Value> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .map(|n| Value::Number(n.into()))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(text: &str) -> bool {
    let bytes = text.strip_prefix(['-', '+']).unwrap_or(text).as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(0);
    let mut at = whole;
    let mut fraction = 0;
    if bytes.get(at) == Some(&b'.') {
        fraction = digits(at + 1);
        at += 1 + fraction;
    }
    if whole == 0 && fraction == 0 {
        return false;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        let exponent = digits(at);
        if exponent == 0 {
            return false;
        }
        at += exponent;
    }
    at == bytes.len()
}

fn is_non_finite(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn plain(text: &str) -> Value {
        match resolve_plain(text) {
            None => Value::String(text.to_owned()),
            Some(Resolved::Value(value)) => value,
            Some(Resolved::NotFinite) => panic!("{text} is not finite"),
        }
    }

    #[test]
    fn core_schema_nulls_and_booleans() {
        for text in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(plain(text), Value::Null, "{text:?}");
        }
        assert_eq!(plain("true"), json!(true));
        assert_eq!(plain("FALSE"), json!(false));
        // YAML 1.1 spellings are strings in 1.2.
        for text in ["yes", "no", "on", "off", "nULL", "tRUE", "nul"] {
            assert_eq!(plain(text), json!(text), "{text:?}");
        }
    }

    #[test]
    fn core_schema_numbers() {
        assert_eq!(plain("10"), json!(10));
        assert_eq!(plain("-7"), json!(-7));
        assert_eq!(plain("+7"), json!(7));
        assert_eq!(plain("007"), json!(7));
        assert_eq!(plain("0o17"), json!(15));
        assert_eq!(plain("0x1F"), json!(31));
        assert_eq!(plain("18446744073709551615"), json!(u64::MAX));
        assert_eq!(plain("1.5"), json!(1.5));
        assert_eq!(plain(".5"), json!(0.5));
        assert_eq!(plain("1."), json!(1.0));
        assert_eq!(plain("-2e3"), json!(-2000.0));
        assert_eq!(plain("1E+2"), json!(100.0));
        assert!(plain("99999999999999999999999").is_f64());
        for text in [
            "1.2.3",
            "0x",
            "0xG",
            "0o8",
            "1e",
            "-",
            ".",
            "+.",
            "1_000",
            "12abc",
            "2024-01-01",
            "+1-555",
        ] {
            assert_eq!(plain(text), json!(text), "{text:?}");
        }
        for text in [".inf", "-.Inf", "+.INF", ".nan", ".NaN", "1e999"] {
            assert_eq!(resolve_plain(text), Some(Resolved::NotFinite), "{text:?}");
        }
    }

    #[test]
    fn explicit_core_tags() {
        assert_eq!(
            resolve_tagged("int", "12"),
            Some(Resolved::Value(json!(12)))
        );
        assert_eq!(resolve_tagged("int", "twelve"), None);
        assert_eq!(
            resolve_tagged("float", "3"),
            Some(Resolved::Value(json!(3.0)))
        );
        assert_eq!(
            resolve_tagged("bool", "True"),
            Some(Resolved::Value(json!(true)))
        );
        assert_eq!(
            resolve_tagged("null", ""),
            Some(Resolved::Value(Value::Null))
        );
        assert_eq!(resolve_tagged("null", "nothing"), None);
    }
}
