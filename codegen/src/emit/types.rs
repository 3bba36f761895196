//! The unified types: models as read and write structs, shared types, open enums,
//! and their validation.

use super::*;

impl Emitter<'_> {
    pub(super) fn rust_type(&self, ty: &FieldType) -> TokenStream {
        let rt = &self.rt;
        match ty {
            FieldType::String => quote! { ::std::string::String },
            FieldType::Integer => quote! { i64 },
            FieldType::Number => quote! { f64 },
            FieldType::Boolean => quote! { bool },
            FieldType::DateTime => quote! { #rt::DateTime },
            FieldType::Date => quote! { #rt::Date },
            FieldType::Json => quote! { #rt::__private::serde_json::Value },
            FieldType::Named(name) => {
                let ident = format_ident!("{}", name);
                quote! { #ident }
            }
            FieldType::List(item) => {
                let item = self.rust_type(item);
                quote! { ::std::vec::Vec<#item> }
            }
        }
    }

    /// Lists and json are never optional (empty / null instead); other fields are
    /// optional unless required.
    pub(super) fn is_optional(field: &Field) -> bool {
        !field.required && !matches!(field.ty, FieldType::List(_) | FieldType::Json)
    }

    /// The JSON Schema keywords of a field's validation rules: the email format always
    /// (an annotation), lengths only on input, where they are checked; a record read
    /// from a provider is described as it is, not as it would have to be written.
    pub(super) fn schema_constraints(field: &Field, input: bool) -> TokenStream {
        if !matches!(field.ty, FieldType::String) {
            return quote! {};
        }
        let email = if field.format.as_deref() == Some("email") {
            quote! { #[schemars(email)] }
        } else {
            quote! {}
        };
        let min = input && field.required;
        let length = match (field.max_length.filter(|_| input), min) {
            (Some(max), true) => quote! { #[schemars(length(min = 1, max = #max))] },
            (Some(max), false) => quote! { #[schemars(length(max = #max))] },
            (None, true) => quote! { #[schemars(length(min = 1))] },
            (None, false) => quote! {},
        };
        quote! { #email #length }
    }

    pub(super) fn struct_field(&self, field: &Field, input: bool) -> TokenStream {
        let rt = &self.rt;
        let ident = field_ident(&field.name);
        let docs = doc(&field.description);
        let docs = {
            let constraints = Self::schema_constraints(field, input);
            quote! { #docs #constraints }
        };
        let ty = self.rust_type(&field.ty);
        match &field.ty {
            FieldType::List(_) => quote! {
                #docs
                #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                pub #ident: #ty,
            },
            FieldType::Json => {
                let is_null = format!(
                    "{}::__private::serde_json::Value::is_null",
                    quote!(#rt).to_string().replace(' ', "")
                );
                quote! {
                    #docs
                    #[serde(default, skip_serializing_if = #is_null)]
                    pub #ident: #ty,
                }
            }
            _ if Self::is_optional(field) => quote! {
                #docs
                #[serde(default, skip_serializing_if = "::std::option::Option::is_none")]
                pub #ident: ::std::option::Option<#ty>,
            },
            _ => quote! {
                #docs
                pub #ident: #ty,
            },
        }
    }

    /// `JsonSchema` for a struct, through the runtime's re-export of schemars: what the
    /// actions' argument and output schemas (the MCP tools' schemas) are built from.
    pub(super) fn schema_derive(&self) -> TokenStream {
        let rt = &self.rt;
        let schemars_crate = format!(
            "{}::__private::schemars",
            quote!(#rt).to_string().replace(' ', "")
        );
        quote! {
            #[derive(#rt::__private::schemars::JsonSchema)]
            #[schemars(crate = #schemars_crate)]
        }
    }

    pub(super) fn serde_attrs(&self) -> (TokenStream, String) {
        let rt = &self.rt;
        let derives = quote! {
            #[derive(::std::clone::Clone, ::std::fmt::Debug, ::std::cmp::PartialEq, #rt::__private::serde::Serialize, #rt::__private::serde::Deserialize)]
        };
        let serde_crate = format!(
            "{}::__private::serde",
            quote!(#rt).to_string().replace(' ', "")
        );
        (derives, serde_crate)
    }

    pub(super) fn type_def(&self, def: &TypeDef) -> TokenStream {
        let ident = format_ident!("{}", def.name);
        let docs = doc(&def.description);
        let (derives, serde_crate) = self.serde_attrs();
        let schema_derive = self.schema_derive();
        let rt = &self.rt;
        match &def.kind {
            TypeKind::Enum(values) => {
                let name = def.name.as_str();
                let variants: Vec<Ident> = values.iter().map(|v| variant_ident(v)).collect();
                let values_lit = values.iter();
                let values_lit2 = values.iter();
                let variants2 = variants.clone();
                let variant_docs = values.iter().map(|v| format!(" `{v}`"));
                quote! {
                    #docs
                    ///
                    /// An open enum: values this version does not know arrive as `Other`.
                    #derives
                    #[serde(crate = #serde_crate, from = "::std::string::String", into = "::std::string::String")]
                    pub enum #ident {
                        #(#[doc = #variant_docs] #variants,)*
                        /// A value not listed in the unified model, kept as sent.
                        Other(::std::string::String),
                    }
                    impl #ident {
                        /// The value as the unified model spells it.
                        pub fn as_str(&self) -> &str {
                            match self {
                                #(Self::#variants => #values_lit,)*
                                Self::Other(value) => value,
                            }
                        }
                    }
                    impl ::std::convert::From<::std::string::String> for #ident {
                        fn from(value: ::std::string::String) -> Self {
                            match value.as_str() {
                                #(#values_lit2 => Self::#variants2,)*
                                _ => Self::Other(value),
                            }
                        }
                    }
                    impl ::std::convert::From<#ident> for ::std::string::String {
                        fn from(value: #ident) -> Self {
                            value.as_str().to_string()
                        }
                    }
                    impl #rt::__private::schemars::JsonSchema for #ident {
                        fn schema_name() -> ::std::borrow::Cow<'static, str> {
                            ::std::borrow::Cow::Borrowed(#name)
                        }
                        fn json_schema(_: &mut #rt::__private::schemars::SchemaGenerator) -> #rt::__private::schemars::Schema {
                            #rt::__private::schema::open_enum(&[#(#values),*])
                        }
                    }
                }
            }
            TypeKind::Object(fields) if def.is_model => {
                let read_fields = fields
                    .iter()
                    .filter(|f| !f.write_only)
                    .map(|f| self.struct_field(f, false));
                let input_fields: Vec<&Field> = fields.iter().filter(|f| !f.read_only).collect();
                let write_fields = input_fields.iter().map(|f| self.struct_field(f, true));
                let input_ident = format_ident!("{}Input", def.name);
                let input_doc = format!(
                    " The fields of a {} that can be written (create and update input).",
                    def.name
                );
                let validate = self.validate_impl(&input_ident, &input_fields);
                let conversions =
                    self.input_conversions(&ident, &input_ident, fields, &input_fields);
                quote! {
                    #docs
                    #derives
                    #[derive(::std::default::Default)]
                    #schema_derive
                    #[serde(crate = #serde_crate)]
                    pub struct #ident {
                        #(#read_fields)*
                    }
                    #[doc = #input_doc]
                    #derives
                    #[derive(::std::default::Default)]
                    #schema_derive
                    #[serde(crate = #serde_crate, deny_unknown_fields)]
                    pub struct #input_ident {
                        #(#write_fields)*
                    }
                    #validate
                    #conversions
                }
            }
            TypeKind::Object(fields) => {
                // Nested types serve reads and writes alike: only the email format
                // (an annotation) goes into their schema.
                let all = fields.iter().map(|f| self.struct_field(f, false));
                let refs: Vec<&Field> = fields.iter().collect();
                let validate = self.validate_impl(&ident, &refs);
                quote! {
                    #docs
                    #derives
                    #[derive(::std::default::Default)]
                    #schema_derive
                    #[serde(crate = #serde_crate)]
                    pub struct #ident {
                        #(#all)*
                    }
                    #validate
                }
            }
        }
    }

    /// `From<Contact> for ContactInput` (the writable part of a read record) and
    /// `ContactInput::or` (a patch laid over a fallback), used by updates that must
    /// send whole values.
    pub(super) fn input_conversions(
        &self,
        ident: &Ident,
        input_ident: &Ident,
        fields: &[Field],
        input_fields: &[&Field],
    ) -> TokenStream {
        let from = input_fields.iter().map(|field| {
            let name = field_ident(&field.name);
            if fields.iter().any(|f| f.name == field.name && !f.write_only) {
                quote! { #name: record.#name, }
            } else {
                quote! { #name: ::std::default::Default::default(), }
            }
        });
        let or = input_fields.iter().map(|field| {
            let name = field_ident(&field.name);
            match &field.ty {
                FieldType::List(_) => quote! { #name: if self.#name.is_empty() { fallback.#name } else { self.#name }, },
                FieldType::Json => quote! { #name: if self.#name.is_null() { fallback.#name } else { self.#name }, },
                _ if Emitter::is_optional(field) => quote! { #name: self.#name.or(fallback.#name), },
                _ => quote! { #name: self.#name, },
            }
        });
        let from_doc = format!(" The writable fields of a {ident}, e.g. to send it back whole.");
        let or: Vec<TokenStream> = or.collect();
        let fallback = if or.is_empty() {
            quote! { _ }
        } else {
            quote! { fallback }
        };
        quote! {
            impl ::std::convert::From<#ident> for #input_ident {
                #[doc = #from_doc]
                fn from(record: #ident) -> Self {
                    Self { #(#from)* }
                }
            }
            impl #input_ident {
                /// This input with every unset field taken from `fallback`.
                pub fn or(self, #fallback: Self) -> Self {
                    Self { #(#or)* }
                }
            }
        }
    }

    /// `validate()` checks the unified model's own rules (formats, lengths, required
    /// values); provider-specific requirements are checked in each provider's action.
    pub(super) fn validate_impl(&self, ident: &Ident, fields: &[&Field]) -> TokenStream {
        let rt = &self.rt;
        let mut checks = Vec::new();
        for field in fields {
            let name = field_ident(&field.name);
            let label = format!("{{prefix}}{}", field.name);
            let item_label = format!("{{prefix}}{}[{{index}}].", field.name);
            let nested_label = format!("{{prefix}}{}.", field.name);
            let mut on_value = Vec::new();
            if matches!(field.ty, FieldType::String) {
                if field.format.as_deref() == Some("email") {
                    on_value.push(
                        quote! { #rt::validate::email(problems, ::std::format!(#label), value); },
                    );
                }
                if let Some(max) = field.max_length {
                    on_value.push(quote! { #rt::validate::max_length(problems, ::std::format!(#label), value, #max); });
                }
                if field.required {
                    on_value.push(quote! { #rt::validate::not_empty(problems, ::std::format!(#label), value); });
                }
            }
            let nested = match &field.ty {
                FieldType::Named(name) => self
                    .models
                    .get(name)
                    .is_some_and(|t| matches!(t.kind, TypeKind::Object(_))),
                FieldType::List(item) => {
                    matches!(item.as_ref(), FieldType::Named(name) if self.models.get(name).is_some_and(|t| matches!(t.kind, TypeKind::Object(_))))
                }
                _ => false,
            };
            match (&field.ty, nested) {
                (FieldType::List(_), true) => checks.push(quote! {
                    for (index, item) in self.#name.iter().enumerate() {
                        item.validate_into(&::std::format!(#item_label), problems);
                    }
                }),
                (_, true) if Emitter::is_optional(field) => checks.push(quote! {
                    if let ::std::option::Option::Some(item) = &self.#name {
                        item.validate_into(&::std::format!(#nested_label), problems);
                    }
                }),
                (_, true) => checks.push(
                    quote! { self.#name.validate_into(&::std::format!(#nested_label), problems); },
                ),
                _ if on_value.is_empty() => {}
                _ if Emitter::is_optional(field) => checks.push(quote! {
                    if let ::std::option::Option::Some(value) = &self.#name {
                        #(#on_value)*
                    }
                }),
                _ => checks.push(quote! {
                    let value = &self.#name;
                    #(#on_value)*
                }),
            }
        }
        // Nothing to check: the parameters are not used.
        let (prefix, problems) = if checks.is_empty() {
            (quote! { _ }, quote! { _ })
        } else {
            (quote! { prefix }, quote! { problems })
        };
        quote! {
            impl #ident {
                /// Every problem with this value under the unified model's rules; empty when valid.
                pub fn validate(&self) -> ::std::vec::Vec<#rt::FieldError> {
                    let mut problems = ::std::vec::Vec::new();
                    self.validate_into("", &mut problems);
                    problems
                }
                #[doc(hidden)]
                pub fn validate_into(&self, #prefix: &str, #problems: &mut ::std::vec::Vec<#rt::FieldError>) {
                    #(#checks)*
                }
            }
        }
    }
}
