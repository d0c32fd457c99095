//! Other names a tool's parameters and operation values are known by.
//!
//! Scripts written for rs-llmspell call many tools with other parameter
//! names: its utility tools take their payload as `input`
//! (`calculator {input = "2 + 2"}` for `expression`), its text tool puts
//! options in an `options` table (`options = {from = "a", to = "b"}`), and
//! some operations have other names (`uuid_generator`'s `validate` for
//! `parse`). A tool declares these once in its metadata
//! ([`ToolMetadata::with_synonyms`](crate::ToolMetadata::with_synonyms)); the
//! registry resolves them before the parameter object is validated, for
//! every caller (the hooked path, [`RegisteredTool::call`](crate::RegisteredTool::call),
//! [`ToolRegistry::validate`](crate::ToolRegistry::validate)).
//!
//! The tool's own names stay the source of truth: the synonyms are listed
//! in the parameter schema (`x-synonyms`, and a `synonyms` list on each
//! canonical property) and resolved to the canonical names before the
//! schema is checked, so the tool only ever sees its own names. A call that
//! gives a synonym and its canonical name at once is an
//! [`InvalidParameter`](crate::ToolError::InvalidParameter) error naming
//! both.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{Result, ToolError};

/// A tool's synonyms: other parameter names, and other values of an
/// enumerated parameter.
///
/// A parameter synonym's `alias` is a top-level name (`input`) or a name
/// inside a top-level object, written `outer.inner` (`options.from`): the
/// value is moved to the canonical top-level name, and the outer object is
/// dropped once it is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synonyms {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parameters: Vec<ParameterSynonym>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    values: Vec<ValueSynonym>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ParameterSynonym {
    alias: String,
    canonical: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ValueSynonym {
    parameter: String,
    alias: String,
    canonical: String,
}

impl Synonyms {
    /// No synonyms.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// `alias` (a top-level name, or `outer.inner`) means the parameter
    /// `canonical`.
    #[must_use]
    pub fn parameter(mut self, alias: impl Into<String>, canonical: impl Into<String>) -> Self {
        self.parameters.push(ParameterSynonym {
            alias: alias.into(),
            canonical: canonical.into(),
        });
        self
    }

    /// The string `alias` given for `parameter` means `canonical`.
    #[must_use]
    pub fn value(
        mut self,
        parameter: impl Into<String>,
        alias: impl Into<String>,
        canonical: impl Into<String>,
    ) -> Self {
        self.values.push(ValueSynonym {
            parameter: parameter.into(),
            alias: alias.into(),
            canonical: canonical.into(),
        });
        self
    }

    /// Whether there are none.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty() && self.values.is_empty()
    }

    /// The canonical parameter name `alias` stands for, if it is one.
    #[must_use]
    pub fn canonical_of(&self, alias: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|s| s.alias == alias)
            .map(|s| s.canonical.as_str())
    }

    /// `(alias, canonical)` pairs of parameter names, in declaration order.
    pub fn parameter_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parameters
            .iter()
            .map(|s| (s.alias.as_str(), s.canonical.as_str()))
    }

    /// `(parameter, alias, canonical)` triples of values.
    pub fn value_triples(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.values
            .iter()
            .map(|s| (s.parameter.as_str(), s.alias.as_str(), s.canonical.as_str()))
    }

    /// Whether [`resolve`](Self::resolve) would act on `params` (change
    /// them, or refuse them): some alias is there (for `outer.inner`, the
    /// outer name), or some value synonym. When not, `params` already use
    /// the canonical names and can be validated as they are, without a copy.
    pub(crate) fn appear_in(&self, params: &Value) -> bool {
        let Value::Object(map) = params else {
            return false;
        };
        self.parameters.iter().any(|s| {
            let name = s
                .alias
                .split_once('.')
                .map_or(s.alias.as_str(), |(outer, _)| outer);
            map.contains_key(name)
        }) || self
            .values
            .iter()
            .any(|s| map.get(&s.parameter).and_then(Value::as_str) == Some(s.alias.as_str()))
    }

    /// Rewrites `params` to the canonical names and values. Returns whether
    /// anything changed. A non-object `params` is left as it is (the schema
    /// check reports it).
    ///
    /// # Errors
    /// [`ToolError::InvalidParameter`] when a synonym and the name it stands
    /// for are both given, or a nested alias's outer value is not an object.
    pub fn resolve(&self, tool: &str, params: &mut Value) -> Result<bool> {
        let Value::Object(map) = params else {
            return Ok(false);
        };
        let mut changed = false;
        for s in &self.parameters {
            let taken = match s.alias.split_once('.') {
                None => map.remove(&s.alias),
                Some((outer, inner)) => take_nested(tool, map, outer, inner)?,
            };
            let Some(value) = taken else { continue };
            if map.contains_key(&s.canonical) {
                return Err(ToolError::invalid_parameter(
                    tool,
                    s.canonical.clone(),
                    format!(
                        "`{}` and `{}` were both given; `{}` is a synonym of `{}` \
                         (the name rs-llmspell used): give one of them",
                        s.alias, s.canonical, s.alias, s.canonical
                    ),
                ));
            }
            map.insert(s.canonical.clone(), value);
            changed = true;
        }
        for s in &self.values {
            if let Some(v) = map.get_mut(&s.parameter) {
                if v.as_str() == Some(s.alias.as_str()) {
                    *v = Value::String(s.canonical.clone());
                    changed = true;
                }
            }
        }
        Ok(changed)
    }

    /// `schema` with the synonyms documented: `x-synonyms` (alias →
    /// canonical) and `x-value-synonyms` at the top, a `synonyms` list on
    /// each canonical property, and each top-level alias listed as a
    /// property that says what it stands for.
    pub(crate) fn annotate(&self, schema: &mut Value) {
        if self.is_empty() {
            return;
        }
        let Some(root) = schema.as_object_mut() else {
            return;
        };
        let names: Map<String, Value> = self
            .parameters
            .iter()
            .map(|s| (s.alias.clone(), Value::String(s.canonical.clone())))
            .collect();
        if !names.is_empty() {
            root.insert("x-synonyms".to_owned(), Value::Object(names));
        }
        if !self.values.is_empty() {
            let values: Vec<Value> = self
                .values
                .iter()
                .map(|s| json!({"parameter": s.parameter, "alias": s.alias, "canonical": s.canonical}))
                .collect();
            root.insert("x-value-synonyms".to_owned(), Value::Array(values));
        }
        let Some(Value::Object(props)) = root.get_mut("properties") else {
            return;
        };
        for s in &self.parameters {
            if let Some(Value::Object(p)) = props.get_mut(&s.canonical) {
                let list = p
                    .entry("synonyms")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = list {
                    items.push(Value::String(s.alias.clone()));
                }
            }
            let top = s.alias.split_once('.').map_or(s.alias.as_str(), |(o, _)| o);
            if props.contains_key(top) {
                continue;
            }
            let description = if top == s.alias {
                format!(
                    "synonym of `{}` (rs-llmspell's name); resolved before validation",
                    s.canonical
                )
            } else {
                "rs-llmspell's options table; its keys are synonyms (see x-synonyms)".to_owned()
            };
            let mut prop = Map::new();
            if top != s.alias {
                prop.insert("type".to_owned(), json!("object"));
            }
            prop.insert("description".to_owned(), Value::String(description));
            prop.insert(
                "x-synonym-of".to_owned(),
                Value::String(s.canonical.clone()),
            );
            props.insert(top.to_owned(), Value::Object(prop));
        }
    }
}

