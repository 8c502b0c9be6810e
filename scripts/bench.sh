#!/usr/bin/env bash
# Ferry's benchmarks: figures printed side by side in one run on this machine, written to
# bench/results/<benchmark>.json and .md. Figures, not tests: nothing fails on speed. Needs Java 17+
# and Maven (python3 too for the Python handler's figures; without it they are skipped, and said so).
#
#   scripts/bench.sh warm-handlers                per-job overhead of a warm handler against a command
#                                                 per job (20 ms jobs), at the handler and end to end,
#                                                 and start to first job with a 3 s setup (3-4 minutes
#                                                 on 2 CPUs)
#   scripts/bench.sh warm-handlers --jobs 50      a shorter one
#   scripts/bench.sh --no-build warm-handlers     run what the last build made
#   scripts/bench.sh --help                       the benchmarks; <benchmark> --help: its options
#
# The last line is the summary:
#   bench warm-handlers: warm_overhead_ms=... command_overhead_ms=... ratio=... e2e_warm_jobs_per_s=...
#     e2e_command_jobs_per_s=... first_job_warm_ms=... first_job_command_ms=... ten_jobs_ratio=...
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The benchmarks live in bench/ (ferry-bench), on the local stack and the worker.
# shellcheck source=scripts/lib/module-main.sh
source scripts/lib/module-main.sh
module_main bench.sh bench dev.ferry.bench.BenchMain "$@"
