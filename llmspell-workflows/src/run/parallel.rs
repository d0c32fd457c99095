//! The parallel pattern.

use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use serde_json::{Map, Value};

use super::scope::Frame;
use super::{Outcome, Position, Run, Stop};
use crate::definition::{Definition, Join, ParallelBranch};
use crate::result::StepRecord;

/// A parallel workflow's definition, borrowed.
pub(crate) struct Spec<'d> {
    pub(crate) branches: &'d [ParallelBranch],
    pub(crate) max_concurrency: usize,
    pub(crate) join: Join,
    pub(crate) fail_fast: bool,
}

/// A finished branch: its name, outputs, step records and result.
type BranchEnd<'b> = (
    &'b str,
    Map<String, Value>,
    Vec<StepRecord>,
    Result<(), Stop>,
);

impl Run<'_> {
    async fn branch<'b>(
        &self,
        def: &Definition,
        b: &'b ParallelBranch,
        frame: &Frame<'_>,
        at: &Position,
    ) -> BranchEnd<'b> {
        let mut inner = Frame::child(frame);
        let pos = Position {
            prefix: format!("{}/{}", at.prefix, b.name),
            iteration: at.iteration,
            branch: Some(b.name.clone()),
        };
        let mut records = Vec::new();
        let result = self
            .steps(def, &b.steps, &mut inner, &pos, &mut records)
            .await;
        (b.name.as_str(), inner.outputs, records, result)
    }

    /// Runs the branches concurrently, at most `max_concurrency` at a time
    /// (each branch's steps in order), on the caller's task.
    ///
    /// The workflow succeeds as soon as the join is met (every branch for
    /// `all`, `n` branches for a count, one for `any`); branches still
    /// running are then cancelled and branches not started are not
    /// started. It fails once the join can no longer be met: with
    /// `fail_fast` at once (the others are cancelled), otherwise after
    /// every branch has finished, the error listing every failed branch. A
    /// hook's Cancel in any branch stops the whole workflow.
    pub(crate) async fn parallel(
        &self,
        def: &Definition,
        spec: Spec<'_>,
        frame: &Frame<'_>,
        at: &Position,
    ) -> Outcome {
        let total = spec.branches.len();
        let needed = match spec.join {
            Join::All => total,
            Join::N(n) => n,
        };
        let branch_runs: Vec<BoxFuture<'_, BranchEnd<'_>>> = spec
            .branches
            .iter()
            .map(|b| Box::pin(self.branch(def, b, frame, at)) as BoxFuture<'_, BranchEnd<'_>>)
            .collect();
        let mut running = stream::iter(branch_runs).buffer_unordered(spec.max_concurrency.max(1));

        let mut data = Map::new();
        let mut steps = Vec::new();
        let mut succeeded = 0usize;
        let mut failures: Vec<String> = Vec::new();
        let mut stop: Option<Stop> = None;
        while let Some((name, outputs, records, result)) = running.next().await {
            steps.extend(records);
            match result {
                Ok(()) => {
                    succeeded += 1;
                    data.insert(name.to_owned(), Value::Object(outputs));
                    if succeeded >= needed {
                        break;
                    }
                }
                Err(Stop::Failed(e)) => {
                    failures.push(format!("branch `{name}`: {e}"));
                    let still_possible = total - failures.len() >= needed;
                    if !still_possible && spec.fail_fast {
                        break;
                    }
                }
                Err(other) => {
                    stop = Some(other.context(format!("branch `{name}`")));
                    break;
                }
            }
        }
        // Dropping the stream cancels the branches still running.
        drop(running);
        if stop.is_none() && succeeded < needed {
            let message = if spec.join == Join::All && failures.len() == 1 {
                failures.remove(0)
            } else {
                format!(
                    "{succeeded} of {total} branches succeeded, {needed} needed: {}",
                    failures.join("; ")
                )
            };
            stop = Some(Stop::Failed(message));
        }
        Outcome { data, steps, stop }
    }
}
