//! The endpoint table: one `Operation` constant per operation of the document (method,
//! path template, path parameters, query keys and flags, safety), and the list of all.

use oas3::spec::{ObjectOrReference, Parameter, ParameterIn};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::doc::{Doc, ext_str};
use super::names::{doc_attrs, snake_case};

/// The table's items.
pub(super) fn generate(doc: &Doc) -> Result<Vec<TokenStream>, String> {
    let spec = &doc.spec;
    let paths = spec.paths.as_ref().ok_or("the document has no paths")?;
    let mut items = Vec::new();
    let mut names = Vec::new();
    for (path, item) in paths.iter() {
        for (method, op) in item.methods() {
            let id = op
                .operation_id
                .as_deref()
                .ok_or_else(|| format!("{method} {path} has no operationId"))?;
            let what = format!("{method} {path}");
            let code = ext_str(&op.extensions, "vi-operation")
                .ok_or_else(|| format!("{what}: no x-vi-operation"))?;
            let name = ext_str(&op.extensions, "vi-name")
                .ok_or_else(|| format!("{what}: no x-vi-name"))?;
            let safety = match ext_str(&op.extensions, "vi-safety") {
                Some("safe") => quote!(Safety::Safe),
                Some("idempotent") => quote!(Safety::Idempotent),
                Some("unsafe") => quote!(Safety::Unsafe),
                other => {
                    return Err(format!(
                        "{what}: x-vi-safety {other:?} is not safe|idempotent|unsafe"
                    ));
                }
            };
            let mut parameters = Vec::new();
            for p in item.parameters.iter().chain(&op.parameters) {
                parameters.push(resolve(doc, p).map_err(|e| format!("{what}: {e}"))?);
            }
            let path_params: Vec<&str> = placeholders(path);
            for param in &path_params {
                if !parameters
                    .iter()
                    .any(|p| p.location == ParameterIn::Path && p.name == *param)
                {
                    return Err(format!(
                        "{what}: path parameter {{{param}}} is not declared"
                    ));
                }
            }
            let query: Vec<&str> = parameters
                .iter()
                .filter(|p| p.location == ParameterIn::Query)
                .map(|p| p.name.as_str())
                .collect();
            let flags: Vec<&str> = parameters
                .iter()
                .filter(|p| {
                    p.location == ParameterIn::Query && p.extensions.contains_key("vi-flag")
                })
                .map(|p| p.name.as_str())
                .collect();
            let has_body = op.request_body.is_some();
            let method_text = method.as_str();
            let summary = op.summary.as_deref().unwrap_or(name);
            let docs = doc_attrs(&format!("{code} `{method_text} {path}`: {summary}."), &what)?;
            let constant = format_ident!("{}", snake_case(id).to_ascii_uppercase());
            items.push(quote! {
                #(#docs)*
                pub const #constant: Operation = Operation {
                    code: #code,
                    id: #id,
                    name: #name,
                    method: #method_text,
                    path: #path,
                    path_params: &[#(#path_params),*],
                    query: &[#(#query),*],
                    flags: &[#(#flags),*],
                    has_body: #has_body,
                    safety: #safety,
                };
            });
            names.push(constant);
        }
    }
    items.push(quote! {
        /// Every operation of the document, in document order.
        pub const OPERATIONS: &[Operation] = &[#(#names),*];
    });
    Ok(items)
}

fn resolve(doc: &Doc, parameter: &ObjectOrReference<Parameter>) -> Result<Parameter, String> {
    parameter
        .resolve(&doc.spec)
        .map_err(|e| format!("cannot resolve a parameter: {e}"))
}

/// The `{name}` placeholders of a path template, in order.
fn placeholders(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}
