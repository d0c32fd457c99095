//! A scripted LLM server on 127.0.0.1 for tests, examples and benches
//! (feature `testing`): it answers each request with the next scripted
//! [`Reply`] — a JSON body with any status and headers, an SSE stream with
//! a delay between chunks and an optional cut, or no answer at all — and
//! keeps every request it received.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use llmspell_agents::testing::{openai_text, LlmServer, Reply};
//! use llmspell_agents::{ChatRequest, Message};
//!
//! let server = LlmServer::start().await.unwrap();
//! server.push(Reply::ok(openai_text("Hello!", 5, 2)));
//! let provider = server.factory().create(&server.config("openai/gpt-test")).unwrap();
//! let request = ChatRequest { messages: vec![Message::user("Hi")], ..ChatRequest::default() };
//! assert_eq!(provider.complete(&request).await.unwrap().text, "Hello!");
//! assert_eq!(server.received()[0].path, "/v1/chat/completions");
//! # }
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::{ProviderConfig, ProviderFactory, RetryPolicy};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with a status and extra headers.
    Json {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: Value,
        /// Extra headers (e.g. `retry-after`).
        headers: Vec<(&'static str, String)>,
    },
    /// An SSE body: each item is sent as one chunk, `delay` apart; with
    /// `drop_after`, the connection is cut after that many chunks.
    Sse {
        /// The chunks (whole SSE events: see [`data`], [`event`]).
        chunks: Vec<String>,
        /// The pause before each chunk after the first.
        delay: Duration,
        /// Cut the connection after this many chunks.
        drop_after: Option<usize>,
    },
    /// Never answers (for timeouts).
    Hang,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Self {
        Self::Json {
            status: 200,
            body,
            headers: vec![],
        }
    }

    /// `status` with `body`.
    pub fn status(status: u16, body: Value) -> Self {
        Self::Json {
            status,
            body,
            headers: vec![],
        }
    }

    /// An SSE stream of `chunks`, sent at once.
    pub fn sse(chunks: Vec<String>) -> Self {
        Self::Sse {
            chunks,
            delay: Duration::ZERO,
            drop_after: None,
        }
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its JSON body (`null` if it was not JSON).
    pub body: Value,
}

#[derive(Default)]
struct State {
    replies: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    received: Mutex<Vec<Received>>,
    /// Off once [`LlmServer::always`] is used.
    forget_requests: std::sync::atomic::AtomicBool,
}

/// The server; stopped when dropped.
pub struct LlmServer {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LlmServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// A 500 naming a scripted reply that could not be sent (a bad header).
fn bad_script(e: &axum::http::Error) -> Response {
    let mut r = Response::new(Body::from(format!(
        "{{\"error\":{{\"message\":\"bad scripted reply: {e}\"}}}}"
    )));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

impl Drop for LlmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LlmServer {
    /// Starts a server on `127.0.0.1:0`, on a task stopped when the
    /// server is dropped.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let state = Arc::new(State::default());
        let s = Arc::clone(&state);
        let app = Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let s = Arc::clone(&s);
                async move {
                    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if !s.forget_requests.load(std::sync::atomic::Ordering::Relaxed) {
                        s.received.lock().push(Received {
                            path: uri.path().to_owned(),
                            headers,
                            body,
                        });
                    }
                    let queued = s.replies.lock().pop_front();
                    let reply = queued.or_else(|| s.fallback.lock().clone());
                    respond(reply).await
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "scripted LLM server stopped");
            }
        });
        Ok(Self { addr, state, task })
    }

    /// Queues the answer to a later request.
    pub fn push(&self, reply: Reply) -> &Self {
        self.state.replies.lock().push_back(reply);
        self
    }

    /// Answers with `reply` whenever no scripted reply is queued (instead
    /// of a 500), and stops keeping the requests received (for benches
    /// sending many).
    pub fn always(&self, reply: Reply) -> &Self {
        *self.state.fallback.lock() = Some(reply);
        self.state
            .forget_requests
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().clone()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A factory whose environment points every provider here.
    /// A factory whose environment points every provider here (keys
    /// `sk-test` / `ak-test`).
    pub fn factory(&self) -> ProviderFactory {
        let base = self.base();
        ProviderFactory::new().with_env(move |k| match k {
            "OPENAI_BASE_URL" => Some(format!("{base}/v1")),
            "OPENAI_API_KEY" => Some("sk-test".into()),
            "ANTHROPIC_BASE_URL" => Some(base.clone()),
            "ANTHROPIC_API_KEY" => Some("ak-test".into()),
            "OLLAMA_HOST" => Some(base.clone()),
            _ => None,
        })
    }

    /// A provider configuration for `model` with a 5 s timeout and no
    /// retries.
    pub fn config(&self, model: &str) -> ProviderConfig {
        ProviderConfig::new(model)
            .timeout(Duration::from_secs(5))
            .retry(RetryPolicy::none())
    }
}

async fn respond(reply: Option<Reply>) -> Response {
    match reply {
        None => Response::builder()
            .status(500)
            .body(Body::from(
                r#"{"error":{"message":"no scripted reply left"}}"#,
            ))
            .unwrap_or_default(),
        Some(Reply::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Response::new(Body::empty())
        }
        Some(Reply::Json {
            status,
            body,
            headers,
        }) => {
            let mut b = Response::builder()
                .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                .header("content-type", "application/json");
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(Body::from(body.to_string()))
                .unwrap_or_else(|e| bad_script(&e))
        }
        Some(Reply::Sse {
            chunks,
            delay,
            drop_after,
        }) => {
            let stream = futures::stream::unfold(0usize, move |i| {
                let chunks = chunks.clone();
                async move {
                    if drop_after == Some(i) {
                        // Let what was sent reach the client first.
                        tokio::time::sleep(delay.max(Duration::from_millis(50))).await;
                        return Some((Err(std::io::Error::other("cut")), usize::MAX));
                    }
                    if i >= chunks.len() {
                        return None;
                    }
                    if i > 0 && !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Some((
                        Ok::<_, std::io::Error>(Bytes::from(chunks[i].clone())),
                        i + 1,
                    ))
                }
            });
            Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|e| bad_script(&e))
        }
    }
}

/// An OpenAI SSE line.
pub fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// The OpenAI stream's end.
pub fn done() -> String {
    "data: [DONE]\n\n".into()
}

/// An Anthropic SSE event.
pub fn event(kind: &str, v: &Value) -> String {
    format!("event: {kind}\ndata: {v}\n\n")
}

/// A chat completion answering `text`.
pub fn openai_text(text: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

/// A chat completion calling tools: `(id, name, arguments)`.
pub fn openai_tools(calls: &[(&str, &str, Value)], prompt: u64, completion: u64) -> Value {
    let calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    json!({
        "id": "chatcmpl-2", "object": "chat.completion", "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": calls}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

/// SSE chunks streaming `pieces`, then a usage chunk and `[DONE]`.
pub fn openai_stream(pieces: &[&str], prompt: u64, completion: u64) -> Vec<String> {
    let mut out: Vec<String> = pieces
        .iter()
        .map(|p| data(&json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]})))
        .collect();
    out.push(data(&json!({"model": "gpt-test", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})));
    out.push(data(&json!({"model": "gpt-test", "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})));
    out.push(done());
    out
}
