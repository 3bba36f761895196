//! `find_<model>_by_<key>`: the first record whose field equals a value.

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn find_action(&self, cx: &MappingCx, find: &FindAction) -> TokenStream {
        let call = &find.call;
        let (name, ident) = cx.action(ActionKind::FindBy(find.key.clone()));
        let model = &cx.record;
        let key = &find.key;
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = path_with(&call.path, &[]);
        let queries = cx.queries(call);
        let body = self.request_body(cx, find.body.as_ref());
        let records = path_text(&find.records);
        let read = cx.read_listed(quote! { record });
        let doc_line = cx.describe(
            &format!(
                "Finds the first {} whose {} is `key`",
                cx.model.name, find.key
            ),
            call,
        );
        quote! {
            #[doc = #doc_line]
            ///
            /// `Ok(None)` when nothing matches.
            pub async fn #ident(runtime: &Runtime, connection: &Connection, key: &str) -> Result<Option<#model>, Error> {
                PROVIDER.run(runtime, connection, #name, || json::object([(#key, key.into())]), async move {
                    if key.trim().is_empty() {
                        return Err(Error::invalid(#key, "must not be empty"));
                    }
                    let request = Request::new(#operation, Method::#method, #path)#queries #body.reading();
                    let response = runtime.send(connection, &PROVIDER, request).await?;
                    let records = json::read_array(&response.body, #records)
                        .map_err(|problem| PROVIDER.unexpected(&response, problem))?;
                    match records.first() {
                        None => Ok(None),
                        Some(record) => #read.map(Some),
                    }
                })
                .await
            }
        }
    }
}
