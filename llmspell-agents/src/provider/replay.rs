//! Recorded transcripts: [`RecordingProvider`] writes one from a live run,
//! [`ReplayProvider`] answers from it, offline and deterministically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

use async_trait::async_trait;
use futures::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{ChatRequest, Completion, CompletionStream, LlmProvider, StreamEvent};
use crate::{AgentError, Result};

/// The transcript format's version.
pub const TRANSCRIPT_VERSION: u32 = 1;

/// A recorded run: every request a provider got and what it answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The format's version ([`TRANSCRIPT_VERSION`]).
    pub version: u32,
    /// The exchanges in the order they happened.
    pub exchanges: Vec<TranscriptExchange>,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptExchange {
    /// The provider that answered (`openai`, ...).
    pub provider: String,
    /// The model asked for.
    pub model: String,
    /// What was sent.
    pub request: ChatRequest,
    /// What came back.
    pub completion: Completion,
    /// The text fragments as they were streamed (empty when the answer was
    /// not streamed); replaying a stream sends the same fragments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<String>,
}

impl Transcript {
    /// Reads a transcript file.
    ///
    /// # Errors
    /// [`AgentError::Replay`] if it cannot be read or is not a transcript.
    pub fn load(path: &Path) -> Result<Self> {
        let err = |message: String| AgentError::Replay {
            path: path.display().to_string(),
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        let t: Self =
            serde_json::from_str(&text).map_err(|e| err(format!("not a transcript: {e}")))?;
        if t.version != TRANSCRIPT_VERSION {
            return Err(err(format!(
                "version {} is not supported (this build reads version {TRANSCRIPT_VERSION})",
                t.version
            )));
        }
        Ok(t)
    }

    /// Writes the transcript (to a temporary file renamed over `path`, so a
    /// reader never sees half a file).
    ///
    /// # Errors
    /// [`AgentError::Replay`] if it cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let err = |message: String| AgentError::Replay {
            path: path.display().to_string(),
            message,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        std::fs::write(&tmp, text + "\n").map_err(|e| err(format!("cannot write it: {e}")))?;
        std::fs::rename(&tmp, path).map_err(|e| err(format!("cannot write it: {e}")))
    }
}

/// Answers from a recorded [`Transcript`] (`replay/<model>`).
///
/// A request is answered by the first unused exchange whose recorded
/// request is equal to it (the conversation, tools and settings); identical
/// requests get the recorded answers in order, and the last one again once
/// they are used up. A request that was never recorded is an
/// [`AgentError::Replay`] naming the transcript and the request's last
/// message. Streaming replays the recorded text fragments.
#[derive(Debug)]
pub struct ReplayProvider {
    model: String,
    path: PathBuf,
    exchanges: Vec<TranscriptExchange>,
    used: Mutex<Vec<bool>>,
}

impl ReplayProvider {
    /// A provider named `replay` with model `model` answering from the
    /// transcript at `path`.
    ///
    /// # Errors
    /// [`AgentError::Replay`] if the file cannot be read.
    pub fn open(model: &str, path: &Path) -> Result<Self> {
        Ok(Self::new(model, path, Transcript::load(path)?))
    }

    /// A provider answering from `transcript` (`path` names it in errors).
    #[must_use]
    pub fn new(model: &str, path: &Path, transcript: Transcript) -> Self {
        let n = transcript.exchanges.len();
        Self {
            model: model.to_owned(),
            path: path.to_owned(),
            exchanges: transcript.exchanges,
            used: Mutex::new(vec![false; n]),
        }
    }

    fn answer(&self, request: &ChatRequest) -> Result<&TranscriptExchange> {
        let mut used = self.used.lock();
        let mut last_match = None;
        for (i, e) in self.exchanges.iter().enumerate() {
            if e.request == *request {
                if !used[i] {
                    used[i] = true;
                    return Ok(e);
                }
                last_match = Some(e);
            }
        }
        last_match.ok_or_else(|| {
            let last = request
                .messages
                .last()
                .map_or_else(String::new, |m| format!("{:?}: {:?}", m.role, m.content));
            AgentError::Replay {
                path: self.path.display().to_string(),
                message: format!(
                    "no recorded exchange matches this request ({} messages, the last {last}); {} exchanges are recorded — record the run again",
                    request.messages.len(),
                    self.exchanges.len()
                ),
            }
        })
    }
}

