#!/usr/bin/env bash
# The chaos soak: proves, with figures anyone can repeat, that Ferry loses no job, completes none
# twice and never lets a job's record and its messages disagree, while its workers are killed
# (SIGKILL), stopped (SIGTERM), interrupted (Spot notices from a fake instance metadata service,
# then the machine taken away) and cut off from SQS, DynamoDB and the job files bucket (S3); while
# their calls (S3's included), and the API's, lose their responses after being applied, are
# throttled, answer too late or fail with 500/503; while finished records expire by TTL (a short
# retention) and Redrive DLQ is clicked, some of those with the move task made to fail to start;
# with duplicate deliveries, poison jobs, jobs that write files, results too large for their
# record (kept by reference in the bucket; a few first on a worker without one, where they must
# fail at once) and submits with text SQS refuses. Everything runs on this machine, on loopback:
# the embedded emulators (S3Proxy too) and the API in one JVM, several real worker processes.
# Needs Java 17+ and Maven.
#
#   scripts/chaos.sh                      the full soak: 5000 jobs
#   scripts/chaos.sh --jobs 300           a short one (CI runs this, with a shorter retention)
#   scripts/chaos.sh --seed 42 ...        repeat a run's random choices
#   scripts/chaos.sh --no-build ...       run what the last build made
#   scripts/chaos.sh --help               every option, with its default (0 turns a fault off)
#
# The last line is the summary:
#   chaos: jobs=N succeeded=N failed=N lost=0 double_completed=0 stuck=0 wrong_status=0 preempted=N kills=N
#          by_reference=N files=N logs=N missing_objects=0
# (one line) and the exit status is non-zero if lost, double_completed, stuck, wrong_status or
# missing_objects (a result, file or log a record names that the bucket lacks) is not 0, or a
# poison job is anywhere but FAILED in the dead-letter queue, or an oversize job did not succeed by
# reference (or, without a bucket, fail at once), or a refused submit left anything behind, or a
# kind asked for never happened. The lines before it count every fault injected.
# The ledger, each worker's log and summary.txt are in target/chaos/ (--out). README, "Faults and
# the chaos soak", defines each figure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The soak lives in chaos/ (ferry-chaos), on the local stack and the testkit; the worker processes it
# starts run on the same classpath (java.class.path), the worker's classes included.
# shellcheck source=scripts/lib/module-main.sh
source scripts/lib/module-main.sh
module_main chaos.sh chaos dev.ferry.chaos.ChaosMain "$@"
