//! `create_<model>`: validates, sends the create, reads the record from the answer (or
//! back by id); with an upsert key, a create whose outcome is unknown is retried
//! through the upsert.

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn create_action(&self, cx: &MappingCx) -> TokenStream {
        let Some((call, returns)) = &cx.mapping.create else {
            return quote! {};
        };
        let (model, input) = (&cx.record, &cx.input);
        let (name, ident) = cx.action(ActionKind::Create);
        let check = format_ident!("check_{}", name);
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = path_with(&call.path, &[]);
        let body = cx.write.1.call(&cx.write.0, quote! { input }, true);
        let finish = self.create_finish(cx, returns);
        let send = quote! {
            #check(input)?;
            let request = Request::new(#operation, Method::#method, #path).json(#body);
            let response = runtime.send(connection, &PROVIDER, request).await?;
            #finish
        };
        let doc_line = cx.describe(&format!("Creates a {}", cx.model.name), call);
        let check_fn = self.create_check(cx, &check);
        if cx.mapping.upsert.is_none() {
            return quote! {
                #check_fn
                #[doc = #doc_line]
                pub async fn #ident(runtime: &Runtime, connection: &Connection, input: &#input) -> Result<#model, Error> {
                    PROVIDER.run(runtime, connection, #name, || input_json(input), async move {
                        #send
                    })
                    .await
                }
            };
        }
        // With an upsert key, a create whose outcome is unknown (the connection broke
        // after sending, or a 5xx) is retried through the upsert: if the first request
        // did create the record, the retry finds it instead of creating a second one.
        let once = format_ident!("{}_once", name);
        let (_, upsert) = cx.action(ActionKind::Upsert);
        quote! {
            #check_fn
            /// The create request itself, without the retry through the upsert key.
            async fn #once(runtime: &Runtime, connection: &Connection, input: &#input) -> Result<#model, Error> {
                #send
            }
            #[doc = #doc_line]
            ///
            /// When it is unknown whether the provider created the record (a
            /// broken connection after sending, a 5xx), the create is retried
            /// through the upsert key (after the `Retry-After` the provider asked
            /// for), so it never leaves two records.
            pub async fn #ident(runtime: &Runtime, connection: &Connection, input: &#input) -> Result<#model, Error> {
                let create = boxed(#once(runtime, connection, input));
                let upsert = || boxed(#upsert(runtime, connection, input));
                PROVIDER.run(runtime, connection, #name, || input_json(input), create_with_upsert_fallback(&PROVIDER, create, upsert))
                .await
            }
        }
    }

    /// What follows a create's answer: the record read from it, or read back by id.
    fn create_finish(&self, cx: &MappingCx, returns: &Returns) -> TokenStream {
        match returns {
            Returns::IdThenGet(id_path) => {
                let id_path = path_text(&joined(&cx.provider.response_envelope, id_path));
                let (_, get) = cx.action(ActionKind::Get);
                quote! {
                    let id = json::require_string(&response.body, #id_path)
                        .map_err(|problem| PROVIDER.unexpected(&response, problem))?;
                    // The create response only carries the id: read the record back. The
                    // record exists from here on, so a failure says which one.
                    after_write(&PROVIDER, Some(&id), "reading it back", boxed(#get(runtime, connection, &id))).await
                }
            }
            _ => {
                // Links sent on create (HubSpot's inline associations) are not in the
                // create response: keep what was sent.
                let read = cx.read_response();
                let echoes = self.create_echoes(cx.model, cx.mapping);
                if echoes.is_empty() {
                    read
                } else {
                    quote! {
                        let mut record = #read?;
                        #(#echoes)*
                        Ok(record)
                    }
                }
            }
        }
    }

    /// `check_create_<model>`: every problem with a create's input, before sending.
    fn create_check(&self, cx: &MappingCx, check: &Ident) -> TokenStream {
        let model = cx.model;
        let provider_name = &cx.provider.name;
        let required: Vec<TokenStream> = cx
            .mapping
            .provider_required
            .iter()
            .map(|field| {
                let ident = field_ident(field);
                let present = match model.field(field) {
                    Some(f) if matches!(f.ty, FieldType::String) && Emitter::is_optional(f) => {
                        quote! { input.#ident.as_deref().is_some_and(|value| !value.trim().is_empty()) }
                    }
                    Some(f) if matches!(f.ty, FieldType::List(_)) => quote! { !input.#ident.is_empty() },
                    Some(f) if Emitter::is_optional(f) => quote! { input.#ident.is_some() },
                    _ => quote! { true },
                };
                quote! { validate::required_by(&mut problems, #field, #present, #provider_name); }
            })
            .collect();
        let refusals = self.refusals(model, cx.mapping, cx.provider, false, quote! { input });
        let binding = if required.is_empty() && !refuses(model, cx.mapping, false) {
            quote! { problems }
        } else {
            quote! { mut problems }
        };
        let input = &cx.input;
        quote! {
            /// Every problem with a create's input, found before anything is sent.
            fn #check(input: &#input) -> Result<(), Error> {
                let #binding = input.validate();
                #(#required)*
                #(#refusals)*
                Error::check(problems)
            }
        }
    }
}
