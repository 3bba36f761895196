//! Batch actions: many creates or updates per request.

use super::*;

impl Emitter<'_> {
    /// `create_<models>` / `update_<models>`: many writes through the provider's batch
    /// endpoint, each input with its own outcome.
    pub(super) fn batch(
        &self,
        provider: &Provider,
        mapping: &Mapping,
        model: &TypeDef,
        batch: &BatchAction,
        updating: bool,
    ) -> TokenStream {
        let snake_name = snake(&model.name);
        let model_ident = format_ident!("{}", model.name);
        let input_ident = format_ident!("{}Input", model.name);
        let write_fn = format_ident!("write_{}", snake_name);
        let read_fn = format_ident!("read_{}", snake_name);
        let verb = if updating { "update" } else { "create" };
        let fn_name = format!("{verb}_{}", plural(&snake_name));
        let fn_ident = format_ident!("{}", fn_name);
        let one_fn = format_ident!("{verb}_{}", snake_name);
        let check_fn = format_ident!("check_{verb}_{}", snake_name);
        let spec_ident = format_ident!("{}_BATCH", fn_name.to_uppercase());
        let call = &batch.call;
        let (operation, path, max) = (&call.operation, &call.path, batch.max);
        let method = method_variant(&call.method);
        let items_path = segs(&batch.items);
        let results_path = segs(&batch.results);
        let optional_segs = |path: &Option<Vec<Seg>>| match path {
            Some(path) => {
                let path = segs(path);
                quote! { Some(#path) }
            }
            None => quote! { None },
        };
        let matching = match &batch.matching {
            BatchMatching::Order => quote! { BatchMatch::Order },
            BatchMatching::Tag {
                item,
                result,
                error,
            } => {
                let (item, result, error) = (segs(item), segs(result), optional_segs(error));
                quote! { BatchMatch::Tag { item: #item, result: #result, error: #error } }
            }
            BatchMatching::Id { result, error } => {
                let item = optional_segs(&batch.item_id);
                let item = match &batch.item_id {
                    Some(path) => segs(path),
                    None => item,
                };
                let (result, error) = (segs(result), optional_segs(error));
                quote! { BatchMatch::Id { item: #item, result: #result, error: #error } }
            }
        };
        let errors = optional_segs(&batch.errors);
        let success = optional_segs(&batch.success);
        let error = optional_segs(&batch.error);
        let error_message = segs(&batch.error_message);
        let body = match &batch.body {
            Some(json) => json_tokens(json),
            None => quote! { Value::Object(Default::default()) },
        };
        let item_binding = if batch.item.is_some() {
            quote! { mut item }
        } else {
            quote! { item }
        };
        let add_item = match &batch.item {
            Some(json) => {
                let json = json_tokens(json);
                quote! { json::merge(&mut item, #json); }
            }
            None => quote! {},
        };
        let (limit_doc, what) = (
            format!(
                " {} many {} records on {}, up to {max} per request (`{operation}`: {} {path}).",
                if updating { "Updates" } else { "Creates" },
                model.name,
                provider.display_name,
                call.method.to_uppercase()
            ),
            if updating { "update" } else { "input" },
        );
        let outcome_doc = format!(
            " Each {what} gets its own outcome, in order: invalid ones fail before anything is sent, and one the provider refuses fails alone."
        );
        let read = match (&batch.returns_id, &batch.read_back) {
            (Some(id), Some(read_back)) => {
                let id = segs(id);
                let call = &read_back.call;
                let (read_operation, read_path) = (&call.operation, &call.path);
                let read_method = method_variant(&call.method);
                let query = call
                    .query
                    .iter()
                    .map(|(name, value)| query_tokens(name, value, &model.name));
                let records = segs(&read_back.records);
                quote! {
                    let read_back = |ids: Vec<String>| -> BoxFuture<'a, Result<Vec<super::#model_ident>, Error>> {
                        Box::pin(async move {
                            let request = Request::new(#read_operation, Method::#read_method, #read_path)#(#query)*.reading();
                            let response = runtime.send(connection, &PROVIDER, request).await?;
                            let records = json::read_array(&response.body, #records).map_err(|problem| unexpected(&response, problem))?;
                            records
                                .iter()
                                .map(|record| #read_fn(record, connection).map_err(|problem| unexpected_record(record, problem)))
                                .collect()
                        })
                    };
                    let read = BatchRead::IdThenRead {
                        id: #id,
                        read_back: &read_back,
                        id_of: |record: &super::#model_ident| record.remote_id.as_str(),
                    };
                }
            }
            _ => quote! {
                let read_record = |record: &Value| {
                    #read_fn(record, connection).map_err(|problem| unexpected_record(record, problem))
                };
                let read = BatchRead::Record(&read_record);
            },
        };
        let echoes = if updating || batch.returns_id.is_some() {
            Vec::new()
        } else {
            self.create_echoes(model, mapping)
        };
        let finish = if echoes.is_empty() {
            quote! { run_batch(runtime, PROVIDER.name, connection, #fn_name, super::SENSITIVE_FIELDS, || input_json(inputs), write_batch(plan, inputs)).await }
        } else {
            quote! {
                let outcomes = run_batch(runtime, PROVIDER.name, connection, #fn_name, super::SENSITIVE_FIELDS, || input_json(inputs), write_batch(plan, inputs)).await;
                outcomes
                    .into_iter()
                    .zip(inputs)
                    .map(|(outcome, input)| {
                        outcome.map(|mut record| {
                            #(#echoes)*
                            record
                        })
                    })
                    .collect()
            }
        };
        let idempotent = updating;
        let spec = quote! {
            /// The batch endpoint of [`#fn_ident`], from the mapping's `batch:`.
            static #spec_ident: BatchSpec = BatchSpec {
                operation: #operation,
                method: Method::#method,
                path: #path,
                max: #max,
                items: #items_path,
                results: #results_path,
                matching: #matching,
                errors: #errors,
                success: #success,
                error: #error,
                error_message: #error_message,
                idempotent: #idempotent,
            };
        };
        if updating {
            let item_id = batch
                .item_id
                .as_ref()
                .map(|path| segs(path))
                .unwrap_or_else(|| quote! { &[] });
            quote! {
                #spec
                #[doc = #limit_doc]
                ///
                #[doc = #outcome_doc]
                pub async fn #fn_ident<'a>(runtime: &'a Runtime, connection: &'a Connection, updates: &'a [(String, super::#input_ident)]) -> Vec<Result<super::#model_ident, Error>> {
                    let prepare = |(id, patch): &(String, super::#input_ident)| -> Result<Value, Error> {
                        Error::check(validate::record_id(id))?;
                        #check_fn(patch)?;
                        let mut item = #write_fn(patch, false, connection);
                        #add_item
                        json::set(&mut item, #item_id, Value::String(id.clone()));
                        Ok(item)
                    };
                    #read
                    let one = |(id, patch): &'a (String, super::#input_ident)| -> BoxFuture<'a, Result<super::#model_ident, Error>> {
                        Box::pin(#one_fn(runtime, connection, id, patch))
                    };
                    let plan = BatchWrite {
                        runtime,
                        connection,
                        provider: &PROVIDER,
                        spec: &#spec_ident,
                        body: #body,
                        prepare: &prepare,
                        read,
                        one: &one,
                        after_ambiguity: None,
                    };
                    run_batch(runtime, PROVIDER.name, connection, #fn_name, super::SENSITIVE_FIELDS, || input_json(updates), write_batch(plan, updates)).await
                }
            }
        } else {
            let after = if mapping.upsert.is_some() {
                let upsert_fn = format_ident!("upsert_{}", snake_name);
                quote! {
                    // The provider may have created some of them: their upsert finds
                    // those instead of creating them twice.
                    let after = |input: &'a super::#input_ident| -> BoxFuture<'a, Result<super::#model_ident, Error>> {
                        Box::pin(#upsert_fn(runtime, connection, input))
                    };
                    let after_ambiguity: Option<&(dyn Fn(&'a super::#input_ident) -> BoxFuture<'a, Result<super::#model_ident, Error>> + Sync)> = Some(&after);
                }
            } else {
                quote! { let after_ambiguity = None; }
            };
            quote! {
                #spec
                #[doc = #limit_doc]
                ///
                #[doc = #outcome_doc]
                pub async fn #fn_ident<'a>(runtime: &'a Runtime, connection: &'a Connection, inputs: &'a [super::#input_ident]) -> Vec<Result<super::#model_ident, Error>> {
                    let prepare = |input: &super::#input_ident| -> Result<Value, Error> {
                        #check_fn(input)?;
                        let #item_binding = #write_fn(input, true, connection);
                        #add_item
                        Ok(item)
                    };
                    #read
                    let one = |input: &'a super::#input_ident| -> BoxFuture<'a, Result<super::#model_ident, Error>> {
                        Box::pin(#one_fn(runtime, connection, input))
                    };
                    #after
                    let plan = BatchWrite {
                        runtime,
                        connection,
                        provider: &PROVIDER,
                        spec: &#spec_ident,
                        body: #body,
                        prepare: &prepare,
                        read,
                        one: &one,
                        after_ambiguity,
                    };
                    #finish
                }
            }
        }
    }
}
