//! The conditional pattern.

use serde_json::Value;

use super::scope::Frame;
use super::{Outcome, Position, Run, Stop};
use crate::definition::{Branch, Definition};

impl Run<'_> {
    /// Evaluates the branch conditions in order (all of them with `all`,
    /// up to the first true one otherwise); runs the matching branches'
    /// steps, or the default branch's when none matched. No match and no
    /// default is a success with no data.
    pub(crate) async fn conditional(
        &self,
        def: &Definition,
        branches: &[Branch],
        all: bool,
        frame: &Frame<'_>,
        at: &Position,
    ) -> Outcome {
        let decision = format!("{}?branches", at.prefix);
        let chosen: Vec<usize> = match self.decided(&decision).and_then(Value::as_array) {
            Some(names) => names
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|n| branches.iter().position(|b| b.name == n))
                .collect(),
            None => {
                let mut chosen = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    let Some(c) = &b.condition else { continue };
                    match self
                        .condition(def, c, frame, at, &format!("branch `{}` condition", b.name))
                        .await
                    {
                        Ok(true) => {
                            chosen.push(i);
                            if !all {
                                break;
                            }
                        }
                        Ok(false) => {}
                        Err(stop) => {
                            return Outcome {
                                data: serde_json::Map::new(),
                                steps: Vec::new(),
                                stop: Some(stop),
                            }
                        }
                    }
                }
                if chosen.is_empty() {
                    chosen.extend(branches.iter().position(|b| b.condition.is_none()));
                }
                let names = chosen
                    .iter()
                    .map(|&i| Value::String(branches[i].name.clone()))
                    .collect();
                if let Err(stop) = self.decide(decision, Value::Array(names)).await {
                    return Outcome {
                        data: serde_json::Map::new(),
                        steps: Vec::new(),
                        stop: Some(stop),
                    };
                }
                chosen
            }
        };

        let mut inner = Frame::child(frame);
        let mut records = Vec::new();
        let mut stop: Option<Stop> = None;
        for i in chosen {
            let b = &branches[i];
            let pos = Position {
                prefix: at.prefix.clone(),
                iteration: at.iteration,
                branch: Some(b.name.clone()),
            };
            if let Err(s) = self
                .steps(def, &b.steps, &mut inner, &pos, &mut records)
                .await
            {
                stop = Some(s);
                break;
            }
        }
        Outcome {
            data: inner.outputs,
            steps: records,
            stop,
        }
    }
}
