//! Provider definitions: `providers/<name>/provider.yaml` plus its OpenAPI document.

use crate::diagnostics::one_of;
use crate::ir::*;
use crate::parse::openapi::OpenApi;
use crate::parse::path;
use crate::parse::reader::Reader;
use crate::parse::yaml::{Node, Value};

pub const TOP_KEYS: &[&str] = &[
    "name",
    "display_name",
    "description",
    "docs",
    "openapi",
    "base_url",
    "auth",
    "config",
    "envelope",
    "errors",
    "pagination",
    "retry",
    "rate_limits",
    "rate_limit_headers",
];
/// The error categories a rule may name; they match the runtime's `ErrorCategory`.
pub const CATEGORIES: &[&str] = &[
    "auth",
    "not_found",
    "conflict",
    "rate_limited",
    "quota_exhausted",
    "rejected",
    "provider",
];

/// Reads a provider file; `openapi` is its already-parsed OpenAPI document.
pub fn read(
    reader: &mut Reader,
    dir_name: &str,
    root: &Node,
    openapi: OpenApi,
) -> Option<Provider> {
    if !reader.keys(root, TOP_KEYS, "a provider definition") {
        return None;
    }
    let (name, name_node) = reader.required_string(root, "name", "the provider name")?;
    if !crate::naming::is_module_name(&name) {
        reader.error(name_node, format!("`{name}` cannot name a provider")).help = Some(
            "provider names become Rust module names: lowercase letters, digits and `_`, not a keyword (e.g. `pipedrive`)".into(),
        );
        return None;
    }
    if name != dir_name {
        reader
            .error(
                name_node,
                format!("provider `{name}` lives in folder `{dir_name}`"),
            )
            .help = Some(format!(
            "name the folder `{name}` or set `name: {dir_name}`"
        ));
    }
    let display_name = reader
        .optional_string(root, "display_name", "a display name")
        .map(|(d, _)| d)
        .unwrap_or_else(|| name.clone());
    let description = reader
        .optional_string(root, "description", "a description")
        .map(|(d, _)| d);
    let (base_url, base_node) = reader.required_string(root, "base_url", "the base URL")?;

    let mut config = Vec::new();
    if let Some(section) = root.get("config") {
        for (key, body) in section.entries() {
            let Some(key) = reader.string(key, "a setting name") else {
                continue;
            };
            reader.keys(body, &["description", "allow"], &format!("setting `{key}`"));
            let description = reader
                .optional_string(body, "description", "a description")
                .map(|(d, _)| d);
            let mut allow = Vec::new();
            for pattern in body.get("allow").map(Node::items).unwrap_or(&[]) {
                let Some(text) = reader.string(pattern, "a URL pattern") else {
                    continue;
                };
                let valid = text.split_once("://").is_some_and(|(scheme, host)| {
                    !scheme.is_empty()
                        && !host.is_empty()
                        && !host.contains(['/', '@', ':'])
                        && !host[1..].contains('*')
                });
                if valid {
                    allow.push(text);
                } else {
                    reader.error(pattern, format!("`{text}` is not a URL pattern")).help =
                        Some("patterns look like `https://*.my.salesforce.com` or `https://login.example.com`".into());
                }
            }
            config.push((key, description, allow));
        }
    }
    // Placeholders in the base URL must be declared settings, so a connection can be
    // checked before it is used.
    let mut rest = base_url.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').unwrap_or(after.len());
        let key = &after[..close];
        if !config.iter().any(|(declared, _, _)| declared == key) {
            reader
                .error(
                    base_node,
                    format!(
                        "base URL uses `{{{key}}}`, which is not a declared connection setting"
                    ),
                )
                .help = Some(format!(
                "declare it under `config:` as `{key}: {{ description: ... }}`"
            ));
        }
        rest = after.get(close + 1..).unwrap_or("");
    }
    let base_path = base_path_of(&base_url);

    let auth = match root.get("auth") {
        None => {
            reader.error(
                root,
                "the provider needs `auth:` (e.g. `auth: { type: bearer }`)",
            );
            Auth::Bearer
        }
        Some(auth) => {
            reader.keys(auth, &["type", "header", "token_url"], "`auth`");
            match reader.required_string(auth, "type", "the auth type") {
                Some((ty, _)) if ty == "bearer" => Auth::Bearer,
                Some((ty, _)) if ty == "header" => {
                    match reader.required_string(auth, "header", "the header name") {
                        Some((header, _)) => Auth::Header(header),
                        None => Auth::Bearer,
                    }
                }
                Some((ty, node)) => {
                    reader.error(node, format!("unknown auth type `{ty}`")).help =
                        Some("use `bearer` or `header`".into());
                    Auth::Bearer
                }
                None => Auth::Bearer,
            }
        }
    };

    let token_url = root
        .get("auth")
        .and_then(|auth| reader.optional_string(auth, "token_url", "the OAuth token URL"))
        .and_then(|(url, node)| {
            if url.starts_with("https://") {
                Some(url)
            } else {
                reader.error(node, "`token_url` must be an https:// URL");
                None
            }
        });
    let (envelope, response_envelope) = read_envelope(reader, root);

    let mut error_message = Vec::new();
    let mut error_rules = Vec::new();
    if let Some(errors) = root.get("errors") {
        reader.keys(errors, &["message", "rules"], "`errors`");
        for node in errors.get("message").map(Node::items).unwrap_or(&[]) {
            if let Some(text) = reader.string(node, "a message path")
                && let Some(path) = parse_path(reader, &text, node)
            {
                error_message.push(path);
            }
        }
        for rule in errors.get("rules").map(Node::items).unwrap_or(&[]) {
            if let Some(rule) = read_rule(reader, rule) {
                error_rules.push(rule);
            }
        }
    }

    let pagination = root
        .get("pagination")
        .and_then(|node| read_pagination(reader, node));
    let retry = root.get("retry").map(|node| read_retry(reader, node));
    let mut rate_limits = Vec::new();
    for limit in root.get("rate_limits").map(Node::items).unwrap_or(&[]) {
        if !reader.keys(
            limit,
            &["requests", "per_ms", "applies_to", "requests_by"],
            "a rate limit",
        ) {
            continue;
        }
        let (Some(requests), Some(per_ms)) = (
            positive(reader, limit, "requests", "a rate limit"),
            positive(reader, limit, "per_ms", "a rate limit"),
        ) else {
            continue;
        };
        let scope = match reader.optional_string(limit, "applies_to", "`all`, `reads` or `writes`")
        {
            None => "all".to_string(),
            Some((scope, _)) if matches!(scope.as_str(), "all" | "reads" | "writes") => scope,
            Some((scope, node)) => {
                reader.error(
                    node,
                    format!("`applies_to` is `all`, `reads` or `writes`, not `{scope}`"),
                );
                continue;
            }
        };
        let requests_by = limit
            .get("requests_by")
            .and_then(|by| read_requests_by(reader, by, &config));
        rate_limits.push(RateLimitDef {
            requests: requests.min(u64::from(u32::MAX)) as u32,
            per_ms,
            scope,
            requests_by,
        });
    }
    let rate_limit_headers = root.get("rate_limit_headers").and_then(|node| {
        reader.keys(
            node,
            &["remaining", "interval_ms", "default_pause_ms", "usage"],
            "`rate_limit_headers`",
        );
        let remaining = reader
            .optional_string(node, "remaining", "the header with the requests left")
            .map(|(h, _)| h);
        let interval = reader
            .optional_string(node, "interval_ms", "the header with the window length")
            .map(|(h, _)| h);
        let default_pause_ms = match node.get("default_pause_ms") {
            Some(_) => positive(reader, node, "default_pause_ms", "`rate_limit_headers`")?,
            None => 1000,
        };
        let usage = node.get("usage").and_then(|usage| {
            reader.keys(usage, &["header", "pattern", "recheck_ms"], "`usage`");
            let (header, _) = reader.required_string(usage, "header", "the usage header")?;
            let (pattern, pattern_node) = reader.required_string(
                usage,
                "pattern",
                "a regular expression whose two groups are the used and allowed requests",
            )?;
            match regex::Regex::new(&pattern) {
                Ok(regex) if regex.captures_len() == 3 => {}
                Ok(_) => {
                    reader
                        .error(
                            pattern_node,
                            "the pattern needs exactly two groups: used, then allowed",
                        )
                        .help = Some(r"e.g. `api-usage=(\d+)/(\d+)`".into());
                    return None;
                }
                Err(error) => {
                    reader.error(pattern_node, format!("not a regular expression: {error}"));
                    return None;
                }
            }
            let recheck_ms = match usage.get("recheck_ms") {
                Some(_) => positive(reader, usage, "recheck_ms", "`usage`")?,
                None => 3_600_000,
            };
            Some((header, pattern, recheck_ms))
        });
        if remaining.is_none() && usage.is_none() {
            reader.error(
                node,
                "`rate_limit_headers` needs `remaining`, `usage` or both",
            );
            return None;
        }
        Some(RateLimitHeadersDef {
            remaining,
            interval,
            default_pause_ms,
            usage,
        })
    });

    Some(Provider {
        name,
        display_name,
        description,
        base_url,
        base_path,
        auth,
        token_url,
        config,
        envelope,
        response_envelope,
        error_message,
        error_rules,
        pagination,
        retry,
        rate_limits,
        rate_limit_headers,
        openapi,
        node: root.clone(),
    })
}

