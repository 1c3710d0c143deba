//! Server-Sent Event framing (PROTOCOL §5.2): LF line endings, `: ready` first, each poke as
//! `event: poke` plus one `data:` line of compact JSON, keepalive comments without "ready".

use bytes::Bytes;
use eventodb_protocol::json::write_string;

/// The comment sent once the subscription is registered.
pub(crate) const READY: &[u8] = b": ready\n\n";
/// The periodic comment that lets both sides notice a dead peer.
pub(crate) const KEEPALIVE: &[u8] = b": keepalive\n\n";

/// One poke event.
pub(crate) fn poke(stream_name: &str, position: i64, global_position: i64) -> Bytes {
    let mut out = String::with_capacity(64 + stream_name.len());
    out.push_str("event: poke\ndata: {\"stream\":");
    write_string(&mut out, stream_name);
    out.push_str(",\"position\":");
    out.push_str(&position.to_string());
    out.push_str(",\"globalPosition\":");
    out.push_str(&global_position.to_string());
    out.push_str("}\n\n");
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poke_framing_is_exact() {
        assert_eq!(
            poke("cart-42", 3, 57),
            Bytes::from_static(
                b"event: poke\ndata: {\"stream\":\"cart-42\",\"position\":3,\"globalPosition\":57}\n\n"
            )
        );
        assert!(!String::from_utf8_lossy(KEEPALIVE).contains("ready"));
    }
}
