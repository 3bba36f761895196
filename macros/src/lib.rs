//! `unifold::generate!("path")`: the proc-macro front end of unifold-codegen.
//!
//! The path is a project folder (with `unified-models/` and `providers/`) relative to
//! the calling crate's `CARGO_MANIFEST_DIR`. Problems in the YAML become compile
//! errors whose text carries `file:line:column`, the YAML line and a caret.
//!
//! A project that maps unified models kept elsewhere names their folders, also
//! relative to `CARGO_MANIFEST_DIR`, in place of its own `unified-models/`:
//!
//! ```ignore
//! unifold::generate!("examples/pipedrive", models = "unified-models");
//! unifold::generate!("examples/billing", models = ["unified-models", "examples/billing/unified-models"]);
//! ```

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token, bracketed, parse_macro_input};

/// The macro's arguments: the project folder and, optionally, the model folders.
struct Arguments {
    project: LitStr,
    models: Vec<LitStr>,
}

impl Parse for Arguments {
    fn parse(input: ParseStream<'_>) -> syn::Result<Arguments> {
        let project: LitStr = input.parse()?;
        let mut models = Vec::new();
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            if key != "models" {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown option `{key}`; the one option is `models = \"dir\"` or `models = [\"dir\", ...]`"
                    ),
                ));
            }
            input.parse::<Token![=]>()?;
            if input.peek(syn::token::Bracket) {
                let list;
                bracketed!(list in input);
                let dirs = list.parse_terminated(|item| item.parse::<LitStr>(), Token![,])?;
                models.extend(dirs);
            } else {
                models.push(input.parse()?);
            }
        }
        Ok(Arguments { project, models })
    }
}

#[proc_macro]
pub fn generate(input: TokenStream) -> TokenStream {
    let arguments = parse_macro_input!(input as Arguments);
    let literal = arguments.project;
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let manifest_dir = std::path::Path::new(&manifest_dir);
    let root = manifest_dir.join(literal.value());
    let layout = unifold_codegen::Layout::conventional(root).with_models_dirs(
        arguments
            .models
            .iter()
            .map(|dir| manifest_dir.join(dir.value())),
    );
    let missing = unifold_codegen::preflight::missing_folders(&layout);
    if !missing.is_empty() {
        let errors = missing.iter().map(|missing| {
            let message = format!(
                "unifold: {missing} (generate!'s paths are relative to the crate's folder, CARGO_MANIFEST_DIR = `{}`)",
                manifest_dir.display()
            );
            syn::Error::new(literal.span(), message).to_compile_error()
        });
        return quote! { #(#errors)* }.into();
    }
    match unifold_codegen::generate(&layout, "::unifold") {
        Ok(generated) => {
            let code: proc_macro2::TokenStream = match generated.code.parse() {
                Ok(code) => code,
                Err(error) => {
                    return syn::Error::new(
                        literal.span(),
                        format!("unifold: generated code did not parse: {error}"),
                    )
                    .to_compile_error()
                    .into();
                }
            };
            // Rebuild when any input changes: the compiler tracks include_str! files.
            let anchors = generated.inputs.iter().map(|path| {
                let path = path.display().to_string();
                quote! { const _: &str = include_str!(#path); }
            });
            quote! { #(#anchors)* #code }.into()
        }
        Err((problems, inputs)) => {
            let anchors = inputs.iter().map(|path| {
                let path = path.display().to_string();
                quote! { const _: &str = include_str!(#path); }
            });
            let errors = problems.iter().map(|problem| {
                syn::Error::new(
                    literal.span(),
                    format!("unifold: {}", problem.render_plain()),
                )
                .to_compile_error()
            });
            quote! { #(#anchors)* #(#errors)* }.into()
        }
    }
}
