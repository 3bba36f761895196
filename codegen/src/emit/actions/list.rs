//! `list_<models>`: a lazy stream over the provider's pages, filtered by modification
//! time through its own request when `modified_since` is given.

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn list_action(&self, cx: &MappingCx) -> TokenStream {
        let Some(list) = &cx.mapping.list else {
            return quote! {};
        };
        let call = &list.call;
        let (name, ident) = cx.action(ActionKind::List);
        let model = &cx.record;
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = path_with(&call.path, &[]);
        let queries = cx.queries(call);
        let body = self.request_body(cx, list.body.as_ref());
        let since = self.since_request(cx, list);
        let read = cx.read_listed(quote! { &record });
        let doc_line = cx.describe(
            &format!("Lists every {}, page by page", cx.model.name),
            call,
        );
        quote! {
            #[doc = #doc_line]
            ///
            /// Follows the provider's pagination lazily: one page is held in memory at a time.
            pub fn #ident<'a>(runtime: &'a Runtime, connection: &'a Connection, options: &ListOptions) -> RecordStream<'a, #model> {
                let (request, pagination) = match options.modified_since {
                    None => (Request::new(#operation, Method::#method, #path)#queries #body, &PAGINATION),
                    #since
                };
                let records = runtime
                    .paginate(connection, &PROVIDER, pagination, request, options.page_size)
                    .map(|item| item.and_then(|record| #read));
                let options = options.clone();
                observe_stream(runtime, PROVIDER.name, connection, #name, move || input_json(&options), records.boxed()).boxed()
            }
        }
    }

    /// `.json(body)` for a constant request body with placeholders, or nothing.
    pub(in crate::emit) fn request_body(&self, cx: &MappingCx, body: Option<&Json>) -> TokenStream {
        let model = &cx.model.name;
        match body {
            Some(json) => {
                let json = json_value(json, &|placeholder| resolve(placeholder, model), model);
                quote! { .json(#json) }
            }
            None => quote! {},
        }
    }

    /// The match arm sending the `modified_since` request, or refusing the option.
    fn since_request(&self, cx: &MappingCx, list: &ListAction) -> TokenStream {
        let Some(since) = &list.modified_since else {
            return quote! {
                Some(_) => {
                    let problem = Error::invalid("modified_since", format!("is not supported by {}", PROVIDER.name));
                    return stream::iter([Err(problem)]).boxed();
                }
            };
        };
        let operation = &since.call.operation;
        let method = method_variant(&since.call.method);
        let path = path_with(&since.call.path, &[]);
        let queries = cx.queries(&since.call);
        let body = self.request_body(cx, since.body.as_ref());
        let pagination = match (&cx.provider.pagination, since.params_in_body) {
            (Some(p), Some(in_body)) if in_body != p.params_in_body => {
                let literal = pagination_literal(p, in_body);
                quote! { { static SINCE: Pagination = #literal; &SINCE } }
            }
            _ => quote! { &PAGINATION },
        };
        let request = quote! { Request::new(#operation, Method::#method, #path) #queries #body };
        // Bind only the forms of the instant the request uses.
        let seconds = mentions(&request, "since")
            .then(|| quote! { let since = transform::format_datetime_seconds(&since); });
        let millis = mentions(&request, "since_ms")
            .then(|| quote! { let since_ms = since.timestamp_millis().to_string(); });
        quote! {
            Some(since) => {
                #millis
                #seconds
                (#request, #pagination)
            }
        }
    }
}
