//! The OpenAPI document: reading it (with `oas3`) and looking things up in it.

use std::path::Path;

use oas3::spec::{ObjectOrReference, ObjectSchema, Schema};

/// Where the document lives, relative to the repository root.
pub(crate) const DOCUMENT: &str = "api/vi.openapi.yaml";

/// The parsed document.
pub(super) struct Doc {
    pub(super) spec: oas3::Spec,
}

impl Doc {
    pub(super) fn load(path: &Path) -> Result<Doc, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let spec = oas3::from_yaml(&text)
            .map_err(|e| format!("{} is not an OpenAPI 3.1 document: {e}", path.display()))?;
        spec.validate_version()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Doc { spec })
    }

    /// Every component schema, in document order.
    pub(super) fn components(&self) -> Vec<(&str, &ObjectSchema)> {
        let Some(components) = &self.spec.components else {
            return Vec::new();
        };
        components
            .schemas
            .iter()
            .filter_map(|(name, schema)| Some((name.as_str(), inline(schema)?)))
            .collect()
    }

    /// The component schema `name`.
    pub(super) fn component(&self, name: &str) -> Result<&ObjectSchema, String> {
        self.spec
            .components
            .as_ref()
            .and_then(|c| c.schemas.get(name))
            .and_then(inline)
            .ok_or_else(|| format!("no component schema named {name:?}"))
    }
}

/// The object schema of a schema that is written inline (not a `$ref`, not `true`).
pub(super) fn inline(schema: &Schema) -> Option<&ObjectSchema> {
    match schema {
        Schema::Object(inner) => match inner.as_ref() {
            ObjectOrReference::Object(o) => Some(o),
            ObjectOrReference::Ref { .. } => None,
        },
        Schema::Boolean(_) => None,
    }
}

/// The `description` of a property: the one next to its `$ref`, or its own.
pub(super) fn description(schema: &Schema) -> Option<&str> {
    match schema {
        Schema::Object(inner) => match inner.as_ref() {
            ObjectOrReference::Ref { description, .. } => description.as_deref(),
            ObjectOrReference::Object(o) => o.description.as_deref(),
        },
        Schema::Boolean(_) => None,
    }
}

/// A string extension (`x-NAME`; `oas3` strips the `x-`).
pub(super) fn ext_str<'a>(
    extensions: &'a oas3::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a str> {
    extensions.get(name).and_then(serde_json::Value::as_str)
}

/// A list-of-strings extension.
pub(super) fn ext_strings(
    extensions: &oas3::Map<String, serde_json::Value>,
    name: &str,
) -> Option<Vec<String>> {
    let list = extensions.get(name)?.as_array()?;
    Some(
        list.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
    )
}
