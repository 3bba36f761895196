//! One module per provider: its `ProviderSpec` and every action of its mappings.

use super::*;

impl Emitter<'_> {
    pub(super) fn provider(&self, provider: &Provider, mappings: &[Mapping]) -> TokenStream {
        let rt = &self.rt;
        let module = format_ident!("{}", provider.name);
        let name = &provider.name;
        let base_url = &provider.base_url;
        let base_path = &provider.base_path;
        let auth = match &provider.auth {
            Auth::Bearer => quote! { AuthScheme::Bearer },
            Auth::Header(header) => quote! { AuthScheme::Header(#header) },
        };
        let messages = provider.error_message.iter().map(|path| segs(path));
        let rules = provider.error_rules.iter().map(|rule| {
            let status = match rule.status {
                Some(code) => quote! { Some(#code) },
                None => quote! { None },
            };
            let body = rule.body.iter().map(|(path, expected)| {
                let path = segs(path);
                quote! { (#path, #expected) }
            });
            let category = format_ident!("{}", category_variant(&rule.category));
            let existing_id = match &rule.existing_id {
                None => quote! { None },
                Some((path, pattern)) => {
                    let path = segs(path);
                    let pattern = match pattern {
                        Some(p) => quote! { Some(#p) },
                        None => quote! { None },
                    };
                    quote! { Some(IdExtract { path: #path, pattern: #pattern }) }
                }
            };
            quote! {
                ErrorRule { status: #status, body: &[#(#body),*], category: ErrorCategory::#category, existing_id: #existing_id }
            }
        });
        let module_doc = format!(
            " Actions on {} (base URL `{}`).",
            provider.display_name, provider.base_url
        );
        let description = doc(&provider.description);
        let actions = mappings
            .iter()
            .map(|mapping| self.mapping(provider, mapping));
        let envelope_segs = segs(&provider.response_envelope);
        let token_url = match &provider.token_url {
            Some(url) => quote! { Some(#url) },
            None => quote! { None },
        };
        let rate_limits = provider.rate_limits.iter().map(|limit| {
            let scope = format_ident!(
                "{}",
                match limit.scope.as_str() {
                    "reads" => "Reads",
                    "writes" => "Writes",
                    _ => "All",
                }
            );
            let (requests, per_ms) = (limit.requests, limit.per_ms);
            let requests_by = match &limit.requests_by {
                None => quote! { None },
                Some((setting, values)) => {
                    let values = values.iter().map(|(value, n)| quote! { (#value, #n) });
                    quote! { Some(RequestsBySetting { setting: #setting, values: &[#(#values),*] }) }
                }
            };
            quote! { RateLimit { requests: #requests, per_ms: #per_ms, scope: RateScope::#scope, requests_by: #requests_by } }
        });
        let optional = |value: &Option<String>| match value {
            Some(text) => quote! { Some(#text) },
            None => quote! { None },
        };
        let rate_limit_headers = match &provider.rate_limit_headers {
            None => quote! { None },
            Some(headers) => {
                let remaining = optional(&headers.remaining);
                let interval = optional(&headers.interval);
                let pause = headers.default_pause_ms;
                let usage = match &headers.usage {
                    None => quote! { None },
                    Some((header, pattern, recheck)) => quote! {
                        Some(UsageHeader { header: #header, pattern: #pattern, recheck_ms: #recheck })
                    },
                };
                quote! { Some(RateLimitHeaders { remaining: #remaining, interval_ms: #interval, default_pause_ms: #pause, usage: #usage }) }
            }
        };
        let settings = provider.config.iter().map(|(name, _, allow)| {
            quote! { SettingSpec { name: #name, allow: &[#(#allow),*] } }
        });
        let retry = match &provider.retry {
            None => quote! { RetryPolicy::DEFAULT },
            Some(r) => {
                let field = |value: Option<u64>, name: &str| {
                    let ident = format_ident!("{}", name);
                    value.map(|v| quote! { #ident: #v, })
                };
                let attempts = r.max_attempts.map(|v| quote! { max_attempts: #v, });
                let statuses = r
                    .statuses
                    .as_ref()
                    .map(|list| quote! { statuses: &[#(#list),*], });
                let base = field(r.base_delay_ms, "base_delay_ms");
                let max = field(r.max_delay_ms, "max_delay_ms");
                let total = field(r.max_total_ms, "max_total_ms");
                let complete = r.max_attempts.is_some()
                    && r.statuses.is_some()
                    && r.base_delay_ms.is_some()
                    && r.max_delay_ms.is_some()
                    && r.max_total_ms.is_some();
                let rest = if complete {
                    quote! {}
                } else {
                    quote! { ..RetryPolicy::DEFAULT }
                };
                quote! { RetryPolicy { #attempts #statuses #base #max #total #rest } }
            }
        };
        let pagination = match &provider.pagination {
            None => quote! {},
            Some(p) => {
                let literal = pagination_literal(p, p.params_in_body);
                quote! {
                    /// How lists page, from `provider.yaml`.
                    pub static PAGINATION: Pagination = #literal;
                }
            }
        };
        let lists = mappings
            .iter()
            .any(|m| m.list.is_some() || !m.finds.is_empty());
        let singles = mappings.iter().any(|m| !m.finds.is_empty())
            || mappings
                .iter()
                .any(|m| m.create.is_some() || m.get.is_some() || m.update.is_some());
        let unexpected_record = if lists {
            quote! {
                /// A listed record that does not have the documented shape.
                fn unexpected_record(record: &Value, problem: json::ReadError) -> Error {
                    Error::UnexpectedResponse {
                        provider: PROVIDER.name.to_string(),
                        status: 200,
                        reason: problem.to_string(),
                        body: record.to_string(),
                    }
                }
            }
        } else {
            quote! {}
        };
        let unexpected = if !singles {
            quote! { #unexpected_record }
        } else {
            quote! {
                /// A success response whose body does not have the documented shape.
                fn unexpected(response: &Response, problem: json::ReadError) -> Error {
                    Error::UnexpectedResponse {
                        provider: PROVIDER.name.to_string(),
                        status: response.status,
                        reason: problem.to_string(),
                        body: response.raw.clone(),
                    }
                }
                #unexpected_record
                /// The record in a single-record response (inside the provider's envelope).
                fn record_of(response: &Response) -> &Value {
                    json::get(&response.body, #envelope_segs).unwrap_or(&Value::Null)
                }
            }
        };
        quote! {
            #[doc = #module_doc]
            #description
            pub mod #module {
                #[allow(unused_imports)]
                use #rt::__private::{backoff, boxed, input_json, json, object_json, observe_stream, run_action, run_batch, serde_json::Value, sleep, stream, tracing, transform, validate, BatchRead, BatchWrite, BoxFuture, Seg, StreamExt, write_batch};
                #[allow(unused_imports)]
                use #rt::{AuthScheme, BatchMatch, BatchSpec, Connection, Error, ErrorCategory, ErrorRule, FieldError, IdExtract, ListOptions, Method, PageStyle, Pagination, ProviderSpec, RateLimit, RateLimitHeaders, RateScope, RecordStream, Request, RequestsBySetting, Response, RetryPolicy, Runtime, SettingSpec, UsageHeader};

                /// Runs one action as an operation: in its `unifold.action` span (requests
                /// it sends and actions it calls are its children), reported to the
                /// runtime's observers and logs with `input` redacted.
                #[allow(dead_code)]
                async fn in_span<T: #rt::__private::serde::Serialize>(
                    runtime: &Runtime,
                    connection: &Connection,
                    action: &'static str,
                    input: impl FnOnce() -> Value,
                    work: impl ::std::future::Future<Output = Result<T, Error>>,
                ) -> Result<T, Error> {
                    run_action(runtime, PROVIDER.name, connection, action, super::SENSITIVE_FIELDS, input, work).await
                }

                /// How the runtime talks to this provider, from its `provider.yaml`.
                pub static PROVIDER: ProviderSpec = ProviderSpec {
                    name: #name,
                    base_url: #base_url,
                    base_path: #base_path,
                    auth: #auth,
                    token_url: #token_url,
                    error_message: &[#(#messages),*],
                    error_rules: &[#(#rules),*],
                    retry: #retry,
                    rate_limits: &[#(#rate_limits),*],
                    rate_limit_headers: #rate_limit_headers,
                    settings: &[#(#settings),*],
                };
                #pagination
                #(#actions)*
                #unexpected
            }
        }
    }
}
