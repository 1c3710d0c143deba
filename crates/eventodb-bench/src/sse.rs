//! A minimal Server-Sent Events client for `GET /subscribe`: opens the subscription on its
//! own connection and turns the byte stream into `: ready` and poke events.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::target::Target;

/// What one SSE event block meant to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The `: ready` comment: the subscription is registered.
    Ready,
    /// A poke, by global position.
    Poke(i64),
    /// A poke whose data could not be read.
    Malformed,
}

/// Opens `GET /subscribe?{query}` and returns the streaming body once the server said `200`.
pub async fn open(target: &Target, query: &str) -> Result<Incoming, String> {
    let stream = TcpStream::connect(target.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", target.addr))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = Request::get(target.path(&format!("/subscribe?{query}")))
        .header(hyper::header::HOST, target.authority.as_str())
        .header(hyper::header::ACCEPT, "text/event-stream");
    if let Some(auth) = &target.authorization {
        request = request.header(hyper::header::AUTHORIZATION, auth.as_str());
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if status != StatusCode::OK {
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        return Err(format!("subscribe answered {status}: {body}"));
    }
    Ok(response.into_body())
}

/// The next chunk of a streaming body; `None` at its end.
pub async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>, String> {
    loop {
        match body.frame().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// Splits the byte stream into events (blocks ending in a blank line, LF line endings).
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
}

impl Parser {
    /// Adds received bytes, appending each completed event to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Event>) {
        self.buf.extend_from_slice(chunk);
        let mut consumed = 0;
        while let Some(end) = find(&self.buf[consumed..], b"\n\n") {
            if let Some(event) = interpret(&self.buf[consumed..consumed + end]) {
                out.push(event);
            }
            consumed += end + 2;
        }
        self.buf.drain(..consumed);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One event block: `data:` carries a poke; a comment mentioning `ready` is the ready signal.
fn interpret(block: &[u8]) -> Option<Event> {
    let text = std::str::from_utf8(block).ok()?;
    let mut ready = false;
    for line in text.lines() {
        if let Some(data) = line.strip_prefix("data:") {
            let value: Option<serde_json::Value> = serde_json::from_str(data.trim()).ok();
            return Some(
                match value.and_then(|v| v.get("globalPosition")?.as_i64()) {
                    Some(global) => Event::Poke(global),
                    None => Event::Malformed,
                },
            );
        }
        if line.starts_with(':') && line.contains("ready") {
            ready = true;
        }
    }
    ready.then_some(Event::Ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ready_pokes_and_split_chunks() {
        let mut p = Parser::default();
        let mut out = Vec::new();
        p.push(
            b": ready\n\n: keepalive\n\nevent: poke\ndata: {\"stream\":\"a-1\",",
            &mut out,
        );
        assert_eq!(out, vec![Event::Ready]);
        p.push(
            b"\"position\":0,\"globalPosition\":7}\n\nevent: poke\ndata: x\n\n",
            &mut out,
        );
        assert_eq!(out, vec![Event::Ready, Event::Poke(7), Event::Malformed]);
        assert!(p.buf.is_empty());
    }
}
