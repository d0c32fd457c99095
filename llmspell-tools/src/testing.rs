//! A web server on 127.0.0.1 for tests of the web tools (feature
//! `testing`): real HTTP on a random loopback port, serving what the nine
//! tools talk to, and keeping every request it received.
//!
//! | path | answer |
//! |---|---|
//! | `/page` | an HTML article page (title, nav, script, links, images, meta) |
//! | `/json` | `{"user": {"id": 7, "name": "ada"}, "items": [1, 2, 3]}`, header `x-test: yes` |
//! | `/echo` | any method: `{"method", "headers", "query", "body"}` of the request |
//! | `/redirect?to=URL` | `302 Found` to `URL` |
//! | `/slow?ms=N` | `slow` after N ms |
//! | `/big?bytes=N` | N bytes of `a` |
//! | `/status/CODE` | that status, `{"status": CODE}` |
//! | `/flaky/KEY?fail=N&status=S&retry_after=SECS` | the first N calls per KEY answer S (503) with `Retry-After`, then `{"attempt": n}` |
//! | `/graphql` | POST: `{"data": {"hello": $name, "operation": operationName}}`; a query containing `fail` gets `errors` and no data, one containing `partial` both |
//! | `/sitemap.xml`, `/sitemap_index.xml`, `/sitemap2.xml.gz` | a urlset of 3 URLs, an index of both, a gzip urlset of 2 URLs |
//! | `/monitored` | an HTML page whose text is set with [`WebServer::set_monitored`] |
//! | `/counter` | an HTML page saying `visits: N`, N counting its requests |
//! | `/webhook` | POST: `{"received": true}` |
//! | `/searxng/search?q=Q&format=json` | SearXNG's JSON answer for Q (403 without `format=json`) |
//! | `/brave/res/v1/web/search?q=Q&count=N` | Brave Search's JSON answer (401 without `X-Subscription-Token: test-key`) |

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};

/// One request the server received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first value of header `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct State {
    received: Mutex<Vec<ReceivedRequest>>,
    flaky: Mutex<HashMap<String, u32>>,
    monitored: Mutex<String>,
}

