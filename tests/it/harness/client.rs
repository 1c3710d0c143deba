//! A minimal HTTP/1.1 client over `std::net::TcpStream`, with raw control over the request.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// How long a test waits for the server to answer one request.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A request to send verbatim (apart from `Host`, `Connection` and `Content-Length`).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

impl Request {
    pub(crate) fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            keep_alive: false,
        }
    }

    pub(crate) fn post(path: &str) -> Request {
        Request::new("POST", path)
    }

    pub(crate) fn get(path: &str) -> Request {
        Request::new("GET", path)
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn bearer(self, token: &str) -> Request {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub(crate) fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    pub(crate) fn json(self, body: &Value) -> Request {
        self.header("Content-Type", "application/json")
            .body(body.to_string())
    }

    /// Leaves the connection open after the response (no `Connection: close`).
    pub(crate) fn keep_alive(mut self) -> Request {
        self.keep_alive = true;
        self
    }

    pub(crate) fn to_bytes(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nHost: {addr}\r\n", self.method, self.path);
        if !self.keep_alive {
            head.push_str("Connection: close\r\n");
        }
        if !self.body.is_empty() || self.method != "GET" {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sends the request on a fresh connection and reads the response.
    pub(crate) fn send(&self, addr: SocketAddr) -> Response {
        let stream = connect(addr);
        let mut reader = BufReader::new(stream);
        reader
            .get_mut()
            .write_all(&self.to_bytes(addr))
            .unwrap_or_else(|e| panic!("writing {} {}: {e}", self.method, self.path));
        Response::read_from(&mut reader).unwrap_or_else(|e| {
            panic!("reading the response to {} {}: {e}", self.method, self.path)
        })
    }
}

/// Opens a connection with read/write timeouts so a hung server fails the test.
pub(crate) fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    stream
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// Reads exactly one response (Content-Length, chunked, or until EOF).
    pub(crate) fn read_from<R: BufRead>(reader: &mut R) -> std::io::Result<Response> {
        let status_line = read_line(reader)?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(invalid(format!("bad status line {status_line:?}")));
        }
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let line = read_line(reader)?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            loop {
                let size_line = read_line(reader)?;
                let size_hex = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_hex, 16)
                    .map_err(|_| invalid(format!("bad chunk size {size_line:?}")))?;
                if size == 0 {
                    // Trailers, up to the blank line.
                    while !read_line(reader)?.is_empty() {}
                    break;
                }
                let start = response.body.len();
                response.body.resize(start + size, 0);
                reader.read_exact(&mut response.body[start..])?;
                read_line(reader)?;
            }
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| invalid(format!("bad content-length {len:?}")))?;
            response.body.resize(len, 0);
            reader.read_exact(&mut response.body)?;
        } else if !(status == 204 || status == 304 || (100..200).contains(&status)) {
            reader.read_to_end(&mut response.body)?;
        }
        Ok(response)
    }

    /// The first header with this (case-insensitive) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body text when it is not JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}); status {}, body {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// Asserts the `Content-Type` is `application/json` (parameters allowed).
    pub(crate) fn assert_json_content_type(&self) {
        let ct = self.content_type().unwrap_or("<none>");
        assert!(
            ct.to_ascii_lowercase().starts_with("application/json"),
            "Content-Type must be application/json, got {ct:?} (status {}, body {:?})",
            self.status,
            self.text()
        );
    }

    /// Asserts a JSON error `{"error":{"code":..,"message":..}}` with this status and code;
    /// returns the `error` object.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.error_code().as_deref()),
            (status, Some(code)),
            "expected {status} {code}, got body {:?}",
            self.text()
        );
        self.assert_json_content_type();
        let error = self.json()["error"].clone();
        assert!(
            error["message"].is_string(),
            "error.message must be a string: {error}"
        );
        error
    }

    /// The `error.code` when the body is a JSON error.
    pub(crate) fn error_code(&self) -> Option<String> {
        let v: Value = serde_json::from_slice(&self.body).ok()?;
        v["error"]["code"].as_str().map(str::to_owned)
    }

    /// Asserts `200` with a JSON body and returns it.
    #[track_caller]
    pub(crate) fn ok_json(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got body {:?}", self.text());
        self.assert_json_content_type();
        self.json()
    }
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

fn read_line<R: BufRead>(reader: &mut R) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let n = reader.read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a complete response",
        ));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
