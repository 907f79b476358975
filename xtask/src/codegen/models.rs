//! The wire models: one Rust item per component schema of the document.
//!
//! * A string schema with `enum` becomes a lenient enum: the listed values, plus
//!   `Unknown(String)` for anything else, serialized back verbatim (`x-vi-aliases` are
//!   accepted on input; `default` marks the `Default` variant).
//! * An object schema becomes a struct with serde derives and `rename_all = "camelCase"`.
//!   Decoding is lenient: keys in `x-vi-strict` must be present; every other key falls
//!   back to its default. Keys outside `required` are `Option`s left out when `None`;
//!   required keys that may be `null` are `Option`s that are always written.
//! * A schema with `x-rust-type` is hand-written: nothing is generated for it.

use std::collections::BTreeSet;

use oas3::spec::{ObjectOrReference, ObjectSchema, Schema};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::doc::{Doc, description, ext_str, ext_strings, inline};
use super::names::{doc_attrs, serde_camel, snake_case, variant_name};
use super::types::{RustType, Traits, ref_name, rust_type};

/// What the generated models need from the hand-written ones.
#[derive(Default)]
pub(super) struct Needs {
    pub(super) imports: BTreeSet<String>,
    pub(super) crc32c: bool,
    pub(super) btree_map: bool,
    /// A string enum was generated (its `Display` needs `std::fmt`).
    pub(super) fmt: bool,
}

/// The properties of an object schema (with `allOf`, those of its inline parts too).
pub(super) fn fields_of(schema: &ObjectSchema) -> Vec<(String, Schema)> {
    let mut out: Vec<(String, Schema)> = schema
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for part in schema.all_of.iter().filter_map(inline) {
        out.extend(fields_of(part));
    }
    out
}

fn required_of(schema: &ObjectSchema) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = schema.required.iter().cloned().collect();
    for part in schema.all_of.iter().filter_map(inline) {
        out.extend(required_of(part));
    }
    out
}

/// Every generated item, in document order.
pub(super) fn generate(doc: &Doc, needs: &mut Needs) -> Result<Vec<TokenStream>, String> {
    let mut traits = Traits::default();
    let mut items = Vec::new();
    for (name, schema) in doc.components() {
        if ext_str(&schema.extensions, "rust-type").is_some() {
            continue;
        }
        let item = if !schema.enum_values.is_empty() {
            needs.fmt = true;
            string_enum(name, schema)?
        } else if !schema.properties.is_empty() || !schema.all_of.is_empty() {
            structure(doc, &mut traits, needs, name, schema)?
        } else {
            return Err(format!(
                "component {name} is neither an enum nor an object with properties; give it x-rust-type"
            ));
        };
        items.push(item);
    }
    Ok(items)
}

