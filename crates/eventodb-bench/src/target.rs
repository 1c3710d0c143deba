//! The server under test: its address and credentials, parsed from `--url` and `--token`.

use std::net::SocketAddr;

use crate::error::{Error, Result};

/// Where requests go. Only this address is ever contacted.
#[derive(Debug, Clone)]
pub struct Target {
    /// Resolved socket address of the server.
    pub addr: SocketAddr,
    /// `Host` header value (`host:port`).
    pub authority: String,
    /// Path prefix before `/rpc` and `/subscribe` (empty, or starting with `/`).
    pub base_path: String,
    /// `Authorization` header value, if a token was given.
    pub authorization: Option<String>,
}

impl Target {
    /// Parses an `http://host[:port][/prefix]` URL and resolves the host once.
    pub async fn resolve(url: &str, token: Option<&str>) -> Result<Target> {
        let (authority, base_path) = split_url(url)?;
        let with_port = if has_port(&authority) {
            authority.clone()
        } else {
            format!("{authority}:80")
        };
        let addr = tokio::net::lookup_host(with_port.as_str())
            .await
            .map_err(|e| Error::new(format!("cannot resolve {authority}: {e}")))?
            .next()
            .ok_or_else(|| Error::new(format!("{authority} resolves to no address")))?;
        Ok(Target {
            addr,
            authority,
            base_path,
            authorization: token.map(|t| format!("Bearer {t}")),
        })
    }

    /// The path of an endpoint (`/rpc`, `/subscribe?…`) under the base path.
    pub fn path(&self, endpoint: &str) -> String {
        format!("{}{endpoint}", self.base_path)
    }
}

/// Splits `http://authority/prefix` into the authority and the prefix without trailing `/`.
fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        Error::new(format!(
            "--url {url:?}: only http:// URLs are supported (no TLS)"
        ))
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(Error::new(format!(
            "--url {url:?}: expected http://host[:port][/path]"
        )));
    }
    Ok((authority.to_owned(), path.trim_end_matches('/').to_owned()))
}

/// Whether an authority already names a port (`host:1`, `[::1]:1`, not `[::1]`).
fn has_port(authority: &str) -> bool {
    match authority.rfind(':') {
        Some(i) => !authority[i..].contains(']'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1:8080".into(), String::new())
        );
        assert_eq!(
            split_url("http://h:1/base/").unwrap(),
            ("h:1".into(), "/base".into())
        );
        assert!(split_url("https://h").is_err());
        assert!(split_url("http:///x").is_err());
        assert!(has_port("[::1]:80"));
        assert!(!has_port("[::1]"));
        assert!(!has_port("localhost"));
    }
}