/// Removes `map[outer][inner]`; drops `map[outer]` once it is empty.
fn take_nested(
    tool: &str,
    map: &mut Map<String, Value>,
    outer: &str,
    inner: &str,
) -> Result<Option<Value>> {
    let Some(slot) = map.get_mut(outer) else {
        return Ok(None);
    };
    let Value::Object(nested) = slot else {
        return Err(ToolError::invalid_parameter(
            tool,
            outer,
            format!("must be an object (rs-llmspell's options table), got {slot}"),
        ));
    };
    let value = nested.remove(inner);
    if nested.is_empty() {
        map.remove(outer);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synonyms() -> Synonyms {
        Synonyms::new()
            .parameter("input", "expression")
            .parameter("options.from", "pattern")
            .value("operation", "validate", "parse")
    }

    #[test]
    fn appear_in_says_whether_resolve_would_act() {
        let s = synonyms();
        for p in [
            json!({"input": "1"}),
            json!({"options": {"from": "a"}}),
            json!({"options": "not an object"}),
            json!({"operation": "validate"}),
        ] {
            assert!(s.appear_in(&p), "{p}");
        }
        for p in [
            json!({"expression": "1", "operation": "parse"}),
            json!({"pattern": "a"}),
            json!("not an object"),
        ] {
            assert!(!s.appear_in(&p), "{p}");
            let mut resolved = p.clone();
            assert!(!s.resolve("t", &mut resolved).unwrap());
            assert_eq!(resolved, p);
        }
    }

    #[test]
    fn resolves_names_nested_names_and_values() {
        let s = synonyms();
        let mut p = json!({"input": "1", "options": {"from": "a"}, "operation": "validate"});
        assert!(s.resolve("t", &mut p).unwrap());
        assert_eq!(
            p,
            json!({"expression": "1", "pattern": "a", "operation": "parse"})
        );
        let mut same = json!({"expression": "1"});
        assert!(!s.resolve("t", &mut same).unwrap());
        let mut other = json!([1]);
        assert!(!s.resolve("t", &mut other).unwrap());
    }

    #[test]
    fn both_names_at_once_is_an_error_naming_both() {
        let mut p = json!({"input": "1", "expression": "2"});
        match synonyms().resolve("t", &mut p) {
            Err(ToolError::InvalidParameter {
                parameter, message, ..
            }) => {
                assert_eq!(parameter, "expression");
                assert!(message.contains("`input`") && message.contains("`expression`"));
            }
            other => panic!("{other:?}"),
        }
        let mut bad = json!({"options": 3});
        assert!(synonyms().resolve("t", &mut bad).is_err());
    }

    #[test]
    fn annotates_the_schema() {
        let mut schema = json!({
            "type": "object",
            "properties": {"expression": {"type": "string"}, "pattern": {"type": "string"}}
        });
        synonyms().annotate(&mut schema);
        assert_eq!(schema["x-synonyms"]["input"], "expression");
        assert_eq!(
            schema["properties"]["expression"]["synonyms"],
            json!(["input"])
        );
        assert_eq!(schema["properties"]["input"]["x-synonym-of"], "expression");
        assert_eq!(schema["properties"]["options"]["type"], "object");
        assert_eq!(schema["x-value-synonyms"][0]["alias"], "validate");
    }
}
