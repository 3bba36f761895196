//! `unifold::generate!("path")`: the proc-macro front end of unifold-codegen.
//!
//! The path is a project folder (with `unified-models/` and `providers/`) relative to
//! the calling crate's `CARGO_MANIFEST_DIR`. Problems in the YAML become compile
//! errors whose text carries `file:line:column`, the YAML line and a caret.

use proc_macro::TokenStream;
use quote::quote;
use syn::{LitStr, parse_macro_input};

#[proc_macro]
pub fn generate(input: TokenStream) -> TokenStream {
    let literal = parse_macro_input!(input as LitStr);
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = std::path::Path::new(&manifest_dir).join(literal.value());
    let layout = unifold_codegen::Layout::conventional(root);
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
