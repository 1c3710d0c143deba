//! A blocking Server-Sent Events client that checks the exact framing of PROTOCOL §5.2.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::Value;

use super::client::connect;

/// One event as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A comment line (`: text`), e.g. `ready` or `keepalive`.
    Comment(String),
    /// A poke.
    Poke(Poke),
}

/// The three facts a poke carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Poke {
    pub(crate) stream: String,
    pub(crate) position: i64,
    pub(crate) global_position: i64,
}

/// An open subscription.
pub(crate) struct Sse {
    reader: BufReader<TcpStream>,
    pending: Vec<u8>,
    pub(crate) headers: Vec<(String, String)>,
}

/// Sends `GET <path_and_query>` without reading anything back yet.
pub(crate) fn send_subscribe(
    addr: SocketAddr,
    path_and_query: &str,
    token: Option<&str>,
) -> TcpStream {
    let mut stream = connect(addr);
    let mut head = format!("GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .expect("sending subscribe");
    stream
}

impl Sse {
    /// Opens a subscription and checks the response head (200, SSE headers).
    #[track_caller]
    pub(crate) fn open(addr: SocketAddr, path_and_query: &str, token: Option<&str>) -> Sse {
        Sse::from_stream(send_subscribe(addr, path_and_query, token))
    }

    /// Reads the response head of a subscription already sent on `stream`.
    #[track_caller]
    pub(crate) fn from_stream(stream: TcpStream) -> Sse {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("status line");
        assert!(
            line.starts_with("HTTP/1.1 200"),
            "subscribe answered {line:?}"
        );
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).expect("header line");
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((k, v)) = trimmed.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let sse = Sse {
            reader,
            pending: Vec::new(),
            headers,
        };
        assert_eq!(sse.header("content-type"), Some("text/event-stream"));
        assert_eq!(sse.header("cache-control"), Some("no-cache"));
        assert_eq!(sse.header("access-control-allow-origin"), Some("*"));
        assert_eq!(sse.header("transfer-encoding"), Some("chunked"));
        sse
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads one HTTP chunk of the body into `pending`; false at the end of the body.
    fn read_chunk(&mut self) -> bool {
        let mut size_line = String::new();
        self.reader
            .read_line(&mut size_line)
            .expect("reading a chunk size (is the server still sending?)");
        let size = usize::from_str_radix(size_line.trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).expect("reading a chunk");
        assert_eq!(&data[size..], b"\r\n", "chunk not followed by CRLF");
        data.truncate(size);
        self.pending.extend_from_slice(&data);
        size > 0
    }

    /// The next event; `None` when the server ended the body.
    #[track_caller]
    pub(crate) fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = self.pending.drain(..end + 2).collect();
                let text = String::from_utf8(raw).expect("SSE is UTF-8");
                return Some(parse_event(&text[..text.len() - 2]));
            }
            if !self.read_chunk() {
                assert!(self.pending.is_empty(), "body ended mid-event");
                return None;
            }
        }
    }

    /// The next poke, skipping keepalive comments; panics on anything else.
    #[track_caller]
    pub(crate) fn next_poke(&mut self) -> Poke {
        loop {
            match self.next_event() {
                Some(Event::Poke(p)) => return p,
                Some(Event::Comment(c)) if c == "keepalive" => continue,
                other => panic!("expected a poke, got {other:?}"),
            }
        }
    }

    /// Waits for the `: ready` comment, which must be the first event.
    #[track_caller]
    pub(crate) fn ready(mut self) -> Sse {
        assert_eq!(self.next_event(), Some(Event::Comment("ready".into())));
        self
    }
}

/// Parses one event and checks its framing: LF only, `event: poke` then exactly one
/// `data: ` line with exactly the keys `stream`, `position`, `globalPosition`.
#[track_caller]
fn parse_event(text: &str) -> Event {
    assert!(!text.contains('\r'), "CR in SSE event {text:?}");
    if let Some(comment) = text.strip_prefix(": ") {
        assert!(!comment.contains('\n'), "multi-line comment {text:?}");
        return Event::Comment(comment.to_owned());
    }
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 2, "a poke is two lines: {text:?}");
    assert_eq!(lines[0], "event: poke");
    let data = lines[1].strip_prefix("data: ").expect("data line");
    let json: Value = serde_json::from_str(data).expect("poke data is JSON");
    let object = json.as_object().expect("poke data is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["globalPosition", "position", "stream"]);
    Event::Poke(Poke {
        stream: json["stream"].as_str().expect("stream").to_owned(),
        position: json["position"].as_i64().expect("integer position"),
        global_position: json["globalPosition"]
            .as_i64()
            .expect("integer globalPosition"),
    })
}
