//! `get_<model>` and `delete_<model>`: one record by its provider id.

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn get_action(&self, cx: &MappingCx) -> TokenStream {
        let Some(call) = &cx.mapping.get else {
            return quote! {};
        };
        let (name, ident) = cx.action(ActionKind::Get);
        let model = &cx.record;
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = cx.id_path(call);
        let queries = cx.queries(call);
        let read = cx.read_response();
        let doc_line = cx.describe(&format!("Reads one {} by id", cx.model.name), call);
        quote! {
            #[doc = #doc_line]
            pub async fn #ident(runtime: &Runtime, connection: &Connection, id: &str) -> Result<#model, Error> {
                PROVIDER.run(runtime, connection, #name, || json::object([("id", id.into())]), async move {
                    Error::check(validate::record_id(id))?;
                    let request = Request::new(#operation, Method::#method, #path)#queries;
                    let response = runtime.send(connection, &PROVIDER, request).await?;
                    #read
                })
                .await
            }
        }
    }

    pub(in crate::emit) fn delete_action(&self, cx: &MappingCx) -> TokenStream {
        let Some(call) = &cx.mapping.delete else {
            return quote! {};
        };
        let (name, ident) = cx.action(ActionKind::Delete);
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = cx.id_path(call);
        let doc_line = cx.describe(&format!("Deletes one {}", cx.model.name), call);
        quote! {
            #[doc = #doc_line]
            pub async fn #ident(runtime: &Runtime, connection: &Connection, id: &str) -> Result<(), Error> {
                PROVIDER.run(runtime, connection, #name, || json::object([("id", id.into())]), async move {
                    Error::check(validate::record_id(id))?;
                    let request = Request::new(#operation, Method::#method, #path);
                    runtime.send(connection, &PROVIDER, request).await?;
                    Ok(())
                })
                .await
            }
        }
    }
}
