//! The bench report: runs tower-okta's benchmarks (`benches/verify.rs`) and the peers'
//! (`bench-peers/benches/peers.rs`), reads criterion's JSON (the mean point estimate of each
//! `new/estimates.json`), prints every result as a ratio to the baseline measured in the same run,
//! and writes `docs/bench.md` (the table, the machine and the date) and `docs/bench.svg` (a bar
//! chart of the ratios). No number in those files is written by hand.
//!
//! ```sh
//! cargo run --manifest-path bench-peers/Cargo.toml --release --bin bench-report
//! ```
//!
//! Environment:
//! - `BENCH_TIME`: criterion's measurement time per benchmark, in seconds (default 3);
//! - `BENCH_WARMUP`: criterion's warm-up time per benchmark, in seconds (default 1);
//! - `BENCH_SKIP_RUN=1`: do not run the benchmarks, only rebuild the report from the last results;
//! - `BENCH_ONLY`: run only these criterion groups and interleaved checks of `benches/verify.rs`
//!   (passed on as its `TOWER_OKTA_BENCH_ONLY`, comma-separated; e.g. `BENCH_ONLY=dpop` for the
//!   DPoP group and checks), not the peers, and only print the tables: a partial run writes
//!   neither `bench.md` nor the SVGs (`BENCH_REPORT_DIR`) nor the saved run of `BENCH_SKIP_RUN`;
//! - `CARGO_TARGET_DIR`: used by both benchmark runs if set; otherwise `target/` of the main crate
//!   and `bench-peers/target/`. `BENCH_MAIN_TARGET_DIR` and `BENCH_PEERS_TARGET_DIR` override
//!   each one. Criterion's results are read from `criterion/` under each.
//! - `BENCH_HTTP_RESULTS`: the HTTP-level results of `http-bench` (default `http-bench.json` in
//!   bench-peers' target directory). If the file exists, the report gets an "HTTP level" section
//!   and `bench-http.svg`; this report does not run the HTTP bench (run it first:
//!   `cargo run --manifest-path bench-peers/Cargo.toml --release --bin http-bench`).
//! - `BENCH_REPORT_DIR`: where `bench.md` and the SVGs go (default `docs/` of the repository).

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use serde_json::Value;
use tower_okta_bench_peers::http::{self, median};
use tower_okta_bench_peers::machine::{cpu_model, load_average, utc_now};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Benchmark ID to mean time in nanoseconds.
type Results = BTreeMap<String, f64>;

/// `verify` at most this multiple of the floor (issue 16: 1.08x on every CPU).
const VERIFY_TARGET: f64 = 1.08;

/// Said of a criterion ratio below 1 where the path measured includes the floor's work.
const NOISY: &str = " (below 1: the floor was measured under more load; see the interleaved check)";

/// The breakdown's "before" times, relative to the repository root.
const BEFORE_FILE: &str = "docs/bench-before.json";

/// The line the storm benchmark prints after each batch of storms.
const STORM_LINE: &str = "unknown-kid storm:";
/// The line of each interleaved check (`interleaved: {json}`).
const INTERLEAVED_LINE: &str = "interleaved:";

struct Paths {
    root: PathBuf,
    peers: PathBuf,
    main_target: PathBuf,
    peers_target: PathBuf,
}

impl Paths {
    fn new() -> Paths {
        let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let root = peers
            .parent()
            .expect("bench-peers lies inside the repository")
            .to_path_buf();
        let shared = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
        let pick = |var: &str, default: PathBuf| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| shared.clone())
                .unwrap_or(default)
        };
        Paths {
            main_target: pick("BENCH_MAIN_TARGET_DIR", root.join("target")),
            peers_target: pick("BENCH_PEERS_TARGET_DIR", peers.join("target")),
            root,
            peers,
        }
    }

    /// What the benchmarks printed besides criterion's results, kept for `BENCH_SKIP_RUN`.
    fn extra_file(&self) -> PathBuf {
        self.main_target
            .join("criterion")
            .join("bench-report-extra.json")
    }
}

fn env_secs(var: &str, default: f64) -> Result<f64> {
    match std::env::var(var) {
        Ok(v) => {
            let secs: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{var}={v}: not a number"))?;
            if secs > 0.0 {
                Ok(secs)
            } else {
                Err(format!("{var}={v}: must be positive").into())
            }
        }
        Err(_) => Ok(default),
    }
}

/// Runs `cargo bench` for one bench target (with `envs` set); returns the storm and interleaved
/// lines it printed.
fn run_bench(
    manifest: &Path,
    target_dir: &Path,
    bench: &str,
    features: &[&str],
    envs: &[(&str, &str)],
    time: f64,
    warmup: f64,
) -> Result<Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .arg("bench")
        .arg("--manifest-path")
        .arg(manifest)
        .args(features)
        .args(["--bench", bench, "--"])
        .args(["--measurement-time", &time.to_string()])
        .args(["--warm-up-time", &warmup.to_string()])
        .env("CARGO_TARGET_DIR", target_dir)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped());
    eprintln!("bench-report: running {command:?}");
    let mut child = command.spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let mut kept = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if line.starts_with(INTERLEAVED_LINE) {
            // One long JSON line: kept, not echoed.
            println!(
                "{INTERLEAVED_LINE} ({} bytes of per-round times)",
                line.len()
            );
            kept.push(line);
            continue;
        }
        println!("{line}");
        if line.starts_with(STORM_LINE) {
            kept.push(line);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("cargo bench --bench {bench} failed: {status}").into());
    }
    Ok(kept)
}

/// Key fetches per storm from the storm lines: `... key fetches per storm: [1, 1]`.
fn parse_storms(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            l.rsplit_once('[')
                .map(|(_, list)| list.trim_end_matches(']'))
        })
        .flat_map(|list| list.split(',').filter_map(|n| n.trim().parse().ok()))
        .collect()
}

