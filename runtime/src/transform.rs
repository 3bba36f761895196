//! Pure value transforms named by mapping files (`join`, `primary`, date formats).
//!
//! Each function here is listed in the code generator's transform table, which checks
//! at build time that a mapping only names transforms that exist.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::Value;

/// Joins the present, non-empty parts with `separator` (`full_name` from first and
/// last name). `None` when every part is missing, so the key is left out.
pub fn join(parts: &[Option<&str>], separator: &str) -> Option<String> {
    let present: Vec<&str> = parts
        .iter()
        .flatten()
        .copied()
        .filter(|part| !part.is_empty())
        .collect();
    if present.is_empty() {
        None
    } else {
        Some(present.join(separator))
    }
}

/// The element a scalar provider field keeps when a unified list is written to it.
/// The rule is "first element wins"; dropping the rest is reported as a warning,
/// never silently.
pub fn primary<'a, T>(items: &'a [T], unified_field: &str, provider_field: &str) -> Option<&'a T> {
    if items.len() > 1 {
        tracing::warn!(
            unified_field,
            provider_field,
            dropped = items.len() - 1,
            "provider field holds one value: keeping the first element, dropping the rest"
        );
    }
    items.first()
}

/// Parses an instant from ISO-8601 (`Z`, `+00:00`, or Salesforce's `+0000`), from
/// `YYYY-MM-DD HH:MM:SS` in UTC (Pipedrive), or from epoch milliseconds given as a
/// number or a numeric string (HubSpot date properties).
pub fn parse_datetime(value: &Value) -> Option<crate::DateTime> {
    match value {
        Value::Number(number) => number.as_i64().and_then(from_epoch_millis),
        Value::String(text) => {
            let text = text.trim();
            if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
                return Some(instant.with_timezone(&Utc));
            }
            if let Ok(instant) = chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z") {
                return Some(instant.with_timezone(&Utc));
            }
            // Pipedrive's `add_time`: UTC without an offset, a space for the `T`.
            if let Ok(instant) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
                return Some(Utc.from_utc_datetime(&instant));
            }
            if let Ok(millis) = text.parse::<i64>() {
                return from_epoch_millis(millis);
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
                .map(|midnight| Utc.from_utc_datetime(&midnight))
        }
        _ => None,
    }
}

/// Parses a calendar date from `YYYY-MM-DD` or from anything [`parse_datetime`] takes.
pub fn parse_date(value: &Value) -> Option<crate::Date> {
    if let Value::String(text) = value
        && let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
    {
        return Some(date);
    }
    parse_datetime(value).map(|instant| instant.date_naive())
}

fn from_epoch_millis(millis: i64) -> Option<crate::DateTime> {
    Utc.timestamp_millis_opt(millis).single()
}