/// `envelope: data` wraps request and response bodies alike (Attio);
/// `envelope: { request: ..., response: ... }` names each side, either may be left out
/// for a bare body (Pipedrive answers `{"success": true, "data": {...}}` to bare requests).
fn read_envelope(reader: &mut Reader, root: &Node) -> (Vec<Seg>, Vec<Seg>) {
    let Some(node) = root.get("envelope") else {
        return (Vec::new(), Vec::new());
    };
    let side = |reader: &mut Reader, node: Option<&Node>| match node {
        None => Vec::new(),
        Some(node) => reader
            .string(node, "an envelope path")
            .and_then(|text| parse_path(reader, &text, node))
            .unwrap_or_default(),
    };
    if matches!(node.value, Value::Map(_)) {
        reader.keys(node, &["request", "response"], "`envelope`");
        let request = side(reader, node.get("request"));
        let response = side(reader, node.get("response"));
        (request, response)
    } else {
        let both = side(reader, Some(node));
        (both.clone(), both)
    }
}

fn read_retry(reader: &mut Reader, node: &Node) -> Retry {
    let mut retry = Retry::default();
    if !reader.keys(
        node,
        &[
            "max_attempts",
            "statuses",
            "base_delay_ms",
            "max_delay_ms",
            "max_total_ms",
        ],
        "`retry`",
    ) {
        return retry;
    }
    let number = |reader: &mut Reader, key: &str, min: i64| -> Option<u64> {
        let value = node.get(key)?;
        match value.value {
            Value::Int(n) if n >= min => Some(n as u64),
            _ => {
                reader.error(
                    value,
                    format!("`{key}` must be a whole number of at least {min}"),
                );
                None
            }
        }
    };
    retry.max_attempts =
        number(reader, "max_attempts", 1).map(|n| n.min(u64::from(u32::MAX)) as u32);
    retry.base_delay_ms = number(reader, "base_delay_ms", 0);
    retry.max_delay_ms = number(reader, "max_delay_ms", 0);
    retry.max_total_ms = number(reader, "max_total_ms", 0);
    if let Some(list) = node.get("statuses") {
        let mut statuses = Vec::new();
        for item in list.items() {
            match item.value {
                Value::Int(code) if (400..600).contains(&code) => statuses.push(code as u16),
                _ => {
                    reader.error(
                        item,
                        "a retryable status is an HTTP error status such as 429 or 503",
                    );
                }
            }
        }
        retry.statuses = Some(statuses);
    }
    retry
}

