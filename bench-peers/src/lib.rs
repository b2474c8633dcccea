//! What the bench binaries share: the HTTP bench's results file and its summary (`http`), read
//! by `http-bench` (which writes it) and `bench-report` (which puts it into `docs/bench.md`).

pub mod http;