/// Every `new/estimates.json` under `dir` (criterion's layout), keyed by its `full_id`; with
/// `since`, only those written after it.
fn read_criterion(dir: &Path, since: Option<SystemTime>, into: &mut Results) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let estimates = path.join("estimates.json");
            let benchmark = path.join("benchmark.json");
            if !(estimates.is_file() && benchmark.is_file()) {
                continue;
            }
            if let Some(since) = since {
                if std::fs::metadata(&estimates)?.modified()? < since {
                    continue;
                }
            }
            let benchmark: Value = serde_json::from_slice(&std::fs::read(&benchmark)?)?;
            let estimates: Value = serde_json::from_slice(&std::fs::read(&estimates)?)?;
            if let (Some(id), Some(mean)) = (
                benchmark["full_id"].as_str(),
                estimates["mean"]["point_estimate"].as_f64(),
            ) {
                into.insert(id.to_owned(), mean);
            }
        } else {
            read_criterion(&path, since, into)?;
        }
    }
    Ok(())
}

/// One line of the report.
struct Row {
    section: &'static str,
    what: String,
    /// The bar's label on the chart.
    label: String,
    /// The measured quantity (a mean time or a throughput) as shown.
    value: String,
    /// The ratio, if this row has one.
    ratio: Option<f64>,
    /// What the ratio is to.
    of: String,
    /// The target as shown, and whether it is met (None: informational).
    target: String,
    met: Option<bool>,
    /// Where the target mark goes on the chart.
    target_mark: Option<f64>,
}

impl Row {
    /// A row without a target.
    fn info(section: &'static str, label: &str, what: String, value: String) -> Row {
        Row {
            section,
            what,
            label: label.to_owned(),
            value,
            ratio: None,
            of: String::new(),
            target: String::new(),
            met: None,
            target_mark: None,
        }
    }

    fn ratio(mut self, ratio: f64, of: &str) -> Row {
        self.ratio = Some(ratio);
        self.of = of.to_owned();
        self
    }

    /// The ratio must be at most `max`. Every such ratio is of a path that includes the work of
    /// what it is divided by (the floor), so one below 1 says the two were measured under
    /// different loads: no verdict then.
    fn at_most(mut self, max: f64) -> Row {
        self.target = format!("≤ {max:.2}x");
        self.met = self.ratio.map(|r| r <= max);
        if self.ratio.is_some_and(|r| r < 1.0) {
            self.target.push_str(NOISY);
            self.met = None;
        }
        self.target_mark = Some(max);
        self
    }

    fn target(mut self, target: String, met: Option<bool>) -> Row {
        self.target = target;
        self.met = met;
        self
    }
}