fn string_enum(name: &str, schema: &ObjectSchema) -> Result<TokenStream, String> {
    let ident = format_ident!("{}", name);
    let docs = doc_attrs(schema.description.as_deref().unwrap_or(""), name)?;
    let values: Vec<&str> = schema
        .enum_values
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| format!("{name}: enum values must be strings"))
        })
        .collect::<Result<_, _>>()?;
    let variant_docs = ext_strings(&schema.extensions, "enum-descriptions").unwrap_or_default();
    if variant_docs.len() != values.len() {
        return Err(format!(
            "{name}: x-enum-descriptions needs one line per enum value ({} values)",
            values.len()
        ));
    }
    let default = schema.default.as_ref().and_then(serde_json::Value::as_str);
    let aliases = schema.extensions.get("vi-aliases");
    let mut variants = Vec::new();
    let mut as_str_arms = Vec::new();
    let mut from_arms = Vec::new();
    for (value, line) in values.iter().zip(&variant_docs) {
        let variant = format_ident!("{}", variant_name(value));
        let vdocs = doc_attrs(line, value)?;
        let default_attr = (default == Some(*value)).then(|| quote!(#[default]));
        variants.push(quote! { #(#vdocs)* #default_attr #variant, });
        as_str_arms.push(quote! { Self::#variant => #value, });
        let extra: Vec<String> = aliases
            .and_then(|a| a.get(*value))
            .and_then(serde_json::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        from_arms.push(quote! { #value #(| #extra)* => Self::#variant, });
    }
    let default_derive = default.map(|_| quote!(Default,));
    Ok(quote! {
        #(#docs)*
        #[derive(
            Clone, Debug, #default_derive PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(from = "String", into = "String")]
        pub enum #ident {
            #(#variants)*
            /// A value this version of the SDK does not know, kept verbatim.
            Unknown(String),
        }

        impl #ident {
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#as_str_arms)*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// True when the value is not one this SDK knows.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }

        impl From<String> for #ident {
            fn from(value: String) -> Self {
                match value.as_str() {
                    #(#from_arms)*
                    _ => Self::Unknown(value),
                }
            }
        }

        impl From<&str> for #ident {
            fn from(value: &str) -> Self {
                Self::from(value.to_owned())
            }
        }

        impl From<#ident> for String {
            fn from(value: #ident) -> String {
                match value {
                    #ident::Unknown(other) => other,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl fmt::Display for #ident {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    })
}

/// One field of a generated struct.
struct Field {
    ident: syn::Ident,
    tokens: TokenStream,
    /// Its value in a hand-made `Default`, when not `Default::default()`.
    default_value: Option<TokenStream>,
    /// An item to emit next to the struct (the function of a `default = "..."`).
    extra: Option<TokenStream>,
}

fn structure(
    doc: &Doc,
    traits: &mut Traits,
    needs: &mut Needs,
    name: &str,
    schema: &ObjectSchema,
) -> Result<TokenStream, String> {
    let ident = format_ident!("{}", name);
    let docs = doc_attrs(schema.description.as_deref().unwrap_or(""), name)?;
    let required = required_of(schema);
    let strict: BTreeSet<String> = ext_strings(&schema.extensions, "vi-strict")
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut fields = Vec::new();
    if let Some(field) = ext_str(&schema.extensions, "rust-flatten") {
        fields.push(flattened(doc, traits, needs, name, schema, field)?);
    }
    for (wire, property) in fields_of(schema) {
        let ty = rust_type(doc, traits, &property).map_err(|e| format!("{name}.{wire}: {e}"))?;
        let rust_name = schema
            .extensions
            .get("rust-names")
            .and_then(|names| names.get(&wire))
            .and_then(serde_json::Value::as_str)
            .map_or_else(|| snake_case(&wire), str::to_owned);
        let field = field(
            needs,
            name,
            &wire,
            rust_name,
            &property,
            ty,
            required.contains(&wire),
            strict.contains(&wire),
        )?;
        fields.push(field);
    }
    for key in &strict {
        if !required.contains(key) {
            return Err(format!("{name}: x-vi-strict key {key} is not required"));
        }
    }
    let (eq, copy) = traits.of(doc, name)?;
    let manual = ext_strings(&schema.extensions, "rust-manual").unwrap_or_default();
    let custom_default = fields.iter().any(|f| f.default_value.is_some());
    let mut derives = vec![quote!(Clone)];
    if copy {
        derives.push(quote!(Copy));
    }
    if !manual.iter().any(|m| m == "Debug") {
        derives.push(quote!(Debug));
    }
    if !custom_default {
        derives.push(quote!(Default));
    }
    derives.push(quote!(PartialEq));
    if eq {
        derives.push(quote!(Eq));
    }
    let field_tokens = fields.iter().map(|f| &f.tokens);
    let extras = fields.iter().filter_map(|f| f.extra.as_ref());
    let default_impl = custom_default.then(|| default_impl(&ident, &fields));
    Ok(quote! {
        #(#docs)*
        #[derive(#(#derives,)* Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct #ident {
            #(#field_tokens)*
        }
        #default_impl
        #(#extras)*
    })
}

fn default_impl(ident: &syn::Ident, fields: &[Field]) -> TokenStream {
    let inits = fields.iter().map(|f| {
        let name = &f.ident;
        match &f.default_value {
            Some(value) => quote! { #name: #value, },
            None => quote! { #name: Default::default(), },
        }
    });
    quote! {
        impl Default for #ident {
            fn default() -> Self {
                #ident {
                    #(#inits)*
                }
            }
        }
    }
}

/// The `#[serde(flatten)]` field standing for the `$ref` part of an `allOf`.
fn flattened(
    doc: &Doc,
    traits: &mut Traits,
    needs: &mut Needs,
    name: &str,
    schema: &ObjectSchema,
    field: &str,
) -> Result<Field, String> {
    let part = schema
        .all_of
        .iter()
        .find(|p| matches!(p, Schema::Object(o) if matches!(o.as_ref(), ObjectOrReference::Ref { .. })))
        .ok_or_else(|| format!("{name}: x-rust-flatten without a $ref in allOf"))?;
    if let Schema::Object(o) = part
        && let ObjectOrReference::Ref { ref_path, .. } = o.as_ref()
    {
        ref_name(ref_path)?;
    }
    let ty = rust_type(doc, traits, part)?;
    needs.imports.extend(ty.imports.iter().cloned());
    let docs = doc_attrs(description(part).unwrap_or(""), &format!("{name}.{field}"))?;
    let ident = format_ident!("{}", field);
    let tokens = ty.tokens;
    Ok(Field {
        tokens: quote! { #(#docs)* #[serde(flatten)] pub #ident: #tokens, },
        ident,
        default_value: None,
        extra: None,
    })
}

#[allow(clippy::too_many_arguments)]
fn field(
    needs: &mut Needs,
    owner: &str,
    wire: &str,
    rust_name: String,
    property: &Schema,
    ty: RustType,
    required: bool,
    strict: bool,
) -> Result<Field, String> {
    let object = inline(property);
    let ident = format_ident!("{}", rust_name);
    let docs = doc_attrs(
        description(property).unwrap_or(""),
        &format!("{owner}.{wire}"),
    )?;
    let crc32c = object.is_some_and(|o| o.extensions.contains_key("vi-crc32c"));
    let default = object.and_then(|o| o.default.as_ref());
    needs.imports.extend(ty.imports.iter().cloned());
    needs.crc32c |= crc32c;
    needs.btree_map |= ty.tokens.to_string().contains("BTreeMap");

    let mut args = Vec::new();
    if serde_camel(&rust_name) != wire {
        args.push(quote!(rename = #wire));
    }
    let inner = ty.tokens;
    let (tokens, optional) = if strict {
        if ty.nullable {
            return Err(format!("{owner}.{wire}: a strict key cannot be nullable"));
        }
        (inner, false)
    } else if required && ty.nullable {
        (quote!(Option<#inner>), false)
    } else if required || default.is_some() {
        (inner, false)
    } else {
        (quote!(Option<#inner>), true)
    };
    let mut default_value = None;
    let mut extra = None;
    if !strict {
        match default.and_then(serde_json::Value::as_str) {
            Some(text) if !ty.nullable && !text.is_empty() => {
                // A string default: a function serde calls, also used by `Default`.
                let function = format!("default_{}_{}", snake_case(owner), rust_name);
                args.push(quote!(default = #function));
                let f = format_ident!("{}", function);
                default_value = Some(quote!(#f()));
                extra = Some(quote! {
                    fn #f() -> String {
                        #text.to_owned()
                    }
                });
            }
            _ => args.push(quote!(default)),
        }
    }
    if crc32c {
        args.push(quote!(deserialize_with = "crc32c_lenient"));
    }
    if optional {
        args.push(quote!(skip_serializing_if = "Option::is_none"));
    }
    let serde_attr = (!args.is_empty()).then(|| quote!(#[serde(#(#args),*)]));
    Ok(Field {
        tokens: quote! { #(#docs)* #serde_attr pub #ident: #tokens, },
        ident,
        default_value,
        extra,
    })
}
