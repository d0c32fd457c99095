//! Assembling a streamed answer.

use eventsource_stream::Event;
use futures::{Stream, StreamExt};
use serde_json::Value;

use super::{Completion, CompletionStream, StreamEvent, ToolCall, Usage};
use crate::{AgentError, Result};

#[derive(Debug, Default)]
struct PartialCall {
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

/// Folds stream fragments into a [`Completion`]: text pieces are joined,
/// tool-call fragments are joined per index, the last usage wins.
#[derive(Debug, Default)]
pub struct CompletionAccumulator {
    text: String,
    calls: Vec<PartialCall>,
    usage: Option<Usage>,
    model: String,
    finish_reason: Option<String>,
}

impl CompletionAccumulator {
    /// An empty accumulator.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one event (a [`StreamEvent::Completed`] is ignored).
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Text(t) => self.text.push_str(t),
            StreamEvent::ToolCallFragment {
                index,
                id,
                name,
                arguments,
            } => self.fragment(*index, id.as_deref(), name.as_deref(), arguments),
            StreamEvent::Usage(u) => self.usage = Some(*u),
            StreamEvent::Completed(_) => {}
        }
    }

    pub(crate) fn fragment(
        &mut self,
        index: usize,
        id: Option<&str>,
        name: Option<&str>,
        arguments: &str,
    ) {
        if self.calls.len() <= index {
            // Indices are small (a handful of calls per answer); a
            // provider sending a huge index is refused by the caller.
            self.calls.resize_with(index + 1, PartialCall::default);
        }
        let call = &mut self.calls[index];
        if let Some(id) = id.filter(|s| !s.is_empty()) {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = name.filter(|s| !s.is_empty()) {
            match &mut call.name {
                // Some servers split the name too.
                Some(n) if call.arguments.is_empty() && id.is_none() => n.push_str(name),
                _ => call.name = Some(name.to_owned()),
            }
        }
        call.arguments.push_str(arguments);
    }

    pub(crate) fn set_model(&mut self, model: &str) {
        if !model.is_empty() {
            model.clone_into(&mut self.model);
        }
    }

    pub(crate) fn set_finish_reason(&mut self, reason: &str) {
        self.finish_reason = Some(reason.to_owned());
    }

    pub(crate) fn add_usage(&mut self, prompt: Option<u64>, completion: Option<u64>) {
        let u = self.usage.get_or_insert_with(Usage::default);
        if let Some(p) = prompt {
            u.prompt_tokens = p;
        }
        if let Some(c) = completion {
            u.completion_tokens = c;
        }
        u.total_tokens = u.prompt_tokens + u.completion_tokens;
    }

    /// The answer so far, as a [`Completion`].
    ///
    /// # Errors
    /// [`AgentError::InvalidResponse`] if a tool call never got a name.
    pub fn finish(self, provider: &str, fallback_model: &str) -> Result<Completion> {
        let mut tool_calls = Vec::with_capacity(self.calls.len());
        for (i, c) in self.calls.into_iter().enumerate() {
            let Some(name) = c.name else {
                return Err(AgentError::InvalidResponse {
                    provider: provider.to_owned(),
                    message: format!("tool call {i} has no function name"),
                });
            };
            tool_calls.push(ToolCall {
                id: c.id.unwrap_or_else(|| format!("call_{i}")),
                name,
                arguments: parse_arguments(&c.arguments),
            });
        }
        let finish_reason = self.finish_reason.unwrap_or_else(|| {
            if tool_calls.is_empty() {
                "stop".into()
            } else {
                "tool_calls".into()
            }
        });
        Ok(Completion {
            text: self.text,
            tool_calls,
            usage: self.usage.unwrap_or_default(),
            model: if self.model.is_empty() {
                fallback_model.to_owned()
            } else {
                self.model
            },
            finish_reason,
        })
    }
}

/// Parses a tool call's argument text: `{}` when empty, the raw text as a
/// JSON string when it is not JSON.
pub(crate) fn parse_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

