//! Reading provider records into unified models.

use super::*;

impl Emitter<'_> {
    /// An expression reading `ty` at `path` from `source`; `T` when `required`, else
    /// `Option<T>`. Evaluates inside a closure returning `Result<_, ReadError>`.
    pub(super) fn read_expr(
        &self,
        ty: &FieldType,
        source: TokenStream,
        path: TokenStream,
        required: bool,
    ) -> TokenStream {
        let json = quote! { json };
        let optional = match ty {
            FieldType::String => quote! { #json::read_string(#source, #path)? },
            FieldType::Integer => quote! { #json::read_integer(#source, #path)? },
            FieldType::Number => quote! { #json::read_number(#source, #path)? },
            FieldType::Boolean => quote! { #json::read_boolean(#source, #path)? },
            FieldType::DateTime => quote! { #json::read_datetime(#source, #path)? },
            FieldType::Date => quote! { #json::read_date(#source, #path)? },
            FieldType::Json => return quote! { #json::read_json(#source, #path) },
            FieldType::Named(name) => {
                let ident = format_ident!("{}", name);
                quote! { #json::read_string(#source, #path)?.map(super::#ident::from) }
            }
            FieldType::List(_) => return quote! { Default::default() },
        };
        if required {
            quote! { #json::required(#optional, #path)? }
        } else {
            optional
        }
    }

    pub(super) fn read_fn(
        &self,
        name: &Ident,
        model_ident: &Ident,
        model: &TypeDef,
        mapping: &Mapping,
        envelope: &[Seg],
    ) -> TokenStream {
        let mut assignments: Vec<TokenStream> = mapping
            .reads
            .iter()
            .map(|read| self.read_assignment(read, model, envelope))
            .collect();
        if let Some(custom) = &mapping.custom {
            let field = field_ident(&custom.field);
            let under = path_text(&custom.under);
            let value_path = path_text(&custom.value_path);
            let model_name = &model.name;
            assignments.push(quote! {
                #field: {
                    let mut fields = json::Map::new();
                    for (unified, provider_field) in connection.field_mappings(#model_name) {
                        if let Some(value) = json::get_dynamic(record, #under, provider_field, #value_path) {
                            fields.insert(unified.clone(), value.clone());
                        }
                    }
                    Value::Object(fields)
                },
            });
        }
        let all_mapped = model.fields().iter().filter(|f| !f.write_only).all(|f| {
            mapping.custom.as_ref().is_some_and(|c| c.field == f.name)
                || mapping.reads.iter().any(|r| match r {
                    Read::Scalar { field, .. }
                    | Read::Primary { field, .. }
                    | Read::Each { field, .. }
                    | Read::EachString { field, .. }
                    | Read::Record { field } => *field == f.name,
                })
        });
        let rest = if all_mapped {
            quote! {}
        } else {
            quote! { ..Default::default() }
        };
        let doc_line = format!(" Reads a {} from the provider's record.", model.name);
        let connection = mapping
            .custom
            .is_some()
            .then(|| quote! { , connection: &Connection });
        quote! {
            #[doc = #doc_line]
            fn #name(record: &Value #connection) -> Result<super::#model_ident, json::ReadError> {
                Ok(super::#model_ident {
                    #(#assignments)*
                    #rest
                })
            }
        }
    }

    /// The struct field one read rule fills: `first_name: json::read_string(...)?,`.
    fn read_assignment(&self, read: &Read, model: &TypeDef, envelope: &[Seg]) -> TokenStream {
        let full = |path: &[Seg]| path_text(&joined(envelope, path));
        match read {
            Read::Scalar {
                field,
                ty,
                path,
                required,
                values: Some(table),
                ..
            } => {
                let ident = field_ident(field);
                let optional_in_struct = model.field(field).is_some_and(Emitter::is_optional);
                let path = full(path);
                let mut seen = Vec::new();
                let arms: Vec<TokenStream> = table
                    .pairs
                    .iter()
                    .filter(|(_, p)| {
                        let first = !seen.contains(p);
                        seen.push(p.clone());
                        first
                    })
                    .map(|(u, p)| quote! { #p => #u.to_string(), })
                    .collect();
                let otherwise = match &table.read_fallback {
                    Some(value) => quote! { #value.to_string() },
                    None => quote! { raw },
                };
                let convert = match ty {
                    FieldType::Named(name) => {
                        let ident = format_ident!("{}", name);
                        quote! { .map(super::#ident::from) }
                    }
                    _ => quote! {},
                };
                let mut expr = quote! {
                    json::read_string(record, #path)?
                        .map(|raw| match raw.as_str() { #(#arms)* _ => #otherwise })
                        #convert
                };
                if *required || !optional_in_struct {
                    expr = quote! { json::required(#expr, #path)? };
                }
                quote! { #ident: #expr, }
            }
            Read::Scalar {
                field,
                ty,
                path,
                required,
                values: None,
                scale,
                split,
            } => {
                let ident = field_ident(field);
                let optional_in_struct = model.field(field).is_some_and(Emitter::is_optional);
                let expr = match (scale, split) {
                    (_, Some(first)) => {
                        let path = full(path);
                        let part = quote! { json::read_string(record, #path)?.and_then(|full| transform::split_name(&full, #first)) };
                        if *required || !optional_in_struct {
                            quote! { json::required(#part, #path)? }
                        } else {
                            part
                        }
                    }
                    (scale, None) => match scale {
                        Some(factor) => {
                            let path = full(path);
                            let scaled = quote! { json::read_number(record, #path)?.map(|value| value / #factor) };
                            if *required || !optional_in_struct {
                                quote! { json::required(#scaled, #path)? }
                            } else {
                                scaled
                            }
                        }
                        None => self.read_expr(
                            ty,
                            quote! { record },
                            full(path),
                            *required || !optional_in_struct,
                        ),
                    },
                };
                quote! { #ident: #expr, }
            }
            Read::Primary {
                field,
                item_type,
                item_field,
                item_ty,
                path,
            } => {
                let ident = field_ident(field);
                let item_ident = format_ident!("{}", item_type);
                let item_field_ident = field_ident(item_field);
                let expr = self.read_expr(item_ty, quote! { record }, full(path), false);
                let wrap = if self.item_optional(model, field, item_field) {
                    quote! { Some(value) }
                } else {
                    quote! { value }
                };
                quote! {
                    #ident: #expr
                        .map(|value| vec![super::#item_ident { #item_field_ident: #wrap, ..Default::default() }])
                        .unwrap_or_default(),
                }
            }
            Read::Each {
                field,
                item_type,
                subs,
                path,
            } => {
                let ident = field_ident(field);
                let item_ident = format_ident!("{}", item_type);
                let sub_fields = subs.iter().map(|(sub, ty, sub_path)| {
                    let sub_ident = field_ident(sub);
                    let required = !self.item_optional(model, field, sub);
                    let expr = self.read_expr(ty, quote! { item }, path_text(sub_path), required);
                    quote! { #sub_ident: #expr, }
                });
                let path = full(path);
                // Fill the item's unmapped fields with defaults, when it has any.
                let every_field_read = match self.models.get(item_type).map(|t| &t.kind) {
                    Some(crate::ir::TypeKind::Object(fields)) => fields
                        .iter()
                        .all(|f| subs.iter().any(|(sub, _, _)| *sub == f.name)),
                    _ => false,
                };
                let rest = if every_field_read {
                    quote! {}
                } else {
                    quote! { ..Default::default() }
                };
                quote! {
                    #ident: json::read_array(record, #path)?
                        .iter()
                        .map(|item| Ok(super::#item_ident { #(#sub_fields)* #rest }))
                        .collect::<Result<Vec<_>, json::ReadError>>()?,
                }
            }
            Read::EachString { field, path, sub } => {
                let ident = field_ident(field);
                let path = full(path);
                let sub = path_text(sub);
                quote! {
                    #ident: {
                        let mut ids: Vec<String> = Vec::new();
                        for item in json::read_array(record, #path)? {
                            if let Some(id) = json::read_string(item, #sub)?
                                && !ids.contains(&id)
                            {
                                ids.push(id);
                            }
                        }
                        ids
                    },
                }
            }
            Read::Record { field } => {
                let ident = field_ident(field);
                let path = path_text(envelope);
                quote! { #ident: json::read_json(record, #path), }
            }
        }
    }
}
