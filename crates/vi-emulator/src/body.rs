//! Strict JSON request-body validation with messages that name the offending field.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Parses a request body that must be a JSON object. An empty body is accepted as
/// `{}` only when `empty_ok`.
pub(crate) fn parse_object(bytes: &[u8], empty_ok: bool) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if empty_ok {
            Ok(Map::new())
        } else {
            Err(ApiError::bad_request("request body must be a JSON object"))
        };
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

fn field(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A JSON object under validation; `prefix` is its dotted path for messages.
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) prefix: String,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, prefix: impl Into<String>) -> Self {
        Obj {
            map,
            prefix: prefix.into(),
        }
    }

    pub(crate) fn name(&self, key: &str) -> String {
        field(&self.prefix, key)
    }

    /// Rejects keys outside `allowed` with `unknown field "…"`.
    pub(crate) fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                return Err(ApiError::bad_request(format!(
                    "unknown field \"{}\"",
                    self.name(key)
                )));
            }
        }
        Ok(())
    }

    /// The value of `key`, `None` when absent (null counts as present).
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn missing(&self, key: &str) -> ApiError {
        ApiError::bad_request(format!("missing field \"{}\"", self.name(key)))
    }

    fn wrong(&self, key: &str, what: &str) -> ApiError {
        ApiError::bad_request(format!("\"{}\" must be {what}", self.name(key)))
    }

    pub(crate) fn req_str(&self, key: &str) -> ApiResult<&'a str> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    /// A string that must be present and non-empty (after trimming).
    pub(crate) fn req_nonempty(&self, key: &str) -> ApiResult<&'a str> {
        let s = self.req_str(key)?;
        if s.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "\"{}\" must not be empty",
                self.name(key)
            )));
        }
        Ok(s)
    }

    /// Optional, not nullable.
    pub(crate) fn opt_str(&self, key: &str) -> ApiResult<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong(key, "a string")),
        }
    }

    /// Optional and nullable.
    pub(crate) fn opt_str_or_null(&self, key: &str) -> ApiResult<Option<&'a str>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong(key, "a string or null")),
        }
    }

    pub(crate) fn opt_i64(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "an integer")),
            Some(_) => Err(self.wrong(key, "an integer")),
        }
    }

    pub(crate) fn req_u64(&self, key: &str) -> ApiResult<u64> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| self.wrong(key, "a non-negative integer")),
            Some(_) => Err(self.wrong(key, "a non-negative integer")),
        }
    }

    pub(crate) fn req_object(&self, key: &str) -> ApiResult<Obj<'a>> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(Value::Object(m)) => Ok(Obj::new(m, self.name(key))),
            Some(_) => Err(self.wrong(key, "an object")),
        }
    }

    pub(crate) fn opt_object(&self, key: &str) -> ApiResult<Option<Obj<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Obj::new(m, self.name(key)))),
            Some(_) => Err(self.wrong(key, "an object")),
        }
    }

    pub(crate) fn opt_object_or_null(&self, key: &str) -> ApiResult<Option<Obj<'a>>> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Obj::new(m, self.name(key)))),
            Some(_) => Err(self.wrong(key, "an object or null")),
        }
    }

    pub(crate) fn req_array(&self, key: &str) -> ApiResult<&'a Vec<Value>> {
        match self.get(key) {
            None => Err(self.missing(key)),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.wrong(key, "an array")),
        }
    }

    /// Validates that every value of this object is a string.
    pub(crate) fn string_map(&self) -> ApiResult<std::collections::BTreeMap<String, String>> {
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in self.map {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                _ => return Err(self.wrong(k, "a string")),
            }
        }
        Ok(out)
    }

    /// Validates that every value of this object is an integer.
    pub(crate) fn int_map(&self) -> ApiResult<std::collections::BTreeMap<String, i64>> {
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in self.map {
            match v.as_i64() {
                Some(n) if v.is_i64() || v.is_u64() => {
                    out.insert(k.clone(), n);
                }
                _ => return Err(self.wrong(k, "an integer")),
            }
        }
        Ok(out)
    }

    /// Validates the per-asset custom metadata: values string, number or bool.
    pub(crate) fn scalar_map(&self) -> ApiResult<Map<String, Value>> {
        for (k, v) in self.map {
            if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                return Err(self.wrong(k, "a string, a number or a boolean"));
            }
        }
        Ok(self.map.clone())
    }
}

/// The JSON shape of a value for request recording: objects keep their keys, leaves
/// become type names, arrays list the distinct shapes of their elements.
pub(crate) fn shape(value: &Value) -> Value {
    match value {
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(n) => Value::String(if n.is_f64() { "float" } else { "int" }.into()),
        Value::String(_) => Value::String("string".into()),
        Value::Array(items) => {
            let mut shapes: Vec<Value> = Vec::new();
            for item in items {
                let s = shape(item);
                if !shapes.contains(&s) {
                    shapes.push(s);
                }
            }
            Value::Array(shapes)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect::<Map<String, Value>>(),
        ),
    }
}
