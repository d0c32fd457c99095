//! References in step inputs: the one templating mechanism of workflows.
//!
//! Every string in a step's `input` (at any depth) may contain references:
//!
//! | reference | value |
//! |---|---|
//! | `{{step:NAME:output}}` | the whole output of step `NAME` |
//! | `{{step:NAME:output.field.sub}}` | a path into it (array elements by index: `items.0`) |
//! | `{{input:KEY}}`, `{{input:KEY.sub}}` | a value of the workflow's input |
//! | `{{state:KEY}}`, `{{state:KEY.sub}}` | a value of the workflow state |
//! | `{{loop:current_value}}` (`current_item`), `{{loop:current_value.field}}` | the loop's current element |
//! | `{{loop:index}}` (`current_index`) | the loop's iteration index, from 0 |
//!
//! A string that is exactly one reference gets the referenced value with its
//! type (a number stays a number, a table stays a table). A reference inside
//! longer text is replaced by its text: a string as is, a number or boolean
//! as written, `null` as `null`, an object or array as JSON text.
//!
//! Braces with any other content (`{{name}}` for `template_engine`) are
//! left alone. A reference with one of the four prefixes that is malformed
//! is a definition error; one that names an unknown step or a missing path
//! fails the step, naming the step and the reference.
//!
//! Inputs are compiled once, when the workflow is created: a subtree with
//! no reference is kept as a ready value and only cloned at run time.

use std::fmt;

use serde_json::{Map, Value};

/// One segment of a path into a JSON value: an object key, or (when the
/// value is an array) an index.
pub(crate) type Path = Vec<String>;

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reference {
    /// `{{step:NAME:output[.path]}}`
    Step { name: String, path: Path },
    /// `{{input:KEY[.path]}}`
    Input { path: Path },
    /// `{{state:KEY[.path]}}`
    State { path: Path },
    /// `{{loop:current_value[.path]}}`
    LoopValue { path: Path },
    /// `{{loop:index}}`
    LoopIndex,
}

/// The prefixes that make `{{...}}` a workflow reference.
const PREFIXES: [&str; 4] = ["step:", "input:", "state:", "loop:"];

fn parse_path(text: &str, whole: &str) -> Result<Path, String> {
    let path: Path = text.split('.').map(str::to_owned).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!(
            "`{whole}` has an empty path segment; write keys separated by single dots, e.g. `{{{{input:user.name}}}}`"
        ));
    }
    Ok(path)
}

impl Reference {
    /// Parses the inside of `{{...}}` (already trimmed) that starts with one
    /// of [`PREFIXES`].
    fn parse(inner: &str) -> Result<Self, String> {
        let whole = format!("{{{{{inner}}}}}");
        if let Some(rest) = inner.strip_prefix("step:") {
            let Some((name, what)) = rest.split_once(':') else {
                return Err(format!(
                    "`{whole}` names no output; write `{{{{step:NAME:output}}}}` or `{{{{step:NAME:output.field}}}}`"
                ));
            };
            if name.is_empty() {
                return Err(format!("`{whole}` has an empty step name"));
            }
            let path = match what.strip_prefix("output") {
                Some("") => Vec::new(),
                Some(p) if p.starts_with('.') => parse_path(&p[1..], &whole)?,
                _ => {
                    return Err(format!(
                        "`{whole}`: after the step name write `output` or `output.<path>`, not `{what}`"
                    ))
                }
            };
            return Ok(Reference::Step {
                name: name.to_owned(),
                path,
            });
        }
        if let Some(rest) = inner.strip_prefix("input:") {
            return Ok(Reference::Input {
                path: parse_path(rest, &whole)?,
            });
        }
        if let Some(rest) = inner.strip_prefix("state:") {
            return Ok(Reference::State {
                path: parse_path(rest, &whole)?,
            });
        }
        let rest = inner.strip_prefix("loop:").unwrap_or(inner);
        let (var, sub) = match rest.split_once('.') {
            Some((v, s)) => (v, Some(s)),
            None => (rest, None),
        };
        match var {
            "current_value" | "current_item" => Ok(Reference::LoopValue {
                path: match sub {
                    Some(s) => parse_path(s, &whole)?,
                    None => Vec::new(),
                },
            }),
            "index" | "current_index" if sub.is_none() => Ok(Reference::LoopIndex),
            _ => Err(format!(
                "`{whole}`: the loop references are `{{{{loop:current_value}}}}` (alias `current_item`, with an optional `.path`) and `{{{{loop:index}}}}` (alias `current_index`)"
            )),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dotted = |p: &Path| {
            if p.is_empty() {
                String::new()
            } else {
                format!(".{}", p.join("."))
            }
        };
        match self {
            Reference::Step { name, path } => {
                write!(f, "{{{{step:{name}:output{}}}}}", dotted(path))
            }
            Reference::Input { path } => write!(f, "{{{{input:{}}}}}", path.join(".")),
            Reference::State { path } => write!(f, "{{{{state:{}}}}}", path.join(".")),
            Reference::LoopValue { path } => {
                write!(f, "{{{{loop:current_value{}}}}}", dotted(path))
            }
            Reference::LoopIndex => f.write_str("{{loop:index}}"),
        }
    }
}

/// A piece of a string with references.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Ref(Reference),
}

