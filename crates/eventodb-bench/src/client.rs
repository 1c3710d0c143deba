//! One keep-alive HTTP/1.1 connection to the server for JSON-RPC calls, reopened after a
//! transport failure.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::target::Target;

/// The outcome of one RPC call that reached the server or failed on the way.
#[derive(Debug)]
pub enum Reply {
    /// `200` with its body.
    Ok(Bytes),
    /// Any other status, with its body.
    Status(StatusCode, Bytes),
    /// The connection could not be opened, or broke.
    Transport(String),
}

impl Reply {
    /// A short label for error counting (`409 STREAM_VERSION_CONFLICT`, `transport`).
    pub fn error_label(&self) -> Option<String> {
        match self {
            Reply::Ok(_) => None,
            Reply::Status(status, body) => Some(match error_code(body) {
                Some(code) => format!("{} {code}", status.as_u16()),
                None => status.as_u16().to_string(),
            }),
            Reply::Transport(_) => Some("transport".to_owned()),
        }
    }
}

/// A connection owned by one worker.
pub struct Client {
    target: Arc<Target>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A client that connects lazily, on its first call.
    pub fn new(target: Arc<Target>) -> Client {
        Client {
            target,
            sender: None,
        }
    }

    /// Opens a connection now, so set-up cost stays out of the measurement.
    pub async fn connect(&mut self) -> Result<(), String> {
        if self.sender.is_none() {
            self.sender = Some(open(&self.target).await?);
        }
        Ok(())
    }

    /// Sends `POST /rpc` with this JSON body and reads the whole answer.
    pub async fn rpc(&mut self, body: Bytes) -> Reply {
        match self.try_rpc(body).await {
            Ok(reply) => reply,
            Err(e) => {
                self.sender = None;
                Reply::Transport(e)
            }
        }
    }

    async fn try_rpc(&mut self, body: Bytes) -> Result<Reply, String> {
        let sender = match &mut self.sender {
            Some(sender) => sender,
            None => self.sender.insert(open(&self.target).await?),
        };
        sender.ready().await.map_err(|e| e.to_string())?;
        let mut request = Request::post(self.target.path("/rpc"))
            .header(hyper::header::HOST, self.target.authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(auth) = &self.target.authorization {
            request = request.header(hyper::header::AUTHORIZATION, auth.as_str());
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if status == StatusCode::OK {
            Ok(Reply::Ok(body))
        } else {
            Ok(Reply::Status(status, body))
        }
    }
}

/// Opens a TCP connection and runs the HTTP/1.1 handshake; the connection is driven by a task.
pub(crate) async fn open(target: &Target) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(target.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", target.addr))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        // Errors surface on the sender; the task only has to drive the connection.
        let _ = connection.await;
    });
    Ok(sender)
}

/// The `error.code` of an EventoDB error body.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.get("code")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_error_codes() {
        assert_eq!(
            error_code(br#"{"error":{"code":"STREAM_VERSION_CONFLICT","message":"x"}}"#),
            Some("STREAM_VERSION_CONFLICT".into())
        );
        assert_eq!(error_code(b"not json"), None);
        let label = Reply::Status(
            StatusCode::CONFLICT,
            Bytes::from_static(br#"{"error":{"code":"X"}}"#),
        )
        .error_label();
        assert_eq!(label.as_deref(), Some("409 X"));
    }
}