const PAGINATION_KEYS: &[&str] = &[
    "style",
    "records",
    "cursor_param",
    "cursor_path",
    "next_url_path",
    "offset_param",
    "limit_param",
    "limit_header",
    "max_page_size",
    "params_in",
];

fn read_pagination(reader: &mut Reader, node: &Node) -> Option<Pagination> {
    if !reader.keys(node, PAGINATION_KEYS, "`pagination`") {
        return None;
    }
    let path_of = |reader: &mut Reader, key: &str, what: &str| {
        let (text, at) = reader.required_string(node, key, what)?;
        parse_path(reader, &text, at)
    };
    let records = path_of(reader, "records", "where the records of a page are")?;
    let (style, style_node) = reader.required_string(node, "style", "the pagination style")?;
    let style = match style.as_str() {
        "cursor" => PageStyle::Cursor {
            param: reader
                .required_string(node, "cursor_param", "the cursor parameter")?
                .0,
            path: path_of(reader, "cursor_path", "where a page names the next cursor")?,
        },
        "next_url" => PageStyle::NextUrl {
            path: path_of(
                reader,
                "next_url_path",
                "where a page names the next page's URL",
            )?,
        },
        "offset" => PageStyle::Offset {
            param: reader
                .required_string(node, "offset_param", "the offset parameter")?
                .0,
        },
        other => {
            reader
                .error(style_node, format!("unknown pagination style `{other}`"))
                .help = Some("styles are `cursor`, `next_url` and `offset`".into());
            return None;
        }
    };
    let limit_param = reader
        .optional_string(node, "limit_param", "the page-size parameter")
        .map(|(p, _)| p);
    let limit_header = node.get("limit_header").and_then(|header| {
        reader.keys(header, &["name", "value"], "`limit_header`");
        let name = reader.required_string(header, "name", "the header name")?.0;
        let (value, value_node) = reader.required_string(header, "value", "the header value")?;
        if !value.contains("{page_size}") {
            reader.error(value_node, "the header value must contain `{page_size}`");
        }
        Some((name, value))
    });
    let max_page_size = match node.get("max_page_size").map(|n| (&n.value, n)) {
        Some((Value::Int(n), _)) if *n > 0 && *n <= u32::MAX as i64 => *n as u32,
        Some((_, bad)) => {
            reader.error(bad, "`max_page_size` must be a positive integer");
            return None;
        }
        None => {
            reader.error(node, "`pagination` needs `max_page_size`");
            return None;
        }
    };
    let params_in_body = match reader.optional_string(node, "params_in", "where parameters go") {
        None => false,
        Some((place, _)) if place == "query" => false,
        Some((place, _)) if place == "body" => true,
        Some((_, bad)) => {
            reader.error(bad, "`params_in` is `query` or `body`");
            false
        }
    };
    Some(Pagination {
        style,
        records,
        limit_param,
        limit_header,
        max_page_size,
        params_in_body,
    })
}

