//! The loop pattern.

use serde_json::{Map, Value};

use super::scope::Frame;
use super::{Outcome, Position, Run, Stop};
use crate::definition::{Aggregation, Condition, Definition, LoopIterator, Step};
use crate::template::Template;

/// A loop's definition, borrowed.
pub(crate) struct Spec<'d> {
    pub(crate) iterator: &'d LoopIterator,
    pub(crate) body: &'d [Step],
    pub(crate) max_iterations: u64,
    pub(crate) break_condition: Option<&'d Condition>,
    pub(crate) aggregation: Aggregation,
}

/// What the iterations run over.
enum Items {
    List(Vec<Value>),
    While,
}

impl Run<'_> {
    async fn integer(&self, t: &Template, frame: &Frame<'_>, what: &str) -> Result<i64, Stop> {
        let v = self
            .resolve(t, frame, None)
            .await
            .map_err(|s| s.context(what))?;
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| Stop::Failed(format!("{what}: {v} is not an integer")))
    }

    /// The loop's items (ranges and collections), recorded when they
    /// depend on references so a resumed run iterates over the same ones.
    async fn items(
        &self,
        iterator: &LoopIterator,
        max: u64,
        frame: &Frame<'_>,
        at: &Position,
    ) -> Result<Items, Stop> {
        let decision = format!("{}?items", at.prefix);
        if let Some(Value::Array(items)) = self.decided(&decision) {
            return Ok(Items::List(items.clone()));
        }
        let cap = usize::try_from(max).unwrap_or(usize::MAX);
        let (items, literal) = match iterator {
            LoopIterator::While(_) => return Ok(Items::While),
            LoopIterator::Range { start, end, step } => {
                let s = self.integer(start, frame, "loop range start").await?;
                let e = self.integer(end, frame, "loop range end").await?;
                let st = self.integer(step, frame, "loop range step").await?;
                if st == 0 {
                    return Err(Stop::Failed("loop range step: must not be 0".into()));
                }
                let mut items = Vec::new();
                let mut v = s;
                while items.len() < cap && ((st > 0 && v < e) || (st < 0 && v > e)) {
                    items.push(Value::from(v));
                    match v.checked_add(st) {
                        Some(n) => v = n,
                        None => break,
                    }
                }
                let literal = [start, end, step].iter().all(|t| t.is_literal());
                (items, literal)
            }
            LoopIterator::Collection(t) => {
                let v = self
                    .resolve(t, frame, None)
                    .await
                    .map_err(|s| s.context("loop collection"))?;
                match v {
                    Value::Array(mut a) => {
                        a.truncate(cap);
                        (a, t.is_literal())
                    }
                    other => {
                        return Err(Stop::Failed(format!(
                            "loop collection: {other} is not a list"
                        )))
                    }
                }
            }
        };
        if !literal {
            self.decide(decision, Value::Array(items.clone())).await?;
        }
        Ok(Items::List(items))
    }

    /// Runs the body once per item (or while the condition holds), at most
    /// `max_iterations` times, stopping early when the break condition
    /// holds after an iteration or a step fails.
    pub(crate) async fn looping(
        &self,
        def: &Definition,
        spec: Spec<'_>,
        frame: &Frame<'_>,
        at: &Position,
    ) -> Outcome {
        let mut iterations: Vec<Map<String, Value>> = Vec::new();
        let mut records = Vec::new();
        let stop = match self
            .items(spec.iterator, spec.max_iterations, frame, at)
            .await
        {
            Err(stop) => Some(stop),
            Ok(items) => self
                .iterate(def, &spec, items, frame, at, &mut iterations, &mut records)
                .await
                .err(),
        };
        let mut data = Map::new();
        match spec.aggregation {
            Aggregation::None => {}
            Aggregation::Last => {
                if let Some(last) = iterations.pop() {
                    data = last;
                }
            }
            Aggregation::CollectAll => {
                for step in spec.body {
                    let outputs: Vec<Value> = iterations
                        .iter()
                        .filter_map(|it| it.get(&step.name).cloned())
                        .collect();
                    if !outputs.is_empty() {
                        data.insert(step.name.clone(), Value::Array(outputs));
                    }
                }
            }
        }
        Outcome {
            data,
            steps: records,
            stop,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn iterate(
        &self,
        def: &Definition,
        spec: &Spec<'_>,
        items: Items,
        frame: &Frame<'_>,
        at: &Position,
        iterations: &mut Vec<Map<String, Value>>,
        records: &mut Vec<crate::StepRecord>,
    ) -> Result<(), Stop> {
        let mut k: u64 = 0;
        loop {
            if k >= spec.max_iterations {
                return Ok(());
            }
            let value = match &items {
                Items::List(list) => match usize::try_from(k).ok().and_then(|i| list.get(i)) {
                    Some(v) => v.clone(),
                    None => return Ok(()),
                },
                Items::While => {
                    let LoopIterator::While(cond) = spec.iterator else {
                        unreachable!("While items come from a while iterator")
                    };
                    let decision = format!("{}#{k}?while", at.prefix);
                    let go = match self.decided(&decision).and_then(Value::as_bool) {
                        Some(b) => b,
                        None => {
                            let probe = Frame::iteration(frame, Value::from(k), k);
                            let b = self
                                .condition(def, cond, &probe, at, "loop while_condition")
                                .await?;
                            self.decide(decision, Value::Bool(b)).await?;
                            b
                        }
                    };
                    if !go {
                        return Ok(());
                    }
                    Value::from(k)
                }
            };
            let mut it = Frame::iteration(frame, value, k);
            let pos = Position {
                prefix: format!("{}#{k}", at.prefix),
                iteration: Some(k),
                branch: at.branch.clone(),
            };
            let result = self.steps(def, spec.body, &mut it, &pos, records).await;
            let brk = match (&result, spec.break_condition) {
                (Ok(()), Some(cond)) => {
                    let decision = format!("{}#{k}?break", at.prefix);
                    match self.decided(&decision).and_then(Value::as_bool) {
                        Some(b) => Ok(b),
                        None => {
                            let b = self
                                .condition(def, cond, &it, &pos, "loop break_condition")
                                .await;
                            match b {
                                Ok(b) => self.decide(decision, Value::Bool(b)).await.map(|()| b),
                                Err(e) => Err(e),
                            }
                        }
                    }
                }
                _ => Ok(false),
            };
            iterations.push(std::mem::take(&mut it.outputs));
            result?;
            if brk? {
                return Ok(());
            }
            k += 1;
        }
    }
}
