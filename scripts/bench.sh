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

build=true
args=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=false ;;
    *) args+=("$arg") ;;
  esac
done

if $build; then
  echo "bench.sh: building Ferry (mvn package, tests skipped)..." >&2
  # The benchmarks live in bench/ (ferry-bench), on the local stack and the worker; bench's build
  # writes its runtime classpath to bench/target/classpath.txt.
  mvn -q -B -ntp -Dstyle.color=never -Dmaven.test.skip=true package -pl bench -am
fi

classes=bench/target/classes
classpath_file=bench/target/classpath.txt
if [[ ! -d $classes || ! -f $classpath_file ]]; then
  echo "bench.sh: $classpath_file is missing: run without --no-build first" >&2
  exit 1
fi

java=java
if [[ -n ${JAVA_HOME:-} ]]; then
  java="$JAVA_HOME/bin/java"
fi
# Serial GC: no collector threads competing with the handlers for a small machine's CPUs.
exec "$java" -Xmx1g -XX:+UseSerialGC -cp "$classes:$(<"$classpath_file")" dev.ferry.bench.BenchMain \
  ${args[@]+"${args[@]}"}
