//! `link_<model>_<target>`: connects two records through the provider's own endpoint.

use super::*;

impl Emitter<'_> {
    pub(in crate::emit) fn link_action(&self, cx: &MappingCx, link: &LinkAction) -> TokenStream {
        let call = &link.call;
        let (name, ident) = cx.action(ActionKind::Link(link.target.clone()));
        let from_name = format!("{}_id", snake(&cx.model.name));
        let to_name = format!("{}_id", link.target);
        let (from, to) = (format_ident!("{}", from_name), format_ident!("{}", to_name));
        let operation = &call.operation;
        let method = method_variant(&call.method);
        let params: Vec<(&str, TokenStream)> = link
            .params
            .iter()
            .map(|(param, is_from)| {
                let id = if *is_from { &from } else { &to };
                (param.as_str(), quote! { json::encode_segment(#id) })
            })
            .collect();
        let path = path_with(&call.path, &params);
        let body = match &link.body {
            Some(json) => {
                let ids = |placeholder: &str| match placeholder {
                    "from" => Some(quote! { #from }),
                    "to" => Some(quote! { #to }),
                    _ => None,
                };
                let json = json_value(json, &ids, &cx.model.name);
                quote! { .json(#json) }
            }
            None => quote! {},
        };
        let doc_line = cx.describe(
            &format!("Links a {} to a {}", cx.model.name, link.target),
            call,
        );
        quote! {
            #[doc = #doc_line]
            pub async fn #ident(runtime: &Runtime, connection: &Connection, #from: &str, #to: &str) -> Result<(), Error> {
                let logged = || json::object([(#from_name, #from.into()), (#to_name, #to.into())]);
                PROVIDER.run(runtime, connection, #name, logged, async move {
                    let mut problems = Vec::new();
                    for (field, id) in [(#from_name, #from), (#to_name, #to)] {
                        if id.trim().is_empty() {
                            problems.push(FieldError::new(field, "must not be empty"));
                        }
                    }
                    Error::check(problems)?;
                    let request = Request::new(#operation, Method::#method, #path) #body;
                    runtime.send(connection, &PROVIDER, request).await?;
                    Ok(())
                })
                .await
            }
        }
    }
}
