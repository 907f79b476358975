//! From JSON Schema to Rust types: what a property's schema becomes in a generated struct.
//!
//! The mapping (documented in the header of `api/vi.openapi.yaml`):
//!
//! * `$ref` to a component: the component's type, or its `x-rust-type` (hand-written);
//! * `type: [T, 'null']` or `anyOf: [T, {type: 'null'}]`: `T`, marked nullable;
//! * `string` → `String`; `boolean` → `bool`; `number` → `f64`;
//! * `integer` → `u64` with `minimum: 0`, `i32` with `x-vi-crc32c`, else `i64`;
//! * `array` → `Vec<item>`; `object` with `additionalProperties` → `BTreeMap<String, _>`;
//! * anything else (no type, several types, `true`) → `serde_json::Value`.

use std::collections::BTreeMap;

use oas3::spec::{
    ObjectOrReference, ObjectSchema, Schema, SchemaType as Type, SchemaTypeSet as TypeSet,
};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::doc::{Doc, ext_str, ext_strings};

/// A Rust type for a schema, with the traits the generated derives depend on.
#[derive(Clone)]
pub(super) struct RustType {
    pub(super) tokens: TokenStream,
    /// `null` is allowed on the wire.
    pub(super) nullable: bool,
    /// The type implements `Eq`.
    pub(super) eq: bool,
    /// The type implements `Copy`.
    pub(super) copy: bool,
    /// Hand-written names the generated file must import.
    pub(super) imports: Vec<String>,
}

impl RustType {
    fn plain(tokens: TokenStream, eq: bool, copy: bool) -> Self {
        RustType {
            tokens,
            nullable: false,
            eq,
            copy,
            imports: Vec::new(),
        }
    }

    fn json_value() -> Self {
        Self::plain(quote!(serde_json::Value), true, false)
    }

    fn wrap(self, outer: impl FnOnce(TokenStream) -> TokenStream, copy: bool) -> Self {
        RustType {
            tokens: outer(self.tokens),
            nullable: false,
            eq: self.eq,
            copy: copy && self.copy,
            imports: self.imports,
        }
    }
}

/// Derivable traits of the component schemas, worked out once (a struct is `Eq` when every
/// field is, `Copy` likewise).
#[derive(Default)]
pub(super) struct Traits {
    known: BTreeMap<String, (bool, bool)>,
}

impl Traits {
    pub(super) fn of(&mut self, doc: &Doc, name: &str) -> Result<(bool, bool), String> {
        if let Some(found) = self.known.get(name) {
            return Ok(*found);
        }
        // Cycles cannot be derived through; assume the weakest while one is worked out.
        self.known.insert(name.to_owned(), (false, false));
        let schema = doc.component(name)?;
        let traits = if let Some(listed) = ext_strings(&schema.extensions, "rust-traits") {
            (
                listed.iter().any(|t| t == "Eq"),
                listed.iter().any(|t| t == "Copy"),
            )
        } else if schema.extensions.contains_key("rust-type") {
            // A hand-written type claims only the traits `x-rust-traits` lists.
            (false, false)
        } else if !schema.enum_values.is_empty() {
            // Generated string enums keep unknown values as `Unknown(String)`.
            (true, false)
        } else {
            let mut eq = true;
            let mut copy = true;
            for (field, property) in &super::models::fields_of(schema) {
                let ty =
                    rust_type(doc, self, property).map_err(|e| format!("{name}.{field}: {e}"))?;
                eq &= ty.eq;
                copy &= ty.copy;
            }
            (eq, copy)
        };
        self.known.insert(name.to_owned(), traits);
        Ok(traits)
    }
}

/// The name of the component a `$ref` points at.
pub(super) fn ref_name(path: &str) -> Result<&str, String> {
    path.strip_prefix("#/components/schemas/")
        .ok_or_else(|| format!("unsupported $ref {path:?} (only #/components/schemas/...)"))
}

