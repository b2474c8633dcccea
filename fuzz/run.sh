#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with libFuzzer and AddressSanitizer.
#
#   fuzz/run.sh [SECONDS]
#
# FUZZ_SANITIZER=none skips AddressSanitizer (the crate forbids unsafe code, libFuzzer still
# catches every panic and abort) and roughly halves the build time; CI uses it.
#
# Only the stable toolchain exists here; RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass the nightly-only
# sanitizer flags to it. Seeds are read from fuzz/seeds/TARGET (committed); what libFuzzer learns
# goes to the scratch corpus fuzz/corpus/TARGET (ignored by git), crashes to fuzz/artifacts/TARGET.
# Exits non-zero if any target crashes (or fails to build).
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in
    '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
cd "$fuzz_dir/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
targets=(token_parser jwks_parser authorization_header dpop_proof)
failed=()
for target in "${targets[@]}"; do
    corpus="$fuzz_dir/corpus/$target"
    mkdir -p "$corpus"
    echo "== fuzz $target for ${seconds}s"
    if ! cargo fuzz run --fuzz-dir "$fuzz_dir" --sanitizer "${FUZZ_SANITIZER:-address}" \
        "$target" "$corpus" "$fuzz_dir/seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1; then
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "!! fuzzing failed for: ${failed[*]} (crash inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "== fuzzing passed: ${targets[*]}"
