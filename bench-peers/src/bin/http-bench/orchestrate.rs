//! The run: the mock, the tokens, the rounds, the summary and the results file (see `main.rs`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use serde_json::{json, Map, Value};
use tower_okta_bench_peers::http::{self, CONTENDERS, EXTRA_CONTENDERS, MODES};
use tower_okta_bench_peers::machine::{cpu_model, load_average, utc_now};
use tower_okta_mock::MockOkta;

use crate::{Args, Result, B64};

struct Settings {
    rounds: usize,
    seconds: f64,
    warmup: f64,
    connections: usize,
    pool: usize,
    floor_iterations: usize,
    modes: Vec<String>,
    contenders: Vec<String>,
    out: PathBuf,
}

/// The values of `--name` (comma-separated, each one of `all`), or `default` without it.
fn list_or(args: &Args, name: &str, all: &[&str], default: &[&str]) -> Result<Vec<String>> {
    if args.opt(name).is_none() {
        return Ok(default.iter().map(|s| (*s).to_owned()).collect());
    }
    list(args, name, all)
}

fn list(args: &Args, name: &str, all: &[&str]) -> Result<Vec<String>> {
    let Some(value) = args.opt(name) else {
        return Ok(all.iter().map(|s| (*s).to_owned()).collect());
    };
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    if let Some(bad) = items.iter().find(|i| !all.contains(&i.as_str())) {
        return Err(format!("--{name}: unknown {bad:?} (known: {})", all.join(", ")).into());
    }
    // In the canonical order.
    Ok(all
        .iter()
        .filter(|a| items.iter().any(|i| i == *a))
        .map(|s| (*s).to_owned())
        .collect())
}

impl Settings {
    fn parse(args: &Args) -> Result<Settings> {
        let positive = |name: &str, default: &str| -> Result<f64> {
            let v: f64 = args.value_or(name, default).parse()?;
            if v > 0.0 {
                Ok(v)
            } else {
                Err(format!("--{name} must be positive").into())
            }
        };
        let at_least_one = |name: &str, default: &str| -> Result<usize> {
            match args.value_or(name, default).parse()? {
                0 => Err(format!("--{name} must be at least 1").into()),
                n => Ok(n),
            }
        };
        Ok(Settings {
            rounds: at_least_one("rounds", "5")?,
            seconds: positive("seconds", "3")?,
            warmup: positive("warmup", "1")?,
            connections: at_least_one("connections", "32")?,
            pool: at_least_one("pool", "60000")?,
            floor_iterations: at_least_one("floor-iterations", "2000")?,
            modes: list(args, "modes", &MODES)?,
            contenders: list_or(
                args,
                "contenders",
                &[&CONTENDERS[..], &EXTRA_CONTENDERS[..]].concat(),
                &CONTENDERS,
            )?,
            out: args
                .opt("out")
                .map_or_else(http::results_path, PathBuf::from),
        })
    }
}

/// The signing key of the bench's tokens, published in the mock's JWKS.
struct BenchKey {
    kid: String,
    pair: KeyPair,
}

impl BenchKey {
    fn generate() -> Result<BenchKey> {
        // A random 43-character kid, as Okta's.
        let mut kid = [0; 32];
        aws_lc_rs::rand::fill(&mut kid).map_err(|_| "random kid")?;
        Ok(BenchKey {
            kid: B64.encode(kid),
            pair: KeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation")?,
        })
    }

    fn n(&self) -> String {
        B64.encode(
            self.pair
                .public_key()
                .modulus()
                .big_endian_without_leading_zero(),
        )
    }

    fn e(&self) -> String {
        B64.encode(
            self.pair
                .public_key()
                .exponent()
                .big_endian_without_leading_zero(),
        )
    }

    fn jwk(&self) -> Value {
        json!({ "kty": "RSA", "alg": "RS256", "kid": self.kid, "use": "sig", "n": self.n(), "e": self.e() })
    }