/// The Rust type of a component, hand-written (`x-rust-type`) or generated.
fn component_type(doc: &Doc, traits: &mut Traits, name: &str) -> Result<RustType, String> {
    let schema = doc.component(name)?;
    let (eq, copy) = traits.of(doc, name)?;
    if let Some(path) = ext_str(&schema.extensions, "rust-type") {
        let parsed: syn::Type =
            syn::parse_str(path).map_err(|e| format!("x-rust-type {path:?} of {name}: {e}"))?;
        let mut ty = RustType::plain(quote!(#parsed), eq, copy);
        if !path.contains("::") {
            ty.imports.push(path.to_owned());
        }
        return Ok(ty);
    }
    let ident = format_ident!("{}", name);
    Ok(RustType::plain(quote!(#ident), eq, copy))
}

/// The single type of a type set without `null`, and whether `null` was in it.
fn split_null(set: Option<&TypeSet>) -> (Option<Vec<Type>>, bool) {
    match set {
        None => (None, false),
        Some(TypeSet::Single(Type::Null)) => (Some(Vec::new()), true),
        Some(TypeSet::Single(t)) => (Some(vec![*t]), false),
        Some(TypeSet::Multiple(all)) => {
            let rest: Vec<Type> = all.iter().copied().filter(|t| *t != Type::Null).collect();
            let nullable = rest.len() != all.len();
            (Some(rest), nullable)
        }
    }
}

fn is_null_schema(schema: &Schema) -> bool {
    match schema {
        Schema::Object(inner) => match inner.as_ref() {
            ObjectOrReference::Object(o) => {
                matches!(o.schema_type, Some(TypeSet::Single(Type::Null)))
            }
            ObjectOrReference::Ref { .. } => false,
        },
        Schema::Boolean(_) => false,
    }
}

/// The Rust type of a property or item schema.
pub(super) fn rust_type(
    doc: &Doc,
    traits: &mut Traits,
    schema: &Schema,
) -> Result<RustType, String> {
    let object = match schema {
        Schema::Boolean(_) => return Ok(RustType::json_value()),
        Schema::Object(inner) => match inner.as_ref() {
            ObjectOrReference::Ref { ref_path, .. } => {
                return component_type(doc, traits, ref_name(ref_path)?);
            }
            ObjectOrReference::Object(o) => o,
        },
    };
    // `anyOf: [T, {type: 'null'}]`: a nullable T.
    if object.any_of.len() == 2 && object.any_of.iter().any(is_null_schema) {
        let Some(other) = object.any_of.iter().find(|s| !is_null_schema(s)) else {
            return Err("anyOf of two nulls".to_owned());
        };
        let mut ty = rust_type(doc, traits, other)?;
        ty.nullable = true;
        return Ok(ty);
    }
    let (types, nullable) = split_null(object.schema_type.as_ref());
    let mut ty = match types.as_deref() {
        Some([single]) => single_type(doc, traits, object, *single)?,
        // No type, or several: any JSON value.
        _ => RustType::json_value(),
    };
    ty.nullable |= nullable;
    Ok(ty)
}

fn single_type(
    doc: &Doc,
    traits: &mut Traits,
    object: &ObjectSchema,
    kind: Type,
) -> Result<RustType, String> {
    Ok(match kind {
        Type::String => RustType::plain(quote!(String), true, false),
        Type::Boolean => RustType::plain(quote!(bool), true, true),
        Type::Number => RustType::plain(quote!(f64), false, true),
        Type::Integer => {
            let unsigned = object
                .minimum
                .as_ref()
                .and_then(serde_json::Number::as_f64)
                .is_some_and(|m| m >= 0.0);
            if object.extensions.contains_key("vi-crc32c") {
                RustType::plain(quote!(i32), true, true)
            } else if unsigned {
                RustType::plain(quote!(u64), true, true)
            } else {
                RustType::plain(quote!(i64), true, true)
            }
        }
        Type::Array => {
            let item = match &object.items {
                Some(items) => rust_type(doc, traits, items)?,
                None => RustType::json_value(),
            };
            item.wrap(|t| quote!(Vec<#t>), false)
        }
        Type::Object => {
            if !object.properties.is_empty() {
                return Err("an inline object with properties: make it a component".to_owned());
            }
            let value = match &object.additional_properties {
                Some(values) => rust_type(doc, traits, values)?,
                None => RustType::json_value(),
            };
            value.wrap(|t| quote!(BTreeMap<String, #t>), false)
        }
        Type::Null => return Err("a schema that is only null".to_owned()),
    })
}
