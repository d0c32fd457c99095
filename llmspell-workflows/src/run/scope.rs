//! Scopes: which step outputs, input and loop variables a step sees.
//!
//! A [`Frame`] holds the outputs of the steps of one step list (a
//! sequential workflow, a branch, one loop iteration) and points to the
//! frame it runs in. Lookups walk outward, so a loop body sees the
//! iteration's steps first, then the steps before the loop, and a nested
//! workflow sees its own steps first, then its caller's.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::template::Lookup;

/// The outputs of one step list and what encloses it.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    parent: Option<&'a Frame<'a>>,
    pub(crate) outputs: Map<String, Value>,
    pub(crate) input: Arc<Value>,
    loop_vars: Option<(Value, u64)>,
}

impl<'a> Frame<'a> {
    /// The frame of a workflow started on `input`, inside `parent` (the
    /// calling step's frame) for a nested workflow.
    pub(crate) fn root(input: Arc<Value>, parent: Option<&'a Frame<'a>>) -> Self {
        Self {
            parent,
            outputs: Map::new(),
            input,
            loop_vars: None,
        }
    }

    /// A frame inside `parent`, with its input.
    pub(crate) fn child(parent: &'a Frame<'a>) -> Self {
        Self {
            parent: Some(parent),
            outputs: Map::new(),
            input: Arc::clone(&parent.input),
            loop_vars: None,
        }
    }

    /// A loop iteration's frame.
    pub(crate) fn iteration(parent: &'a Frame<'a>, value: Value, index: u64) -> Self {
        Self {
            loop_vars: Some((value, index)),
            ..Self::child(parent)
        }
    }

    fn frames(&self) -> impl Iterator<Item = &Frame<'a>> {
        std::iter::successors(Some(self), |f| f.parent)
    }

    pub(crate) fn output(&self, name: &str) -> Option<&Value> {
        self.frames().find_map(|f| f.outputs.get(name))
    }

    /// Every visible output by step name, inner frames first.
    pub(crate) fn visible(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for f in self.frames() {
            for (k, v) in &f.outputs {
                if !out.contains_key(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }

    pub(crate) fn loop_vars(&self) -> Option<(&Value, u64)> {
        self.frames()
            .find_map(|f| f.loop_vars.as_ref().map(|(v, i)| (v, *i)))
    }
}

/// A frame plus the state values fetched for one resolution, and
/// optionally one more output (a step's own, for its compensation).
pub(crate) struct View<'v> {
    pub(crate) frame: &'v Frame<'v>,
    pub(crate) state: &'v HashMap<String, Value>,
    pub(crate) extra: Option<(&'v str, &'v Value)>,
}

impl Lookup for View<'_> {
    fn step_output(&self, name: &str) -> Option<&Value> {
        match self.extra {
            Some((n, v)) if n == name => Some(v),
            _ => self.frame.output(name),
        }
    }

    fn visible_steps(&self) -> Vec<String> {
        let mut names: Vec<String> = self.frame.visible().keys().cloned().collect();
        if let Some((n, _)) = self.extra {
            names.push(n.to_owned());
        }
        names.sort();
        names.dedup();
        names
    }

    fn input(&self) -> &Value {
        &self.frame.input
    }

    fn state(&self, key: &str) -> Option<&Value> {
        self.state.get(key)
    }

    fn loop_vars(&self) -> Option<(&Value, u64)> {
        self.frame.loop_vars()
    }
}
