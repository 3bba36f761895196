//! Input checks the generated `validate()` methods call before any request is sent.

use crate::FieldError;

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain, no
/// whitespace. It refuses what every shipped provider refuses; it does not try to
/// implement RFC 5322.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// Records a problem when `text` is not an email address.
pub fn email(problems: &mut Vec<FieldError>, field: impl Into<String>, text: &str) {
    if !is_email(text) {
        problems.push(FieldError::new(
            field,
            format!("`{text}` is not a valid email address"),
        ));
    }
}

/// Records a problem when `text` is longer than `max` characters.
pub fn max_length(
    problems: &mut Vec<FieldError>,
    field: impl Into<String>,
    text: &str,
    max: usize,
) {
    let length = text.chars().count();
    if length > max {
        problems.push(FieldError::new(
            field,
            format!("is {length} characters long; at most {max} are allowed"),
        ));
    }
}

/// Records a problem when a value the provider requires is missing or empty.
pub fn required_by(problems: &mut Vec<FieldError>, field: &str, present: bool, provider: &str) {
    if !present {
        problems.push(FieldError::new(field, format!("is required by {provider}")));
    }
}

/// A record id must be non-empty; anything else is percent-encoded into the path.
pub fn record_id(id: &str) -> Vec<FieldError> {
    if id.trim().is_empty() {
        vec![FieldError::new("id", "must not be empty")]
    } else {
        Vec::new()
    }
}

/// Records a problem when a required string is empty.
pub fn not_empty(problems: &mut Vec<FieldError>, field: impl Into<String>, text: &str) {
    if text.trim().is_empty() {
        problems.push(FieldError::new(field, "must not be empty"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        for good in ["ada@example.com", "a.b+c@sub.example.co.uk"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada @example.com",
            "a@b@c.com",
            "ada@exa_mple.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
