//! `update_<model>`: sends the fields set in the patch (or, for providers that replace
//! composite values whole, the current record with the patch laid over it).

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn update_action(&self, cx: &MappingCx) -> TokenStream {
        let Some(update) = &cx.mapping.update else {
            return quote! {};
        };
        let call = &update.call;
        let (name, ident) = cx.action(ActionKind::Update);
        let (_, get) = cx.action(ActionKind::Get);
        let (model, input) = (&cx.record, &cx.input);
        let check = format_ident!("check_{}", name);
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = cx.id_path(call);
        let (write, params) = &cx.write;
        let body = if update.merge_current {
            let merged = params.call(write, quote! { &merged }, true);
            quote! {
                // The provider replaces composite values whole: send the current
                // record with the patch laid over it.
                let current = boxed(#get(runtime, connection, id)).await?;
                let merged = patch.clone().or(#input::from(current));
                let body = #merged;
            }
        } else {
            let patch = params.call(write, quote! { patch }, false);
            quote! { let body = #patch; }
        };
        let finish = match update.returns {
            Returns::Record => {
                let read = cx.read_response();
                quote! {
                    let response = runtime.send(connection, &PROVIDER, request).await?;
                    #read
                }
            }
            _ => quote! {
                runtime.send(connection, &PROVIDER, request).await?;
                // The provider answers without the record: read it back.
                boxed(#get(runtime, connection, id)).await
            },
        };
        let refusals = self.refusals(cx.model, cx.mapping, cx.provider, true, quote! { patch });
        let binding = if refuses(cx.model, cx.mapping, true) {
            quote! { mut problems }
        } else {
            quote! { problems }
        };
        let doc_line = cx.describe(
            &format!("Updates the fields set in `patch` of one {}", cx.model.name),
            call,
        );
        quote! {
            /// Every problem with an update's patch, found before anything is sent.
            fn #check(patch: &#input) -> Result<(), Error> {
                let #binding = patch.validate();
                #(#refusals)*
                Error::check(problems)
            }
            #[doc = #doc_line]
            ///
            /// Only fields that are set (`Some`, non-empty lists) are sent.
            pub async fn #ident(runtime: &Runtime, connection: &Connection, id: &str, patch: &#input) -> Result<#model, Error> {
                let logged = || json::object([("id", id.into()), ("patch", input_json(patch))]);
                PROVIDER.run(runtime, connection, #name, logged, async move {
                    Error::check(validate::record_id(id))?;
                    #check(patch)?;
                    #body
                    let request = Request::new(#operation, Method::#method, #path).json(body);
                    #finish
                })
                .await
            }
        }
    }
}