/// Parses `s` into text and references. `Ok(None)` when `s` contains no
/// reference (the common case, answered without allocating).
fn parse_string(s: &str) -> Result<Option<Vec<Piece>>, String> {
    if !s.contains("{{") {
        return Ok(None);
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    let mut any = false;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            break;
        };
        let inner = after[..close].trim();
        if inner.contains("{{") {
            // `{{ ... {{ref}}`: the first `{{` opens nothing; look again after it.
            text.push_str(&rest[..open + 2]);
            rest = after;
            continue;
        }
        if PREFIXES.iter().any(|p| inner.starts_with(p)) {
            text.push_str(&rest[..open]);
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Ref(Reference::parse(inner)?));
            any = true;
        } else {
            // Not ours (e.g. a template_engine variable): keep it verbatim.
            text.push_str(&rest[..open + 2 + close + 2]);
        }
        rest = &after[close + 2..];
    }
    if !any {
        return Ok(None);
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(Some(pieces))
}

/// A step input compiled for resolution: subtrees without references are
/// kept as values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// No reference inside: used as is.
    Literal(Value),
    /// Exactly one reference: replaced by the value, with its type.
    Whole(Reference),
    /// Text with references: a string.
    Text(Vec<TextPiece>),
    /// An object with references somewhere inside.
    Object(Vec<(String, Template)>),
    /// An array with references somewhere inside.
    Array(Vec<Template>),
}

/// A piece of a [`Template::Text`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TextPiece {
    Text(String),
    Ref(Reference),
}

impl Template {
    /// Compiles `value`. `Err(reason)` for a malformed reference.
    pub(crate) fn compile(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => match parse_string(s)? {
                None => Ok(Template::Literal(value.clone())),
                Some(mut pieces) if pieces.len() == 1 && matches!(pieces[0], Piece::Ref(_)) => {
                    match pieces.pop() {
                        Some(Piece::Ref(r)) => Ok(Template::Whole(r)),
                        _ => unreachable!("checked above"),
                    }
                }
                Some(pieces) => Ok(Template::Text(
                    pieces
                        .into_iter()
                        .map(|p| match p {
                            Piece::Text(t) => TextPiece::Text(t),
                            Piece::Ref(r) => TextPiece::Ref(r),
                        })
                        .collect(),
                )),
            },
            Value::Array(items) => {
                let compiled = items
                    .iter()
                    .map(Template::compile)
                    .collect::<Result<Vec<_>, _>>()?;
                if compiled.iter().all(|t| matches!(t, Template::Literal(_))) {
                    Ok(Template::Literal(value.clone()))
                } else {
                    Ok(Template::Array(compiled))
                }
            }
            Value::Object(map) => {
                let compiled = map
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Template::compile(v)?)))
                    .collect::<Result<Vec<_>, String>>()?;
                if compiled
                    .iter()
                    .all(|(_, t)| matches!(t, Template::Literal(_)))
                {
                    Ok(Template::Literal(value.clone()))
                } else {
                    Ok(Template::Object(compiled))
                }
            }
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Whether there is no reference inside.
    pub(crate) fn is_literal(&self) -> bool {
        matches!(self, Template::Literal(_))
    }

    /// Every reference inside, in order.
    pub(crate) fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        match self {
            Template::Literal(_) => {}
            Template::Whole(r) => out.push(r),
            Template::Text(pieces) => out.extend(pieces.iter().filter_map(|p| match p {
                TextPiece::Ref(r) => Some(r),
                TextPiece::Text(_) => None,
            })),
            Template::Object(fields) => fields.iter().for_each(|(_, t)| t.collect(out)),
            Template::Array(items) => items.iter().for_each(|t| t.collect(out)),
        }
    }

    /// The value with every reference replaced, looked up in `scope`.
    pub(crate) fn resolve(&self, scope: &dyn Lookup) -> Result<Value, ResolveError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Whole(r) => lookup(scope, r),
            Template::Text(pieces) => {
                let mut out = String::new();
                for p in pieces {
                    match p {
                        TextPiece::Text(t) => out.push_str(t),
                        TextPiece::Ref(r) => push_text(&mut out, &lookup(scope, r)?),
                    }
                }
                Ok(Value::String(out))
            }
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    map.insert(k.clone(), t.resolve(scope)?);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.resolve(scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }
}

