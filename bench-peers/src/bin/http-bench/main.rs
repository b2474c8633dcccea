//! The HTTP-level bench: tower-okta (default settings, as in `examples/axum.rs`), servers built
//! on each peer (jsonwebtoken, jwt-authorizer, axum-jwks) and a bare router, each serving
//! `GET /api/me` on loopback, under the same load, in interleaved rounds.
//!
//! ```sh
//! cargo run --manifest-path bench-peers/Cargo.toml --release --bin http-bench
//! cargo run --manifest-path bench-peers/Cargo.toml --release --bin http-bench -- \
//!     --rounds 2 --seconds 2 --warmup 0.5   # a quick check
//! ```
//!
//! Options (defaults in brackets): `--rounds` [5], `--seconds` measured per round [3],
//! `--warmup` seconds per round before measuring [1], `--connections` [32], `--pool` distinct
//! tokens [60000], `--modes` [repeated,distinct], `--contenders` [all five], `--floor-iterations`
//! [2000], `--out` the results file [`BENCH_HTTP_RESULTS`, else `http-bench.json` in bench-peers'
//! target directory; `bench-report` reads it from there].
//!
//! How it runs:
//! - A mock Okta (`tower-okta-mock`) runs in this process. Tokens carry the mock's Okta-shaped
//!   access-token claims (plus a `groups` claim, as in `benches/peers.rs`), a fresh `jti` each,
//!   and are signed RS256 with an RSA-2048 key this process generates and publishes in the
//!   mock's JWKS next to the mock's own key (signing here is several times faster than the mock's
//!   signer, which parses its DER key for every signature; tens of thousands are needed).
//! - Modes: `repeated` sends one token in every request (an SPA sends the same token for up to
//!   an hour); `distinct` sends each token of the pool at most once per server process, so no
//!   request can be answered from a cache of verified tokens (tower-okta's is on by default: a
//!   pool cycled round-robin would be served from it). If the pool runs out before the end of a
//!   round, that round's window ends with the last response (`window` in the output).
//! - Each round runs every contender once per mode, the order reversed every other round
//!   (A B C D E, E D C B A, ...). For each run a fresh server process is started, pinned to
//!   core 0 (`taskset -c 0`), and the load generator (a child process too) is pinned to core 1.
//!   Servers are restarted for each run so that every `distinct` run starts with no verified
//!   token cached and the pool can be reused; the warm-up covers the fresh process. Without
//!   `taskset` or with fewer than two CPUs nothing is pinned (the output says so).
//! - The RSA floor (one aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verify of a token's signing
//!   input, key parsed once) is measured before each mode of each round, on core 0 too.
//! - On its first start, each server is checked: a valid token gets 200; a token for another
//!   audience, an expired one and one from another issuer get 401 (axum-jwks has no issuer
//!   check: noted, not failed). The bare router accepts anything.
//!
//! It prints each run's req/s, then the medians and ratios (see `tower_okta_bench_peers::http`),
//! one machine-readable line `http: {json}`, and writes that JSON to the results file.
//!
//! Subcommands (used by the runs above; usable by hand): `server <contender> --issuer I
//! --client-id C --audience A --jwks-uri U [--bind ADDR]`, `load --addr A --tokens FILE
//! [--connections N --seconds S --warmup S --once --server-pid P]`, `floor --token T --n B64
//! --e B64 [--iterations N]`.

mod load;
mod orchestrate;
mod server;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The command line: positional words and `--name value` options (`--name` alone: a switch).
struct Args {
    positional: Vec<String>,
    options: HashMap<String, Option<String>>,
}

impl Args {
    fn parse() -> Args {
        let mut positional = Vec::new();
        let mut options = HashMap::new();
        let mut args = std::env::args().skip(1).peekable();
        while let Some(arg) = args.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = args.next_if(|next| !next.starts_with("--"));
                options.insert(name.to_owned(), value);
            } else {
                positional.push(arg);
            }
        }
        Args {
            positional,
            options,
        }
    }

    fn positional(&self, i: usize, what: &str) -> Result<&str> {
        self.positional
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing <{what}>").into())
    }

    fn opt(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.as_deref())
    }

    fn value(&self, name: &str) -> Result<&str> {
        self.opt(name)
            .ok_or_else(|| format!("missing --{name} <value>").into())
    }

    fn value_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.opt(name).unwrap_or(default)
    }

    fn switch(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }
}

fn main() {
    let args = Args::parse();
    let result = match args.positional.first().map(String::as_str) {
        None | Some("run") => orchestrate::main(&args),
        Some("server") => server::main(&args),
        Some("load") => load::main(&args),
        Some("floor") => floor(&args),
        Some(other) => Err(format!(
            "unknown subcommand {other:?} (run, server, load, floor; see the source's doc)"
        )
        .into()),
    };
    if let Err(error) = result {
        eprintln!("http-bench: {error}");
        std::process::exit(1);
    }
}

/// The floor: the median time of one RSA-2048 PKCS#1 v1.5 SHA-256 verify of the token's signing
/// input with the key parsed once; prints `{"median_ns": ...}`.
fn floor(args: &Args) -> Result<()> {
    let token = args.value("token")?;
    let n = B64.decode(args.value("n")?)?;
    let e = B64.decode(args.value("e")?)?;
    let iterations: usize = args.value_or("iterations", "2000").parse()?;
    let (input, signature) = token.rsplit_once('.').ok_or("not a compact JWS")?;
    let signature = B64.decode(signature)?;
    let key = RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| "the key does not parse")?;
    key.verify_sig(input.as_bytes(), &signature)
        .map_err(|_| "the token's signature does not verify")?;
    // Warm up, then time each call.
    for _ in 0..iterations / 10 {
        key.verify_sig(black_box(input.as_bytes()), black_box(&signature))
            .map_err(|_| "verify")?;
    }
    let mut ns = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        key.verify_sig(black_box(input.as_bytes()), black_box(&signature))
            .map_err(|_| "verify")?;
        ns.push(start.elapsed().as_nanos() as f64);
    }
    let median = tower_okta_bench_peers::http::median(ns).ok_or("no iterations")?;
    println!("{}", serde_json::json!({ "median_ns": median }));
    Ok(())
}
