//! `upsert_<model>`: create, or update the record that already holds the unique key.

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn upsert_action(&self, cx: &MappingCx) -> TokenStream {
        let Some(upsert) = &cx.mapping.upsert else {
            return quote! {};
        };
        let (name, ident) = cx.action(ActionKind::Upsert);
        let (create, _) = cx.action(ActionKind::Create);
        let once = format_ident!("{}_once", create);
        let (_, update) = cx.action(ActionKind::Update);
        let (_, find) = cx.action(ActionKind::FindBy(upsert.find_by.clone()));
        let (model, input) = (&cx.record, &cx.input);
        let key = key_expr_from(quote! { input }, &upsert.key);
        let find_existing = quote! {
            let found = match #key {
                Some(key) if !key.trim().is_empty() => boxed(#find(runtime, connection, key)).await?,
                _ => None,
            };
        };
        // After a conflict a record holds the key: until it is found, the call may
        // have written.
        let find_after_conflict = quote! {
            let found = match #key {
                Some(key) if !key.trim().is_empty() => {
                    let find = boxed(#find(runtime, connection, key));
                    after_write(&PROVIDER, None, "finding it by its upsert key", find).await?
                }
                _ => None,
            };
        };
        let update_found = |id: TokenStream| {
            quote! {
                after_write(&PROVIDER, Some(#id), "updating it", boxed(#update(runtime, connection, #id, patch))).await
            }
        };
        let update_named = update_found(quote! { &id });
        let update_found = update_found(quote! { &found.remote_id });
        let body = if upsert.find_first {
            // The provider accepts duplicates: look first, then update or create.
            quote! {
                #find_existing
                match found {
                    Some(found) => #update_found,
                    None => boxed(#once(runtime, connection, input)).await,
                }
            }
        } else {
            quote! {
                match boxed(#once(runtime, connection, input)).await {
                    Err(Error::Conflict { existing_id: Some(id), .. }) => #update_named,
                    Err(conflict @ Error::Conflict { existing_id: None, .. }) => {
                        #find_after_conflict
                        match found {
                            Some(found) => #update_found,
                            None => Err(conflict),
                        }
                    }
                    other => other,
                }
            }
        };
        let patch = Self::upsert_patch(cx.mapping);
        let (record, by, provider) = (&cx.model.name, &upsert.find_by, &cx.provider.display_name);
        let doc_line = if upsert.find_first {
            format!(
                " Updates the {record} found by {by} on {provider}, or creates it when there is none."
            )
        } else {
            format!(
                " Creates a {record} on {provider}, or updates the existing one when a unique field is taken (the record the conflict names, or the one found by {by})."
            )
        };
        quote! {
            #[doc = #doc_line]
            pub async fn #ident(runtime: &Runtime, connection: &Connection, input: &#input) -> Result<#model, Error> {
                PROVIDER.run(runtime, connection, #name, || input_json(input), async move {
                    #patch
                    #body
                })
                .await
            }
        }
    }

    /// The update an upsert sends: the input without the links sent inline on create,
    /// which cannot be updated.
    fn upsert_patch(mapping: &Mapping) -> TokenStream {
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
        if clears.is_empty() {
            quote! { let patch = input; }
        } else {
            quote! {
                let mut patch = input.clone();
                #(#clears)*
                let patch = &patch;
            }
        }
    }
}
