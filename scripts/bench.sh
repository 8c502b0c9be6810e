#!/usr/bin/env bash
# Ferry's benchmarks: figures printed side by side in one run on this machine, written to
# bench/results/<benchmark>.json and .md. Figures, not tests: nothing fails on speed. Needs Java 17+
# and Maven (python3 too for the Python handler's figures; without it they are skipped, and said so).
#
#   scripts/bench.sh pipeline                     issue 13: the busy fraction of one slot at 5-1000 ms jobs for
#                                                 Ferry's worker, a naive loop and Spring Cloud AWS's listener,
#                                                 AWS requests and dollars per job, the submit path warm and cold,
#                                                 throughput through the local API (5-6 minutes on 2 CPUs)
#   scripts/bench.sh --quick                      the same, small (5, 20, 100 ms; 15 jobs each): under 3 minutes
#   scripts/bench.sh warm-handlers                per-job overhead of a warm handler against a command
#                                                 per job (20 ms jobs), at the handler and end to end,
#                                                 and start to first job with a 3 s setup (3-4 minutes
#                                                 on 2 CPUs)
#   scripts/bench.sh warm-handlers --jobs 50      a shorter one
#   scripts/bench.sh --no-build warm-handlers     run what the last build made
#   scripts/bench.sh --help                       the benchmarks; <benchmark> --help: its options
#
# The last line is the summary, e.g. (pipeline)
#   bench: busy20=... naive20=... spring20=... busy5=... busy100=... busy1000=... warm20=... gap20_p50_ms=...
#     gap20_p99_ms=... req_per_job=... naive_req=... spring_req=... usd_per_m_jobs=... submit_overhead=...
#     cold_start_ratio=... throughput=...
# or (warm-handlers)
#   bench warm-handlers: warm_overhead_ms=... command_overhead_ms=... ratio=... e2e_warm_jobs_per_s=...
#     e2e_command_jobs_per_s=... first_job_warm_ms=... first_job_command_ms=... ten_jobs_ratio=...
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The benchmarks live in bench/ (ferry-bench), on the local stack and the worker.
# shellcheck source=scripts/lib/module-main.sh
source scripts/lib/module-main.sh
module_main bench.sh bench dev.ferry.bench.BenchMain "$@"
