//! Batch actions: many creates or updates per request, each input with its own outcome.

use super::*;

impl Emitter<'_> {
    /// `create_<models>` / `update_<models>`: many writes through the provider's batch
    /// endpoint.
    pub(super) fn batch(&self, cx: &MappingCx, batch: &BatchAction, updating: bool) -> TokenStream {
        let (kind, one_kind) = if updating {
            (ActionKind::UpdateMany, ActionKind::Update)
        } else {
            (ActionKind::CreateMany, ActionKind::Create)
        };
        let (name, ident) = cx.action(kind);
        let spec_ident = format_ident!("{}_BATCH", name.to_uppercase());
        let spec = self.batch_spec(batch, &ident, &spec_ident, updating);
        let read = self.batch_read(cx, batch);
        let (one_name, one) = cx.action(one_kind);
        let check = format_ident!("check_{}", one_name);
        let (model, input) = (&cx.record, &cx.input);
        let (write, params) = &cx.write;
        let body = match &batch.body {
            Some(json) => json_value(json, &|_| None, ""),
            None => quote! { Value::Object(Map::new()) },
        };
        let add_item = batch.item.as_ref().map(|json| {
            let json = json_value(json, &|_| None, "");
            quote! { json::merge(&mut item, #json); }
        });
        let item_binding = if add_item.is_some() || updating {
            quote! { mut item }
        } else {
            quote! { item }
        };
        let call = &batch.call;
        let doc_line = format!(
            " {} many {} records on {}, up to {} per request (`{}`: {} {}).",
            if updating { "Updates" } else { "Creates" },
            cx.model.name,
            cx.provider.display_name,
            batch.max,
            call.operation,
            call.method.to_uppercase(),
            call.path,
        );
        let what = if updating { "update" } else { "input" };
        let outcome_doc = format!(
            " Each {what} gets its own outcome, in order: invalid ones fail before anything is sent, and one the provider refuses fails alone."
        );
        if updating {
            let item_id = path_text(batch.item_id.as_deref().unwrap_or_default());
            let patch = params.call(write, quote! { patch }, false);
            return quote! {
                #spec
                #[doc = #doc_line]
                ///
                #[doc = #outcome_doc]
                pub async fn #ident<'a>(runtime: &'a Runtime, connection: &'a Connection, updates: &'a [(String, #input)]) -> Vec<Result<#model, Error>> {
                    let prepare = |(id, patch): &(String, #input)| -> Result<Value, Error> {
                        Error::check(validate::record_id(id))?;
                        #check(patch)?;
                        let #item_binding = #patch;
                        #add_item
                        json::set(&mut item, #item_id, Value::String(id.clone()));
                        Ok(item)
                    };
                    #read
                    let one = |(id, patch): &'a (String, #input)| -> BoxFuture<'a, Result<#model, Error>> {
                        Box::pin(#one(runtime, connection, id, patch))
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
                    run_batch(runtime, PROVIDER.name, connection, #name, PROVIDER.sensitive_fields, || input_json(updates), write_batch(plan, updates)).await
                }
            };
        }
        let after = self.batch_after_ambiguity(cx);
        let finish = self.batch_finish(cx, batch, &name);
        let created = params.call(write, quote! { input }, true);
        quote! {
            #spec
            #[doc = #doc_line]
            ///
            #[doc = #outcome_doc]
            pub async fn #ident<'a>(runtime: &'a Runtime, connection: &'a Connection, inputs: &'a [#input]) -> Vec<Result<#model, Error>> {
                let prepare = |input: &#input| -> Result<Value, Error> {
                    #check(input)?;
                    let #item_binding = #created;
                    #add_item
                    Ok(item)
                };
                #read
                let one = |input: &'a #input| -> BoxFuture<'a, Result<#model, Error>> {
                    Box::pin(#one(runtime, connection, input))
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

    /// The `BatchSpec` static describing the batch endpoint.
    fn batch_spec(
        &self,
        batch: &BatchAction,
        ident: &Ident,
        spec: &Ident,
        updating: bool,
    ) -> TokenStream {
        let optional = |path: &Option<Vec<Seg>>| match path {
            Some(path) => {
                let path = seg_table(path);
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
                let (item, result, error) = (seg_table(item), seg_table(result), optional(error));
                quote! { BatchMatch::Tag { item: #item, result: #result, error: #error } }
            }
            BatchMatching::Id { result, error } => {
                let item = match &batch.item_id {
                    Some(path) => seg_table(path),
                    None => quote! { &[] },
                };
                let (result, error) = (seg_table(result), optional(error));
                quote! { BatchMatch::Id { item: #item, result: #result, error: #error } }
            }
        };
        let call = &batch.call;
        let (operation, path, max) = (&call.operation, &call.path, batch.max);
        let method = method_variant(&call.method);
        let (items, results) = (seg_table(&batch.items), seg_table(&batch.results));
        let (errors, success, error) = (
            optional(&batch.errors),
            optional(&batch.success),
            optional(&batch.error),
        );
        let error_message = seg_table(&batch.error_message);
        let doc_line = format!(" The batch endpoint of [`{ident}`], from the mapping's `batch:`.");
        quote! {
            #[doc = #doc_line]
            static #spec: BatchSpec = BatchSpec {
                operation: #operation,
                method: Method::#method,
                path: #path,
                max: #max,
                items: #items,
                results: #results,
                matching: #matching,
                errors: #errors,
                success: #success,
                error: #error,
                error_message: #error_message,
                idempotent: #updating,
            };
        }
    }

    /// How a batch's results become records: read from each result, or read back by
    /// their ids in one request.
    fn batch_read(&self, cx: &MappingCx, batch: &BatchAction) -> TokenStream {
        let model = &cx.record;
        let read = cx.read_listed(quote! { record });
        let (Some(id), Some(read_back)) = (&batch.returns_id, &batch.read_back) else {
            return quote! {
                let read_record = |record: &Value| #read;
                let read = BatchRead::Record(&read_record);
            };
        };
        let id = seg_table(id);
        let call = &read_back.call;
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let path = path_with(&call.path, &[]);
        let queries = cx.queries(call);
        let records = path_text(&read_back.records);
        quote! {
            let read_back = |ids: Vec<String>| -> BoxFuture<'a, Result<Vec<#model>, Error>> {
                Box::pin(async move {
                    let request = Request::new(#operation, Method::#method, #path)#queries.reading();
                    let response = runtime.send(connection, &PROVIDER, request).await?;
                    let records = json::read_array(&response.body, #records)
                        .map_err(|problem| PROVIDER.unexpected(&response, problem))?;
                    records.iter().map(|record| #read).collect()
                })
            };
            let read = BatchRead::IdThenRead {
                id: #id,
                read_back: &read_back,
                id_of: |record: &#model| record.remote_id.as_str(),
            };
        }
    }

    /// For creates with an upsert key: after a batch cut off midway, each input goes
    /// through its upsert, which finds those the provider did create.
    fn batch_after_ambiguity(&self, cx: &MappingCx) -> TokenStream {
        if cx.mapping.upsert.is_none() {
            return quote! { let after_ambiguity = None; };
        }
        let (_, upsert) = cx.action(ActionKind::Upsert);
        let (model, input) = (&cx.record, &cx.input);
        quote! {
            // The provider may have created some of them: their upsert finds
            // those instead of creating them twice.
            let after = |input: &'a #input| -> BoxFuture<'a, Result<#model, Error>> {
                Box::pin(#upsert(runtime, connection, input))
            };
            let after_ambiguity: Option<&(dyn Fn(&'a #input) -> BoxFuture<'a, Result<#model, Error>> + Sync)> = Some(&after);
        }
    }

    /// Runs the batch as one operation; links sent on create are kept in the records.
    fn batch_finish(&self, cx: &MappingCx, batch: &BatchAction, name: &str) -> TokenStream {
        let run = quote! {
            run_batch(runtime, PROVIDER.name, connection, #name, PROVIDER.sensitive_fields, || input_json(inputs), write_batch(plan, inputs)).await
        };
        let echoes = if batch.returns_id.is_some() {
            Vec::new()
        } else {
            self.create_echoes(cx.model, cx.mapping)
        };
        if echoes.is_empty() {
            return run;
        }
        quote! {
            let outcomes = #run;
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
    }
}