fn read_rule(reader: &mut Reader, rule: &Node) -> Option<ErrorRule> {
    if !reader.keys(
        rule,
        &["status", "body", "category", "existing_id"],
        "an error rule",
    ) {
        return None;
    }
    let status = match rule.get("status").map(|n| (&n.value, n)) {
        None => None,
        Some((Value::Int(code), _)) if (100..600).contains(code) => Some(*code as u16),
        Some((_, node)) => {
            reader.error(node, "`status` must be an HTTP status code such as 404");
            None
        }
    };
    let mut body = Vec::new();
    if let Some(conditions) = rule.get("body") {
        for (path_node, expected) in conditions.entries() {
            let (Some(text), Some(expected)) = (
                reader.string(path_node, "a body path"),
                reader.string(expected, "an expected value"),
            ) else {
                continue;
            };
            if let Some(path) = parse_path(reader, &text, path_node) {
                body.push((path, expected));
            }
        }
    }
    let (category, category_node) =
        reader.required_string(rule, "category", "the error category")?;
    if !CATEGORIES.contains(&category.as_str()) {
        reader
            .error(
                category_node,
                format!("unknown error category `{category}`"),
            )
            .help = Some(format!(
            "categories are {}",
            one_of(CATEGORIES.iter().copied())
        ));
    }
    let existing_id = match rule.get("existing_id") {
        None => None,
        Some(extract) => {
            reader.keys(extract, &["path", "pattern"], "`existing_id`");
            let (text, node) = reader.required_string(extract, "path", "the id path")?;
            let path = parse_path(reader, &text, node)?;
            let pattern = reader.optional_string(extract, "pattern", "a regular expression").and_then(|(pattern, node)| {
                match regex::Regex::new(&pattern) {
                    Ok(compiled) if compiled.captures_len() >= 2 => Some(pattern),
                    Ok(_) => {
                        reader.error(node, "the pattern needs a capture group for the id, e.g. `Existing ID: (\\d+)`");
                        None
                    }
                    Err(error) => {
                        reader.error(node, format!("invalid regular expression: {error}"));
                        None
                    }
                }
            });
            Some((path, pattern))
        }
    };
    Some(ErrorRule {
        status,
        body,
        category,
        existing_id,
    })
}

