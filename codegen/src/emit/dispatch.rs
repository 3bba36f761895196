//! Unified actions: one function per action that dispatches on the connection's
//! provider, the `typed` marker types, and the registry the queue and MCP server use.

use super::*;

impl Emitter<'_> {
    /// The unified actions: each dispatches on `connection.provider()` to the providers
    /// whose mappings have it, and says which ones do when called for another.
    pub(super) fn unified(&self, project: &Project) -> TokenStream {
        let mut out = Vec::new();
        let mut registry: Vec<RegistryEntry> = Vec::new();
        let mut typed_actions: Vec<TokenStream> = Vec::new();
        for model in project.models.models() {
            let actions = self.model_actions(project, model);
            let has_upsert = actions
                .iter()
                .any(|a| matches!(a.6, Shape::Upsert) && !a.5.is_empty());
            for action in actions.into_iter().filter(|a| !a.5.is_empty()) {
                let (function, entry, typed) = self.dispatch_action(model, action, has_upsert);
                out.push(function);
                registry.push(entry);
                typed_actions.extend(typed);
            }
            let providers = supporting(project, model, &|m| m.list.is_some());
            if !providers.is_empty() {
                let (function, entry) = self.dispatch_list(model, &providers);
                out.push(function);
                registry.push(entry);
            }
        }
        self.registry_statics(project, out, registry, typed_actions)
    }

    /// `Result<ok, Error>` in the runtime's path.
    fn result_type(&self, ok: TokenStream) -> TokenStream {
        let rt = &self.rt;
        quote! { ::std::result::Result<#ok, #rt::Error> }
    }

    /// The unified actions of `model` (creates, gets, …, finds, links), each with the
    /// providers whose mappings have it.
    fn model_actions<'p>(&self, project: &'p Project, model: &TypeDef) -> Vec<UnifiedAction<'p>> {
        let name = &model.name;
        let model_ident = format_ident!("{}", model.name);
        let input_ident = format_ident!("{}Input", model.name);
        let snake_name = snake(&model.name);
        let result = |ok: TokenStream| self.result_type(ok);
        let supporting = |has: &dyn Fn(&Mapping) -> bool| supporting(project, model, has);
        let mut actions: Vec<UnifiedAction> = vec![
            (
                format!("create_{snake_name}"),
                format!("Creates a {name}"),
                quote! { input: &#input_ident },
                quote! { input },
                result(quote! { #model_ident }),
                supporting(&|m| m.create.is_some()),
                Shape::Create,
            ),
            (
                format!("get_{snake_name}"),
                format!("Reads one {name} by its provider id"),
                quote! { id: &str },
                quote! { id },
                result(quote! { #model_ident }),
                supporting(&|m| m.get.is_some()),
                Shape::Get,
            ),
            (
                format!("update_{snake_name}"),
                format!("Updates the fields set in `patch` of one {name}"),
                quote! { id: &str, patch: &#input_ident },
                quote! { id, patch },
                result(quote! { #model_ident }),
                supporting(&|m| m.update.is_some()),
                Shape::Update,
            ),
            (
                format!("delete_{snake_name}"),
                format!("Deletes one {name}"),
                quote! { id: &str },
                quote! { id },
                result(quote! { () }),
                supporting(&|m| m.delete.is_some()),
                Shape::Delete,
            ),
            (
                format!("upsert_{snake_name}"),
                format!("Creates a {name}, or updates the existing one holding its unique values,"),
                quote! { input: &#input_ident },
                quote! { input },
                result(quote! { #model_ident }),
                supporting(&|m| m.upsert.is_some()),
                Shape::Upsert,
            ),
        ];
        let mut keys: Vec<&str> = Vec::new();
        let mut targets: Vec<&str> = Vec::new();
        for (_, mappings) in &project.providers {
            for mapping in mappings.iter().filter(|m| m.model == model.name) {
                keys.extend(
                    mapping
                        .finds
                        .iter()
                        .map(|f| f.key.as_str())
                        .filter(|k| !keys.contains(k))
                        .collect::<Vec<_>>(),
                );
                targets.extend(
                    mapping
                        .links
                        .iter()
                        .map(|l| l.target.as_str())
                        .filter(|t| !targets.contains(t))
                        .collect::<Vec<_>>(),
                );
            }
        }
        for key in keys {
            actions.push((
                format!("find_{snake_name}_by_{key}"),
                format!(
                    "Finds the first {name} whose {key} is `key` (`Ok(None)` when nothing matches)"
                ),
                quote! { key: &str },
                quote! { key },
                result(quote! { ::std::option::Option<#model_ident> }),
                supporting(&|m| m.finds.iter().any(|f| f.key == key)),
                Shape::Find(key.to_string()),
            ));
        }
        for target in targets {
            let from = format_ident!("{}_id", snake_name);
            let to = format_ident!("{}_id", target);
            actions.push((
                format!("link_{snake_name}_{target}"),
                format!("Links a {name} to a {target}"),
                quote! { #from: &str, #to: &str },
                quote! { #from, #to },
                result(quote! { () }),
                supporting(&|m| m.links.iter().any(|l| l.target == target)),
                Shape::Link(format!("{snake_name}_id"), format!("{target}_id")),
            ));
        }
        actions
    }

    /// One unified action dispatching on the connection's provider, its registry entry
    /// and, for creates, gets, updates, deletes and upserts, its `typed` marker.
    fn dispatch_action(
        &self,
        model: &TypeDef,
        (fn_name, doc, params, args, output, providers, shape): UnifiedAction,
        has_upsert: bool,
    ) -> (TokenStream, RegistryEntry, Option<TokenStream>) {
        let rt = &self.rt;
        let model_ident = format_ident!("{}", model.name);
        let input_ident = format_ident!("{}Input", model.name);
        let snake_name = snake(&model.name);
        let typed = match &shape {
            Shape::Create | Shape::Upsert => Some((
                quote! { super::#input_ident },
                quote! { super::#model_ident },
            )),
            Shape::Get => Some((quote! { #rt::IdArguments }, quote! { super::#model_ident })),
            Shape::Update => Some((
                quote! { #rt::UpdateArguments<super::#input_ident> },
                quote! { super::#model_ident },
            )),
            Shape::Delete => Some((quote! { #rt::IdArguments }, quote! { () })),
            Shape::Find(_) | Shape::Link(..) => None,
        };
        let typed = typed.map(|(arguments, output)| typed_action(rt, &fn_name, arguments, output));
        let entry = self.registry_entry(
            &fn_name,
            &doc,
            model,
            &providers,
            &shape,
            &input_ident,
            has_upsert.then(|| format!("upsert_{snake_name}")),
        );
        let fn_ident = format_ident!("{}", fn_name);
        let available = providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let names = providers.iter().map(|p| p.name.as_str());
        let modules = providers.iter().map(|p| format_ident!("{}", p.name));
        let doc_line = format!(" {doc} on the connection's provider ({available}).");
        let function = quote! {
            #[doc = #doc_line]
            pub async fn #fn_ident(runtime: &#rt::Runtime, connection: &#rt::Connection, #params) -> #output {
                match connection.provider() {
                    #(#names => #modules::#fn_ident(runtime, connection, #args).await,)*
                    other => ::std::result::Result::Err(#rt::Error::Unsupported {
                        provider: other.to_string(),
                        action: #fn_name.to_string(),
                        available: #available.to_string(),
                    }),
                }
            }
        };
        (function, entry, typed)
    }

    /// `list_<models>` dispatching on the connection's provider, and its registry entry.
    fn dispatch_list(
        &self,
        model: &TypeDef,
        providers: &[&Provider],
    ) -> (TokenStream, RegistryEntry) {
        let rt = &self.rt;
        let name = &model.name;
        let model_ident = format_ident!("{}", model.name);
        let snake_name = snake(&model.name);
        let fn_name = format!("list_{}", plural(&snake_name));
        let fn_ident = format_ident!("{}", fn_name);
        let available = providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let names = providers.iter().map(|p| p.name.as_str());
        let modules = providers.iter().map(|p| format_ident!("{}", p.name));
        let doc_line = format!(
            " Streams every {name} on the connection's provider ({available}), following its pagination."
        );
        let description = format!(
            "Lists {} records on the connection's provider, following its pagination (at most `limit`, default 100).",
            name
        );
        let provider_names = providers.iter().map(|p| p.name.as_str());
        let entry = RegistryEntry {
            info: quote! {
                #rt::ActionInfo {
                    name: #fn_name,
                    description: #description,
                    kind: #rt::ActionKind::List,
                    model: #name,
                    providers: &[#(#provider_names),*],
                    read_only: true,
                    retry_as: ::std::option::Option::None,
                    arguments: "page_size (optional), modified_since (optional, RFC 3339), limit (optional, default 100)",
                    input_schema: #rt::__private::schema::input::<#rt::ListArguments>,
                    output_schema: #rt::__private::schema::output::<::std::vec::Vec<#model_ident>>,
                }
            },
            arm: quote! {
                #fn_name => {
                    let arguments: #rt::ListArguments = #rt::__private::arguments(arguments)?;
                    #rt::__private::collect_list(#fn_ident(runtime, connection, &arguments.options()), arguments.limit()).await
                }
            },
            check: quote! {
                #fn_name => {
                    #rt::__private::arguments::<#rt::ListArguments>(arguments.clone()).map(|_| ())
                }
            },
        };
        let function = quote! {
            #[doc = #doc_line]
            pub fn #fn_ident<'a>(runtime: &'a #rt::Runtime, connection: &'a #rt::Connection, options: &#rt::ListOptions) -> #rt::RecordStream<'a, #model_ident> {
                match connection.provider() {
                    #(#names => #modules::#fn_ident(runtime, connection, options),)*
                    other => {
                        let error = #rt::Error::Unsupported {
                            provider: other.to_string(),
                            action: #fn_name.to_string(),
                            available: #available.to_string(),
                        };
                        #rt::support::prelude::StreamExt::boxed(#rt::support::prelude::stream::iter([::std::result::Result::Err(error)]))
                    }
                }
            }
        };
        (function, entry)
    }

    /// The `typed` module, the registry statics and `invoke`/`check`/`invoke_batch`.
    fn registry_statics(
        &self,
        project: &Project,
        mut out: Vec<TokenStream>,
        mut registry: Vec<RegistryEntry>,
        mut typed_actions: Vec<TokenStream>,
    ) -> TokenStream {
        let rt = &self.rt;
        for composite in &project.composites {
            registry.push(self.composite_entry(composite));
            let input_ident = format_ident!("{}Input", camel_case(&composite.name));
            let output_ident = format_ident!("{}Output", camel_case(&composite.name));
            typed_actions.push(typed_action(
                rt,
                &composite.name,
                quote! { super::#input_ident },
                quote! { super::#output_ident },
            ));
        }
        let (batch_infos, batch_arms) = self.batches(project, &mut out);
        let mut sensitive: Vec<&str> = project
            .models
            .types
            .iter()
            .flat_map(|ty| ty.fields())
            .filter(|field| field.sensitive)
            .map(|field| field.name.as_str())
            .collect();
        sensitive.sort_unstable();
        sensitive.dedup();
        // Without batch actions, the runtime's refusal of every batch call stands in.
        let (invoke_batch, invoke_batch_fn) = if batch_arms.is_empty() {
            (quote! {}, quote! { invoke_batch: #rt::support::no_batches })
        } else {
            let invoke_batch = quote! {
                /// Runs the action `name` for many JSON arguments through the provider's
                /// batch endpoint (see [`unifold::Registry::invoke_batch`]).
                fn invoke_batch<'a>(
                    runtime: &'a #rt::Runtime,
                    connection: &'a #rt::Connection,
                    name: &'a str,
                    arguments: ::std::vec::Vec<#rt::__private::serde_json::Value>,
                ) -> #rt::support::prelude::BoxFuture<'a, ::std::vec::Vec<::std::result::Result<#rt::__private::serde_json::Value, #rt::Error>>> {
                    ::std::boxed::Box::pin(async move {
                        match name {
                            #(#batch_arms)*
                            other => #rt::support::no_batches(runtime, connection, other, arguments).await,
                        }
                    })
                }
            };
            (invoke_batch, quote! { invoke_batch })
        };
        let infos = registry.iter().map(|entry| &entry.info);
        let arms = registry.iter().map(|entry| &entry.arm);
        let checks = registry.iter().map(|entry| &entry.check);
        quote! {
            #(#out)*
            /// The actions as types, for calls by name the compiler checks:
            /// `queue.submit(&connection, typed::CreateContact, &input)`.
            pub mod typed {
                #(#typed_actions)*
            }
            /// Fields declared `sensitive: true` in the unified models: their values are
            /// redacted wherever an action's input is logged.
            pub const SENSITIVE_FIELDS: &[&str] = &[#(#sensitive),*];
            /// Every action of this crate by name, and the function that runs one with
            /// JSON arguments: what the durable queue and the MCP server use.
            pub static REGISTRY: #rt::Registry = #rt::Registry { actions: ACTIONS, invoke, check, batches: BATCHES, #invoke_batch_fn };
            /// The actions of [`REGISTRY`].
            pub static ACTIONS: &[#rt::ActionInfo] = &[#(#infos),*];
            /// The actions providers take in batches, and how many per request.
            pub static BATCHES: &[#rt::BatchInfo] = &[#(#batch_infos),*];
            #invoke_batch
            /// Runs the action `name` with JSON `arguments` (see [`unifold::Registry::invoke`])
            /// and returns its output as JSON.
            fn invoke<'a>(
                runtime: &'a #rt::Runtime,
                connection: &'a #rt::Connection,
                name: &'a str,
                arguments: #rt::__private::serde_json::Value,
            ) -> #rt::support::prelude::BoxFuture<'a, ::std::result::Result<#rt::__private::serde_json::Value, #rt::Error>> {
                ::std::boxed::Box::pin(async move {
                    match name {
                        #(#arms)*
                        other => ::std::result::Result::Err(#rt::Error::UnknownAction { action: other.to_string() }),
                    }
                })
            }
            /// The validation error `invoke` would return for these arguments, without
            /// running the action.
            fn check(name: &str, arguments: &#rt::__private::serde_json::Value) -> ::std::result::Result<(), #rt::Error> {
                match name {
                    #(#checks)*
                    other => ::std::result::Result::Err(#rt::Error::UnknownAction { action: other.to_string() }),
                }
            }
        }
    }

    /// `create_<models>` / `update_<models>` for every model some provider takes in
    /// batches (pushed to `out`), and their registry table rows and `invoke_batch` arms.
    pub(super) fn batches(
        &self,
        project: &Project,
        out: &mut Vec<TokenStream>,
    ) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let rt = &self.rt;
        let mut infos = Vec::new();
        let mut arms = Vec::new();
        for model in project.models.models() {
            let snake_name = snake(&model.name);
            let model_ident = format_ident!("{}", model.name);
            let input_ident = format_ident!("{}Input", model.name);
            for updating in [false, true] {
                let batched: Vec<(&Provider, usize)> = project
                    .providers
                    .iter()
                    .filter_map(|(provider, mappings)| {
                        let mapping = mappings.iter().find(|m| m.model == model.name)?;
                        let batch = if updating {
                            mapping.update_batch.as_ref()
                        } else {
                            mapping.create_batch.as_ref()
                        }?;
                        Some((provider, batch.max))
                    })
                    .collect();
                if batched.is_empty() {
                    continue;
                }
                let verb = if updating { "update" } else { "create" };
                let fn_name = format!("{verb}_{}", plural(&snake_name));
                let fn_ident = format_ident!("{}", fn_name);
                let single = format!("{verb}_{snake_name}");
                let single_ident = format_ident!("{}", single);
                let names: Vec<&str> = batched.iter().map(|(p, _)| p.name.as_str()).collect();
                let modules = batched.iter().map(|(p, _)| format_ident!("{}", p.name));
                for (provider, max) in &batched {
                    let provider = provider.name.as_str();
                    infos.push(quote! { #rt::BatchInfo { action: #single, provider: #provider, max: #max } });
                }
                let sizes = batched
                    .iter()
                    .map(|(p, max)| format!("{} {max}", p.name))
                    .collect::<Vec<_>>()
                    .join(", ");
                let doc_line = format!(
                    " {} many {} records on the connection's provider: in batch requests where it has them ({sizes} per request), else one `{single}` per input.",
                    if updating { "Updates" } else { "Creates" },
                    model.name
                );
                let outcome_doc = " Each input gets its own outcome, in order.";
                if updating {
                    out.push(quote! {
                        #[doc = #doc_line]
                        ///
                        #[doc = #outcome_doc]
                        pub async fn #fn_ident(runtime: &#rt::Runtime, connection: &#rt::Connection, updates: &[(::std::string::String, #input_ident)]) -> ::std::vec::Vec<::std::result::Result<#model_ident, #rt::Error>> {
                            match connection.provider() {
                                #(#names => #modules::#fn_ident(runtime, connection, updates).await,)*
                                _ => {
                                    let mut outcomes = ::std::vec::Vec::with_capacity(updates.len());
                                    for (id, patch) in updates {
                                        outcomes.push(#single_ident(runtime, connection, id, patch).await);
                                    }
                                    outcomes
                                }
                            }
                        }
                    });
                    arms.push(quote! {
                        #single => {
                            let (updates, slots) = #rt::__private::batch_arguments(arguments, |argument| {
                                let id = #rt::__private::string_argument(&argument, "id")?;
                                let patch = argument.get("patch").cloned().unwrap_or_else(|| #rt::__private::serde_json::Value::Object(::std::default::Default::default()));
                                let patch: #input_ident = #rt::__private::arguments(patch).map_err(|error| error.within("patch"))?;
                                ::std::result::Result::Ok((id, patch))
                            });
                            #rt::__private::batch_outputs(slots, #fn_ident(runtime, connection, &updates).await)
                        }
                    });
                } else {
                    out.push(quote! {
                        #[doc = #doc_line]
                        ///
                        #[doc = #outcome_doc]
                        pub async fn #fn_ident(runtime: &#rt::Runtime, connection: &#rt::Connection, inputs: &[#input_ident]) -> ::std::vec::Vec<::std::result::Result<#model_ident, #rt::Error>> {
                            match connection.provider() {
                                #(#names => #modules::#fn_ident(runtime, connection, inputs).await,)*
                                _ => {
                                    let mut outcomes = ::std::vec::Vec::with_capacity(inputs.len());
                                    for input in inputs {
                                        outcomes.push(#single_ident(runtime, connection, input).await);
                                    }
                                    outcomes
                                }
                            }
                        }
                    });
                    arms.push(quote! {
                        #single => {
                            let (inputs, slots) = #rt::__private::batch_arguments(arguments, #rt::__private::arguments::<#input_ident>);
                            #rt::__private::batch_outputs(slots, #fn_ident(runtime, connection, &inputs).await)
                        }
                    });
                }
            }
        }
        (infos, arms)
    }
}

/// A unified action to emit: function name, doc, parameters, arguments, output type,
/// and the providers that have it.
pub(super) type UnifiedAction<'p> = (
    String,
    String,
    TokenStream,
    TokenStream,
    TokenStream,
    Vec<&'p Provider>,
    Shape,
);

/// The providers whose mapping of `model` has what `has` asks for.
fn supporting<'p>(
    project: &'p Project,
    model: &TypeDef,
    has: &dyn Fn(&Mapping) -> bool,
) -> Vec<&'p Provider> {
    project
        .providers
        .iter()
        .filter(|(_, mappings)| mappings.iter().any(|m| m.model == model.name && has(m)))
        .map(|(provider, _)| provider)
        .collect()
}