#[async_trait]
impl LlmProvider for ReplayProvider {
    fn name(&self) -> &str {
        "replay"
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion> {
        Ok(self.answer(request)?.completion.clone())
    }

    async fn stream(&self, request: &ChatRequest) -> Result<CompletionStream> {
        let e = self.answer(request)?;
        let c = &e.completion;
        let mut events = Vec::new();
        if e.chunks.is_empty() {
            if !c.text.is_empty() {
                events.push(Ok(StreamEvent::Text(c.text.clone())));
            }
        } else {
            events.extend(e.chunks.iter().map(|t| Ok(StreamEvent::Text(t.clone()))));
        }
        for (index, call) in c.tool_calls.iter().enumerate() {
            events.push(Ok(StreamEvent::ToolCallFragment {
                index,
                id: Some(call.id.clone()),
                name: Some(call.name.clone()),
                arguments: call.arguments.to_string(),
            }));
        }
        events.push(Ok(StreamEvent::Usage(c.usage)));
        events.push(Ok(StreamEvent::Completed(c.clone())));
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

/// The transcript being written to one path, shared by every recorder of
/// that path in this process (two agents recording to one file both land
/// in it).
#[derive(Debug)]
struct Sink {
    path: PathBuf,
    transcript: Mutex<Transcript>,
}

impl Sink {
    fn for_path(path: PathBuf) -> Arc<Self> {
        static SINKS: OnceLock<Mutex<HashMap<PathBuf, Weak<Sink>>>> = OnceLock::new();
        let mut sinks = SINKS.get_or_init(Default::default).lock();
        sinks.retain(|_, w| w.strong_count() > 0);
        if let Some(s) = sinks.get(&path).and_then(Weak::upgrade) {
            return s;
        }
        let sink = Arc::new(Self {
            path: path.clone(),
            transcript: Mutex::new(Transcript {
                version: TRANSCRIPT_VERSION,
                exchanges: Vec::new(),
            }),
        });
        sinks.insert(path, Arc::downgrade(&sink));
        sink
    }

    fn append(&self, exchange: TranscriptExchange) -> Result<()> {
        // Held while writing (a few KB, synchronously, no await): writes
        // land in order.
        let mut t = self.transcript.lock();
        t.exchanges.push(exchange);
        t.save(&self.path)
    }
}

/// Wraps a live provider and appends every exchange to a transcript file
/// (rewritten after each one, so a crash keeps what was recorded). The
/// file starts empty when the first recorder of the path in this process
/// is made.
#[derive(Debug)]
pub struct RecordingProvider {
    inner: Arc<dyn LlmProvider>,
    sink: Arc<Sink>,
}

impl RecordingProvider {
    /// Records `inner`'s exchanges to `path`.
    #[must_use]
    pub fn new(inner: Arc<dyn LlmProvider>, path: PathBuf) -> Self {
        Self {
            inner,
            sink: Sink::for_path(path),
        }
    }

    /// The transcript file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.sink.path
    }

    fn exchange(
        &self,
        request: &ChatRequest,
        completion: &Completion,
        chunks: Vec<String>,
    ) -> TranscriptExchange {
        TranscriptExchange {
            provider: self.inner.name().to_owned(),
            model: self.inner.model().to_owned(),
            request: request.clone(),
            completion: completion.clone(),
            chunks,
        }
    }
}

#[async_trait]
impl LlmProvider for RecordingProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> &str {
        self.inner.model()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion> {
        let c = self.inner.complete(request).await?;
        self.sink.append(self.exchange(request, &c, Vec::new()))?;
        Ok(c)
    }

    async fn stream(&self, request: &ChatRequest) -> Result<CompletionStream> {
        let inner = self.inner.stream(request).await?;
        let sink = Arc::clone(&self.sink);
        let template = self.exchange(request, &Completion::default(), Vec::new());
        let mut chunks = Vec::new();
        let s = inner.then(move |item| {
            let mut out = item;
            match &out {
                Ok(StreamEvent::Text(t)) => chunks.push(t.clone()),
                Ok(StreamEvent::Completed(c)) => {
                    let mut e = template.clone();
                    e.completion = c.clone();
                    e.chunks = std::mem::take(&mut chunks);
                    if let Err(err) = sink.append(e) {
                        out = Err(err);
                    }
                }
                _ => {}
            }
            futures::future::ready(out)
        });
        Ok(Box::pin(s))
    }
}
