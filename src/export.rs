//! `eventodb export` (PROTOCOL §6.3): reads the namespace by global position with
//! `category.get` (per category, or everything) and writes one NDJSON record per message,
//! keys in the order `id, stream, type, pos, gpos, data, meta, time`, time in whole UTC
//! seconds, optionally gzip-compressed.

use std::io::Write;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use eventodb_protocol::json::write_string;
use eventodb_protocol::time::{parse_rfc3339, rfc3339_seconds, Micros};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use serde_json::value::RawValue;

use crate::transfer::{run_command, Flags, Progress, Server};

/// Messages asked for per page.
const PAGE: usize = 1000;
/// Longest a single request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "\
Usage: eventodb export --url URL --token TOKEN [--categories a,b] [--since DATE]
                       [--until DATE] [--gzip] [--output FILE]

DATE is RFC 3339 or YYYY-MM-DD (UTC midnight); --since is inclusive, --until exclusive.
Writes NDJSON to stdout unless --output is given.";

/// Runs the command with its arguments (after `export`).
pub(crate) fn main(args: Vec<String>) -> std::process::ExitCode {
    run_command(USAGE, export(args))
}

/// A date flag: RFC 3339, or `YYYY-MM-DD` as UTC midnight.
fn date(flag: &str, text: &str) -> anyhow::Result<Micros> {
    parse_rfc3339(text)
        .or_else(|| parse_rfc3339(&format!("{text}T00:00:00Z")))
        .ok_or_else(|| anyhow!("--{flag} {text:?} is neither RFC 3339 nor YYYY-MM-DD"))
}

async fn export(args: Vec<String>) -> anyhow::Result<()> {
    let flags = Flags::parse(
        &args,
        &["url", "token", "categories", "since", "until", "output"],
        &["gzip"],
    )
    .map_err(anyhow::Error::from)?;
    let server = Server::new(flags.required("url")?, flags.required("token")?)?;
    let since = flags.value("since").map(|d| date("since", d)).transpose()?;
    let until = flags.value("until").map(|d| date("until", d)).transpose()?;
    let categories: Vec<String> = match flags.value("categories") {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        None => vec![String::new()],
    };
    let out: Box<dyn Write> = match flags.value("output") {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot create {path}"))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let out = std::io::BufWriter::with_capacity(256 * 1024, out);
    let mut out: Box<dyn Write> = if flags.on("gzip") {
        Box::new(flate2::write::GzEncoder::new(
            out,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(out)
    };

    let progress = Progress::new("Exported");
    let mut sender = server.connect::<Full<Bytes>>().await?;
    let mut count: u64 = 0;
    let mut line = String::with_capacity(1024);
    let result: anyhow::Result<()> = async {
        for category in &categories {
            let mut position: i64 = 0;
            loop {
                let page = fetch(&server, &mut sender, category, position).await?;
                let messages: Vec<Vec<&RawValue>> =
                    serde_json::from_slice(&page).context("unexpected category.get answer")?;
                let Some(last) = messages.last() else { break };
                position = field::<i64>(last, 4)? + 1;
                for m in &messages {
                    let time = field::<String>(m, 7)?;
                    let micros = parse_rfc3339(&time)
                        .ok_or_else(|| anyhow!("message time {time:?} is not RFC 3339"))?;
                    if since.is_some_and(|s| micros < s) || until.is_some_and(|u| micros >= u) {
                        continue;
                    }
                    line.clear();
                    record(&mut line, m, micros)?;
                    out.write_all(line.as_bytes())?;
                    count += 1;
                }
                progress.update(count, "", &format!("Exported: {count} events..."));
                if messages.len() < PAGE {
                    break;
                }
            }
        }
        out.flush()?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        progress.abandon();
        return Err(e);
    }
    drop(out);
    progress.finish(&format!("Exported: {count} events total"));
    Ok(())
}

/// Element `i` of a message array, decoded.
fn field<T: serde::de::DeserializeOwned>(m: &[&RawValue], i: usize) -> anyhow::Result<T> {
    let raw = m
        .get(i)
        .ok_or_else(|| anyhow!("message array has {} elements, expected 8", m.len()))?;
    serde_json::from_str(raw.get()).with_context(|| format!("bad message element {i}"))
}

/// Appends the §6.1 record of category-read message `m` (8 elements) and a newline.
fn record(out: &mut String, m: &[&RawValue], micros: Micros) -> anyhow::Result<()> {
    if m.len() != 8 {
        bail!("message array has {} elements, expected 8", m.len());
    }
    out.push_str("{\"id\":");
    write_string(out, &field::<String>(m, 0)?);
    out.push_str(",\"stream\":");
    write_string(out, &field::<String>(m, 1)?);
    out.push_str(",\"type\":");
    write_string(out, &field::<String>(m, 2)?);
    out.push_str(",\"pos\":");
    out.push_str(&field::<i64>(m, 3)?.to_string());
    out.push_str(",\"gpos\":");
    out.push_str(&field::<i64>(m, 4)?.to_string());
    out.push_str(",\"data\":");
    canonical(out, m[5])?;
    out.push_str(",\"meta\":");
    canonical(out, m[6])?;
    out.push_str(",\"time\":\"");
    out.push_str(&rfc3339_seconds(micros));
    out.push_str("\"}\n");
    Ok(())
}

/// Appends a payload in canonical form: object keys sorted, strings re-escaped minimally,
/// numbers copied verbatim (never through floating point). Backends keep key order and
/// escapes differently (PostgreSQL's jsonb normalises them, SQLite keeps the client's text),
/// so this is what makes exports of equal data byte-identical whichever backend holds it.
fn canonical(out: &mut String, raw: &RawValue) -> anyhow::Result<()> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            let map: std::collections::BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
            out.push('{');
            for (i, (key, value)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                canonical(out, value)?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            out.push('[');
            for (i, value) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(out, value)?;
            }
            out.push(']');
        }
        Some(b'"') => write_string(out, &serde_json::from_str::<String>(text)?),
        _ => out.push_str(text),
    }
    Ok(())
}

