//! The actions of one mapping, one file per kind: what they share is [`MappingCx`].

use super::*;

mod create;
mod find;
mod get;
mod link;
mod list;
mod update;
mod upsert;

/// What every action of one mapping shares while it is emitted.
pub(super) struct MappingCx<'a> {
    pub(super) provider: &'a Provider,
    pub(super) mapping: &'a Mapping,
    pub(super) model: &'a TypeDef,
    /// `super::Contact`.
    pub(super) record: TokenStream,
    /// `super::ContactInput`.
    pub(super) input: TokenStream,
    /// The body function (`write_contact`) and the parameters it takes.
    pub(super) write: (Ident, WriteParams),
    /// The record reader (`read_contact`).
    pub(super) read: Ident,
}

impl MappingCx<'_> {
    /// The name of this mapping's `kind` action, and its identifier.
    pub(super) fn action(&self, kind: ActionKind) -> (String, Ident) {
        let name = self.mapping.action_name(kind);
        let ident = format_ident!("{}", name);
        (name, ident)
    }

    /// The first doc line of an action: what it does, and the call behind it.
    pub(super) fn describe(&self, what: &str, call: &HttpCall) -> String {
        format!(
            " {what} on {} (`{}`: {} {}).",
            self.provider.display_name,
            call.operation,
            call.method.to_uppercase(),
            call.path
        )
    }

    /// Reads the record `record` (an expression of type `&Value`).
    pub(super) fn read_call(&self, record: TokenStream) -> TokenStream {
        let read = &self.read;
        if self.mapping.custom.is_some() {
            quote! { #read(#record, connection) }
        } else {
            quote! { #read(#record) }
        }
    }

    /// Reads the record of the single-record `response`.
    pub(super) fn read_response(&self) -> TokenStream {
        let read = self.read_call(quote! { record });
        quote! { PROVIDER.read_record(&response, |record| #read) }
    }

    /// Reads a listed `record` (a `&Value`), or the error naming what was wrong with it.
    pub(super) fn read_listed(&self, record: TokenStream) -> TokenStream {
        let read = self.read_call(record.clone());
        quote! { #read.map_err(|problem| PROVIDER.unexpected_record(#record, problem)) }
    }

    /// The request path of `call` with the record id in its id parameter.
    pub(super) fn id_path(&self, call: &HttpCall) -> TokenStream {
        let param = call.id_param.as_deref().unwrap_or_default();
        path_with(&call.path, &[(param, quote! { json::encode_segment(id) })])
    }

    /// `.query(name, value)` for each of `call`'s query parameters.
    pub(super) fn queries(&self, call: &HttpCall) -> TokenStream {
        let model = &self.model.name;
        let queries = call.query.iter().map(|(name, value)| {
            let value = template(value, &|placeholder| resolve(placeholder, model));
            quote! { .query(#name, #value) }
        });
        quote! { #(#queries)* }
    }
}

/// A request path with its `{param}`s filled by expressions, as `format!` or a literal.
pub(super) fn path_with(path: &str, params: &[(&str, TokenStream)]) -> TokenStream {
    template(path, &|name| {
        params
            .iter()
            .find(|(param, _)| *param == name)
            .map(|(_, value)| value.clone())
    })
}

/// The values placeholders in a mapping's strings stand for, where the action's own
/// bindings (`key`, `since`, `ids`, the connection) are in scope.
pub(super) fn resolve(placeholder: &str, model: &str) -> Option<TokenStream> {
    match placeholder {
        "key" => Some(quote! { key }),
        "key:soql" => Some(quote! { transform::soql_escape(key) }),
        "ids:soql" => Some(quote! { transform::soql_list(&ids) }),
        "modified_since" => Some(quote! { since }),
        "modified_since_ms" => Some(quote! { since_ms }),
        other => other.strip_prefix("custom_fields|").map(|separator| {
            quote! { transform::custom_field_list(connection, #model, #separator) }
        }),
    }
}

impl Emitter<'_> {
    /// Every action of one mapping, with the body function and reader they share.
    pub(super) fn mapping(&self, provider: &Provider, mapping: &Mapping) -> TokenStream {
        let model = self
            .models
            .get(&mapping.model)
            .expect("mapping was checked against the models");
        let snake_name = snake(&model.name);
        let (record, input) = (
            format_ident!("{}", model.name),
            format_ident!("{}Input", model.name),
        );
        let write_ident = format_ident!("write_{}", snake_name);
        let writes = mapping.create.is_some() || mapping.update.is_some();
        let (write_fn, params) =
            self.write_fn(&write_ident, &input, model, mapping, &provider.envelope);
        let cx = MappingCx {
            provider,
            mapping,
            model,
            record: quote! { super::#record },
            input: quote! { super::#input },
            write: (write_ident, params),
            read: format_ident!("read_{}", snake_name),
        };
        let mut items = vec![
            self.create_action(&cx),
            if writes {
                write_fn
            } else {
                quote! {}
            },
            self.get_action(&cx),
            self.update_action(&cx),
            self.delete_action(&cx),
            self.list_action(&cx),
        ];
        items.extend(mapping.finds.iter().map(|find| self.find_action(&cx, find)));
        items.extend(mapping.links.iter().map(|link| self.link_action(&cx, link)));
        items.push(self.upsert_action(&cx));
        let reads = mapping.get.is_some()
            || mapping.list.is_some()
            || !mapping.finds.is_empty()
            || matches!(mapping.create, Some((_, Returns::Record)));
        if reads {
            items.push(self.read_fn(&cx.read, &record, model, mapping, &[]));
        }
        if let Some(batch) = &mapping.create_batch {
            items.push(self.batch(&cx, batch, false));
        }
        if let Some(batch) = &mapping.update_batch {
            items.push(self.batch(&cx, batch, true));
        }
        quote! { #(#items)* }
    }

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
