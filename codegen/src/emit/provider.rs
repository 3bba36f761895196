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
        let messages = provider.error_message.iter().map(|path| seg_table(path));
        let rules = error_rules(provider);
        let (rate_limits, rate_limit_headers) = budgets(provider);
        let retry = retry_policy(provider);
        let module_doc = format!(
            " Actions on {} (base URL `{}`).",
            provider.display_name, provider.base_url
        );
        let description = doc(&provider.description);
        let actions = mappings
            .iter()
            .map(|mapping| self.mapping(provider, mapping));
        let envelope = seg_table(&provider.response_envelope);
        let token_url = match &provider.token_url {
            Some(url) => quote! { Some(#url) },
            None => quote! { None },
        };
        let settings = provider.config.iter().map(|(name, _, allow)| {
            quote! { SettingSpec { name: #name, allow: &[#(#allow),*] } }
        });
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
        quote! {
            #[doc = #module_doc]
            #description
            pub mod #module {
                use #rt::support::prelude::*;

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
                    response_envelope: #envelope,
                    sensitive_fields: super::SENSITIVE_FIELDS,
                };
                #pagination
                #(#actions)*
            }
        }
    }
}

/// The provider's `errors.rules` as `ErrorRule` literals.
fn error_rules(provider: &Provider) -> Vec<TokenStream> {
    provider.error_rules.iter().map(|rule| {
            let status = match rule.status {
                Some(code) => quote! { Some(#code) },
                None => quote! { None },
            };
            let body = rule.body.iter().map(|(path, expected)| {
                let path = seg_table(path);
                quote! { (#path, #expected) }
            });
            let category = format_ident!("{}", category_variant(&rule.category));
            let existing_id = match &rule.existing_id {
                None => quote! { None },
                Some((path, pattern)) => {
                    let path = seg_table(path);
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
        })
        .collect()
}

/// `rate_limits:` and `rate_limit_headers:` as runtime literals.
fn budgets(provider: &Provider) -> (Vec<TokenStream>, TokenStream) {
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
        }).collect();
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
    (rate_limits, rate_limit_headers)
}

/// `retry:` as a `RetryPolicy`, the runtime's defaults for what it leaves out.
fn retry_policy(provider: &Provider) -> TokenStream {
    match &provider.retry {
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
    }
}