/// The text a value takes inside a longer string.
pub(crate) fn push_text(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
}

/// Where references are looked up.
pub(crate) trait Lookup {
    /// The output of step `name`, if it has run in a visible scope.
    fn step_output(&self, name: &str) -> Option<&Value>;
    /// The names of the steps whose outputs are visible (for errors).
    fn visible_steps(&self) -> Vec<String>;
    /// The workflow's input.
    fn input(&self) -> &Value;
    /// A state value.
    fn state(&self, key: &str) -> Option<&Value>;
    /// The innermost loop's current value and index, inside a loop.
    fn loop_vars(&self) -> Option<(&Value, u64)>;
}

/// A reference that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolveError {
    /// The reference as written.
    pub(crate) reference: String,
    /// Why.
    pub(crate) reason: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reference `{}`: {}", self.reference, self.reason)
    }
}

/// Follows `path` into `root`; `Err(prefix)` with the part that resolved.
pub(crate) fn follow<'v>(root: &'v Value, path: &[String]) -> Result<&'v Value, usize> {
    let mut cur = root;
    for (i, seg) in path.iter().enumerate() {
        cur = match cur {
            Value::Object(m) => m.get(seg).ok_or(i)?,
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|n| a.get(n)).ok_or(i)?,
            _ => return Err(i),
        };
    }
    Ok(cur)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().map(String::as_str).take(20).collect();
            format!("an object with keys [{}]", keys.join(", "))
        }
        Value::Array(a) => format!("an array of {} elements", a.len()),
        Value::String(_) => "a string".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Null => "null".to_owned(),
    }
}

fn path_error(root: &Value, path: &[String], at: usize, what: &str) -> String {
    let found = follow(root, &path[..at]).map_or_else(|_| "nothing".to_owned(), describe);
    let so_far = if at == 0 {
        what.to_owned()
    } else {
        format!("{what}.{}", path[..at].join("."))
    };
    format!("{so_far} has no `{}` (it is {found})", path[at])
}

