//! The actions of one mapping: create, get, update, delete, list, finds, links, upsert.

use super::*;

impl Emitter<'_> {
    /// Checks that refuse input this provider would drop: a writable unified field
    /// that no write rule of the mapping sends (`owner: cannot be written on attio`),
    /// unless the mapping lists it under `ignore_on_write`, which logs a warning instead.
    pub(super) fn refusals(
        &self,
        model: &TypeDef,
        mapping: &Mapping,
        provider: &Provider,
        updating: bool,
        input: TokenStream,
    ) -> Vec<TokenStream> {
        let written = |name: &str| writes_field(mapping, name, updating);
        let verb = if updating { "updated" } else { "written" };
        let provider_name = &provider.name;
        model
            .fields()
            .iter()
            .filter(|f| !f.read_only && !written(&f.name))
            .map(|field| {
                let ident = field_ident(&field.name);
                let name = &field.name;
                let set = match &field.ty {
                    FieldType::List(_) => quote! { !#input.#ident.is_empty() },
                    FieldType::Json => quote! { !#input.#ident.is_null() },
                    _ if Emitter::is_optional(field) => quote! { #input.#ident.is_some() },
                    _ => quote! { true },
                };
                if mapping.ignore_on_write.contains(&field.name) {
                    let message =
                        format!("{provider_name} does not take this field; it is not sent");
                    quote! {
                        if #set {
                            tracing::warn!(field = #name, #message);
                        }
                    }
                } else {
                    let message = format!("cannot be {verb} on {provider_name}");
                    quote! {
                        if #set {
                            problems.push(FieldError::new(#name, #message));
                        }
                    }
                }
            })
            .collect()
    }

    pub(super) fn mapping(&self, provider: &Provider, mapping: &Mapping) -> TokenStream {
        let model = self
            .models
            .get(&mapping.model)
            .expect("mapping was checked against the models");
        let model_ident = format_ident!("{}", model.name);
        let input_ident = format_ident!("{}Input", model.name);
        let snake_name = snake(&model.name);
        let write_fn = format_ident!("write_{}", snake_name);
        let read_fn = format_ident!("read_{}", snake_name);
        let get_fn = format_ident!("get_{}", snake_name);
        let create_fn = format_ident!("create_{}", snake_name);
        let update_fn = format_ident!("update_{}", snake_name);
        let delete_fn = format_ident!("delete_{}", snake_name);
        let create_fn_name = create_fn.to_string();
        let create_once = format_ident!("create_{}_once", snake_name);
        let get_fn_name = get_fn.to_string();
        let update_fn_name = update_fn.to_string();
        let delete_fn_name = delete_fn.to_string();
        let list_fn = format_ident!("list_{}", plural(&snake_name));
        let list_fn_name = list_fn.to_string();
        let provider_name = &provider.name;
        let envelope = &provider.envelope;
        let describe = |verb: &str, call: &HttpCall| {
            format!(
                " {verb} on {} (`{}`: {} {}).",
                provider.display_name,
                call.operation,
                call.method.to_uppercase(),
                call.path
            )
        };
        // The record in a single-record response, and the error when it does not read.
        let read_response = quote! {
            #read_fn(record_of(&response), connection).map_err(|problem| unexpected(&response, problem))
        };
        let mut items = Vec::new();
        let create_refusals = self.refusals(model, mapping, provider, false, quote! { input });
        let update_refusals = self.refusals(model, mapping, provider, true, quote! { patch });
        let patch_binding = if !refuses(model, mapping, true) {
            quote! { problems }
        } else {
            quote! { mut problems }
        };

        if let Some((call, returns)) = &mapping.create {
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let path = &call.path;
            let doc_line = describe(&format!("Creates a {}", model.name), call);
            let problems_binding =
                if mapping.provider_required.is_empty() && !refuses(model, mapping, false) {
                    quote! { problems }
                } else {
                    quote! { mut problems }
                };
            let required = mapping.provider_required.iter().map(|field| {
                let ident = field_ident(field);
                let present = match model.field(field) {
                    Some(f) if matches!(f.ty, FieldType::String) && Emitter::is_optional(f) => quote! { input.#ident.as_deref().is_some_and(|value| !value.trim().is_empty()) },
                    Some(f) if matches!(f.ty, FieldType::List(_)) => quote! { !input.#ident.is_empty() },
                    Some(f) if Emitter::is_optional(f) => quote! { input.#ident.is_some() },
                    _ => quote! { true },
                };
                quote! { validate::required_by(&mut problems, #field, #present, #provider_name); }
            });
            let finish = match returns {
                Returns::IdThenGet(id_path) => {
                    let full: Vec<Seg> = provider
                        .response_envelope
                        .iter()
                        .cloned()
                        .chain(id_path.iter().cloned())
                        .collect();
                    let id_path = segs(&full);
                    quote! {
                        let id = json::require_string(&response.body, #id_path).map_err(|problem| unexpected(&response, problem))?;
                        // The create response only carries the id: read the record back.
                        boxed(#get_fn(runtime, connection, &id)).await
                    }
                }
                _ => {
                    // Links sent on create (HubSpot's inline associations) are not in
                    // the create response: keep what was sent.
                    let echoes = self.create_echoes(model, mapping);
                    if echoes.is_empty() {
                        read_response.clone()
                    } else {
                        quote! {
                            let mut record = #read_response?;
                            #(#echoes)*
                            Ok(record)
                        }
                    }
                }
            };
            let check_create = format_ident!("check_create_{}", snake_name);
            items.push(quote! {
                /// Every problem with a create's input, found before anything is sent.
                fn #check_create(input: &super::#input_ident) -> Result<(), Error> {
                    let #problems_binding = input.validate();
                    #(#required)*
                    #(#create_refusals)*
                    Error::check(problems)
                }
            });
            let body = quote! {
                #check_create(input)?;
                let request = Request::new(#operation, Method::#method, #path).json(#write_fn(input, true, connection));
                let response = runtime.send(connection, &PROVIDER, request).await?;
                #finish
            };
            if mapping.upsert.is_some() {
                // With an upsert key, a create whose outcome is unknown (the connection
                // broke after sending, or a 5xx) is retried through the upsert: if the
                // first request did create the record, the retry finds it instead of
                // creating a second one.
                let upsert_fn = format_ident!("upsert_{}", snake_name);
                items.push(quote! {
                    /// The create request itself, without the retry through the upsert key.
                    async fn #create_once(runtime: &Runtime, connection: &Connection, input: &super::#input_ident) -> Result<super::#model_ident, Error> {
                        #body
                    }
                    #[doc = #doc_line]
                    ///
                    /// When it is unknown whether the provider created the record (a
                    /// broken connection after sending, a 5xx), the create is retried
                    /// through the upsert key, so it never leaves two records.
                    pub async fn #create_fn(runtime: &Runtime, connection: &Connection, input: &super::#input_ident) -> Result<super::#model_ident, Error> {
                        in_span(runtime, connection, #create_fn_name, || input_json(input), async move {
                            let mut outcome = boxed(#create_once(runtime, connection, input)).await;
                            let mut attempt = 1;
                            while let Err(error) = &outcome {
                                if !error.is_ambiguous() || attempt >= PROVIDER.retry.max_attempts {
                                    break;
                                }
                                tracing::info!(attempt, reason = %error, "the create may have gone through: retrying through its upsert key");
                                sleep(backoff(&PROVIDER.retry, attempt)).await;
                                attempt += 1;
                                outcome = boxed(#upsert_fn(runtime, connection, input)).await;
                            }
                            outcome
                        })
                        .await
                    }
                });
            } else {
                items.push(quote! {
                    #[doc = #doc_line]
                    pub async fn #create_fn(runtime: &Runtime, connection: &Connection, input: &super::#input_ident) -> Result<super::#model_ident, Error> {
                        in_span(runtime, connection, #create_fn_name, || input_json(input), async move {
                            #body
                        })
                        .await
                    }
                });
            }
        }
        if mapping.create.is_some() || mapping.update.is_some() {
            items.push(self.write_fn(&write_fn, &input_ident, model, mapping, envelope));
        }
        let id_path = |call: &HttpCall| {
            let placeholder = format!("{{{}}}", call.id_param.clone().unwrap_or_default());
            let template = call.path.replace(&placeholder, "{}");
            quote! { format!(#template, json::encode_segment(id)) }
        };
        if let Some(call) = &mapping.get {
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let doc_line = describe(&format!("Reads one {} by id", model.name), call);
            let path = id_path(call);
            let query = call
                .query
                .iter()
                .map(|(name, value)| query_tokens(name, value, &model.name));
            items.push(quote! {
                #[doc = #doc_line]
                pub async fn #get_fn(runtime: &Runtime, connection: &Connection, id: &str) -> Result<super::#model_ident, Error> {
                    in_span(runtime, connection, #get_fn_name, || object_json(vec![("id", Value::from(id))]), async move {
                        Error::check(validate::record_id(id))?;
                        let request = Request::new(#operation, Method::#method, #path)#(#query)*;
                        let response = runtime.send(connection, &PROVIDER, request).await?;
                        #read_response
                    })
                    .await
                }
            });
        }
        if let Some(update) = &mapping.update {
            let call = &update.call;
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let doc_line = describe(
                &format!("Updates the fields set in `patch` of one {}", model.name),
                call,
            );
            let path = id_path(call);
            let body = if update.merge_current {
                quote! {
                    // The provider replaces composite values whole: send the current
                    // record with the patch laid over it.
                    let current = boxed(#get_fn(runtime, connection, id)).await?;
                    let merged = patch.clone().or(super::#input_ident::from(current));
                    let body = #write_fn(&merged, true, connection);
                }
            } else {
                quote! { let body = #write_fn(patch, false, connection); }
            };
            let finish = match update.returns {
                Returns::Record => quote! {
                    let response = runtime.send(connection, &PROVIDER, request).await?;
                    #read_response
                },
                _ => quote! {
                    runtime.send(connection, &PROVIDER, request).await?;
                    // The provider answers without the record: read it back.
                    boxed(#get_fn(runtime, connection, id)).await
                },
            };
            let check_update = format_ident!("check_update_{}", snake_name);
            items.push(quote! {
                /// Every problem with an update's patch, found before anything is sent.
                fn #check_update(patch: &super::#input_ident) -> Result<(), Error> {
                    let #patch_binding = patch.validate();
                    #(#update_refusals)*
                    Error::check(problems)
                }
                #[doc = #doc_line]
                ///
                /// Only fields that are set (`Some`, non-empty lists) are sent.
                pub async fn #update_fn(runtime: &Runtime, connection: &Connection, id: &str, patch: &super::#input_ident) -> Result<super::#model_ident, Error> {
                    in_span(runtime, connection, #update_fn_name, || object_json(vec![("id", Value::from(id)), ("patch", input_json(patch))]), async move {
                        Error::check(validate::record_id(id))?;
                        #check_update(patch)?;
                        #body
                        let request = Request::new(#operation, Method::#method, #path).json(body);
                        #finish
                    })
                    .await
                }
            });
        }
        if let Some(call) = &mapping.delete {
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let doc_line = describe(&format!("Deletes one {}", model.name), call);
            let path = id_path(call);
            items.push(quote! {
                #[doc = #doc_line]
                pub async fn #delete_fn(runtime: &Runtime, connection: &Connection, id: &str) -> Result<(), Error> {
                    in_span(runtime, connection, #delete_fn_name, || object_json(vec![("id", Value::from(id))]), async move {
                        Error::check(validate::record_id(id))?;
                        let request = Request::new(#operation, Method::#method, #path);
                        runtime.send(connection, &PROVIDER, request).await?;
                        Ok(())
                    })
                    .await
                }
            });
        }
        if let Some(list) = &mapping.list {
            let call = &list.call;
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let path = &call.path;
            let doc_line = describe(&format!("Lists every {}, page by page", model.name), call);
            let query = call
                .query
                .iter()
                .map(|(name, value)| query_tokens(name, value, &model.name));
            let plain_body = match &list.body {
                Some(json) => {
                    let json = body_tokens(json, &[], &model.name);
                    quote! { .json(#json) }
                }
                None => quote! {},
            };
            let since = match &list.modified_since {
                Some(since) => {
                    let since_operation = &since.call.operation;
                    let since_method = method_variant(&since.call.method);
                    let since_path = &since.call.path;
                    let queries = since
                        .call
                        .query
                        .iter()
                        .map(|(name, value)| query_tokens(name, value, &model.name));
                    let since_body = match &since.body {
                        Some(json) => {
                            let json = body_tokens(
                                json,
                                &[
                                    ("{modified_since_ms}", quote! { &since_ms }),
                                    ("{modified_since}", quote! { &since }),
                                ],
                                &model.name,
                            );
                            quote! { .json(#json) }
                        }
                        None => quote! {},
                    };
                    let pagination = match (&provider.pagination, since.params_in_body) {
                        (Some(p), Some(in_body)) if in_body != p.params_in_body => {
                            let literal = pagination_literal(p, in_body);
                            quote! { { static SINCE: Pagination = #literal; &SINCE } }
                        }
                        _ => quote! { &PAGINATION },
                    };
                    quote! {
                        Some(since) => {
                            let since_ms = since.timestamp_millis().to_string();
                            let since = transform::format_datetime_seconds(&since);
                            let _ = (&since, &since_ms);
                            let request = Request::new(#since_operation, Method::#since_method, #since_path)
                                #(#queries)*
                                #since_body;
                            (request, #pagination)
                        }
                    }
                }
                None => quote! {
                    Some(_) => {
                        let problem = FieldError::new("modified_since", format!("is not supported by {}", PROVIDER.name));
                        return stream::iter([Err(Error::check(vec![problem]).unwrap_err())]).boxed();
                    }
                },
            };
            items.push(quote! {
                #[doc = #doc_line]
                ///
                /// Follows the provider's pagination lazily: one page is held in memory at a time.
                pub fn #list_fn<'a>(runtime: &'a Runtime, connection: &'a Connection, options: &ListOptions) -> RecordStream<'a, super::#model_ident> {
                    let (request, pagination) = match options.modified_since {
                        None => (Request::new(#operation, Method::#method, #path)#(#query)* #plain_body, &PAGINATION),
                        #since
                    };
                    let records = runtime
                        .paginate(connection, &PROVIDER, pagination, request, options.page_size)
                        .map(|item| item.and_then(|record| #read_fn(&record, connection).map_err(|problem| unexpected_record(&record, problem))));
                    let options = options.clone();
                    observe_stream(runtime, PROVIDER.name, connection, #list_fn_name, move || input_json(&options), records.boxed()).boxed()
                }
            });
        }
        for find in &mapping.finds {
            let call = &find.call;
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let path = &call.path;
            let fn_name = format!("find_{snake_name}_by_{}", find.key);
            let fn_ident = format_ident!("{}", fn_name);
            let key = &find.key;
            let doc_line = describe(
                &format!("Finds the first {} whose {} is `key`", model.name, find.key),
                call,
            );
            let query = call
                .query
                .iter()
                .map(|(name, value)| query_tokens(name, value, &model.name));
            let body = match &find.body {
                Some(json) => {
                    let json = body_tokens(json, &[("{key}", quote! { key })], &model.name);
                    quote! { .json(#json) }
                }
                None => quote! {},
            };
            let records = segs(&find.records);
            items.push(quote! {
                #[doc = #doc_line]
                ///
                /// `Ok(None)` when nothing matches.
                pub async fn #fn_ident(runtime: &Runtime, connection: &Connection, key: &str) -> Result<Option<super::#model_ident>, Error> {
                    in_span(runtime, connection, #fn_name, || object_json(vec![(#key, Value::from(key))]), async move {
                        if key.trim().is_empty() {
                            return Err(Error::check(vec![FieldError::new(#key, "must not be empty")]).unwrap_err());
                        }
                        let request = Request::new(#operation, Method::#method, #path)#(#query)* #body.reading();
                        let response = runtime.send(connection, &PROVIDER, request).await?;
                        let records = json::read_array(&response.body, #records).map_err(|problem| unexpected(&response, problem))?;
                        match records.first() {
                            None => Ok(None),
                            Some(record) => #read_fn(record, connection).map(Some).map_err(|problem| unexpected_record(record, problem)),
                        }
                    })
                    .await
                }
            });
        }
        for link in &mapping.links {
            let call = &link.call;
            let operation = &call.operation;
            let method = method_variant(&call.method);
            let fn_name = format!("link_{snake_name}_{}", link.target);
            let fn_ident = format_ident!("{}", fn_name);
            let from_name = format!("{snake_name}_id");
            let to_name = format!("{}_id", link.target);
            let from_ident = format_ident!("{}", from_name);
            let to_ident = format_ident!("{}", to_name);
            let doc_line = describe(
                &format!("Links a {} to a {}", model.name, link.target),
                call,
            );
            let mut template = call.path.clone();
            for (param, _) in &link.params {
                template = template.replace(&format!("{{{param}}}"), "{}");
            }
            let args: Vec<TokenStream> = link
                .params
                .iter()
                .map(|(_, from)| {
                    if *from {
                        quote! { json::encode_segment(#from_ident) }
                    } else {
                        quote! { json::encode_segment(#to_ident) }
                    }
                })
                .collect();
            let path_expr = if args.is_empty() {
                quote! { #template }
            } else {
                quote! { format!(#template, #(#args),*) }
            };
            let body = match &link.body {
                Some(json) => {
                    let json = json_tokens_placeholders(
                        json,
                        &[
                            ("{from}", quote! { #from_ident }),
                            ("{to}", quote! { #to_ident }),
                        ],
                    );
                    quote! { .json(#json) }
                }
                None => quote! {},
            };
            items.push(quote! {
                #[doc = #doc_line]
                pub async fn #fn_ident(runtime: &Runtime, connection: &Connection, #from_ident: &str, #to_ident: &str) -> Result<(), Error> {
                    in_span(runtime, connection, #fn_name, || object_json(vec![(#from_name, Value::from(#from_ident)), (#to_name, Value::from(#to_ident))]), async move {
                        let mut problems = Vec::new();
                        for (field, id) in [(#from_name, #from_ident), (#to_name, #to_ident)] {
                            if id.trim().is_empty() {
                                problems.push(FieldError::new(field, "must not be empty"));
                            }
                        }
                        Error::check(problems)?;
                        let request = Request::new(#operation, Method::#method, #path_expr) #body;
                        runtime.send(connection, &PROVIDER, request).await?;
                        Ok(())
                    })
                    .await
                }
            });
        }
        if let Some(upsert) = &mapping.upsert {
            let fn_name = format!("upsert_{snake_name}");
            let fn_ident = format_ident!("{}", fn_name);
            let find_fn = format_ident!("find_{}_by_{}", snake_name, upsert.find_by);
            let key = key_expr_from(quote! { input }, &upsert.key);
            // Links sent inline on create cannot be updated: leave them out of the update.
            let clears: Vec<TokenStream> = mapping
                .writes
                .iter()
                .filter_map(|write| match write {
                    Write::Template {
                        field,
                        create_only: true,
                        ..
                    }
                    | Write::Scalar {
                        field,
                        create_only: true,
                        ..
                    } => {
                        let ident = field_ident(field);
                        Some(quote! { patch.#ident = Default::default(); })
                    }
                    _ => None,
                })
                .collect();
            let patch = if clears.is_empty() {
                quote! { let patch = input; }
            } else {
                quote! {
                    let mut patch = input.clone();
                    #(#clears)*
                    let patch = &patch;
                }
            };
            let body = if upsert.find_first {
                // The provider accepts duplicates: look first, then update or create.
                quote! {
                    let found = match #key {
                        Some(key) if !key.trim().is_empty() => boxed(#find_fn(runtime, connection, key)).await?,
                        _ => None,
                    };
                    match found {
                        Some(found) => boxed(#update_fn(runtime, connection, &found.remote_id, patch)).await,
                        None => boxed(#create_once(runtime, connection, input)).await,
                    }
                }
            } else {
                quote! {
                    match boxed(#create_once(runtime, connection, input)).await {
                        Err(Error::Conflict { existing_id: Some(id), .. }) => {
                            boxed(#update_fn(runtime, connection, &id, patch)).await
                        }
                        Err(conflict @ Error::Conflict { existing_id: None, .. }) => {
                            let found = match #key {
                                Some(key) if !key.trim().is_empty() => boxed(#find_fn(runtime, connection, key)).await?,
                                _ => None,
                            };
                            match found {
                                Some(found) => boxed(#update_fn(runtime, connection, &found.remote_id, patch)).await,
                                None => Err(conflict),
                            }
                        }
                        other => other,
                    }
                }
            };
            let doc_line = if upsert.find_first {
                format!(
                    " Updates the {} found by {} on {}, or creates it when there is none.",
                    model.name, upsert.find_by, provider.display_name
                )
            } else {
                format!(
                    " Creates a {} on {}, or updates the existing one when a unique field is taken (the record the conflict names, or the one found by {}).",
                    model.name, provider.display_name, upsert.find_by
                )
            };
            items.push(quote! {
                #[doc = #doc_line]
                pub async fn #fn_ident(runtime: &Runtime, connection: &Connection, input: &super::#input_ident) -> Result<super::#model_ident, Error> {
                    in_span(runtime, connection, #fn_name, || input_json(input), async move {
                        #patch
                        #body
                    })
                    .await
                }
            });
        }
        if mapping.get.is_some()
            || mapping.list.is_some()
            || !mapping.finds.is_empty()
            || matches!(mapping.create, Some((_, Returns::Record)))
        {
            items.push(self.read_fn(&read_fn, &model_ident, model, mapping, &[]));
        }
        if let Some(batch) = &mapping.create_batch {
            items.push(self.batch(provider, mapping, model, batch, false));
        }
        if let Some(batch) = &mapping.update_batch {
            items.push(self.batch(provider, mapping, model, batch, true));
        }
        quote! { #(#items)* }
    }

    /// Links sent on create (HubSpot's inline associations) are not in the create
    /// response: statements that keep what was sent in `record` from `input`.
    pub(super) fn create_echoes(&self, model: &TypeDef, mapping: &Mapping) -> Vec<TokenStream> {
        mapping
            .writes
            .iter()
            .filter_map(|write| match write {
                Write::Template {
                    field,
                    create_only: true,
                    ..
                } => {
                    let ident = field_ident(field);
                    let readable = model
                        .field(field)
                        .is_some_and(|f| !f.write_only && Emitter::is_optional(f));
                    readable.then(|| {
                        quote! {
                            if record.#ident.is_none() {
                                record.#ident = input.#ident.clone();
                            }
                        }
                    })
                }
                _ => None,
            })
            .collect()
    }
}
