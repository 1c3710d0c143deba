//! What `eventodb export` and `eventodb import` share (PROTOCOL §6.3–6.4): Go-style flags,
//! the server address, an HTTP/1.1 connection (hyper over a tokio `TcpStream`, as the load
//! generator does), a streaming request body, and progress reporting (a live bar on a
//! terminal, the protocol's plain `\r` lines otherwise).

use std::collections::HashMap;
use std::io::IsTerminal;

use anyhow::{anyhow, bail, Context as _};
use hyper::body::Body;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A usage error (unknown flag, value missing): exit status 2, as Go's `flag` package.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Parsed flags: values by name, and the boolean flags that were set.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses `args`: `-flag`/`--flag`, values by `=` or as the next argument, booleans bare
    /// or `=true|false`. `valued` and `booleans` list the accepted names.
    pub(crate) fn parse(
        args: &[String],
        valued: &[&str],
        booleans: &[&str],
    ) -> Result<Flags, Usage> {
        let mut values = HashMap::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            let Some(stripped) = arg
                .strip_prefix("--")
                .or_else(|| arg.strip_prefix('-'))
                .filter(|s| !s.is_empty())
            else {
                return Err(Usage(format!("unexpected argument {arg:?}")));
            };
            let (name, inline) = match stripped.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (stripped, None),
            };
            if booleans.contains(&name) {
                let value = inline.unwrap_or_else(|| "true".to_owned());
                let on = crate::cli::parse_go_bool(&value).map_err(Usage)?;
                values.insert(name.to_owned(), on.to_string());
            } else if valued.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = args
                            .get(i)
                            .ok_or_else(|| Usage(format!("flag needs an argument: -{name}")))?;
                        i += 1;
                        v.clone()
                    }
                };
                values.insert(name.to_owned(), value);
            } else {
                return Err(Usage(format!("flag provided but not defined: -{name}")));
            }
        }
        Ok(Flags { values })
    }

    /// The value of a flag, if given.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of a required flag.
    pub(crate) fn required(&self, name: &str) -> anyhow::Result<&str> {
        self.value(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| anyhow!("--{name} is required"))
    }

    /// Whether a boolean flag is on.
    pub(crate) fn on(&self, name: &str) -> bool {
        self.value(name) == Some("true")
    }
}

/// Where the server is: `http://host[:port][/base]`.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    host: String,
    port: u16,
    /// `host:port` as the Host header.
    authority: String,
    base: String,
    /// `Bearer <token>`.
    pub(crate) authorization: String,
}

impl Server {
    /// Parses the `--url` and `--token` values.
    pub(crate) fn new(url: &str, token: &str) -> anyhow::Result<Server> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("--url must start with http:// (got {url:?})"))?;
        let (authority, base) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .with_context(|| format!("bad port in --url {url:?}"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            bail!("--url {url:?} has no host");
        }
        Ok(Server {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            authority: authority.to_owned(),
            base: base.to_owned(),
            authorization: format!("Bearer {token}"),
        })
    }

    /// The request target for `path` (which starts with `/`).
    pub(crate) fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The Host header value.
    pub(crate) fn authority(&self) -> &str {
        &self.authority
    }

    /// Opens an HTTP/1.1 connection; a task drives it.
    pub(crate) async fn connect<B>(&self) -> anyhow::Result<SendRequest<B>>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .with_context(|| format!("cannot connect to {}", self.authority))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake failed")?;
        tokio::spawn(async move {
            // Errors surface on the sender.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// Progress on stderr: a live bar with count and rate on a terminal, else `\r` lines.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    /// Starts reporting; `verb` is `Exported` or `Imported`.
    pub(crate) fn new(verb: &str) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {prefix}: {human_pos} events ({per_sec}) {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(verb.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress { bar: Some(bar) }
    }

    /// Reports a running total; `plain` is the line printed when not on a terminal.
    pub(crate) fn update(&self, count: u64, detail: &str, plain: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(count);
                bar.set_message(detail.to_owned());
            }
            None => eprint!("\r{plain}"),
        }
    }

    /// Ends the report with a final line.
    pub(crate) fn finish(&self, line: &str) {
        match &self.bar {
            Some(bar) => {
                bar.finish_and_clear();
                eprintln!("{line}");
            }
            None => eprintln!("\r{line}"),
        }
    }

    /// Clears the bar before an error is printed.
    pub(crate) fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        } else {
            eprintln!();
        }
    }
}

/// Runs a command's future on a fresh runtime and turns its outcome into the exit status:
/// `Error: …` and 1 on failure, the usage text and 2 on a usage error.
pub(crate) fn run_command(
    usage: &str,
    f: impl std::future::Future<Output = anyhow::Result<()>>,
) -> std::process::ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(f));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.is::<Usage>() => {
            eprintln!("{e}\n\n{usage}");
            std::process::ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_style_flags() {
        let f = Flags::parse(
            &strings(&["-url", "http://x", "--token=t", "--gzip", "-force=false"]),
            &["url", "token"],
            &["gzip", "force"],
        )
        .unwrap();
        assert_eq!(f.value("url"), Some("http://x"));
        assert_eq!(f.value("token"), Some("t"));
        assert!(f.on("gzip"));
        assert!(!f.on("force"));
        assert!(Flags::parse(&strings(&["--nope"]), &[], &[]).is_err());
        assert!(Flags::parse(&strings(&["--url"]), &["url"], &[]).is_err());
    }

    #[test]
    fn urls() {
        let s = Server::new("http://127.0.0.1:6789/", "t").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 6789));
        assert_eq!(s.path("/rpc"), "/rpc");
        let s = Server::new("http://example.test/base", "t").unwrap();
        assert_eq!((s.port, s.path("/rpc").as_str()), (80, "/base/rpc"));
        assert!(Server::new("https://x", "t").is_err());
    }
}