fn lookup(scope: &dyn Lookup, r: &Reference) -> Result<Value, ResolveError> {
    let err = |reason: String| ResolveError {
        reference: r.to_string(),
        reason,
    };
    match r {
        Reference::Step { name, path } => {
            let Some(out) = scope.step_output(name) else {
                let visible = scope.visible_steps();
                return Err(err(format!(
                    "step `{name}` has not run here (outputs available: [{}])",
                    visible.join(", ")
                )));
            };
            follow(out, path).cloned().map_err(|at| {
                err(path_error(
                    out,
                    path,
                    at,
                    &format!("the output of step `{name}`"),
                ))
            })
        }
        Reference::Input { path } => {
            let input = scope.input();
            follow(input, path)
                .cloned()
                .map_err(|at| err(path_error(input, path, at, "the workflow input")))
        }
        Reference::State { path } => {
            let Some(root) = scope.state(&path[0]) else {
                return Err(err(format!("state key `{}` is not set", path[0])));
            };
            follow(root, &path[1..]).cloned().map_err(|at| {
                err(path_error(
                    root,
                    &path[1..],
                    at,
                    &format!("state `{}`", path[0]),
                ))
            })
        }
        Reference::LoopValue { path } => {
            let Some((value, _)) = scope.loop_vars() else {
                return Err(err("used outside a loop body".to_owned()));
            };
            follow(value, path)
                .cloned()
                .map_err(|at| err(path_error(value, path, at, "the loop's current value")))
        }
        Reference::LoopIndex => scope
            .loop_vars()
            .map(|(_, i)| Value::from(i))
            .ok_or_else(|| err("used outside a loop body".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Scope {
        steps: HashMap<String, Value>,
        input: Value,
        state: HashMap<String, Value>,
        lp: Option<(Value, u64)>,
    }

    impl Lookup for Scope {
        fn step_output(&self, name: &str) -> Option<&Value> {
            self.steps.get(name)
        }
        fn visible_steps(&self) -> Vec<String> {
            let mut v: Vec<String> = self.steps.keys().cloned().collect();
            v.sort();
            v
        }
        fn input(&self) -> &Value {
            &self.input
        }
        fn state(&self, key: &str) -> Option<&Value> {
            self.state.get(key)
        }
        fn loop_vars(&self) -> Option<(&Value, u64)> {
            self.lp.as_ref().map(|(v, i)| (v, *i))
        }
    }

    fn scope() -> Scope {
        let mut s = Scope {
            input: json!({"user": {"name": "ann", "age": 41}, "items": [10, 20]}),
            lp: Some((json!({"price": 2.5, "tags": ["a"]}), 3)),
            ..Scope::default()
        };
        s.steps.insert(
            "fetch".into(),
            json!({"body": {"title": "T", "n": 7}, "list": [{"id": 1}, {"id": 2}]}),
        );
        s.steps.insert("count".into(), json!(42));
        s.steps.insert("greet".into(), json!("hello"));
        s.state.insert("ready".into(), json!(true));
        s.state.insert("cfg".into(), json!({"mode": "fast"}));
        s
    }

    fn resolve(v: Value) -> Result<Value, ResolveError> {
        Template::compile(&v).unwrap().resolve(&scope())
    }

    #[test]
    fn every_form_resolves() {
        let cases = [
            ("{{step:count:output}}", json!(42)),
            ("{{step:fetch:output.body.title}}", json!("T")),
            ("{{step:fetch:output.list.1.id}}", json!(2)),
            ("{{step:fetch:output.body}}", json!({"title": "T", "n": 7})),
            ("{{input:user.name}}", json!("ann")),
            ("{{input:items}}", json!([10, 20])),
            ("{{state:ready}}", json!(true)),
            ("{{state:cfg.mode}}", json!("fast")),
            (
                "{{loop:current_value}}",
                json!({"price": 2.5, "tags": ["a"]}),
            ),
            ("{{loop:current_item.price}}", json!(2.5)),
            ("{{loop:index}}", json!(3)),
            ("{{loop:current_index}}", json!(3)),
            ("{{ step:count:output }}", json!(42)),
        ];
        for (text, want) in cases {
            assert_eq!(resolve(json!(text)).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn embedded_references_become_text() {
        let cases = [
            ("n={{step:count:output}}!", "n=42!"),
            ("{{step:greet:output}} {{input:user.name}}", "hello ann"),
            (
                "body: {{step:fetch:output.body}}",
                r#"body: {"n":7,"title":"T"}"#,
            ),
            ("{{loop:index}}-{{loop:current_value.tags}}", r#"3-["a"]"#),
        ];
        for (text, want) in cases {
            assert_eq!(resolve(json!(text)).unwrap(), json!(want), "{text}");
        }
    }

    #[test]
    fn nested_structures_and_foreign_braces() {
        let out = resolve(json!({
            "template": "Hi {{name}}",
            "variables": {"name": "{{input:user.name}}", "age": "{{input:user.age}}"},
            "list": ["{{loop:index}}", 1, null]
        }))
        .unwrap();
        assert_eq!(
            out,
            json!({
                "template": "Hi {{name}}",
                "variables": {"name": "ann", "age": 41},
                "list": [3, 1, null]
            })
        );
    }

    #[test]
    fn literal_subtrees_stay_literal() {
        let t = Template::compile(&json!({"a": {"b": "{{x}}"}, "c": [1, 2]})).unwrap();
        assert!(t.is_literal());
        let t = Template::compile(&json!({"a": {"b": "{{input:x}}"}, "c": [1, 2]})).unwrap();
        match t {
            Template::Object(fields) => {
                assert!(!fields[0].1.is_literal());
                assert!(fields[1].1.is_literal());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_step_and_the_reference() {
        let e = resolve(json!("{{step:fetc:output}}")).unwrap_err();
        assert_eq!(e.reference, "{{step:fetc:output}}");
        assert!(e.reason.contains("step `fetc` has not run"), "{}", e.reason);
        assert!(e.reason.contains("count, fetch, greet"), "{}", e.reason);

        let e = resolve(json!("x {{step:fetch:output.body.nope}}")).unwrap_err();
        assert_eq!(e.reference, "{{step:fetch:output.body.nope}}");
        assert!(
            e.reason
                .contains("the output of step `fetch`.body has no `nope`"),
            "{}",
            e.reason
        );
        assert!(e.reason.contains("keys [n, title]"), "{}", e.reason);

        let e = resolve(json!("{{step:fetch:output.list.9}}")).unwrap_err();
        assert!(e.reason.contains("has no `9`"), "{}", e.reason);
        let e = resolve(json!("{{input:missing}}")).unwrap_err();
        assert!(e.reason.contains("the workflow input has no `missing`"));
        let e = resolve(json!("{{state:nope}}")).unwrap_err();
        assert!(e.reason.contains("state key `nope` is not set"));

        let mut s = scope();
        s.lp = None;
        let e = Template::compile(&json!("{{loop:index}}"))
            .unwrap()
            .resolve(&s)
            .unwrap_err();
        assert!(e.reason.contains("outside a loop"));
    }

    #[test]
    fn malformed_references_are_refused_at_compile_time() {
        for bad in [
            "{{step:a}}",
            "{{step::output}}",
            "{{step:a:result}}",
            "{{step:a:output.}}",
            "{{input:}}",
            "{{input:a..b}}",
            "{{loop:value}}",
            "{{loop:index.x}}",
        ] {
            assert!(Template::compile(&json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn references_are_listed() {
        let t =
            Template::compile(&json!({"a": "{{step:x:output}} {{input:k}}", "b": ["{{state:s}}"]}))
                .unwrap();
        let refs: Vec<String> = t.references().iter().map(|r| r.to_string()).collect();
        assert_eq!(refs, ["{{step:x:output}}", "{{input:k}}", "{{state:s}}"]);
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z {}:]{0,12}".prop_map(Value::from),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn text_without_references_is_unchanged(s in "[^{]*(\\{\\{[a-z ]*\\}\\})?[^{]*") {
            let v = Value::String(s.clone());
            prop_assert_eq!(Template::compile(&v).unwrap(), Template::Literal(v));
        }

        #[test]
        fn parsing_never_panics(s in ".*") {
            let _ = Template::compile(&Value::String(s));
        }

        #[test]
        fn exact_reference_keeps_the_type(out in json_value()) {
            let mut s = Scope::default();
            s.steps.insert("s".into(), out.clone());
            let t = Template::compile(&json!("{{step:s:output}}")).unwrap();
            prop_assert_eq!(t.resolve(&s).unwrap(), out);
        }

        #[test]
        fn embedded_reference_is_its_text(out in json_value(), pre in "[a-z ]{0,5}", post in "[a-z ]{0,5}") {
            let mut s = Scope::default();
            s.steps.insert("s".into(), out.clone());
            let t = Template::compile(&json!(format!("{pre}{{{{step:s:output}}}}{post}"))).unwrap();
            let mut want = pre.clone();
            push_text(&mut want, &out);
            want.push_str(&post);
            if pre.is_empty() && post.is_empty() {
                prop_assert_eq!(t.resolve(&s).unwrap(), out);
            } else {
                prop_assert_eq!(t.resolve(&s).unwrap(), Value::String(want));
            }
        }

        #[test]
        fn paths_follow_the_value(root in json_value()) {
            // Every path to a node of `root` resolves to that node.
            fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
                out.push((prefix.clone(), v.clone()));
                match v {
                    Value::Object(m) => for (k, c) in m {
                        let mut p = prefix.clone(); p.push(k.clone()); paths(c, p, out);
                    },
                    Value::Array(a) => for (i, c) in a.iter().enumerate() {
                        let mut p = prefix.clone(); p.push(i.to_string()); paths(c, p, out);
                    },
                    _ => {}
                }
            }
            let mut all = Vec::new();
            paths(&root, Vec::new(), &mut all);
            let mut s = Scope::default();
            s.steps.insert("s".into(), root.clone());
            for (p, want) in all {
                let text = if p.is_empty() {
                    "{{step:s:output}}".to_owned()
                } else {
                    format!("{{{{step:s:output.{}}}}}", p.join("."))
                };
                // Keys containing `.`, `{`, `}` or spaces are not addressable.
                if p.iter().any(|k| k.contains(['.', '{', '}', ' ', ':'])) { continue; }
                let t = Template::compile(&json!(text)).unwrap();
                prop_assert_eq!(t.resolve(&s).unwrap(), want);
            }
        }
    }
}