/// The server; stopped when dropped.
#[derive(Debug)]
pub struct WebServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WebServer {
    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start() -> std::io::Result<Self> {
        let state = Arc::new(State::default());
        *state.monitored.lock() = "first version".to_owned();
        let s = Arc::clone(&state);
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let s = Arc::clone(&s);
                async move { handle(&s, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "test web server stopped");
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far, in order.
    #[must_use]
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.state.received.lock().clone()
    }

    /// The requests received for `path`.
    #[must_use]
    pub fn received_at(&self, path: &str) -> Vec<ReceivedRequest> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Sets the text of `/monitored`.
    pub fn set_monitored(&self, text: &str) {
        text.clone_into(&mut self.state.monitored.lock());
    }
}

fn respond(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap_or_default()
}

fn json_response(status: u16, value: &Value) -> Response {
    respond(status, "application/json", value.to_string())
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>  Test Page </title>
<meta name="description" content="A page for tests">
<meta property="og:title" content="OG Test">
<style>body { color: red }</style>
<script>var secret = "do not show";</script></head>
<body>
<nav><a href="/home">Home</a> | <a href="/about">About</a></nav>
<header>Site header</header>
<article>
<h1 id="headline">Hello, world</h1>
<p class="lead">The first paragraph.</p>
<p>The second <b>bold</b> paragraph with <a href="/more?x=1" class="more">a link</a>.</p>
<img src="/img/cat.png" alt="a cat">
<ul><li class="item" data-id="1">One</li><li class="item" data-id="2">Two</li></ul>
</article>
<footer>Copyright footer</footer>
</body></html>"#;

fn urlset(base: &str, paths: &[&str]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">"#,
    );
    for (i, p) in paths.iter().enumerate() {
        xml.push_str(&format!(
            "<url><loc>{base}{p}</loc><lastmod>2026-01-0{}</lastmod><changefreq>daily</changefreq><priority>0.{}</priority></url>",
            i + 1,
            9 - i
        ));
    }
    xml.push_str("</urlset>");
    xml
}

async fn handle(
    state: &State,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    state.received.lock().push(ReceivedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    });
    let q = query_map(&uri);
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let base = format!("http://{host}");
    match path.as_str() {
        "/page" => respond(200, "text/html; charset=utf-8", PAGE),
        "/json" => Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("x-test", "yes")
            .body(Body::from(
                json!({"user": {"id": 7, "name": "ada"}, "items": [1, 2, 3]}).to_string(),
            ))
            .unwrap_or_default(),
        "/echo" => {
            let hs: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        json!(String::from_utf8_lossy(v.as_bytes())),
                    )
                })
                .collect();
            json_response(
                200,
                &json!({"method": method.as_str(), "headers": hs, "query": uri.query(),
                         "body": String::from_utf8_lossy(&body)}),
            )
        }
        "/redirect" => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", q.get("to").cloned().unwrap_or_default())
            .body(Body::empty())
            .unwrap_or_default(),
        "/slow" => {
            let ms = q.get("ms").and_then(|m| m.parse().ok()).unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            respond(200, "text/plain", "slow")
        }
        "/big" => {
            let n = q.get("bytes").and_then(|m| m.parse().ok()).unwrap_or(1024);
            respond(200, "text/plain", vec![b'a'; n])
        }
        "/graphql" => {
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let query = req["query"].as_str().unwrap_or_default();
            let name = req["variables"]["name"].as_str().unwrap_or("world");
            if query.contains("fail") {
                json_response(
                    200,
                    &json!({"data": null, "errors": [{"message": "field `fail` does not exist"}]}),
                )
            } else if query.contains("partial") {
                json_response(
                    200,
                    &json!({"data": {"hello": name}, "errors": [{"message": "`extra` was unavailable"}]}),
                )
            } else {
                json_response(
                    200,
                    &json!({"data": {"hello": name, "operation": req["operationName"]}}),
                )
            }
        }
        "/sitemap.xml" => respond(200, "application/xml", urlset(&base, &["/a", "/b", "/c"])),
        "/sitemap_index.xml" => respond(
            200,
            "application/xml",
            format!(
                r#"<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{base}/sitemap.xml</loc></sitemap><sitemap><loc>{base}/sitemap2.xml.gz</loc></sitemap></sitemapindex>"#
            ),
        ),
        "/sitemap2.xml.gz" => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = gz.write_all(urlset(&base, &["/d", "/e"]).as_bytes());
            respond(200, "application/gzip", gz.finish().unwrap_or_default())
        }
        "/monitored" => {
            let text = state.monitored.lock().clone();
            let lines: String = text.lines().map(|l| format!("<p>{l}</p>")).collect();
            respond(
                200,
                "text/html",
                format!("<html><head><title>Monitored</title></head><body><div id=\"status\">{lines}</div></body></html>"),
            )
        }
        "/counter" => {
            let n = state
                .received
                .lock()
                .iter()
                .filter(|r| r.path == "/counter")
                .count();
            respond(
                200,
                "text/html",
                format!("<html><body><p>visits: {n}</p></body></html>"),
            )
        }
        "/webhook" => json_response(200, &json!({"received": true})),
        "/searxng/search" => {
            if q.get("format").map(String::as_str) != Some("json") {
                return respond(403, "text/plain", "format not allowed");
            }
            let term = q.get("q").cloned().unwrap_or_default();
            json_response(
                200,
                &json!({"query": term, "number_of_results": 2, "results": [
                    {"url": "https://example.org/1", "title": format!("{term} one"), "content": "first hit", "engine": "duckduckgo"},
                    {"url": "https://example.org/2", "title": format!("{term} two"), "content": "second hit", "engine": "wikipedia"}
                ]}),
            )
        }
        "/brave/res/v1/web/search" => {
            if headers
                .get("x-subscription-token")
                .and_then(|v| v.to_str().ok())
                != Some("test-key")
            {
                return json_response(
                    401,
                    &json!({"type": "ErrorResponse", "error": {"code": "SUBSCRIPTION_TOKEN_INVALID", "detail": "The provided subscription token is invalid."}}),
                );
            }
            let term = q.get("q").cloned().unwrap_or_default();
            let count: usize = q.get("count").and_then(|c| c.parse().ok()).unwrap_or(20);
            let results: Vec<Value> = (1..=3)
                .take(count)
                .map(|i| json!({"title": format!("{term} result {i}"), "url": format!("https://brave.example/{i}"), "description": format!("snippet {i}")}))
                .collect();
            json_response(
                200,
                &json!({"type": "search", "query": {"original": term}, "web": {"type": "search", "results": results}}),
            )
        }
        p if p.starts_with("/status/") => {
            let code = p["/status/".len()..].parse().unwrap_or(500);
            json_response(code, &json!({"status": code}))
        }
        p if p.starts_with("/flaky/") => {
            let key = p["/flaky/".len()..].to_owned();
            let fail: u32 = q.get("fail").and_then(|v| v.parse().ok()).unwrap_or(1);
            let status: u16 = q.get("status").and_then(|v| v.parse().ok()).unwrap_or(503);
            let attempt = {
                let mut calls = state.flaky.lock();
                let n = calls.entry(key).or_insert(0);
                *n += 1;
                *n
            };
            if attempt <= fail {
                let mut r = Response::builder()
                    .status(status)
                    .header("content-type", "application/json");
                if let Some(secs) = q.get("retry_after") {
                    r = r.header("retry-after", secs.as_str());
                }
                r.body(Body::from(
                    json!({"attempt": attempt, "error": "try again"}).to_string(),
                ))
                .unwrap_or_default()
            } else {
                json_response(200, &json!({"attempt": attempt}))
            }
        }
        _ => respond(404, "text/plain", "not found"),
    }
}
