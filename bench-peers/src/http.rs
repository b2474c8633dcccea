//! The HTTP-level bench's results (`http-bench` writes them, `bench-report` reads them): where the
//! file lies, the contenders and modes, and the summary both print.
//!
//! The results hold each round's req/s per mode and contender, and the RSA floor measured in each
//! round. Every figure of the summary is a median over the rounds of a quantity taken within one
//! round (the contenders of a round run one after the other, seconds apart), so that a change of
//! the machine's load between rounds cancels out as far as it can.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

/// The contenders, in the order of a round: the bare router (the floor of the HTTP stack),
/// tower-okta, then the peers.
pub const CONTENDERS: [&str; 5] = [
    "bare",
    "tower-okta",
    "jsonwebtoken",
    "jwt-authorizer",
    "axum-jwks",
];

/// Contenders a run can name with `--contenders` on top of [`CONTENDERS`], for diagnosis:
/// tower-okta with the verified-token cache turned off.
pub const EXTRA_CONTENDERS: [&str; 1] = ["tower-okta-nocache"];

/// The peers among the contenders.
pub const PEERS: [&str; 3] = ["jsonwebtoken", "jwt-authorizer", "axum-jwks"];

/// The modes: one token in every request, or each request with a token the server has not seen.
pub const MODES: [&str; 2] = ["repeated", "distinct"];

/// The targets of the issue, as ratios in one run.
pub const DISTINCT_OVER_BEST_PEER: f64 = 1.10;
/// With one repeated token: at least this times the best peer's req/s...
pub const REPEATED_OVER_BEST_PEER: f64 = 3.0;
/// ... and bare router's req/s at most this times tower-okta's.
pub const REPEATED_BARE_OVER_OURS: f64 = 1.5;

/// The results file: `BENCH_HTTP_RESULTS` if set, else `http-bench.json` in bench-peers' target
/// directory (`BENCH_PEERS_TARGET_DIR`, else `CARGO_TARGET_DIR`, else `bench-peers/target`, as
/// `bench-report` finds it).
pub fn results_path() -> PathBuf {
    if let Some(path) = std::env::var_os("BENCH_HTTP_RESULTS") {
        return PathBuf::from(path);
    }
    std::env::var_os("BENCH_PEERS_TARGET_DIR")
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR"))
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
            PathBuf::from,
        )
        .join("http-bench.json")
}

/// The median of the finite values, if any.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// One contender in one mode.
#[derive(Debug, Clone)]
pub struct Row {
    /// `repeated` or `distinct`.
    pub mode: String,
    /// One of [`CONTENDERS`].
    pub contender: String,
    /// Median req/s over the rounds.
    pub rps: f64,
    /// Median over the rounds of req/s / the best peer's req/s in the same round (the best peer:
    /// the one with the highest median req/s in this mode).
    pub over_best_peer: Option<f64>,
    /// Median over the rounds of req/s / the bare router's req/s in the same round.
    pub over_bare: Option<f64>,
    /// Median over the rounds of the auth cost per request, `1/rps - 1/rps(bare)`, in µs.
    pub auth_cost_us: Option<f64>,
    /// Median over the rounds of the auth cost / the floor measured in the same round.
    pub auth_cost_floors: Option<f64>,
    /// Median share of one core the server used during the measured windows (1.0: saturated).
    pub server_cpu: Option<f64>,
    /// Median over the rounds of the server's CPU time per request (its CPU share / req/s), in
    /// µs: what a request costs the server whether or not it was saturated.
    pub server_cpu_us: Option<f64>,
    /// The target as shown (tower-okta rows only), and whether it is met.
    pub target: String,
    /// `None`: no target.
    pub met: Option<bool>,
}

/// The summary of one results file.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The rows, mode by mode in [`MODES`] order, contenders in [`CONTENDERS`] order.
    pub rows: Vec<Row>,
    /// The floor: median over the rounds of each round's median, in ns.
    pub floor_ns: Option<f64>,
    /// The best peer of each mode.
    pub best_peer: Vec<(String, String)>,
}