/// A protocol's reading of its SSE events.
pub(crate) trait SseFold: Send + 'static {
    /// Handles one SSE event (`kind` is its `event:` name, empty when it
    /// has none), pushing the events it yields to `out`. `Ok(true)` when
    /// the answer is complete.
    fn event(&mut self, kind: &str, data: &str, out: &mut Vec<Result<StreamEvent>>)
        -> Result<bool>;
    /// The completed answer.
    fn finish(&mut self) -> Result<Completion>;
    /// The error of a stream that ended before the answer was complete.
    fn unfinished(&self) -> AgentError;
}

/// Our stream of a provider's SSE events: each event folded by `fold`,
/// [`StreamEvent::Completed`] at the end, or an error (after which the
/// stream ends).
pub(crate) fn fold_sse<F: SseFold>(
    events: impl Stream<Item = Result<Event>> + Send + 'static,
    fold: F,
) -> CompletionStream {
    let state = (Box::pin(events), fold, false);
    let s = futures::stream::unfold(state, |(mut events, mut fold, done)| async move {
        if done {
            return None;
        }
        let mut out = Vec::new();
        loop {
            let finished = match events.next().await {
                None => Err(fold.unfinished()),
                Some(Err(e)) => Err(e),
                Some(Ok(event)) => fold.event(&event.event, &event.data, &mut out),
            };
            match finished {
                Err(e) => {
                    out.push(Err(e));
                    return Some((out, (events, fold, true)));
                }
                Ok(true) => {
                    out.push(fold.finish().map(StreamEvent::Completed));
                    return Some((out, (events, fold, true)));
                }
                Ok(false) if !out.is_empty() => return Some((out, (events, fold, false))),
                Ok(false) => {}
            }
        }
    })
    .flat_map(futures::stream::iter);
    Box::pin(s)
}

/// Drains `stream`, calling `on_text` with each text fragment, and returns
/// the completed answer.
///
/// # Errors
/// The stream's first error, or [`AgentError::Connection`] if it ended
/// without a [`StreamEvent::Completed`].
pub async fn collect_stream(
    mut stream: CompletionStream,
    provider: &str,
    mut on_text: impl FnMut(&str) + Send,
) -> Result<Completion> {
    while let Some(item) = stream.next().await {
        match item? {
            StreamEvent::Text(t) => on_text(&t),
            StreamEvent::Completed(c) => return Ok(c),
            _ => {}
        }
    }
    Err(AgentError::Connection {
        provider: provider.to_owned(),
        message: "the stream ended before the answer was complete".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fragments_join_per_index() {
        let mut acc = CompletionAccumulator::new();
        acc.push(&StreamEvent::Text("Hel".into()));
        acc.push(&StreamEvent::ToolCallFragment {
            index: 1,
            id: Some("b".into()),
            name: Some("calc".into()),
            arguments: "{\"x\":".into(),
        });
        acc.push(&StreamEvent::ToolCallFragment {
            index: 0,
            id: Some("a".into()),
            name: Some("echo".into()),
            arguments: String::new(),
        });
        acc.push(&StreamEvent::ToolCallFragment {
            index: 1,
            id: None,
            name: None,
            arguments: "1}".into(),
        });
        acc.push(&StreamEvent::Text("lo".into()));
        acc.push(&StreamEvent::Usage(Usage::new(3, 4)));
        let c = acc.finish("p", "m").unwrap();
        assert_eq!(c.text, "Hello");
        assert_eq!(c.tool_calls[0].name, "echo");
        assert_eq!(c.tool_calls[0].arguments, json!({}));
        assert_eq!(c.tool_calls[1].id, "b");
        assert_eq!(c.tool_calls[1].arguments, json!({"x": 1}));
        assert_eq!(c.usage.total_tokens, 7);
        assert_eq!(c.finish_reason, "tool_calls");
        assert_eq!(c.model, "m");
    }

    #[test]
    fn a_call_without_a_name_is_an_error() {
        let mut acc = CompletionAccumulator::new();
        acc.fragment(0, Some("x"), None, "{}");
        assert!(matches!(
            acc.finish("p", "m"),
            Err(AgentError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn arguments_that_are_not_json_stay_text() {
        assert_eq!(parse_arguments("not json"), json!("not json"));
        assert_eq!(parse_arguments(" "), json!({}));
    }
}
