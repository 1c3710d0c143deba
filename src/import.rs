//! `eventodb import` (PROTOCOL §6.4): streams NDJSON (from a file or stdin, optionally
//! gzip-compressed) to `POST /import`, chunked, and follows the server's event stream.

use std::io::{BufRead, Read};

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::{Request, StatusCode};
use serde::Deserialize;

use eventodb_http::ChannelBody;

use crate::transfer::{run_command, Flags, Progress, Server};

/// Bytes read from the input per chunk sent.
const CHUNK: usize = 64 * 1024;

const USAGE: &str = "\
Usage: eventodb import --url URL --token TOKEN [--input FILE] [--gzip] [--force]

Reads NDJSON from stdin unless --input is given. --force first deletes every message of
the namespace (after confirmation on stdin).";

/// Runs the command with its arguments (after `import`).
pub(crate) fn main(args: Vec<String>) -> std::process::ExitCode {
    run_command(USAGE, import(args))
}

/// One event of the server's answer.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    imported: u64,
    #[serde(default)]
    gpos: i64,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    elapsed: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    line: u64,
}

/// Asks on stderr whether to delete the namespace's messages; true on `y`/`yes`.
fn confirmed() -> anyhow::Result<bool> {
    eprint!("--force deletes every message of the namespace before importing. Continue? [y/N] ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

async fn import(args: Vec<String>) -> anyhow::Result<()> {
    let flags = Flags::parse(&args, &["url", "token", "input"], &["gzip", "force"])
        .map_err(anyhow::Error::from)?;
    let server = Server::new(flags.required("url")?, flags.required("token")?)?;
    let force = flags.on("force");
    if force && !confirmed()? {
        eprintln!("Import cancelled.");
        return Ok(());
    }
    let input: Box<dyn Read + Send> = match flags.value("input") {
        Some(path) => {
            Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?)
        }
        None => Box::new(std::io::stdin()),
    };
    let mut input: Box<dyn Read + Send> = if flags.on("gzip") {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            input,
        )))
    } else {
        input
    };

    // The input is read on a blocking thread and handed over in chunks.
    let (chunks, body) = ChannelBody::channel(4);
    let reader = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow!(e).context("cannot read the input")),
            };
            if chunks
                .blocking_send(Bytes::copy_from_slice(&buf[..n]))
                .is_err()
            {
                // The server stopped reading (it answered already).
                return Ok(());
            }
        }
    });

    let path = if force {
        "/import?force=true"
    } else {
        "/import"
    };
    let request = Request::post(server.path(path))
        .header(hyper::header::HOST, server.authority())
        .header(hyper::header::CONTENT_TYPE, "application/x-ndjson")
        .header(hyper::header::AUTHORIZATION, server.authorization.as_str())
        .body(body)?;
    let mut sender = server.connect::<ChannelBody>().await?;
    sender.ready().await?;
    let response = sender
        .send_request(request)
        .await
        .context("the import request failed")?;
    let status = response.status();
    let mut body = response.into_body();
    if status != StatusCode::OK {
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        bail!(
            "server answered {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&bytes).trim()
        );
    }

    let progress = Progress::new("Imported");
    let mut pending = String::new();
    loop {
        let frame = match body.frame().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                progress.abandon();
                bail!("the import stream broke: {e}");
            }
            None => break,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        pending.push_str(&String::from_utf8_lossy(&data));
        while let Some(end) = pending.find("\n\n") {
            let block: String = pending.drain(..end + 2).collect();
            for line in block.lines() {
                let Some(json) = line.strip_prefix("data:") else {
                    continue;
                };
                let event: Event = serde_json::from_str(json.trim())
                    .with_context(|| format!("unexpected event {json:?}"))?;
                if let Some(code) = event.error {
                    progress.abandon();
                    if let Ok(Err(e)) = reader.await {
                        return Err(e);
                    }
                    if event.line > 0 {
                        bail!("{code}: {} (line {})", event.message, event.line);
                    }
                    bail!("{code}: {}", event.message);
                }
                if event.done {
                    progress.finish(&format!(
                        "Imported: {} events in {}",
                        event.imported, event.elapsed
                    ));
                    return Ok(());
                }
                progress.update(
                    event.imported,
                    &format!("gpos {}", event.gpos),
                    &format!(
                        "Imported: {} events (gpos: {})...",
                        event.imported, event.gpos
                    ),
                );
            }
        }
    }
    progress.abandon();
    if let Ok(Err(e)) = reader.await {
        return Err(e);
    }
    bail!("the server closed the import stream before it finished")
}
