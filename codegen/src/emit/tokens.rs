//! Small token builders shared by the emitters: identifiers, paths, JSON literals.

use super::*;

pub(super) fn doc(text: &Option<String>) -> TokenStream {
    match text {
        Some(text) => {
            let lines = text.lines().map(|line| format!(" {line}"));
            quote! { #(#[doc = #lines])* }
        }
        None => quote! {},
    }
}

pub(super) fn field_ident(name: &str) -> Ident {
    if crate::naming::is_keyword(name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

pub(super) fn variant_ident(value: &str) -> Ident {
    format_ident!("{}", variant_name(value))
}

pub(super) fn segs(path: &[Seg]) -> TokenStream {
    let items = path.iter().map(|seg| match seg {
        Seg::Key(key) => quote! { Seg::Key(#key) },
        Seg::Index(index) => quote! { Seg::Index(#index) },
    });
    quote! { &[#(#items),*] }
}

pub(super) fn category_variant(category: &str) -> &'static str {
    match category {
        "auth" => "Auth",
        "not_found" => "NotFound",
        "conflict" => "Conflict",
        "rate_limited" => "RateLimited",
        "quota_exhausted" => "QuotaExhausted",
        "rejected" => "Rejected",
        _ => "Provider",
    }
}

pub(super) fn method_variant(method: &str) -> Ident {
    format_ident!(
        "{}",
        match method {
            "get" => "Get",
            "post" => "Post",
            "put" => "Put",
            "patch" => "Patch",
            _ => "Delete",
        }
    )
}

pub(super) fn const_json(constant: &Const) -> TokenStream {
    let json = quote! { Value };
    match constant {
        Const::Str(text) => quote! { #json::String(#text.to_string()) },
        Const::Int(n) => quote! { #json::from(#n) },
        Const::Float(n) => quote! { #json::from(#n) },
        Const::Bool(b) => quote! { #json::Bool(#b) },
    }
}

/// A JSON body expression; bodies listing `{custom_fields}` get the connection's custom
/// provider fields filled in at run time.
pub(super) fn body_tokens(
    json: &Json,
    placeholders: &[(&str, TokenStream)],
    model: &str,
) -> TokenStream {
    let tokens = json_tokens_placeholders(json, placeholders);
    if format!("{json:?}").contains("{custom_fields}") {
        quote! { transform::with_custom_fields(#tokens, connection, #model) }
    } else {
        tokens
    }
}

/// Like [`json_tokens`], with strings holding a placeholder built at run time by
/// replacing it with a `&str` expression.
pub(super) fn json_tokens_placeholders(
    json: &Json,
    placeholders: &[(&str, TokenStream)],
) -> TokenStream {
    match json {
        Json::Str(text) if placeholders.iter().any(|(p, _)| text.contains(p)) => {
            let mut expr = quote! { #text.to_string() };
            for (placeholder, value) in placeholders {
                if text.contains(placeholder) {
                    expr = quote! { #expr.replace(#placeholder, #value) };
                }
            }
            quote! { Value::String(#expr) }
        }
        Json::Array(items) => {
            let items = items
                .iter()
                .map(|item| json_tokens_placeholders(item, placeholders));
            quote! { Value::Array(vec![#(#items),*]) }
        }
        Json::Object(entries) => {
            let keys = entries.iter().map(|(k, _)| k);
            let values = entries
                .iter()
                .map(|(_, v)| json_tokens_placeholders(v, placeholders));
            quote! { Value::Object([#((#keys.to_string(), #values)),*].into_iter().collect()) }
        }
        other => json_tokens(other),
    }
}

/// Like [`json_tokens`], with `value` in place of every `"$value"` string.
pub(super) fn json_tokens_with(json: &Json, value: &TokenStream) -> TokenStream {
    match json {
        Json::Str(text) if text == "$value" => value.clone(),
        Json::Array(items) => {
            let items = items.iter().map(|item| json_tokens_with(item, value));
            quote! { Value::Array(vec![#(#items),*]) }
        }
        Json::Object(entries) => {
            let keys = entries.iter().map(|(k, _)| k);
            let values = entries.iter().map(|(_, v)| json_tokens_with(v, value));
            quote! { Value::Object([#((#keys.to_string(), #values)),*].into_iter().collect()) }
        }
        other => json_tokens(other),
    }
}

pub(super) fn json_tokens(json: &Json) -> TokenStream {
    match json {
        Json::Null => quote! { Value::Null },
        Json::Bool(b) => quote! { Value::Bool(#b) },
        Json::Int(n) => quote! { Value::from(#n) },
        Json::Float(n) => quote! { Value::from(#n) },
        Json::Str(text) => quote! { Value::String(#text.to_string()) },
        Json::Array(items) => {
            let items = items.iter().map(json_tokens);
            quote! { Value::Array(vec![#(#items),*]) }
        }
        Json::Object(entries) => {
            let keys = entries.iter().map(|(k, _)| k);
            let values = entries.iter().map(|(_, v)| json_tokens(v));
            quote! { Value::Object([#((#keys.to_string(), #values)),*].into_iter().collect()) }
        }
    }
}

/// `Option<&str>` for a key inside a composite's input.
pub(super) fn key_expr(key: &KeyPath) -> TokenStream {
    let input = field_ident(&key.input);
    key_expr_from(quote! { &input.#input }, key)
}

/// `Option<&str>` for a key below `root` (an expression of the input's type).
pub(super) fn key_expr_from(root: TokenStream, key: &KeyPath) -> TokenStream {
    let mut expr = quote! { Some(#root) };
    for (field, optional, list) in &key.steps {
        let field = field_ident(field);
        expr = match (list, optional) {
            (true, _) => quote! { #expr.and_then(|value| value.#field.first()) },
            (false, true) => quote! { #expr.and_then(|value| value.#field.as_deref()) },
            (false, false) => quote! { #expr.map(|value| value.#field.as_str()) },
        };
    }
    expr
}

/// One `.query(name, value)` call. Placeholders left for run time are filled in:
/// `{custom_fields}` (the connection's custom provider fields appended to a field
/// list), `{key}` and `{key:soql}` (a find action's key), `{modified_since}`.
pub(super) fn query_tokens(name: &str, value: &str, model: &str) -> TokenStream {
    if !value.contains('{') {
        return quote! { .query(#name, #value) };
    }
    let mut expr = quote! { #value.to_string() };
    // `{custom_fields|<separator>}`: the separator the build put in with the list.
    if let Some(start) = value.find("{custom_fields|") {
        let rest = &value[start + "{custom_fields|".len()..];
        let separator = rest.split('}').next().unwrap_or(",");
        let marker = format!("{{custom_fields|{separator}}}");
        expr = quote! { #expr.replace(#marker, &transform::custom_field_list(connection, #model, #separator)) };
    }
    if value.contains("{key:soql}") {
        expr = quote! { #expr.replace("{key:soql}", &transform::soql_escape(key)) };
    }
    if value.contains("{ids:soql}") {
        expr = quote! { #expr.replace("{ids:soql}", &transform::soql_list(&ids)) };
    }
    if value.contains("{key}") {
        expr = quote! { #expr.replace("{key}", key) };
    }
    if value.contains("{modified_since}") {
        expr = quote! { #expr.replace("{modified_since}", &since) };
    }
    quote! { .query(#name, #expr) }
}

/// A `Pagination` literal from `provider.yaml`, with parameters in the body or not.
pub(super) fn pagination_literal(p: &crate::ir::Pagination, in_body: bool) -> TokenStream {
    let style = match &p.style {
        PageStyle::Cursor { param, path } => {
            let path = segs(path);
            quote! { PageStyle::Cursor { param: #param, path: #path } }
        }
        PageStyle::NextUrl { path } => {
            let path = segs(path);
            quote! { PageStyle::NextUrl { path: #path } }
        }
        PageStyle::Offset { param } => quote! { PageStyle::Offset { param: #param } },
    };
    let records = segs(&p.records);
    let limit_param = match &p.limit_param {
        Some(param) => quote! { Some(#param) },
        None => quote! { None },
    };
    let limit_header = match &p.limit_header {
        Some((name, value)) => quote! { Some((#name, #value)) },
        None => quote! { None },
    };
    let max = p.max_page_size;
    quote! {
        Pagination {
            style: #style,
            records: #records,
            limit_param: #limit_param,
            limit_header: #limit_header,
            max_page_size: #max,
            params_in_body: #in_body,
        }
    }
}