fn time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn build_rows(r: &Results, storms: &[u64]) -> Vec<Row> {
    let mut rows = Vec::new();
    let get = |id: &str| r.get(id).copied();
    let floor = get("floor/parsed_key");

    if let Some(floor) = floor {
        rows.push(
            Row::info(
                "floor",
                "floor (aws-lc-rs, parsed key)",
                "aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verify, key parsed once".to_owned(),
                time(floor),
            )
            .ratio(1.0, "floor"),
        );
        if let Some(v) = get("floor/unparsed_der") {
            rows.push(
                Row::info(
                    "floor",
                    "aws-lc-rs, key parsed per call",
                    "the same, DER key parsed on every call".to_owned(),
                    time(v),
                )
                .ratio(v / floor, "floor"),
            );
        }
        if let Some(v) = get("verify/poll_once") {
            rows.push(
                Row::info(
                    "verify",
                    "verify (key cached)",
                    "`verify_access_token`, key cached, polled once".to_owned(),
                    time(v),
                )
                .ratio(v / floor, "floor")
                .at_most(VERIFY_TARGET),
            );
        }
        if let (Some(v), Some(empty)) = (get("verify/block_on"), get("verify/block_on_empty")) {
            rows.push(
                Row::info(
                    "verify",
                    "verify via block_on - runtime",
                    format!(
                        "`block_on(verify_access_token)` minus `block_on(async {{}})` ({})",
                        time(empty)
                    ),
                    time(v - empty),
                )
                .ratio((v - empty) / floor, "floor"),
            );
        }
        for (id, label, what) in [
            ("verify_reject/garbage", "reject: garbage", "garbage string"),
            ("verify_reject/expired", "reject: expired", "expired token"),
            (
                "verify_reject/bad_signature",
                "reject: bad signature",
                "bad signature (one character changed; RSA runs)",
            ),
        ] {
            if let Some(v) = get(id) {
                rows.push(
                    Row::info("reject", label, format!("refused: {what}"), time(v))
                        .ratio(v / floor, "floor"),
                );
            }
        }
        if let (Some(with), Some(bare)) = (get("layer/with_layer"), get("layer/bare_router")) {
            rows.push(
                Row::info(
                    "layer",
                    "layer - bare router",
                    format!(
                        "axum router + layer + `Claims` extractor, minus the bare router ({})",
                        time(bare)
                    ),
                    time(with - bare),
                )
                .ratio((with - bare) / floor, "floor")
                .at_most(1.20),
            );
            rows.push(
                Row::info(
                    "layer",
                    "layer / (floor + bare)",
                    "axum router + layer + `Claims` extractor, whole round trip".to_owned(),
                    time(with),
                )
                .ratio(with / (floor + bare), "floor + bare router")
                .at_most(1.20),
            );
        }
    }

    if let Some(peers_floor) = get("peers/floor_parsed_key") {
        let of = "floor (peers run)";
        rows.push(
            Row::info(
                "peers",
                "peers run: floor",
                "aws-lc-rs verify, key parsed once, in the peers' run".to_owned(),
                time(peers_floor),
            )
            .ratio(1.0, of),
        );
        let ours = get("peers/tower_okta").map(|v| v / peers_floor);
        if let Some(ours) = ours {
            rows.push(
                Row::info(
                    "peers",
                    "peers run: tower-okta",
                    "tower-okta `verify_access_token`".to_owned(),
                    time(ours * peers_floor),
                )
                .ratio(ours, of)
                .at_most(VERIFY_TARGET),
            );
        }
        for (id, label, what, design) in [
            (
                "peers/jsonwebtoken",
                "jsonwebtoken",
                "jsonwebtoken 11 `decode` (aws-lc-rs backend)",
                1.37,
            ),
            (
                "peers/jwt_authorizer",
                "jwt-authorizer",
                "jwt-authorizer 0.15 `check_auth`",
                1.57,
            ),
            (
                "peers/axum_jwks",
                "axum-jwks",
                "axum-jwks 0.12 `validate_claims`",
                1.5,
            ),
        ] {
            if let Some(v) = get(id) {
                let ratio = v / peers_floor;
                rows.push(
                    Row::info("peers", label, what.to_owned(), time(v))
                        .ratio(ratio, of)
                        .target(
                            format!("tower-okta faster (DESIGN: ~{design:.2}x)"),
                            ours.map(|o| o < ratio),
                        ),
                );
            }
        }
    }

    let mut threads: Vec<(u64, f64)> = r
        .iter()
        .filter_map(|(id, v)| {
            let n = id.strip_prefix("concurrent/threads/")?.parse().ok()?;
            Some((n, *v))
        })
        .collect();
    threads.sort_by_key(|t| t.0);
    if let Some(&(1, one)) = threads.first() {
        for (n, v) in threads {
            rows.push(
                Row::info(
                    "concurrent",
                    &format!("throughput: {n} worker(s) / 1"),
                    format!("throughput with {n} tokio worker thread(s)"),
                    format!("{:.0} verifications/s", 1e9 / v),
                )
                .ratio(one / v, "1 thread"),
            );
        }
    }
    for (prefix, what) in [
        (
            "concurrent/bare_router/",
            "requests through the bare router (no layer)",
        ),
        (
            "concurrent/layer_cache_off/",
            "requests through the layer, token cache off",
        ),
        (
            "concurrent/layer_cache_on/",
            "requests through the layer, token cache on (hits, one token)",
        ),
        (
            "concurrent/layer_cache_on_tokens/",
            "requests through the layer, token cache on (hits, a token per worker)",
        ),
    ] {
        let mut runs: Vec<(u64, f64)> = r
            .iter()
            .filter_map(|(id, v)| Some((id.strip_prefix(prefix)?.parse().ok()?, *v)))
            .collect();
        runs.sort_by_key(|t| t.0);
        if let Some(&(1, one)) = runs.first() {
            for (n, v) in runs {
                rows.push(
                    Row::info(
                        "concurrent",
                        &format!("{what}: {n} worker(s) / 1"),
                        format!("{what}, {n} tokio worker thread(s): speed-up over 1"),
                        format!("{:.0} requests/s", 1e9 / v),
                    )
                    .ratio(one / v, "1 thread"),
                );
            }
        }
    }
    if let Some(v) = get("concurrent/unknown_kid_storm_10k") {
        let target = if storms.is_empty() {
            "1 key fetch per storm (counts not recorded)".to_owned()
        } else {
            format!(
                "1 key fetch per storm ({} storms: {}..={})",
                storms.len(),
                storms.iter().min().expect("not empty"),
                storms.iter().max().expect("not empty")
            )
        };
        let met = (!storms.is_empty()).then(|| storms.iter().all(|&f| f == 1));
        rows.push(
            Row::info(
                "concurrent",
                "unknown-kid storm",
                "unknown-kid storm: 10,000 concurrent verifications, time per storm".to_owned(),
                time(v),
            )
            .target(target, met),
        );
    }
    if let (Some(hit), Some(bare)) = (get("cache_hit/layer_hit"), get("cache_hit/bare_router")) {
        let cost = hit - bare;
        let mut row = Row::info(
            "cache_hit",
            "token cache hit - bare router",
            format!(
                "verified-token cache hit through the layer, minus the bare router ({})",
                time(bare)
            ),
            time(cost),
        );
        if let Some(floor) = floor {
            row = row.ratio(cost / floor, "floor");
        }
        rows.push(row.target("≤ 1 µs (absolute)".to_owned(), Some(cost <= 1000.0)));
    }
    rows.extend(dpop_rows(r));
    rows
}

/// The DPoP group: the layer's cost over the bare router, as a ratio to the RSA floor on the
/// bound token plus the raw verify of the proof's signature (target: ≤ 1.15x). The floor is the
/// group's own (`dpop/floor`), or the `floor` group's if the run has no `dpop/floor`.
fn dpop_rows(r: &Results) -> Vec<Row> {
    let get = |id: &str| r.get(id).copied();
    let mut rows = Vec::new();
    let (Some(floor), Some(bare)) = (
        get("dpop/floor").or_else(|| get("floor/parsed_key")),
        get("dpop/bare_router"),
    ) else {
        return rows;
    };
    rows.push(
        Row::info(
            "dpop",
            "dpop: RSA floor",
            "RSA floor on the DPoP-bound access token (aws-lc-rs, key parsed once)".to_owned(),
            time(floor),
        )
        .ratio(1.0, "floor"),
    );
    for (floor_id, layer_id, alg, key) in [
        (
            "dpop/floor_es256",
            "dpop/with_layer_dpop",
            "ES256",
            "P-256 point",
        ),
        (
            "dpop/floor_rs256_proof",
            "dpop/with_layer_dpop_rs256",
            "RS256",
            "RSA components",
        ),
    ] {
        let Some(proof) = get(floor_id) else {
            continue;
        };
        rows.push(
            Row::info(
                "dpop",
                &format!("dpop: {alg} proof verify"),
                format!(
                    "raw aws-lc-rs verify of {alg} proofs' signatures ({key} built once, a \
                     different fresh proof each call)"
                ),
                time(proof),
            )
            .ratio(proof / floor, "floor"),
        );
        if let Some(with) = get(layer_id) {
            rows.push(
                Row::info(
                    "dpop",
                    &format!("DPoP ({alg}) layer - bare"),
                    format!(
                        "DPoP request ({alg} proof) through the layer + `Claims` extractor, \
                         minus the bare router ({})",
                        time(bare)
                    ),
                    time(with - bare),
                )
                .ratio(
                    (with - bare) / (floor + proof),
                    &format!("floor + {alg} proof verify"),
                )
                .at_most(1.15),
            );
        }
    }
    rows
}