fn series(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

/// The median over rounds of `f` applied to the values of `a` and `b` in each round.
fn per_round(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> Option<f64> {
    median(a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect())
}

/// Summarizes a results file (`http-bench`'s JSON).
pub fn summarize(results: &Value) -> Summary {
    let mut rows = Vec::new();
    let mut best_peers = Vec::new();
    let mut floors = Vec::new();
    for mode in MODES {
        let rounds = &results["rounds"][mode];
        if !rounds.is_object() {
            continue;
        }
        let floor = series(&results["floor_ns"][mode]);
        floors.extend(floor.iter().copied());
        let rps = |c: &str| series(&rounds[c]);
        let cpu = |c: &str| series(&results["server_cpu"][mode][c]);
        let best = PEERS
            .iter()
            .filter_map(|p| median(rps(p)).map(|m| (*p, m)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(p, _)| p);
        if let Some(best) = best {
            best_peers.push((mode.to_owned(), best.to_owned()));
        }
        let bare = rps("bare");
        for contender in CONTENDERS {
            let this = rps(contender);
            let Some(median_rps) = median(this.clone()) else {
                continue;
            };
            let over_best_peer = best.and_then(|b| per_round(&this, &rps(b), |x, y| x / y));
            let over_bare = (!bare.is_empty()).then(|| per_round(&this, &bare, |x, y| x / y));
            let costs: Vec<f64> = this
                .iter()
                .zip(&bare)
                .map(|(&x, &y)| 1.0 / x - 1.0 / y)
                .collect();
            let auth_cost_us = (!bare.is_empty())
                .then(|| median(costs.iter().map(|c| c * 1e6).collect()))
                .flatten();
            let auth_cost_floors = (!bare.is_empty() && !floor.is_empty())
                .then(|| per_round(&costs, &floor, |c, f| c * 1e9 / f))
                .flatten();
            let (target, met) = if contender == "tower-okta" {
                if mode == "repeated" {
                    (
                        format!(
                            "≥ {REPEATED_OVER_BEST_PEER:.2}x best peer and ≥ {:.2}x bare (bare \
                             within {REPEATED_BARE_OVER_OURS}x)",
                            1.0 / REPEATED_BARE_OVER_OURS
                        ),
                        over_best_peer.zip(over_bare.flatten()).map(|(p, b)| {
                            p >= REPEATED_OVER_BEST_PEER && b >= 1.0 / REPEATED_BARE_OVER_OURS
                        }),
                    )
                } else {
                    (
                        format!("≥ {DISTINCT_OVER_BEST_PEER:.2}x best peer"),
                        over_best_peer.map(|p| p >= DISTINCT_OVER_BEST_PEER),
                    )
                }
            } else {
                (String::new(), None)
            };
            rows.push(Row {
                mode: mode.to_owned(),
                contender: contender.to_owned(),
                rps: median_rps,
                over_best_peer,
                over_bare: over_bare.flatten(),
                auth_cost_us,
                auth_cost_floors,
                server_cpu: median(cpu(contender)),
                server_cpu_us: per_round(&cpu(contender), &this, |c, r| c / r * 1e6),
                target,
                met,
            });
        }
    }
    Summary {
        rows,
        floor_ns: median(floors),
        best_peer: best_peers,
    }
}

/// The summary as a markdown table.
pub fn table(summary: &Summary) -> String {
    let mut out = String::from(
        "| mode | contender | req/s (median) | ratio to best peer | ratio to bare | auth cost / \
         request | auth cost / floor | server CPU | server CPU / request | target | met |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.3}x"));
    for row in &summary.rows {
        let best = summary
            .best_peer
            .iter()
            .any(|(m, p)| *m == row.mode && *p == row.contender);
        let _ = writeln!(
            out,
            "| {} | {}{} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.mode,
            row.contender,
            if best { " (best peer)" } else { "" },
            row.rps,
            ratio(row.over_best_peer),
            ratio(row.over_bare),
            row.auth_cost_us
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.2} µs")),
            ratio(row.auth_cost_floors),
            row.server_cpu
                .map_or_else(|| "-".to_owned(), |c| format!("{:.0}%", c * 100.0)),
            row.server_cpu_us
                .map_or_else(|| "-".to_owned(), |c| format!("{c:.2} µs")),
            row.target,
            match row.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            }
        );
    }
    if let Some(floor) = summary.floor_ns {
        let _ = writeln!(
            out,
            "\nfloor (one aws-lc-rs RSA-2048 PKCS#1 v1.5 SHA-256 verify, key parsed once, on the \
             servers' core): {:.2} µs",
            floor / 1e3
        );
    }
    out
}
