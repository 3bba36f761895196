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

/// A path as a `&[Seg]` table, for the runtime's static specs (`ProviderSpec`, ...).
pub(super) fn seg_table(path: &[Seg]) -> TokenStream {
    let items = path.iter().map(|seg| match seg {
        Seg::Key(key) => quote! { json::Seg::Key(#key) },
        Seg::Index(index) => quote! { json::Seg::Index(#index) },
    });
    quote! { &[#(#items),*] }
}

/// A path as the mapping spells it (`values.name[0].first_name`, `$` for the whole
/// value), which the runtime's `json` functions walk.
pub(super) fn path_text(path: &[Seg]) -> TokenStream {
    let text = crate::parse::path::display(path);
    quote! { #text }
}

/// A string holding `{placeholder}`s as an expression: the literal itself when
/// `resolve` knows none of them, else a `format!` with each known placeholder's
/// expression in its place. Placeholders are resolved here, while generating, never by
/// `.replace` at run time.
pub(super) fn template(text: &str, resolve: &dyn Fn(&str) -> Option<TokenStream>) -> TokenStream {
    let escape = |piece: &str| piece.replace('{', "{{").replace('}', "}}");
    let mut format = String::new();
    let mut args = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|at| open + at) else {
            break;
        };
        match resolve(&rest[open + 1..close]) {
            Some(value) => {
                format.push_str(&escape(&rest[..open]));
                format.push_str("{}");
                args.push(value);
            }
            None => format.push_str(&escape(&rest[..=close])),
        }
        rest = &rest[close + 1..];
    }
    format.push_str(&escape(rest));
    match args.as_slice() {
        [] => quote! { #text },
        [only] if format == "{}" => quote! { #only.to_string() },
        _ => quote! { format!(#format, #(#args),*) },
    }
}

/// `envelope` followed by `path`.
pub(super) fn joined(envelope: &[Seg], path: &[Seg]) -> Vec<Seg> {
    envelope.iter().chain(path).cloned().collect()
}

/// Whether `tokens` name the identifier `name` anywhere (a parameter's use).
pub(super) fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        proc_macro2::TokenTree::Ident(ident) => ident == name,
        proc_macro2::TokenTree::Group(group) => mentions(&group.stream(), name),
        _ => false,
    })
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

/// The marker a list of provider fields ends with to take the connection's custom
/// fields as well (`properties: [firstname, "{custom_fields}"]`).
const CUSTOM_FIELDS: &str = "{custom_fields}";

/// A constant JSON value from a mapping as an expression (`json::object([...])` for
/// objects), with `{placeholder}`s in strings resolved by `resolve`, and a list holding
/// the custom-fields marker extended with the connection's custom fields of `model`.
pub(super) fn json_value(
    json: &Json,
    resolve: &dyn Fn(&str) -> Option<TokenStream>,
    model: &str,
) -> TokenStream {
    let nested = |json: &Json| json_value(json, resolve, model);
    match json {
        Json::Str(text) => {
            let text = template(text, resolve);
            quote! { Value::from(#text) }
        }
        Json::Array(items)
            if items
                .iter()
                .any(|item| *item == Json::Str(CUSTOM_FIELDS.into())) =>
        {
            let items = items
                .iter()
                .filter(|item| **item != Json::Str(CUSTOM_FIELDS.into()))
                .map(nested);
            quote! { transform::with_custom_field_names(vec![#(#items),*], connection, #model) }
        }
        Json::Array(items) => {
            let items = items.iter().map(nested);
            quote! { json::array([#(#items),*]) }
        }
        Json::Object(entries) => {
            let entries = entries.iter().map(|(key, value)| {
                let value = nested(value);
                quote! { (#key, #value) }
            });
            quote! { json::object([#(#entries),*]) }
        }
        Json::Null => quote! { Value::Null },
        Json::Bool(flag) => quote! { Value::Bool(#flag) },
        Json::Int(n) => quote! { Value::from(#n) },
        Json::Float(n) => quote! { Value::from(#n) },
    }
}

/// A mapping's template (`{to: {id: $value}}`) with `value` in place of `$value`.
pub(super) fn json_tokens_with(json: &Json, value: &TokenStream) -> TokenStream {
    match json {
        Json::Str(text) if text == "$value" => value.clone(),
        Json::Array(items) => {
            let items = items.iter().map(|item| json_tokens_with(item, value));
            quote! { json::array([#(#items),*]) }
        }
        Json::Object(entries) => {
            let entries = entries.iter().map(|(key, item)| {
                let item = json_tokens_with(item, value);
                quote! { (#key, #item) }
            });
            quote! { json::object([#(#entries),*]) }
        }
        other => json_value(other, &|_| None, ""),
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

/// A `Pagination` literal from `provider.yaml`, with parameters in the body or not.
pub(super) fn pagination_literal(p: &crate::ir::Pagination, in_body: bool) -> TokenStream {
    let style = match &p.style {
        PageStyle::Cursor { param, path } => {
            let path = seg_table(path);
            quote! { PageStyle::Cursor { param: #param, path: #path } }
        }
        PageStyle::NextUrl { path } => {
            let path = seg_table(path);
            quote! { PageStyle::NextUrl { path: #path } }
        }
        PageStyle::Offset { param } => quote! { PageStyle::Offset { param: #param } },
    };
    let records = seg_table(&p.records);
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