/// The interleaved checks: name to case to time per call (ns) in each round.
type Interleaved = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

fn parse_interleaved(lines: &[String]) -> Interleaved {
    let mut out = Interleaved::new();
    for line in lines {
        let Some(json) = line.strip_prefix(INTERLEAVED_LINE) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Value>(json.trim()) else {
            continue;
        };
        let (Some(name), Some(ns)) = (value["name"].as_str(), value["ns"].as_object()) else {
            continue;
        };
        let cases = ns
            .iter()
            .map(|(case, times)| {
                let times = times
                    .as_array()
                    .map(|t| t.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default();
                (case.clone(), times)
            })
            .collect();
        out.insert(name.to_owned(), cases);
    }
    out
}

/// The median over the rounds of `f` applied to each round's times of `cases`.
fn per_round(
    check: &BTreeMap<String, Vec<f64>>,
    cases: &[&str],
    f: impl Fn(&[f64]) -> f64,
) -> Option<f64> {
    let columns: Vec<&Vec<f64>> = cases.iter().map(|c| check.get(*c)).collect::<Option<_>>()?;
    let rounds = columns.iter().map(|c| c.len()).min()?;
    median(
        (0..rounds)
            .map(|r| f(&columns.iter().map(|c| c[r]).collect::<Vec<_>>()))
            .collect(),
    )
}

fn interleaved_rows(checks: &Interleaved) -> Vec<Row> {
    let mut rows = Vec::new();
    let section = "interleaved";
    if let Some(main) = checks.get("main") {
        let med = |case: &str| main.get(case).cloned().and_then(median);
        if let (Some(ratio), Some(v)) = (
            per_round(main, &["verify", "floor"], |t| t[0] / t[1]),
            med("verify"),
        ) {
            rows.push(
                Row::info(
                    section,
                    "interleaved: verify",
                    "`verify_access_token`, key cached (median of per-round ratios)".to_owned(),
                    time(v),
                )
                .ratio(ratio, "floor, same round")
                .at_most(VERIFY_TARGET),
            );
        }
        if let Some(ratio) = per_round(main, &["with_layer", "bare_router", "floor"], |t| {
            (t[0] - t[1]) / t[2]
        }) {
            let cost = per_round(main, &["with_layer", "bare_router"], |t| t[0] - t[1]);
            rows.push(
                Row::info(
                    section,
                    "interleaved: layer - bare",
                    "axum layer + `Claims` extractor minus the bare router".to_owned(),
                    cost.map_or_else(String::new, time),
                )
                .ratio(ratio, "floor, same round")
                .at_most(1.20),
            );
        }
        if let (Some(ratio), Some(v)) = (
            per_round(main, &["with_layer", "bare_router", "floor"], |t| {
                t[0] / (t[1] + t[2])
            }),
            med("with_layer"),
        ) {
            rows.push(
                Row::info(
                    section,
                    "interleaved: layer / (floor + bare)",
                    "axum layer round trip".to_owned(),
                    time(v),
                )
                .ratio(ratio, "floor + bare router, same round")
                .at_most(1.20),
            );
        }
        if let (Some(cost), Some(ratio)) = (
            per_round(main, &["cache_hit", "bare_router"], |t| t[0] - t[1]),
            per_round(main, &["cache_hit", "bare_router", "floor"], |t| {
                (t[0] - t[1]) / t[2]
            }),
        ) {
            rows.push(
                Row::info(
                    section,
                    "interleaved: token cache hit - bare",
                    "verified-token cache hit through the layer (default settings) minus the \
                     bare router"
                        .to_owned(),
                    time(cost),
                )
                .ratio(ratio, "floor, same round")
                .target("≤ 1 µs (absolute)".to_owned(), Some(cost <= 1000.0)),
            );
        }
    }
    for (name, proof_case, layer_case, alg) in [
        ("dpop", "floor_es256", "with_layer_dpop", "ES256"),
        (
            "dpop_rs256",
            "floor_rs256_proof",
            "with_layer_dpop_rs256",
            "RS256",
        ),
    ] {
        let Some(dpop) = checks.get(name) else {
            continue;
        };
        if let Some(ratio) = per_round(
            dpop,
            &[layer_case, "bare_router", "floor", proof_case],
            |t| (t[0] - t[1]) / (t[2] + t[3]),
        ) {
            let cost = per_round(dpop, &[layer_case, "bare_router"], |t| t[0] - t[1]);
            rows.push(
                Row::info(
                    section,
                    &format!("interleaved: DPoP ({alg}) - bare"),
                    format!(
                        "DPoP request ({alg} proof) through the layer + `Claims` extractor minus \
                         the bare router"
                    ),
                    cost.map_or_else(String::new, time),
                )
                .ratio(ratio, &format!("floor + {alg} proof verify, same round"))
                .at_most(1.15),
            );
        }
    }
    if let Some(peers) = checks.get("peers") {
        let ours = per_round(peers, &["tower_okta", "floor"], |t| t[0] / t[1]);
        for (case, label, what) in [
            (
                "tower_okta",
                "interleaved: tower-okta",
                "tower-okta `verify_access_token`",
            ),
            (
                "jsonwebtoken",
                "interleaved: jsonwebtoken",
                "jsonwebtoken `decode`",
            ),
            (
                "jwt_authorizer",
                "interleaved: jwt-authorizer",
                "jwt-authorizer `check_auth`",
            ),
            (
                "axum_jwks",
                "interleaved: axum-jwks",
                "axum-jwks `validate_claims`",
            ),
        ] {
            let (Some(ratio), Some(v)) = (
                per_round(peers, &[case, "floor"], |t| t[0] / t[1]),
                peers.get(case).cloned().and_then(median),
            ) else {
                continue;
            };
            let row = Row::info(section, label, format!("peers run: {what}"), time(v))
                .ratio(ratio, "floor, same round");
            rows.push(if case == "tower_okta" {
                row.at_most(VERIFY_TARGET)
            } else {
                row.target("tower-okta faster".to_owned(), ours.map(|o| o < ratio))
            });
        }
    }
    rows
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from("| group | measurement | mean | ratio | of | target | met |\n");
    out.push_str("|---|---|---:|---:|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.section,
            row.what,
            row.value,
            row.ratio.map_or_else(String::new, |r| format!("{r:.3}x")),
            row.of,
            row.target,
            match row.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            }
        );
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart of the rows that have a ratio.
fn svg(rows: &[&Row], title: &str, subtitle: &str) -> String {
    let bars: Vec<&Row> = rows.iter().copied().filter(|r| r.ratio.is_some()).collect();
    let (label_w, chart_w, bar_h, gap, top) = (250.0, 520.0, 18.0, 8.0, 56.0);
    let max = bars
        .iter()
        .flat_map(|r| [r.ratio.unwrap_or(0.0), r.target_mark.unwrap_or(0.0)])
        .fold(1.0_f64, f64::max)
        * 1.1;
    let x = |ratio: f64| label_w + chart_w * (ratio.max(0.0) / max);
    let height = top + (bar_h + gap) * bars.len() as f64 + 48.0;
    let width = label_w + chart_w + 90.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="15" font-weight="bold">{}</text><text x="10" y="38" fill="#555">{}</text>"##,
        escape(title),
        escape(subtitle)
    );
    // Grid lines at every 0.5.
    let mut tick = 0.0;
    while tick <= max {
        let tx = x(tick);
        let stroke = if (tick - 1.0).abs() < 1e-9 {
            "#333"
        } else {
            "#ddd"
        };
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{:.1}" x2="{tx:.1}" y2="{:.1}" stroke="{stroke}" stroke-width="1"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#555">{tick:.1}x</text>"##,
            top - 4.0,
            height - 40.0,
            height - 26.0
        );
        tick += 0.5;
    }
    for (i, row) in bars.iter().enumerate() {
        let y = top + (bar_h + gap) * i as f64;
        let ratio = row.ratio.unwrap_or(0.0);
        let color = match row.met {
            Some(true) => "#3a9e4f",
            Some(false) => "#d0453a",
            None => "#7f8fa6",
        };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{label_w}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{color}"/><text x="{:.1}" y="{:.1}">{ratio:.2}x</text>"##,
            label_w - 8.0,
            y + bar_h - 5.0,
            escape(&row.label),
            x(ratio) - label_w,
            x(ratio) + 4.0,
            y + bar_h - 5.0
        );
        if let Some(mark) = row.target_mark {
            let _ = writeln!(
                s,
                r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="black" stroke-width="2" stroke-dasharray="3,2"/>"##,
                x(mark),
                y - 2.0,
                y + bar_h + 2.0
            );
        }
    }
    let _ = writeln!(
        s,
        r##"<text x="10" y="{:.1}" fill="#555">green: target met, red: missed, grey: no target; dashed mark: the target</text>"##,
        height - 6.0
    );
    s.push_str("</svg>\n");
    s
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

