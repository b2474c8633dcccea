//! The load generator: N keep-alive HTTP/1.1 connections on a current-thread tokio runtime (one
//! core), each sending `GET /api/me` with a bearer token and waiting for the whole response
//! before the next request (no pipelining). Raw tokio TCP with the requests prepared in advance:
//! the cheapest client there is, so that the server's core, not the client's, is the limit.
//!
//! Tokens are taken in turn from the file (one per line) by all connections together: round-robin,
//! or with `--once` each token at most once: the warm-up then also ends when a quarter of the
//! tokens is used, and the measured window when the last response is in, if that comes first.
//!
//! After the warm-up (`--warmup` seconds) it counts the 200 responses completed in `--seconds` seconds and
//! prints one JSON line: `rps`, `responses`, `window_s`, `exhausted`, and the share of a core
//! used by the server (`--server-pid`, from `/proc`) and by itself over the window. Any response
//! other than 200 fails the run: its status and body go to stderr and the exit status is 1.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::{Args, Result};

struct Shared {
    requests: Vec<Vec<u8>>,
    once: bool,
    next: AtomicUsize,
    done: AtomicU64,
    stop: AtomicBool,
    /// With `once`: told when a quarter of the tokens is taken (the end of the warm-up).
    quarter: Notify,
}

pub(crate) fn main(args: &Args) -> Result<()> {
    let addr: SocketAddr = args.value("addr")?.parse()?;
    let tokens = std::fs::read_to_string(args.value("tokens")?)?;
    let connections: usize = args.value_or("connections", "32").parse()?;
    let seconds: f64 = args.value_or("seconds", "3").parse()?;
    let warmup: f64 = args.value_or("warmup", "1").parse()?;
    let server_pid: Option<u32> = args.opt("server-pid").map(str::parse).transpose()?;
    let requests: Vec<Vec<u8>> = tokens
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|token| {
            format!("GET /api/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n")
                .into_bytes()
        })
        .collect();
    if requests.is_empty() {
        return Err("no tokens in the tokens file".into());
    }
    let shared = Arc::new(Shared {
        requests,
        once: args.switch("once"),
        next: AtomicUsize::new(0),
        done: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        quarter: Notify::new(),
    });
    let line = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(addr, connections, seconds, warmup, server_pid, shared))?;
    println!("{line}");
    Ok(())
}

async fn run(
    addr: SocketAddr,
    connections: usize,
    seconds: f64,
    warmup: f64,
    server_pid: Option<u32>,
    shared: Arc<Shared>,
) -> Result<serde_json::Value> {
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        tasks.spawn(connection(stream, Arc::clone(&shared)));
    }
    // Warm-up: every task must still be running at its end.
    let quarter = async {
        if shared.once {
            shared.quarter.notified().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let warmed = tokio::select! {
        ended = wait(&mut tasks, Duration::from_secs_f64(warmup)) => ended,
        () = quarter => Ok(false),
    };
    if warmed? {
        return Err("the tokens ran out during the warm-up: use a larger pool".into());
    }
    let (c0, t0) = (shared.done.load(Ordering::Relaxed), Instant::now());
    let (server0, self0) = (server_pid.and_then(cpu_ticks), cpu_ticks_self());
    let exhausted = wait(&mut tasks, Duration::from_secs_f64(seconds)).await?;
    let (c1, t1) = (shared.done.load(Ordering::Relaxed), Instant::now());
    let (server1, self1) = (server_pid.and_then(cpu_ticks), cpu_ticks_self());
    shared.stop.store(true, Ordering::Relaxed);
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    let window = (t1 - t0).as_secs_f64();
    let share = |a: Option<u64>, b: Option<u64>| {
        a.zip(b)
            .map(|(a, b)| (b - a) as f64 / ticks_per_second() / window)
    };
    let responses = c1 - c0;
    Ok(serde_json::json!({
        "rps": responses as f64 / window,
        "responses": responses,
        "window_s": window,
        "exhausted": exhausted,
        "server_cpu": share(server0, server1),
        "load_cpu": share(self0, self1),
    }))
}

/// Waits `duration`, or until every task has ended (then returns true). A task's error ends the
/// run at once.
async fn wait(tasks: &mut JoinSet<Result<()>>, duration: Duration) -> Result<bool> {
    let deadline = tokio::time::sleep(duration);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return Ok(false),
            joined = tasks.join_next() => match joined {
                None => return Ok(true),
                Some(joined) => joined??,
            },
        }
    }
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) -> Result<()> {
    let mut buf = Vec::with_capacity(16 * 1024);
    let n = shared.requests.len();
    while !shared.stop.load(Ordering::Relaxed) {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if shared.once {
            if i >= n {
                break;
            }
            if i == n / 4 {
                shared.quarter.notify_one();
            }
        }
        stream.write_all(&shared.requests[i % n]).await?;
        let (status, body) = read_response(&mut stream, &mut buf).await?;
        if status != 200 {
            let body = String::from_utf8_lossy(&body);
            eprintln!("http-bench load: status {status}, body: {body:?}");
            return Err(format!("the server answered {status} (body {body:?})").into());
        }
        shared.done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Reads one response; returns its status and body. `buf` keeps what was read past it.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(u16, Vec<u8>)> {
    loop {
        if let Some((status, body, consumed)) = parse_response(buf)? {
            buf.drain(..consumed);
            return Ok((status, body));
        }
        if buf.len() > 1 << 20 {
            return Err("response over 1 MiB".into());
        }
        buf.reserve(16 * 1024);
        if stream.read_buf(buf).await? == 0 {
            return Err("the server closed the connection".into());
        }
    }
}

/// A complete response at the start of `buf`: status, body, bytes it takes. `None`: incomplete.
fn parse_response(buf: &[u8]) -> Result<Option<(u16, Vec<u8>, usize)>> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "response head not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| "bad content-length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            return Err(format!("the server closes the connection ({status_line})").into());
        }
    }
    let body_start = head_end + 4;
    if chunked {
        let mut body = Vec::new();
        let mut at = body_start;
        loop {
            let Some(size_end) = find(&buf[at..], b"\r\n") else {
                return Ok(None);
            };
            let size_text = std::str::from_utf8(&buf[at..at + size_end])
                .map_err(|_| "bad chunk size")?
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
            let data = at + size_end + 2;
            if size == 0 {
                // No trailers expected: the final CRLF.
                return Ok((buf.len() >= data + 2).then(|| (status, body, data + 2)));
            }
            if buf.len() < data + size + 2 {
                return Ok(None);
            }
            body.extend_from_slice(&buf[data..data + size]);
            at = data + size + 2;
        }
    }
    let length = length.unwrap_or(0);
    Ok((buf.len() >= body_start + length).then(|| {
        (
            status,
            buf[body_start..body_start + length].to_vec(),
            body_start + length,
        )
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// utime + stime of a process, in clock ticks (`/proc/<pid>/stat`, all its threads).
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn cpu_ticks_self() -> Option<u64> {
    parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn parse_stat(stat: &str) -> Option<u64> {
    // After the command name in parentheses: state (field 3) ... utime (14), stime (15).
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// `getconf CLK_TCK`, 100 if that fails (Linux's USER_HZ everywhere in practice).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
