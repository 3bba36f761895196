//! Request bodies: how each write rule of a mapping fills the provider's body.

use super::*;

impl Emitter<'_> {
    /// The statements that write one rule into `body`.
    pub(super) fn write_step(
        &self,
        write: &Write,
        model: &TypeDef,
        envelope: &[Seg],
    ) -> TokenStream {
        let full = |path: &[Seg]| -> TokenStream {
            let joined: Vec<Seg> = envelope
                .iter()
                .cloned()
                .chain(path.iter().cloned())
                .collect();
            segs(&joined)
        };
        let mut steps = Vec::new();
        match write {
            Write::Scalar {
                field,
                ty,
                path,
                provider_type,
                default,
                values: Some(table),
                create_only,
                ..
            } => {
                let path = full(path);
                let unified = table.pairs.iter().map(|(u, _)| u);
                let provider = table.pairs.iter().map(|(_, p)| p);
                let otherwise = match &table.write_fallback {
                    Some(value) => quote! { Some(#value) },
                    None => quote! { None },
                };
                let set = quote! {
                    let mapped = match value.as_str() {
                        #(#unified => Some(#provider),)*
                        _ => #otherwise,
                    };
                    if let Some(mapped) = mapped {
                        json::set(&mut body, #path, Value::String(mapped.to_string()));
                    }
                };
                let fallback = default_fallback(default, &path);
                steps.push(guarded_write(model, field, *create_only, set, fallback));
                let _ = (ty, provider_type);
            }
            Write::Scalar {
                field,
                ty,
                path,
                provider_type,
                default,
                values: None,
                create_only,
                scale,
            } => {
                let path = full(path);
                // A scaled number is converted before it is written.
                let scaled = match scale {
                    Some(factor) => quote! { let value = &(*value * #factor); },
                    None => quote! {},
                };
                let value = self.to_json(ty, provider_type.as_deref(), quote! { value });
                let set = quote! {
                    #scaled
                    json::set(&mut body, #path, #value);
                };
                let fallback = default_fallback(default, &path);
                steps.push(guarded_write(model, field, *create_only, set, fallback));
            }
            Write::Template {
                field,
                ty,
                path,
                template,
                create_only,
            } => {
                let path = full(path);
                let value = self.to_json(ty, None, quote! { value });
                let filled = json_tokens_with(template, &value);
                let set = quote! { json::set(&mut body, #path, #filled); };
                steps.push(guarded_write(model, field, *create_only, set, quote! {}));
            }
            Write::Primary {
                field,
                item_field,
                item_ty,
                path,
                provider_type,
            } => {
                let ident = field_ident(field);
                let item_ident = field_ident(item_field);
                let shown = crate::parse::path::display(path);
                let path = full(path);
                let item_optional = self.item_optional(model, field, item_field);
                let value = self.to_json(item_ty, provider_type.as_deref(), quote! { value });
                let body_step = if item_optional {
                    quote! { if let Some(value) = &item.#item_ident { json::set(&mut body, #path, #value); } }
                } else {
                    quote! { let value = &item.#item_ident; json::set(&mut body, #path, #value); }
                };
                steps.push(quote! {
                    if let Some(item) = transform::primary(&input.#ident, #field, #shown) {
                        #body_step
                    }
                });
            }
            Write::Each { field, subs, path } => {
                let ident = field_ident(field);
                let path = full(path);
                let sub_steps = subs.iter().map(|(sub, ty, sub_path)| {
                    let sub_ident = field_ident(sub);
                    let sub_path = segs(sub_path);
                    let value = self.to_json(ty, None, quote! { value });
                    if self.item_optional(model, field, sub) {
                        quote! { if let Some(value) = &item.#sub_ident { json::set(&mut element, #sub_path, #value); } }
                    } else {
                        quote! { let value = &item.#sub_ident; json::set(&mut element, #sub_path, #value); }
                    }
                });
                steps.push(quote! {
                    if !input.#ident.is_empty() {
                        let mut elements = Vec::with_capacity(input.#ident.len());
                        for item in &input.#ident {
                            let mut element = Value::Object(Default::default());
                            #(#sub_steps)*
                            elements.push(element);
                        }
                        json::set(&mut body, #path, Value::Array(elements));
                    }
                });
            }
            Write::Join {
                parts,
                separator,
                path,
                default,
            } => {
                let path = full(path);
                let part_exprs = parts.iter().map(|part| {
                    let ident = field_ident(part);
                    if model.field(part).is_some_and(Emitter::is_optional) {
                        quote! { input.#ident.as_deref() }
                    } else {
                        quote! { Some(input.#ident.as_str()) }
                    }
                });
                let joined = quote! { transform::join(&[#(#part_exprs),*], #separator) };
                steps.push(match default {
                    // Defaults fill a create; an update sends only what is set.
                    Some(default) => quote! {
                        match #joined {
                            Some(joined) => json::set(&mut body, #path, Value::String(joined)),
                            None if creating => json::set(&mut body, #path, Value::String(#default.to_string())),
                            None => {}
                        }
                    },
                    None => quote! {
                        if let Some(joined) = #joined {
                            json::set(&mut body, #path, Value::String(joined));
                        }
                    },
                });
            }
            Write::Const { path, value } => {
                let path = full(path);
                let value = const_json(value);
                // Constants fill creates; an update sends only what the patch sets.
                steps.push(quote! { if creating { json::set(&mut body, #path, #value); } });
            }
            Write::When {
                field,
                present,
                write,
            } => {
                let inner = self.write_step(write, model, envelope);
                let ident = field_ident(field);
                let is_set = match model.field(field).map(|f| &f.ty) {
                    Some(FieldType::List(_)) => quote! { !input.#ident.is_empty() },
                    Some(FieldType::Json) => quote! { !input.#ident.is_null() },
                    _ if model.field(field).is_some_and(Emitter::is_optional) => {
                        quote! { input.#ident.is_some() }
                    }
                    _ => quote! { true },
                };
                let condition = if *present {
                    is_set
                } else {
                    quote! { !(#is_set) }
                };
                steps.push(quote! { if #condition { #inner } });
            }
            Write::Now { path } => {
                let path = full(path);
                steps.push(quote! {
                    if creating {
                    json::set(&mut body, #path, Value::String(transform::format_datetime(&transform::now())));
                }
                });
            }
        }

        quote! { #(#steps)* }
    }

    pub(super) fn write_fn(
        &self,
        name: &Ident,
        input_ident: &Ident,
        model: &TypeDef,
        mapping: &Mapping,
        envelope: &[Seg],
    ) -> TokenStream {
        let full = |path: &[Seg]| -> TokenStream {
            let joined: Vec<Seg> = envelope
                .iter()
                .cloned()
                .chain(path.iter().cloned())
                .collect();
            segs(&joined)
        };
        let steps: Vec<TokenStream> = mapping
            .writes
            .iter()
            .map(|write| self.write_step(write, model, envelope))
            .collect();
        let mut custom_writes = quote! {};
        if let Some(custom) = &mapping.custom {
            let field = field_ident(&custom.field);
            let under = full(&custom.under);
            let value_path = segs(&custom.value_path);
            let model_name = &model.name;
            let strings = custom.strings;
            custom_writes.extend(quote! {
                // Custom fields, through this connection's field map.
                for (unified, provider_field) in connection.field_mappings(#model_name) {
                    if let Some(value) = input.#field.get(unified) {
                        json::set_dynamic(&mut body, #under, provider_field, #value_path, transform::custom_value(value, #strings));
                    }
                }
            });
        }
        if let Some(passthrough) = &mapping.passthrough {
            let field = field_ident(&passthrough.field);
            let under = full(&passthrough.under);
            custom_writes.extend(quote! {
                // Provider-specific extras, passed through as given.
                if let Value::Object(extras) = &input.#field {
                    for (key, value) in extras {
                        json::set_dynamic(&mut body, #under, key, &[], value.clone());
                    }
                }
            });
        }
        let doc_line = format!(
            " The {} request body for a {}Input.",
            mapping.model, model.name
        );
        quote! {
            #[doc = #doc_line]
            fn #name(input: &super::#input_ident, creating: bool, connection: &Connection) -> Value {
                let _ = (creating, connection);
                let mut body = Value::Object(Default::default());
                #(#steps)*
                #custom_writes
                body
            }
        }
    }

    pub(super) fn item_optional(&self, model: &TypeDef, field: &str, item_field: &str) -> bool {
        let Some(FieldType::List(item)) = model.field(field).map(|f| &f.ty) else {
            return true;
        };
        let FieldType::Named(item_type) = item.as_ref() else {
            return true;
        };
        self.models
            .get(item_type)
            .and_then(|t| t.field(item_field))
            .is_none_or(Emitter::is_optional)
    }

    pub(super) fn to_json(
        &self,
        ty: &FieldType,
        provider_type: Option<&str>,
        value: TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let json = quote! { Value };
        let as_string = provider_type == Some("string");
        match ty {
            // An id held as a string goes out as the number the provider expects; text
            // that is not a number is sent as it is, for the provider to refuse.
            FieldType::String if provider_type == Some("integer") => quote! {
                #value.trim().parse::<i64>().map(#json::from).unwrap_or_else(|_| #json::String(#value.clone()))
            },
            FieldType::String => quote! { #json::String(#value.clone()) },
            FieldType::Integer | FieldType::Number | FieldType::Boolean if as_string => {
                quote! { #json::String(#value.to_string()) }
            }
            FieldType::Integer | FieldType::Number => quote! { #json::from(*#value) },
            FieldType::Boolean => quote! { #json::Bool(*#value) },
            FieldType::DateTime if matches!(provider_type, Some("integer" | "number")) => {
                quote! { #json::from(#value.timestamp_millis()) }
            }
            FieldType::DateTime => {
                quote! { #json::String(transform::format_datetime(#value)) }
            }
            FieldType::Date => {
                quote! { #json::String(transform::format_date(#value)) }
            }
            FieldType::Named(_) => quote! { #json::String(#value.as_str().to_string()) },
            FieldType::Json | FieldType::List(_) => {
                quote! { #rt::__private::serde_json::to_value(#value).unwrap_or_default() }
            }
        }
    }
}

/// The statements writing `input.<field>` with `set` (which sees it as `value`):
/// guarded by `Some` for optional fields and by `creating` for create-only writes;
/// `fallback` (an `else` branch) runs when an optional field is absent.
pub(super) fn guarded_write(
    model: &TypeDef,
    field: &str,
    create_only: bool,
    set: TokenStream,
    fallback: TokenStream,
) -> TokenStream {
    let ident = field_ident(field);
    let gate = if create_only {
        quote! { creating && }
    } else {
        quote! {}
    };
    if model.field(field).is_some_and(Emitter::is_optional) {
        quote! { if #gate let Some(value) = &input.#ident { #set } #fallback }
    } else if create_only {
        quote! { if creating { let value = &input.#ident; #set } }
    } else {
        quote! { { let value = &input.#ident; #set } }
    }
}

/// The `else` branch writing a mapping's `default` on create.
pub(super) fn default_fallback(default: &Option<Const>, path: &TokenStream) -> TokenStream {
    match default {
        Some(constant) => {
            let constant = const_json(constant);
            quote! { else if creating { json::set(&mut body, #path, #constant); } }
        }
        None => quote! {},
    }
}

/// Whether the mapping sends unified field `name` (on update: not create-only writes).
pub(super) fn writes_field(mapping: &Mapping, name: &str, updating: bool) -> bool {
    mapping.writes.iter().any(|write| match write {
        Write::Scalar {
            field, create_only, ..
        }
        | Write::Template {
            field, create_only, ..
        } => field == name && !(updating && *create_only),
        Write::Primary { field, .. } | Write::Each { field, .. } => field == name,
        Write::Join { parts, .. } => parts.iter().any(|p| p == name),
        Write::Const { .. } | Write::Now { .. } | Write::When { .. } => false,
    }) || mapping.custom.as_ref().is_some_and(|c| c.field == name)
        || mapping
            .passthrough
            .as_ref()
            .is_some_and(|p| p.field == name)
}

/// Whether some writable field would be refused (so `problems` must be mutable).
pub(super) fn refuses(model: &TypeDef, mapping: &Mapping, updating: bool) -> bool {
    model.fields().iter().any(|f| {
        !f.read_only
            && !writes_field(mapping, &f.name, updating)
            && !mapping.ignore_on_write.contains(&f.name)
    })
}