struct Machine {
    nproc: String,
    cpu: String,
    rustc: String,
    load: String,
}

fn machine() -> Machine {
    Machine {
        nproc: command_output("nproc", &[]).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or_else(|_| "?".to_owned(), |n| n.to_string())
        }),
        cpu: cpu_model(),
        rustc: command_output("rustc", &["-V"]).unwrap_or_else(|| "unknown".to_owned()),
        load: load_average(),
    }
}

/// The run the report is about, saved next to criterion's results for `BENCH_SKIP_RUN`.
struct Run {
    /// The lines the benchmarks printed besides criterion's output (storms, interleaved checks).
    lines: Vec<String>,
    date: String,
    time: f64,
    warmup: f64,
    load_before: String,
    load_after: String,
}

impl Run {
    fn to_json(&self) -> Value {
        serde_json::json!({
            "lines": self.lines,
            "date": self.date,
            "time": self.time,
            "warmup": self.warmup,
            "load_before": self.load_before,
            "load_after": self.load_after,
        })
    }

    fn from_json(v: &Value) -> Option<Run> {
        Some(Run {
            lines: serde_json::from_value(v["lines"].clone()).ok()?,
            date: v["date"].as_str()?.to_owned(),
            time: v["time"].as_f64()?,
            warmup: v["warmup"].as_f64()?,
            load_before: v["load_before"].as_str()?.to_owned(),
            load_after: v["load_after"].as_str()?.to_owned(),
        })
    }
}

