//! Registry entries: each action's `ActionInfo` and its arms in `invoke` and `check`.

use super::*;

impl Emitter<'_> {
    /// The registry entry of a unified action.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn registry_entry(
        &self,
        fn_name: &str,
        doc: &str,
        model_def: &TypeDef,
        providers: &[&Provider],
        shape: &Shape,
        input_ident: &Ident,
        upsert: Option<String>,
    ) -> RegistryEntry {
        let rt = &self.rt;
        let fn_ident = format_ident!("{}", fn_name);
        let model = model_def.name.as_str();
        let description = match &model_def.description {
            Some(about) => format!("{doc}. {model}: {}", about.trim()),
            None => format!("{doc}."),
        };
        let input_check = quote! {
            let input: #input_ident = #rt::__private::arguments(arguments.clone())?;
            #rt::Error::check(input.validate())
        };
        let check = match shape {
            Shape::Create | Shape::Upsert => input_check,
            Shape::Get | Shape::Delete => quote! {
                #rt::__private::string_argument(arguments, "id")?;
                ::std::result::Result::Ok(())
            },
            Shape::Update => quote! {
                #rt::__private::string_argument(arguments, "id")?;
                let patch = arguments.get("patch").cloned().unwrap_or_else(|| #rt::__private::serde_json::Value::Object(::std::default::Default::default()));
                let patch: #input_ident = #rt::__private::arguments(patch).map_err(|error| error.within("patch"))?;
                #rt::Error::check(patch.validate()).map_err(|error| error.within("patch"))
            },
            Shape::Find(key) => quote! {
                #rt::__private::string_argument(arguments, #key)?;
                ::std::result::Result::Ok(())
            },
            Shape::Link(from, to) => quote! {
                #rt::__private::string_argument(arguments, #from)?;
                #rt::__private::string_argument(arguments, #to)?;
                ::std::result::Result::Ok(())
            },
        };
        let (kind, read_only, retry_as, arguments_doc, arm) = match shape {
            Shape::Create => (
                "Create",
                false,
                upsert,
                format!("the {model}Input fields"),
                quote! {
                    let input: #input_ident = #rt::__private::arguments(arguments)?;
                    #rt::__private::output(#fn_ident(runtime, connection, &input).await?)
                },
            ),
            Shape::Upsert => (
                "Upsert",
                false,
                Some(fn_name.to_string()),
                format!("the {model}Input fields"),
                quote! {
                    let input: #input_ident = #rt::__private::arguments(arguments)?;
                    #rt::__private::output(#fn_ident(runtime, connection, &input).await?)
                },
            ),
            Shape::Get | Shape::Delete => (
                if matches!(shape, Shape::Get) {
                    "Get"
                } else {
                    "Delete"
                },
                matches!(shape, Shape::Get),
                Some(fn_name.to_string()),
                "id: the provider's id of the record".to_string(),
                quote! {
                    let id = #rt::__private::string_argument(&arguments, "id")?;
                    #rt::__private::output(#fn_ident(runtime, connection, &id).await?)
                },
            ),
            Shape::Update => (
                "Update",
                false,
                Some(fn_name.to_string()),
                format!(
                    "id: the provider's id of the record; patch: the {model}Input fields to change"
                ),
                quote! {
                    let id = #rt::__private::string_argument(&arguments, "id")?;
                    let patch = arguments.get("patch").cloned().unwrap_or_else(|| #rt::__private::serde_json::Value::Object(::std::default::Default::default()));
                    let patch: #input_ident = #rt::__private::arguments(patch).map_err(|error| error.within("patch"))?;
                    #rt::__private::output(#fn_ident(runtime, connection, &id, &patch).await?)
                },
            ),
            Shape::Find(key) => (
                "Find",
                true,
                Some(fn_name.to_string()),
                format!("{key}: the value to look for"),
                quote! {
                    let key = #rt::__private::string_argument(&arguments, #key)?;
                    #rt::__private::output(#fn_ident(runtime, connection, &key).await?)
                },
            ),
            Shape::Link(from, to) => (
                "Link",
                false,
                Some(fn_name.to_string()),
                format!("{from}, {to}: the provider ids of the two records"),
                quote! {
                    let from = #rt::__private::string_argument(&arguments, #from)?;
                    let to = #rt::__private::string_argument(&arguments, #to)?;
                    #rt::__private::output(#fn_ident(runtime, connection, &from, &to).await?)
                },
            ),
        };
        let kind = format_ident!("{}", kind);
        let (input_schema, output_schema) = self.schemas(shape, model, input_ident);
        let retry_as = match retry_as {
            Some(name) => quote! { ::std::option::Option::Some(#name) },
            None => quote! { ::std::option::Option::None },
        };
        let provider_names = providers.iter().map(|p| p.name.as_str());
        RegistryEntry {
            info: quote! {
                #rt::ActionInfo {
                    name: #fn_name,
                    description: #description,
                    kind: #rt::ActionKind::#kind,
                    model: #model,
                    providers: &[#(#provider_names),*],
                    read_only: #read_only,
                    retry_as: #retry_as,
                    arguments: #arguments_doc,
                    input_schema: #input_schema,
                    output_schema: #output_schema,
                }
            },
            arm: quote! {
                #fn_name => { #arm }
            },
            check: quote! {
                #fn_name => { #check }
            },
        }
    }

    /// The `input_schema` and `output_schema` functions of a unified action's
    /// `ActionInfo`: the arguments exactly as its arm in `invoke` reads them, and what it
    /// returns.
    pub(super) fn schemas(
        &self,
        shape: &Shape,
        model: &str,
        input_ident: &Ident,
    ) -> (TokenStream, TokenStream) {
        let rt = &self.rt;
        let model_ident = format_ident!("{}", model);
        let schema = quote! { #rt::__private::schema };
        let record = quote! { #schema::output::<#model_ident> };
        let nothing = quote! { #schema::output::<()> };
        match shape {
            Shape::Create | Shape::Upsert => (quote! { #schema::input::<#input_ident> }, record),
            Shape::Get => (quote! { #schema::id_arguments }, record),
            Shape::Delete => (quote! { #schema::id_arguments }, nothing),
            Shape::Update => (quote! { #schema::update_arguments::<#input_ident> }, record),
            Shape::Find(key) => {
                let about = format!("The {key} to look for.");
                (
                    quote! { || #schema::string_arguments(&[(#key, #about)]) },
                    quote! { #schema::output::<::std::option::Option<#model_ident>> },
                )
            }
            Shape::Link(from, to) => {
                let about = |name: &str| {
                    format!("The provider's id of the {}.", name.trim_end_matches("_id"))
                };
                let (from_about, to_about) = (about(from), about(to));
                (
                    quote! { || #schema::string_arguments(&[(#from, #from_about), (#to, #to_about)]) },
                    nothing,
                )
            }
        }
    }

    /// The registry entry of a composite action: its input type is the arguments.
    pub(super) fn composite_entry(&self, composite: &Composite) -> RegistryEntry {
        let rt = &self.rt;
        let name = &composite.name;
        let fn_ident = format_ident!("{}", name);
        let input_ident = format_ident!("{}Input", camel_case(name));
        let output_ident = format_ident!("{}Output", camel_case(name));
        let description = composite
            .description
            .as_deref()
            .and_then(|text| text.split("\n\n").next())
            .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let fields = composite
            .inputs
            .iter()
            .map(|(field, model)| format!("{field}: {model}Input"))
            .collect::<Vec<_>>()
            .join("; ");
        let nested = composite.inputs.iter().map(|(field, _)| {
            let ident = field_ident(field);
            let prefix = format!("{field}.");
            quote! { input.#ident.validate_into(#prefix, &mut problems); }
        });
        RegistryEntry {
            info: quote! {
                #rt::ActionInfo {
                    name: #name,
                    description: #description,
                    kind: #rt::ActionKind::Composite,
                    model: "",
                    providers: PROVIDERS,
                    read_only: false,
                    retry_as: ::std::option::Option::None,
                    arguments: #fields,
                    input_schema: #rt::__private::schema::input::<#input_ident>,
                    output_schema: #rt::__private::schema::output::<#output_ident>,
                }
            },
            arm: quote! {
                #name => {
                    let input: #input_ident = #rt::__private::arguments(arguments)?;
                    #rt::__private::output(#fn_ident(runtime, connection, &input).await?)
                }
            },
            check: quote! {
                #name => {
                    let input: #input_ident = #rt::__private::arguments(arguments.clone())?;
                    let mut problems = ::std::vec::Vec::new();
                    #(#nested)*
                    #rt::Error::check(problems)
                }
            },
        }
    }
}

/// How a unified action takes its arguments, for the registry's `invoke`.
#[derive(Clone)]
pub(super) enum Shape {
    Create,
    Get,
    Update,
    Delete,
    Upsert,
    /// The key's name (`email`).
    Find(String),
    /// The two id parameters.
    Link(String, String),
}

/// One entry of the registry: its `ActionInfo`, its arm in `invoke` and in `check`.
pub(super) struct RegistryEntry {
    pub(super) info: TokenStream,
    pub(super) arm: TokenStream,
    pub(super) check: TokenStream,
}

/// `create_opportunity_with_links` → `CreateOpportunityWithLinks`.
/// A marker type implementing `TypedAction` for the action `name`.
pub(super) fn typed_action(
    rt: &syn::Path,
    name: &str,
    arguments: TokenStream,
    output: TokenStream,
) -> TokenStream {
    let ident = format_ident!("{}", camel_case(name));
    let doc = format!(
        " `{name}` as a type: its arguments and output for typed calls by name (`TypedAction`)."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug)]
        pub struct #ident;
        impl #rt::TypedAction for #ident {
            const NAME: &'static str = #name;
            type Arguments = #arguments;
            type Output = #output;
        }
    }
}