    fn sign(&self, claims: &Map<String, Value>) -> Result<String> {
        let header = json!({ "alg": "RS256", "kid": self.kid });
        let input = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(&header)?),
            B64.encode(serde_json::to_vec(claims)?)
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "RSA signing")?;
        Ok(format!("{input}.{}", B64.encode(signature)))
    }

    /// `count` tokens with these claims, each with its own `jti`, signed on every core.
    fn mint(&self, claims: &Map<String, Value>, first: usize, count: usize) -> Result<Vec<String>> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let per = count.div_ceil(threads).max(1);
        let chunks: Vec<Result<Vec<String>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..count)
                .step_by(per)
                .map(|start| {
                    s.spawn(move || {
                        (start..(start + per).min(count))
                            .map(|i| {
                                let mut claims = claims.clone();
                                claims
                                    .insert("jti".into(), format!("AT.{:0>43}", first + i).into());
                                self.sign(&claims)
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a minting thread panicked".into()))
                })
                .collect()
        });
        let mut tokens = Vec::with_capacity(count);
        for chunk in chunks {
            tokens.extend(chunk?);
        }
        Ok(tokens)
    }
}

/// A running contender's server.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(exe: &Path, pin: bool, contender: &str, okta: &MockOkta) -> Result<Server> {
        let mut command = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "0"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        command
            .args(["server", contender])
            .args(["--issuer", okta.issuer()])
            .args(["--client-id", okta.client_id()])
            .args(["--audience", okta.audience()])
            .args(["--jwks-uri", &okta.jwks_uri()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // The first line says where it listens; the rest (none expected) is drained.
            for line in BufReader::new(stdout).lines() {
                let _ = tx.send(line);
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(kill(child, format!("{contender}: {e}"))),
            Err(_) => {
                return Err(kill(
                    child,
                    format!("{contender}: the server did not start (see its stderr above)"),
                ))
            }
        };
        let Some(addr) = line
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
        else {
            return Err(kill(
                child,
                format!("{contender}: unexpected line {line:?}"),
            ));
        };
        Ok(Server { child, addr })
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(mut child: Child, message: String) -> Box<dyn std::error::Error + Send + Sync> {
    let _ = child.kill();
    let _ = child.wait();
    message.into()
}

/// One request on a fresh connection; the response's status.
fn status_of(addr: SocketAddr, token: &str) -> Result<u16> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /api/me HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad response {head:?}").into())
}

/// Tokens that must be refused, by what is wrong with them.
struct BadTokens {
    audience: String,
    expired: String,
    issuer: String,
}

/// The checks on a server's first start: the valid token passes, the bad ones do not.
fn check_server(contender: &str, addr: SocketAddr, good: &str, bad: &BadTokens) -> Result<()> {
    let status = status_of(addr, good)?;
    if status != 200 {
        return Err(format!("{contender}: a valid token got {status}").into());
    }
    if contender == "bare" {
        return Ok(());
    }
    for (what, token) in [
        ("another audience", &bad.audience),
        ("expired", &bad.expired),
        ("another issuer", &bad.issuer),
    ] {
        let status = status_of(addr, token)?;
        match (status, what, contender) {
            (401, _, _) => {}
            (200, "another issuer", "axum-jwks") => {
                println!("  note: axum-jwks accepts a token from another issuer (no issuer check)");
            }
            _ => {
                return Err(
                    format!("{contender}: a token with {what} got {status}, not 401").into(),
                )
            }
        }
    }
    Ok(())
}

/// What the load generator printed.
struct Load {
    rps: f64,
    window_s: f64,
    exhausted: bool,
    server_cpu: Option<f64>,
    load_cpu: Option<f64>,
}

#[allow(clippy::too_many_arguments)]
fn run_load(
    exe: &Path,
    pin: bool,
    addr: SocketAddr,
    server_pid: u32,
    tokens: &Path,
    once: bool,
    settings: &Settings,
) -> Result<Load> {
    let mut command = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    command
        .arg("load")
        .args(["--addr", &addr.to_string()])
        .arg("--tokens")
        .arg(tokens)
        .args(["--connections", &settings.connections.to_string()])
        .args(["--seconds", &settings.seconds.to_string()])
        .args(["--warmup", &settings.warmup.to_string()])
        .args(["--server-pid", &server_pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if once {
        command.arg("--once");
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!("the load generator failed ({})", output.status).into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .last()
        .ok_or("no output from the load generator")?;
    let v: Value = serde_json::from_str(line)?;
    Ok(Load {
        rps: v["rps"].as_f64().ok_or("no rps")?,
        window_s: v["window_s"].as_f64().unwrap_or(f64::NAN),
        exhausted: v["exhausted"].as_bool().unwrap_or(false),
        server_cpu: v["server_cpu"].as_f64(),
        load_cpu: v["load_cpu"].as_f64(),
    })
}

fn run_floor(exe: &Path, pin: bool, token: &str, key: &BenchKey, iterations: usize) -> Result<f64> {
    let mut command = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let output = command
        .arg("floor")
        .args(["--token", token, "--n", &key.n(), "--e", &key.e()])
        .args(["--iterations", &iterations.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("the floor measurement failed ({})", output.status).into());
    }
    let v: Value = serde_json::from_slice(&output.stdout)?;
    v["median_ns"]
        .as_f64()
        .ok_or_else(|| "no median_ns from the floor measurement".into())
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "?".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

pub(crate) fn main(args: &Args) -> Result<()> {
    let started = Instant::now();
    let settings = Settings::parse(args)?;
    let exe = std::env::current_exe()?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pin = has_taskset() && cpus >= 2;
    let pinning = if pin {
        "servers and floor on core 0 (taskset -c 0), load generator on core 1 (taskset -c 1)"
            .to_owned()
    } else if cpus < 2 {
        format!("none: {cpus} CPU available")
    } else {
        "none: taskset not found".to_owned()
    };
    let cpu = cpu_model();
    let load_before = load_average();
    println!("http-bench: {cpus} CPUs, {cpu}; load average {load_before}");
    println!("pinning: {pinning}");
    println!(
        "settings: {} rounds, {} s measured after {} s of warm-up per run, {} connections, \
         distinct-token pool {}, modes {}, contenders {}",
        settings.rounds,
        settings.seconds,
        settings.warmup,
        settings.connections,
        settings.pool,
        settings.modes.join(","),
        settings.contenders.join(",")
    );

    // The mock, on its own runtime (it only serves the JWKS to each server at startup). Its own
    // key and the bench's: two keys, as Okta publishes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let okta = runtime.block_on(MockOkta::builder().publish_next_key(false).start())?;
    let key = BenchKey::generate()?;
    okta.set_extra_jwks(vec![key.jwk()]);

    // The tokens: the mock's access-token claims, as in benches/peers.rs.
    let claims = okta
        .access_token_builder()
        .claim("groups", ["Everyone", "Engineering"])
        .claims()
        .clone();
    let mint_started = Instant::now();
    let repeated = key.mint(&claims, 0, 1)?;
    let distinct = if settings.modes.iter().any(|m| m == "distinct") {
        key.mint(&claims, 1, settings.pool)?
    } else {
        Vec::new()
    };
    println!(
        "tokens: {} bytes, {} claims; {} minted in {:.1} s",
        repeated[0].len(),
        claims.len(),
        distinct.len() + 1,
        mint_started.elapsed().as_secs_f64()
    );
    let with = |name: &str, value: Value| -> Result<String> {
        let mut c = claims.clone();
        c.insert(name.into(), value);
        key.sign(&c)
    };
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
    let bad = BadTokens {
        audience: with("aud", "api://other".into())?,
        expired: {
            let mut c = claims.clone();
            c.insert("iat".into(), (now - 7200).into());
            c.insert("exp".into(), (now - 3600).into());
            key.sign(&c)?
        },
        issuer: with("iss", "https://other.example.com/oauth2/default".into())?,
    };
    let work = settings
        .out
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("http-bench-tokens");
    std::fs::create_dir_all(&work)?;
    let token_file = |mode: &str| work.join(format!("{mode}.txt"));
    std::fs::write(token_file("repeated"), format!("{}\n", repeated[0]))?;
    std::fs::write(token_file("distinct"), distinct.join("\n") + "\n")?;

    let mut rounds: Map<String, Value> = Map::new();
    let mut cpu_shares: Map<String, Value> = Map::new();
    let mut windows: Map<String, Value> = Map::new();
    let mut floors: Map<String, Value> = Map::new();
    let mut checked = Vec::new();
    for round in 0..settings.rounds {
        for mode in &settings.modes {
            let floor = run_floor(&exe, pin, &repeated[0], &key, settings.floor_iterations)?;
            floors
                .entry(mode.as_str())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .ok_or("floors")?
                .push(floor.into());
            println!(
                "round {}/{} {mode}: floor {:.2} µs",
                round + 1,
                settings.rounds,
                floor / 1e3
            );
            let mut order: Vec<&String> = settings.contenders.iter().collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for contender in order {
                let server = Server::start(&exe, pin, contender, &okta)?;
                if !checked.contains(contender) {
                    if let Err(e) = check_server(contender, server.addr, &repeated[0], &bad) {
                        server.stop();
                        return Err(e);
                    }
                    checked.push(contender.clone());
                }
                let load = run_load(
                    &exe,
                    pin,
                    server.addr,
                    server.child.id(),
                    &token_file(mode),
                    mode == "distinct",
                    &settings,
                );
                server.stop();
                let load = load.map_err(|e| format!("{mode} {contender}: {e}"))?;
                println!(
                    "  {contender:<15} {:>9.0} req/s   server CPU {:>4} ({} / request), load CPU {:>4}, window {:.2} s{}",
                    load.rps,
                    percent(load.server_cpu),
                    load.server_cpu
                        .map_or_else(|| "?".to_owned(), |c| format!("{:.1} µs", c / load.rps * 1e6)),
                    percent(load.load_cpu),
                    load.window_s,
                    if load.exhausted { " (pool used up)" } else { "" }
                );
                push(&mut rounds, mode, contender, load.rps.into());
                push(
                    &mut cpu_shares,
                    mode,
                    contender,
                    load.server_cpu.map_or(Value::Null, Value::from),
                );
                push(&mut windows, mode, contender, load.window_s.into());
            }
        }
    }

    let mut results = json!({
        "date": utc_now(),
        "cpu": cpu,
        "cpus": cpus,
        "pinned": pin,
        "pinning": pinning,
        "settings": {
            "rounds": settings.rounds,
            "seconds": settings.seconds,
            "warmup": settings.warmup,
            "connections": settings.connections,
            "pool": settings.pool,
            "floor_iterations": settings.floor_iterations,
        },
        "load_before": load_before,
        "load_after": load_average(),
        "token_bytes": repeated[0].len(),
        "floor_ns": floors,
        "rounds": rounds,
        "server_cpu": cpu_shares,
        "window_s": windows,
    });
    let summary = http::summarize(&results);
    let medians: Map<String, Value> = settings
        .modes
        .iter()
        .map(|mode| {
            let per: Map<String, Value> = summary
                .rows
                .iter()
                .filter(|r| &r.mode == mode)
                .map(|r| (r.contender.clone(), r.rps.into()))
                .collect();
            (mode.clone(), per.into())
        })
        .collect();
    results["medians"] = medians.into();
    results["floor_ns_median"] = summary.floor_ns.map_or(Value::Null, Value::from);
    results["duration_s"] = started.elapsed().as_secs_f64().into();

    println!(
        "\nmedians over {} rounds (ratios, costs: median of the per-round values)\n",
        settings.rounds
    );
    print!("{}", http::table(&summary));
    println!("\nhttp: {results}");
    if let Some(dir) = settings.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&settings.out, serde_json::to_vec_pretty(&results)?)?;
    println!(
        "http-bench: wrote {} ({:.0} s in all; load average before / after: {} / {})",
        settings.out.display(),
        started.elapsed().as_secs_f64(),
        results["load_before"].as_str().unwrap_or("?"),
        results["load_after"].as_str().unwrap_or("?"),
    );
    drop(okta);
    Ok(())
}

/// Appends `v` to `map[mode][contender]`.
fn push(map: &mut Map<String, Value>, mode: &str, contender: &str, v: Value) {
    let modes = map.entry(mode).or_insert_with(|| Value::Object(Map::new()));
    if let Some(array) = modes
        .as_object_mut()
        .map(|m| m.entry(contender).or_insert_with(|| json!([])))
        .and_then(Value::as_array_mut)
    {
        array.push(v);
    }
}