/// Where the time of `verify` over the floor goes: each step of the hot path measured alone
/// (`benches/verify.rs`, group `breakdown`), as a share of the floor.
/// The breakdown's "before": the same benchmarks (`breakdown/*`, `floor/parsed_key`,
/// `verify/poll_once`) run on the same machine at the commit before the performance work, with
/// a line saying so (`BEFORE_FILE`: `{"note": "...", "times_ns": {"id": ns, ...}}`).
fn breakdown_before(root: &Path) -> Option<(String, Results)> {
    let text = std::fs::read_to_string(root.join(BEFORE_FILE)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let note = v["note"].as_str()?.to_owned();
    let times = v["times_ns"].as_object()?;
    let times = times
        .iter()
        .filter_map(|(k, t)| Some((k.clone(), t.as_f64()?)));
    Some((note, times.collect()))
}

/// The breakdown as a table of before and after: time, share of the floor of its own run, and
/// after / before.
fn steps_table(r: &Results, before: &Results) -> String {
    let mut out = String::from(
        "| step | before | before / floor | after | after / floor | after / before |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let (Some(floor), Some(old_floor)) =
        (r.get("floor/parsed_key"), before.get("floor/parsed_key"))
    else {
        return out;
    };
    let mut sums = (0.0, 0.0);
    let line = |out: &mut String, what: &str, old: f64, new: f64| {
        let _ = writeln!(
            out,
            "| {what} | {} | {:.3}x | {} | {:.3}x | {:.2}x |",
            time(old),
            old / old_floor,
            time(new),
            new / floor,
            new / old
        );
    };
    for (id, what) in BREAKDOWN_STEPS {
        if let (Some(&old), Some(&new)) = (before.get(id), r.get(id)) {
            sums = (sums.0 + old, sums.1 + new);
            line(&mut out, what, old, new);
        }
    }
    line(&mut out, "sum of the steps", sums.0, sums.1);
    if let (Some(&old), Some(&new)) = (before.get("verify/poll_once"), r.get("verify/poll_once")) {
        line(
            &mut out,
            "`verify_access_token` minus the floor",
            old - old_floor,
            new - floor,
        );
    }
    line(&mut out, "the floor itself", *old_floor, *floor);
    out
}

/// The steps of the `breakdown` group: benchmark id and what it measures.
const BREAKDOWN_STEPS: [(&str, &str); 6] = [
    (
        "breakdown/decode",
        "split the token, strict base64url decode of its three parts (`memchr`, `base64-simd`)",
    ),
    (
        "breakdown/header",
        "strict header parse (`serde_json`, duplicate keys refused)",
    ),
    (
        "breakdown/claims",
        "strict claims pass collecting the `AccessClaims` fields (`serde_json`)",
    ),
    (
        "breakdown/key_lookup",
        "key cache lookup by `kid` (`moka`, foldhash)",
    ),
    ("breakdown/clock", "one clock read (`SystemTime::now`)"),
    (
        "breakdown/owned_claims",
        "build and drop the owned `AccessClaims` (its strings and scopes; `extra` not built)",
    ),
];

fn breakdown_rows(r: &Results) -> Vec<Row> {
    let get = |id: &str| r.get(id).copied();
    let (Some(floor), Some(verify)) = (get("floor/parsed_key"), get("verify/poll_once")) else {
        return Vec::new();
    };
    let over = VERIFY_TARGET - 1.0;
    let mut rows = Vec::new();
    let mut sum = 0.0;
    let labels = [
        "split + base64url",
        "header JSON",
        "claims JSON",
        "key lookup",
        "clock",
        "owned claims",
    ];
    for ((id, what), label) in BREAKDOWN_STEPS.into_iter().zip(labels) {
        if let Some(v) = get(id) {
            sum += v;
            rows.push(
                Row::info("breakdown", label, what.to_owned(), time(v)).ratio(v / floor, "floor"),
            );
        }
    }
    if rows.is_empty() {
        return rows;
    }
    rows.push(
        Row::info(
            "breakdown",
            "sum of the steps",
            "sum of the steps above, each measured alone".to_owned(),
            time(sum),
        )
        .ratio(sum / floor, "floor"),
    );
    rows.push(
        Row::info(
            "breakdown",
            "verify - floor",
            "`verify_access_token` minus the floor, for comparison".to_owned(),
            time(verify - floor),
        )
        .ratio((verify - floor) / floor, "floor")
        .target(
            format!(
                "≤ {over:.2}x ({}){}",
                time(over * floor),
                if verify < floor { NOISY } else { "" }
            ),
            (verify >= floor).then_some(verify - floor <= over * floor),
        ),
    );
    rows
}

/// The HTTP bench's results, if its file exists: the summary, its rows for the chart, the
/// results themselves.
fn http_results(path: &Path) -> Result<Option<(http::Summary, Vec<Row>, Value)>> {
    let Ok(bytes) = std::fs::read(path) else {
        return Ok(None);
    };
    let results: Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let summary = http::summarize(&results);
    let rows = summary
        .rows
        .iter()
        .filter_map(|r| {
            let ratio = r.over_best_peer?;
            let mut row = Row::info(
                "http",
                &format!("{}: {}", r.mode, r.contender),
                format!("{} {}", r.mode, r.contender),
                format!("{:.0} req/s", r.rps),
            )
            .ratio(ratio, "best peer, same round")
            .target(r.target.clone(), r.met);
            if r.contender == "tower-okta" {
                row.target_mark = Some(if r.mode == "repeated" {
                    http::REPEATED_OVER_BEST_PEER
                } else {
                    http::DISTINCT_OVER_BEST_PEER
                });
            }
            Some(row)
        })
        .collect();
    Ok(Some((summary, rows, results)))
}

/// The "HTTP level" section of `bench.md`.
fn http_section(summary: &http::Summary, results: &Value, path: &Path) -> String {
    let settings = &results["settings"];
    let num = |v: &Value| v.as_f64().map_or_else(|| "?".to_owned(), |n| n.to_string());
    let mut md = String::from("\n## HTTP level\n\n");
    let _ = writeln!(
        md,
        "From `cargo run --manifest-path bench-peers/Cargo.toml --release --bin http-bench` (run \
         on its own, before this report, which reads its results file `{}`: see \
         `BENCH_HTTP_RESULTS`). One server per contender, \
         each serving `GET /api/me` (the token's `sub` as JSON) on loopback the way its crate \
         documents it: tower-okta with its default settings (`Verifier::builder()` with the \
         issuer and client ID, `verifier.layer()`, the `Claims<AccessClaims>` extractor, as in \
         `examples/axum.rs`); jsonwebtoken (the JWKS fetched once, an extractor calling \
         `decode` with issuer and audience); jwt-authorizer 0.15 (its layer, on axum 0.7); \
         axum-jwks 0.12 (its `Claims` extractor; it checks the audience but not the issuer); \
         and a bare router (no authentication). All verify the same Okta-shaped tokens of a \
         mock Okta into `AccessClaims`. A load generator in Rust (raw HTTP/1.1 keep-alive, no \
         pipelining, {} connections) sends the requests; any response but 200 fails the run.\n",
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned()
        ),
        num(&settings["connections"]),
    );
    let _ = writeln!(
        md,
        "- date: {}; machine: {} CPUs, {}",
        results["date"].as_str().unwrap_or("?"),
        num(&results["cpus"]),
        results["cpu"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        md,
        "- pinning: {}; load average (1, 5, 15 min) before / after: {} / {}",
        results["pinning"].as_str().unwrap_or("?"),
        results["load_before"].as_str().unwrap_or("?"),
        results["load_after"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        md,
        "- {} rounds; per run {} s of warm-up, then {} s measured; the contenders interleaved \
         (A B C D E, E D C B A, ...), each run on a freshly started server",
        num(&settings["rounds"]),
        num(&settings["warmup"]),
        num(&settings["seconds"]),
    );
    let _ = writeln!(
        md,
        "- modes: *repeated*, one token in every request (tower-okta's verified-token cache, on \
         by default, answers all but the first); *distinct*, each request with a token the \
         server has not seen ({} tokens, each sent at most once per server: no cache can \
         answer; a run whose tokens run out ends with its last response, and the warm-up ends \
         at a quarter of them at the latest)",
        num(&settings["pool"]),
    );
    md.push_str(
        "- req/s: median over the rounds. Ratios, auth cost and server CPU per request: median \
         over the rounds of the value within each round. *Auth cost* per request is \
         `1/rps - 1/rps(bare)` of the same round, also shown as a multiple of the floor (one \
         aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verify, key parsed once, measured on the \
         servers' core before each round). *Server CPU*: the share of its core the server used \
         while measured (below 100%: the server was not the limit); *server CPU / request*: \
         its CPU time per response.\n\n",
    );
    md.push_str(&http::table(summary));
    md.push_str("\n![bench-http](bench-http.svg)\n");
    md
}

fn main() -> Result<()> {
    let paths = Paths::new();
    let skip_run = std::env::var("BENCH_SKIP_RUN").is_ok_and(|v| v == "1");
    let only = std::env::var("BENCH_ONLY")
        .ok()
        .filter(|v| !v.trim().is_empty());
    if skip_run && only.is_some() {
        return Err("BENCH_ONLY runs the benchmarks: not with BENCH_SKIP_RUN".into());
    }

    let started = SystemTime::now();
    let run = if skip_run {
        std::fs::read(paths.extra_file())
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| Run::from_json(&v))
            .ok_or("no saved run; run the report without BENCH_SKIP_RUN first")?
    } else {
        let time = env_secs("BENCH_TIME", 3.0)?;
        let warmup = env_secs("BENCH_WARMUP", 1.0)?;
        let load_before = machine().load;
        let date = utc_now();
        let only_env: Vec<(&str, &str)> = only
            .iter()
            .map(|o| ("TOWER_OKTA_BENCH_ONLY", o.as_str()))
            .collect();
        let mut lines = run_bench(
            &paths.root.join("Cargo.toml"),
            &paths.main_target,
            "verify",
            &["--all-features"],
            &only_env,
            time,
            warmup,
        )?;
        if only.is_none() {
            lines.extend(run_bench(
                &paths.peers.join("Cargo.toml"),
                &paths.peers_target,
                "peers",
                &[],
                &[],
                time,
                warmup,
            )?);
        }
        let run = Run {
            lines,
            date,
            time,
            warmup,
            load_before,
            load_after: machine().load,
        };
        if only.is_none() {
            std::fs::write(paths.extra_file(), serde_json::to_vec(&run.to_json())?)?;
        }
        run
    };
    let lines = &run.lines;
    let storms = parse_storms(lines);
    let interleaved = parse_interleaved(lines);

    let since = (!skip_run).then_some(started);
    let mut results = Results::new();
    read_criterion(&paths.main_target.join("criterion"), since, &mut results)?;
    read_criterion(&paths.peers_target.join("criterion"), since, &mut results)?;
    if results.is_empty() {
        return Err("no criterion results found; run without BENCH_SKIP_RUN".into());
    }

    let rows = build_rows(&results, &storms);
    let checks = interleaved_rows(&interleaved);
    let steps = breakdown_rows(&results);
    let criterion_text = table(&rows);
    let checks_text = table(&checks);
    let steps_text = table(&steps);
    let m = machine();
    let date = &run.date;
    println!("\n{criterion_text}");
    if !checks.is_empty() {
        println!("Interleaved check (median of per-round ratios):\n\n{checks_text}");
    }
    if !steps.is_empty() {
        println!("Where the time over the floor goes (each step alone):\n\n{steps_text}");
    }
    if let Some(only) = &only {
        eprintln!(
            "bench-report: BENCH_ONLY={only}, a partial run: bench.md and the SVGs not written"
        );
        return Ok(());
    }

    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `cargo run --manifest-path bench-peers/Cargo.toml --release --bin \
         bench-report` (do not edit by hand). Every ratio is to a baseline measured in the same \
         run on the same machine, so the ratios, not the times, are what carries over between \
         machines.\n"
    );
    let _ = writeln!(md, "- date: {date}");
    let _ = writeln!(md, "- machine: {} CPUs (`nproc`), {}", m.nproc, m.cpu);
    let _ = writeln!(md, "- toolchain: {}", m.rustc);
    let _ = writeln!(
        md,
        "- load average (1, 5, 15 min) before / after the run: {} / {}",
        run.load_before, run.load_after
    );
    let _ = writeln!(
        md,
        "- criterion: {} s measurement, {} s warm-up per benchmark (`BENCH_TIME`, \
         `BENCH_WARMUP`); mean point estimates\n",
        run.time, run.warmup
    );
    md.push_str(&criterion_text);
    if !checks.is_empty() {
        md.push_str(
            "\n## Interleaved check\n\n\
             Criterion measures one benchmark after another, seconds apart; on a shared machine the \
             load changes in between. The benchmarks therefore also measure the floor, `verify`, \
             the bare router and the layer (the DPoP checks: the floor on the bound token, the raw \
             verify of the proofs' signatures, the bare router and the DPoP layer, every request \
             with a fresh proof built before the timed loop, RS256 with 20 calls per round; in the \
             peers' run, the floor and each peer) in alternation, 100 calls each per round for \
             100 rounds; each ratio below is taken \
             within a round, and the table shows its median over the rounds (times: median per \
             call).\n\n",
        );
        md.push_str(&checks_text);
    }
    if !steps.is_empty() {
        md.push_str(
            "\n## Where the time over the floor goes\n\n\
             Each step of the hot path measured alone on the same token (criterion group \
             `breakdown`, through the crate's hidden `__private::steps`). Measured alone, a step \
             runs with warm caches, so the sum is usually a little below `verify` minus the \
             floor, which also holds the calls between the steps and the claim checks.\n\n",
        );
        md.push_str(&steps_text);
        if let Some((note, before)) = breakdown_before(&paths.root) {
            let _ = write!(
                md,
                "\n### Before and after\n\n{note} Each `/ floor` ratio is to the floor of its \
                 own run (`{BEFORE_FILE}`): those are the columns to compare, since the machine's \
                 speed varies between runs (the floor's own row shows by how much).\n\n{}",
                steps_table(&results, &before)
            );
        }
    }
    let http_path = http::results_path();
    let http = http_results(&http_path)?;
    if let Some((summary, _, results)) = &http {
        let section = http_section(summary, results, &http_path);
        println!("{section}");
        md.push_str(&section);
    } else {
        eprintln!(
            "bench-report: no HTTP results at {} (run http-bench first to add them)",
            http_path.display()
        );
    }
    md.push_str(
        "\nDefinitions:\n\n\
         - *floor*: one aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verification of the token's \
         signing input (`header.payload`) with a key parsed once. The peers are compared to the \
         floor measured in their own run (`bench-peers`).\n\
         - *verify*: `Verifier::verify_access_token` on an Okta-shaped access token (about 900 \
         bytes, 12 claims) with its key cached, polled once (the cached path never awaits).\n\
         - *layer*: one request through an axum `Router` with `verifier.layer()` and a handler \
         extracting `Claims<AccessClaims>`, via `tower::ServiceExt::oneshot` on a current-thread \
         runtime; *bare router* is the same router without the layer.\n\
         - *throughput*: spawned tasks verifying the same token on a multi-thread runtime with N \
         workers; the ratio is the speed-up over one worker.\n\
         - *unknown-kid storm*: 10,000 spawned verifications of a token whose `kid` the verifier \
         has never seen (the mock rotated its key); time per storm, and the mock's key fetches \
         per storm.\n\
         - *DPoP*: `GET /api/me` with `Authorization: DPoP` (a token bound to the proof key, \
         `cnf.jkt`) and a fresh proof per request (proofs are single-use), built outside the \
         timed routine, through the same layer with its default DPoP policy; the bare router is \
         sent the same requests. The target compares the layer's cost over the bare router with \
         the RSA floor on the bound token plus one raw aws-lc-rs verify of the proof's signature \
         (ES256: `ECDSA_P256_SHA256_FIXED` with the key's point; RS256: the key's components), \
         each call on another of 256 fresh proofs, as the layer sees a fresh proof per request \
         (one proof verified over and over keeps ECDSA's signature-dependent table entries in \
         the CPU's caches and measured about 9% faster).\n\n\
         ![bench](bench.svg)\n",
    );

    let subtitle = format!("{date}; {} CPUs, {}", m.nproc, m.cpu);
    let docs =
        std::env::var_os("BENCH_REPORT_DIR").map_or_else(|| paths.root.join("docs"), PathBuf::from);
    std::fs::create_dir_all(&docs)?;
    std::fs::write(docs.join("bench.md"), md)?;
    std::fs::write(
        docs.join("bench.svg"),
        svg(
            &rows.iter().chain(&checks).collect::<Vec<_>>(),
            "tower-okta benchmarks: ratios to the baseline measured in the same run",
            &subtitle,
        ),
    )?;
    eprintln!(
        "bench-report: wrote {} and {}",
        docs.join("bench.md").display(),
        docs.join("bench.svg").display()
    );
    if let Some((_, http_rows, results)) = &http {
        std::fs::write(
            docs.join("bench-http.svg"),
            svg(
                &http_rows.iter().collect::<Vec<_>>(),
                "tower-okta at HTTP level: req/s as a ratio to the best peer's, same round",
                &format!(
                    "{}; {} CPUs, {}",
                    results["date"].as_str().unwrap_or("?"),
                    results["cpus"],
                    results["cpu"].as_str().unwrap_or("?")
                ),
            ),
        )?;
        eprintln!(
            "bench-report: wrote {}",
            docs.join("bench-http.svg").display()
        );
    }
    Ok(())
}
