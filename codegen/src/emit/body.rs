//! Request bodies: how each write rule of a mapping fills the provider's body.

use super::*;

impl Emitter<'_> {
    /// The statements that write one rule into the body `plan` lays out.
    pub(super) fn write_step(
        &self,
        write: &Write,
        model: &TypeDef,
        envelope: &[Seg],
        plan: &BodyPlan,
    ) -> TokenStream {
        let at = |path: &[Seg]| joined(envelope, path);
        match write {
            Write::Scalar {
                field,
                path,
                default,
                values: Some(table),
                create_only,
                ..
            } => {
                let path = at(path);
                let unified = table.pairs.iter().map(|(u, _)| u);
                let provider = table.pairs.iter().map(|(_, p)| p);
                let otherwise = match &table.write_fallback {
                    Some(value) => quote! { Some(#value) },
                    None => quote! { None },
                };
                let insert = plan.set(&path, quote! { Value::from(mapped) });
                let set = quote! {
                    let mapped = match value.as_str() {
                        #(#unified => Some(#provider),)*
                        _ => #otherwise,
                    };
                    if let Some(mapped) = mapped {
                        #insert
                    }
                };
                let fallback = default_fallback(default, &path, plan);
                guarded_write(model, field, *create_only, set, fallback)
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
                let path = at(path);
                // A scaled number is converted before it is written.
                let scaled = match scale {
                    Some(factor) => quote! { let value = &(*value * #factor); },
                    None => quote! {},
                };
                let value = self.to_json(ty, provider_type.as_deref(), quote! { value });
                let insert = plan.set(&path, value);
                let fallback = default_fallback(default, &path, plan);
                guarded_write(
                    model,
                    field,
                    *create_only,
                    quote! { #scaled #insert },
                    fallback,
                )
            }
            Write::Template {
                field,
                ty,
                path,
                template,
                create_only,
            } => {
                let value = self.to_json(ty, None, quote! { value });
                let filled = json_tokens_with(template, &value);
                let insert = plan.set(&at(path), filled);
                guarded_write(model, field, *create_only, insert, quote! {})
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
                let value = self.to_json(item_ty, provider_type.as_deref(), quote! { value });
                let insert = plan.set(&at(path), value);
                let write = if self.item_optional(model, field, item_field) {
                    quote! { if let Some(value) = &item.#item_ident { #insert } }
                } else {
                    quote! { let value = &item.#item_ident; #insert }
                };
                quote! {
                    if let Some(item) = transform::primary(&input.#ident, #field, #shown) {
                        #write
                    }
                }
            }
            Write::Each { field, subs, path } => {
                self.write_each(model, field, subs, &at(path), plan)
            }
            Write::Join {
                parts,
                separator,
                path,
                default,
            } => {
                let path = at(path);
                let part_exprs = parts.iter().map(|part| {
                    let ident = field_ident(part);
                    if model.field(part).is_some_and(Emitter::is_optional) {
                        quote! { input.#ident.as_deref() }
                    } else {
                        quote! { Some(input.#ident.as_str()) }
                    }
                });
                let joined = quote! { transform::join(&[#(#part_exprs),*], #separator) };
                let insert = plan.set(&path, quote! { Value::String(joined) });
                match default {
                    // Defaults fill a create; an update sends only what is set.
                    Some(default) => {
                        let insert_default = plan.set(&path, quote! { Value::from(#default) });
                        quote! {
                            match #joined {
                                Some(joined) => { #insert }
                                None if creating => { #insert_default }
                                None => {}
                            }
                        }
                    }
                    None => quote! {
                        if let Some(joined) = #joined {
                            #insert
                        }
                    },
                }
            }
            Write::Const { path, value } => {
                // Constants fill creates; an update sends only what the patch sets.
                let insert = plan.set(&at(path), const_json(value));
                quote! { if creating { #insert } }
            }
            Write::When {
                field,
                present,
                write,
            } => {
                let inner = self.write_step(write, model, envelope, plan);
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
                quote! { if #condition { #inner } }
            }
            Write::Now { path } => {
                let now = quote! { Value::String(transform::format_datetime(&transform::now())) };
                let insert = plan.set(&at(path), now);
                quote! { if creating { #insert } }
            }
        }
    }

    /// A unified list written element by element to a provider array.
    fn write_each(
        &self,
        model: &TypeDef,
        field: &str,
        subs: &[(String, FieldType, Vec<Seg>)],
        path: &[Seg],
        plan: &BodyPlan,
    ) -> TokenStream {
        let ident = field_ident(field);
        let sub_writes = subs.iter().map(|(sub, ty, sub_path)| {
            let sub_ident = field_ident(sub);
            let value = self.to_json(ty, None, quote! { value });
            let insert = match sub_path.as_slice() {
                [Seg::Key(key)] => quote! { element.insert(#key.into(), #value); },
                [Seg::Key(key), rest @ ..] => {
                    let rest = path_text(rest);
                    quote! { json::insert_at(&mut element, #key, #rest, #value); }
                }
                // The checker gives element paths a key first; keep any other whole.
                _ => quote! { element.insert(String::new(), #value); },
            };
            if self.item_optional(model, field, sub) {
                quote! { if let Some(value) = &item.#sub_ident { #insert } }
            } else {
                quote! { let value = &item.#sub_ident; #insert }
            }
        });
        let insert = plan.set(path, quote! { Value::Array(elements) });
        quote! {
            if !input.#ident.is_empty() {
                let mut elements = Vec::with_capacity(input.#ident.len());
                for item in &input.#ident {
                    let mut element = Map::new();
                    #(#sub_writes)*
                    elements.push(Value::Object(element));
                }
                #insert
            }
        }
    }

    /// Every path a mapping writes (each inside the provider's request envelope).
    fn written_paths(mapping: &Mapping, envelope: &[Seg]) -> Vec<Vec<Seg>> {
        fn path_of(write: &Write) -> &[Seg] {
            match write {
                Write::When { write, .. } => path_of(write),
                other => other.path(),
            }
        }
        mapping
            .writes
            .iter()
            .map(|write| joined(envelope, path_of(write)))
            .collect()
    }

    /// The function building a mapping's request body, and which of `creating` and
    /// `connection` it takes.
    pub(super) fn write_fn(
        &self,
        name: &Ident,
        input_ident: &Ident,
        model: &TypeDef,
        mapping: &Mapping,
        envelope: &[Seg],
    ) -> (TokenStream, WriteParams) {
        let under: Vec<Vec<Seg>> = [
            mapping.custom.as_ref().map(|c| joined(envelope, &c.under)),
            mapping
                .passthrough
                .as_ref()
                .map(|p| joined(envelope, &p.under)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let plan = BodyPlan::new(&Self::written_paths(mapping, envelope), &under);
        let steps: Vec<TokenStream> = mapping
            .writes
            .iter()
            .map(|write| self.write_step(write, model, envelope, &plan))
            .collect();
        let extras = self.custom_writes(model, mapping, envelope, &plan);
        let declarations = plan.declarations();
        let assembly = plan.assembly();
        let statements = quote! { #(#steps)* #extras };
        let params = WriteParams {
            creating: mentions(&statements, "creating"),
            connection: mentions(&statements, "connection"),
        };
        let creating = params.creating.then(|| quote! { creating: bool, });
        let connection = params
            .connection
            .then(|| quote! { connection: &Connection, });
        let doc_line = format!(" The request body for a {}Input.", model.name);
        let function = quote! {
            #[doc = #doc_line]
            fn #name(input: &super::#input_ident, #creating #connection) -> Value {
                #declarations
                #statements
                #assembly
            }
        };
        (function, params)
    }

    /// Custom fields through the connection's field map, and pass-through extras.
    fn custom_writes(
        &self,
        model: &TypeDef,
        mapping: &Mapping,
        envelope: &[Seg],
        plan: &BodyPlan,
    ) -> TokenStream {
        let mut out = quote! {};
        if let Some(custom) = &mapping.custom {
            let field = field_ident(&custom.field);
            let model_name = &model.name;
            let strings = custom.strings;
            let insert = plan.set_under(
                &joined(envelope, &custom.under),
                quote! { provider_field },
                &custom.value_path,
                quote! { transform::custom_value(value, #strings) },
            );
            out.extend(quote! {
                // Custom fields, through this connection's field map.
                for (unified, provider_field) in connection.field_mappings(#model_name) {
                    if let Some(value) = input.#field.get(unified) {
                        #insert
                    }
                }
            });
        }
        if let Some(passthrough) = &mapping.passthrough {
            let field = field_ident(&passthrough.field);
            let insert = plan.set_under(
                &joined(envelope, &passthrough.under),
                quote! { key },
                &[],
                quote! { value.clone() },
            );
            out.extend(quote! {
                // Provider-specific extras, passed through as given.
                if let Value::Object(extras) = &input.#field {
                    for (key, value) in extras {
                        #insert
                    }
                }
            });
        }
        out
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
                quote! { json::to_value(#value) }
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
pub(super) fn default_fallback(
    default: &Option<Const>,
    path: &[Seg],
    plan: &BodyPlan,
) -> TokenStream {
    match default {
        Some(constant) => {
            let insert = plan.set(path, const_json(constant));
            quote! { else if creating { #insert } }
        }
        None => quote! {},
    }
}

/// Which parameters a body-building function takes besides the input.
#[derive(Clone, Copy, Debug)]
pub(super) struct WriteParams {
    /// Some rule writes only on create (`creating: bool`).
    pub(super) creating: bool,
    /// Custom fields come from the connection's field map (`connection: &Connection`).
    pub(super) connection: bool,
}

impl WriteParams {
    /// The call of body function `name` for `input`, on a create or not.
    pub(super) fn call(&self, name: &Ident, input: TokenStream, creating: bool) -> TokenStream {
        let creating = self.creating.then(|| quote! { , #creating });
        let connection = self.connection.then(|| quote! { , connection });
        quote! { #name(#input #creating #connection) }
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