pub fn parse_path(reader: &mut Reader, text: &str, node: &Node) -> Option<Vec<Seg>> {
    match path::parse(text) {
        Ok(path) => Some(path),
        Err(problem) => {
            reader
                .error(node, format!("invalid path `{text}`: {problem}"))
                .help = Some(
                "paths look like `properties.email`, `values.name[0].first_name` or `$`".into(),
            );
            None
        }
    }
}

/// The path part of a base URL: `{instance_url}/services/data/v62.0` → `/services/data/v62.0`.
fn base_path_of(base_url: &str) -> String {
    let after_origin = if let Some(rest) = base_url.strip_prefix('{') {
        rest.find('}').map(|close| &rest[close + 1..]).unwrap_or("")
    } else if let Some(scheme_end) = base_url.find("://") {
        let rest = &base_url[scheme_end + 3..];
        rest.find('/').map(|slash| &rest[slash..]).unwrap_or("")
    } else {
        base_url
    };
    after_origin.trim_end_matches('/').to_string()
}

/// A required positive whole number at `key` of `parent` (`what` names the parent).
fn positive(reader: &mut Reader, parent: &Node, key: &str, what: &str) -> Option<u64> {
    match parent.get(key).map(|node| (&node.value, node)) {
        Some((Value::Int(n), _)) if *n > 0 => Some(*n as u64),
        Some((_, node)) => {
            reader.error(node, format!("`{key}` must be a positive whole number"));
            None
        }
        None => {
            reader.error(parent, format!("{what} needs `{key}`"));
            None
        }
    }
}

/// `requests_by: { setting: plan, values: { professional: 190 } }`: the setting must be
/// declared under `config:`.
fn read_requests_by(
    reader: &mut Reader,
    node: &Node,
    config: &[(String, Option<String>, Vec<String>)],
) -> Option<(String, Vec<(String, u32)>)> {
    reader.keys(node, &["setting", "values"], "`requests_by`");
    let (setting, setting_node) = reader.required_string(
        node,
        "setting",
        "the connection setting that picks the budget",
    )?;
    if !config.iter().any(|(declared, _, _)| *declared == setting) {
        reader
            .error(
                setting_node,
                format!("`{setting}` is not a declared connection setting"),
            )
            .help = Some(format!(
            "declare it under `config:` as `{setting}: {{ description: ... }}`"
        ));
        return None;
    }
    let Some(values) = node.get("values") else {
        reader.error(node, "`requests_by` needs `values`");
        return None;
    };
    let mut pairs = Vec::new();
    for (value, requests) in values.entries() {
        let Some(value) = reader.string(value, "a setting value") else {
            continue;
        };
        match &requests.value {
            Value::Int(n) if *n > 0 => pairs.push((value, (*n).min(i64::from(u32::MAX)) as u32)),
            _ => {
                reader.error(requests, "requests must be a positive whole number");
            }
        }
    }
    Some((setting, pairs))
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_paths() {
        assert_eq!(
            super::base_path_of("{instance_url}/services/data/v62.0"),
            "/services/data/v62.0"
        );
        assert_eq!(super::base_path_of("https://api.hubapi.com"), "");
        assert_eq!(super::base_path_of("https://api.attio.com/"), "");
    }
}
