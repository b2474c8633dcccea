//! What the bench binaries share: the HTTP bench's results file and its summary (`http`), read
//! by `http-bench` (which writes it) and `bench-report` (which puts it into `docs/bench.md`), and
//! the machine and time a run is about (`machine`).

pub mod http;
pub mod machine;
