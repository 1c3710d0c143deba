//! The import's event stream (PROTOCOL §6.2): `data: <json>` events without an `event:` line,
//! sent through a `ChannelBody` into the response as batches commit.

use std::time::Duration;

use bytes::Bytes;
use eventodb_protocol::json::write_string;

fn event(json: &str) -> Bytes {
    Bytes::from(format!("data: {json}\n\n"))
}

/// `{"imported":N,"gpos":G}` after a full batch.
pub(crate) fn progress(imported: u64, gpos: i64) -> Bytes {
    event(&format!(r#"{{"imported":{imported},"gpos":{gpos}}}"#))
}

/// `{"done":true,"imported":N,"elapsed":"1.4s"}` at the end.
pub(crate) fn done(imported: u64, elapsed: Duration) -> Bytes {
    let elapsed = elapsed.as_secs_f64();
    event(&format!(
        r#"{{"done":true,"imported":{imported},"elapsed":"{elapsed:.1}s"}}"#
    ))
}

/// `{"error":"CODE","message":"…","line":N}`; `line` omitted when 0.
pub(crate) fn error(code: &str, message: &str, line: u64) -> Bytes {
    let mut out = String::with_capacity(64 + message.len());
    out.push_str(r#"{"error":"#);
    write_string(&mut out, code);
    out.push_str(r#","message":"#);
    write_string(&mut out, message);
    if line != 0 {
        out.push_str(&format!(r#","line":{line}"#));
    }
    out.push('}');
    event(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        assert_eq!(
            progress(2000, 2417),
            Bytes::from_static(b"data: {\"imported\":2000,\"gpos\":2417}\n\n")
        );
        assert_eq!(
            done(0, Duration::from_millis(40)),
            Bytes::from_static(b"data: {\"done\":true,\"imported\":0,\"elapsed\":\"0.0s\"}\n\n")
        );
        assert_eq!(
            error("READ_ERROR", "x", 0),
            Bytes::from_static(b"data: {\"error\":\"READ_ERROR\",\"message\":\"x\"}\n\n")
        );
    }
}