/// Renders an instant as ISO-8601 with milliseconds and `Z`, which every shipped
/// provider accepts on write.
pub fn format_datetime(instant: &crate::DateTime) -> String {
    instant.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The current instant, for `now()` constants in mappings.
pub fn now() -> crate::DateTime {
    Utc::now()
}

/// Renders a calendar date as `YYYY-MM-DD`.
pub fn format_date(date: &crate::Date) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Renders an instant to the second, as query languages such as SOQL take it
/// (`2025-03-01T10:00:00Z`).
pub fn format_datetime_seconds(instant: &crate::DateTime) -> String {
    instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Quoted, escaped SOQL literals joined by commas, for `IN (...)`.
pub fn soql_list(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!("'{}'", soql_escape(value)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Escapes text for a single-quoted SOQL string literal (backslash before `\` and
/// `'`), so a looked-up value can never change the query.
pub fn soql_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out
}

/// The provider field names of a connection's custom fields for `model`, each preceded
/// by `separator`, to extend a field list (`properties=`, a SOQL select list).
pub fn custom_field_list(connection: &crate::Connection, model: &str, separator: &str) -> String {
    let mut out = String::new();
    for (_, provider_field) in connection.field_mappings(model) {
        out.push_str(separator);
        out.push_str(provider_field);
    }
    out
}

/// A custom field's value as the provider stores it: providers whose fields are all
/// strings (HubSpot) get numbers and booleans as text.
pub fn custom_value(value: &serde_json::Value, strings: bool) -> serde_json::Value {
    match value {
        serde_json::Value::Number(n) if strings => serde_json::Value::String(n.to_string()),
        serde_json::Value::Bool(b) if strings => serde_json::Value::String(b.to_string()),
        other => other.clone(),
    }
}

/// One part of a full name, for providers that store a single name. The rule: the
/// last word is the last name and everything before it the first name ("Mary Ann
/// Smith" → "Mary Ann" / "Smith"); a single word is a last name only.
pub fn split_name(full: &str, first: bool) -> Option<String> {
    let full = full.trim();
    let (given, family) = match full.rsplit_once(char::is_whitespace) {
        Some((given, family)) => (Some(given.trim()), family),
        None => (None, full),
    };
    let part = if first { given } else { Some(family) };
    part.filter(|p| !p.is_empty()).map(str::to_string)
}

/// A list of provider field names (`["firstname", ...]`) with the connection's custom
/// provider fields of `model` appended.
pub fn with_custom_field_names(
    mut names: Vec<serde_json::Value>,
    connection: &crate::Connection,
    model: &str,
) -> serde_json::Value {
    let custom = connection.field_mappings(model).iter();
    names.extend(custom.map(|(_, field)| serde_json::Value::String(field.clone())));
    serde_json::Value::Array(names)
}

/// Replaces each `"{custom_fields}"` element of the arrays in `body` with the
/// connection's custom provider fields for `model` (a search's property list).
pub fn with_custom_fields(
    mut body: serde_json::Value,
    connection: &crate::Connection,
    model: &str,
) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value, fields: &[(String, String)]) {
        match value {
            serde_json::Value::Array(items) => {
                if items.iter().any(|item| item == "{custom_fields}") {
                    items.retain(|item| item != "{custom_fields}");
                    items.extend(
                        fields
                            .iter()
                            .map(|(_, field)| serde_json::Value::String(field.clone())),
                    );
                }
                items.iter_mut().for_each(|item| walk(item, fields));
            }
            serde_json::Value::Object(map) => map.values_mut().for_each(|item| walk(item, fields)),
            _ => {}
        }
    }
    walk(&mut body, connection.field_mappings(model));
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn soql_literals_cannot_be_broken_out_of() {
        assert_eq!(soql_escape("o'brien@example.com"), "o\\'brien@example.com");
        assert_eq!(soql_escape("a\\' OR Name != '"), "a\\\\\\' OR Name != \\'");
    }

    #[test]
    fn names_split_on_the_last_space() {
        assert_eq!(
            split_name("Mary Ann Smith", true).as_deref(),
            Some("Mary Ann")
        );
        assert_eq!(
            split_name("Mary Ann Smith", false).as_deref(),
            Some("Smith")
        );
        assert_eq!(split_name("Cher", true), None);
        assert_eq!(split_name("Cher", false).as_deref(), Some("Cher"));
        assert_eq!(split_name("  ", false), None);
    }

    #[test]
    fn join_skips_missing_and_empty_parts() {
        assert_eq!(
            join(&[Some("Ada"), None, Some("Lovelace")], " ").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(join(&[Some(""), None], " "), None);
    }

    #[test]
    fn datetimes_from_every_provider_format() {
        let expected = Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).single();
        assert_eq!(parse_datetime(&json!("2025-03-01T10:00:00.000Z")), expected);
        assert_eq!(
            parse_datetime(&json!("2025-03-01T10:00:00.000+0000")),
            expected
        );
        assert_eq!(
            parse_datetime(&json!("2025-03-01T10:00:00.000000000Z")),
            expected
        );
        assert_eq!(parse_datetime(&json!(1740823200000_i64)), expected);
        assert_eq!(parse_datetime(&json!("1740823200000")), expected);
        assert_eq!(parse_datetime(&json!("2025-03-01 10:00:00")), expected);
        assert_eq!(parse_datetime(&json!("not a date")), None);
        assert_eq!(
            parse_date(&json!("2025-06-30")),
            NaiveDate::from_ymd_opt(2025, 6, 30)
        );
    }
}
