//! Composite actions: their input and output types and the function running their steps.

use super::*;

impl Emitter<'_> {
    /// A composite action: its input and output types and a function that runs its
    /// steps through the unified actions, inside its own span.
    pub(super) fn composite(&self, composite: &Composite) -> TokenStream {
        let rt = &self.rt;
        let (derives, serde_crate) = self.serde_attrs();
        let camel = camel_case(&composite.name);
        let input_ident = format_ident!("{}Input", camel);
        let output_ident = format_ident!("{}Output", camel);
        let fn_ident = format_ident!("{}", composite.name);
        let name = &composite.name;
        let docs = doc(&composite.description);
        // What the step of an input does with it, for the fields' docs.
        let found_with = |field: &str| {
            composite.steps.iter().find_map(|step| match step {
                Step::FindOrCreate {
                    input,
                    find: Some((action, _)),
                    ..
                } if input == field => Some(action.as_str()),
                _ => None,
            })
        };
        let input_fields = composite.inputs.iter().map(|(field, model)| {
            let ident = field_ident(field);
            let ty = format_ident!("{}Input", model);
            let field_doc = match found_with(field) {
                Some(action) => {
                    format!(" The {model}: found with [`{action}`], or created from these fields.")
                }
                None => format!(" The {model} to create."),
            };
            quote! { #[doc = #field_doc] pub #ident: #ty, }
        });
        let output_fields: Vec<TokenStream> = composite
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::FindOrCreate { input, model, .. } | Step::Create { input, model, .. } => {
                    let ident = field_ident(input);
                    let ty = format_ident!("{}", model);
                    let field_doc = match found_with(input) {
                        Some(_) => format!(" The {model} found or created."),
                        None => format!(" The {model} created."),
                    };
                    Some(quote! { #[doc = #field_doc] pub #ident: #ty, })
                }
                Step::Link { .. } => None,
            })
            .collect();
        let output_names: Vec<Ident> = composite
            .steps
            .iter()
            .filter_map(|step| match step {
                Step::FindOrCreate { input, .. } | Step::Create { input, .. } => {
                    Some(field_ident(input))
                }
                Step::Link { .. } => None,
            })
            .collect();
        let validations = composite.inputs.iter().map(|(field, _)| {
            let ident = field_ident(field);
            let prefix = format!("{field}.");
            quote! { input.#ident.validate_into(#prefix, &mut problems); }
        });
        let reference = |r: &StepRef| {
            let step = field_ident(&r.step);
            let field = field_ident(&r.field);
            if r.optional {
                quote! { #step.#field.clone().unwrap_or_default() }
            } else {
                quote! { #step.#field.clone() }
            }
        };
        let steps = composite.steps.iter().map(|step| match step {
            Step::FindOrCreate { input, model, set, .. } | Step::Create { input, model, set } => {
                let var = field_ident(input);
                let create = format_ident!("create_{}", snake(model));
                let sets = set.iter().map(|(field, optional, r)| {
                    let field = field_ident(field);
                    let value = reference(r);
                    if *optional { quote! { step.#field = Some(#value); } } else { quote! { step.#field = #value; } }
                });
                let create_call = if set.is_empty() {
                    quote! { #rt::support::boxed(#create(runtime, connection, &input.#var)).await? }
                } else {
                    quote! {{
                        let mut step = input.#var.clone();
                        #(#sets)*
                        #rt::support::boxed(#create(runtime, connection, &step)).await?
                    }}
                };
                match step {
                    Step::FindOrCreate { find: Some((action, key)), .. } => {
                        let action = format_ident!("{}", action);
                        let key_expr = key_expr(key);
                        quote! {
                            let #var = match #key_expr {
                                Some(key) if !key.trim().is_empty() => #rt::support::boxed(#action(runtime, connection, key)).await?,
                                _ => None,
                            };
                            let #var = match #var {
                                Some(found) => found,
                                None => #create_call,
                            };
                        }
                    }
                    _ => quote! { let #var = #create_call; },
                }
            }
            Step::Link { action, from, to } => {
                let action = format_ident!("{}", action);
                let from = reference(from);
                let to = reference(to);
                quote! { #rt::support::boxed(#action(runtime, connection, &#from, &#to)).await?; }
            }
        });
        let input_doc = format!(" The input of [`{}`].", composite.name);
        let output_doc = format!(" What [`{}`] found or created.", composite.name);
        let schema_derive = self.schema_derive();
        quote! {
            #[doc = #input_doc]
            #derives
            #[derive(::std::default::Default)]
            #schema_derive
            #[serde(crate = #serde_crate)]
            pub struct #input_ident {
                #(#input_fields)*
            }
            #[doc = #output_doc]
            #derives
            #schema_derive
            #[serde(crate = #serde_crate)]
            pub struct #output_ident {
                #(#output_fields)*
            }
            #docs
            ///
            /// Every input is validated before the first request; each step is a unified
            /// action running as a child span of this one.
            pub async fn #fn_ident(runtime: &#rt::Runtime, connection: &#rt::Connection, input: &#input_ident) -> ::std::result::Result<#output_ident, #rt::Error> {
                #rt::support::run_action(runtime, connection.provider(), connection, #name, SENSITIVE_FIELDS, || #rt::support::input_json(input), async move {
                    let mut problems = ::std::vec::Vec::new();
                    #(#validations)*
                    #rt::Error::check(problems)?;
                    #(#steps)*
                    ::std::result::Result::Ok(#output_ident { #(#output_names),* })
                })
                .await
            }
        }
    }
}