/// One `category.get` page.
async fn fetch(
    server: &Server,
    sender: &mut SendRequest<Full<Bytes>>,
    category: &str,
    position: i64,
) -> anyhow::Result<Bytes> {
    let mut body = String::from("[\"category.get\",");
    write_string(&mut body, category);
    body.push_str(&format!(
        ",{{\"position\":{position},\"batchSize\":{PAGE}}}]"
    ));
    let request = Request::post(server.path("/rpc"))
        .header(hyper::header::HOST, server.authority())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::AUTHORIZATION, server.authorization.as_str())
        .body(Full::new(Bytes::from(body)))?;
    let call = async {
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, bytes))
    };
    let (status, bytes) = tokio::time::timeout(TIMEOUT, call)
        .await
        .map_err(|_| anyhow!("category.get timed out after {}s", TIMEOUT.as_secs()))?
        .context("category.get failed")?;
    if status != StatusCode::OK {
        bail!(
            "category.get answered {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date("since", "2025-03-02").unwrap(), 1_740_873_600_000_000);
        assert_eq!(
            date("since", "2025-03-02T08:15:30Z").unwrap(),
            1_740_903_330_000_000
        );
        assert!(date("since", "yesterday").is_err());
    }

    #[test]
    fn payloads_are_canonical() {
        let raw: &RawValue = serde_json::from_str(
            r#"{"b":[1.50,"\u0041",{"z":null,"a":true}],"a":12345678901234567890}"#,
        )
        .unwrap();
        let mut out = String::new();
        canonical(&mut out, raw).unwrap();
        assert_eq!(
            out,
            r#"{"a":12345678901234567890,"b":[1.50,"A",{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn record_keys_in_order() {
        let m: Vec<&RawValue> = serde_json::from_str(
            r#"["0191f0c2-7777-7e00-8000-000000000001","cart-42","ItemAdded",0,44,{"sku":"A-1"},null,"2025-03-02T08:15:30.5Z"]"#,
        )
        .unwrap();
        let mut out = String::new();
        record(&mut out, &m, 1_740_903_330_500_000).unwrap();
        assert_eq!(
            out,
            "{\"id\":\"0191f0c2-7777-7e00-8000-000000000001\",\"stream\":\"cart-42\",\"type\":\"ItemAdded\",\"pos\":0,\"gpos\":44,\"data\":{\"sku\":\"A-1\"},\"meta\":null,\"time\":\"2025-03-02T08:15:30Z\"}\n"
        );
    }
}
