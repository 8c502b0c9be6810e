#!/usr/bin/env bash
# Runs a Ferry worker on this machine, serving a deployed stack's job queue: an on-premises GPU box,
# another cloud, a laptop. Needs Java 17+, Maven (for the build) and AWS credentials that may use
# the stack's queue and table (the SDK's default chain: environment, AWS_PROFILE, SSO, a role).
#
#   FERRY_STACK=ferry AWS_REGION=eu-west-1 FERRY_COMMAND_SD='python3 sd.py' scripts/worker.sh
#   FERRY_QUEUE_URL=https://sqs... FERRY_TABLE=ferry-jobs AWS_REGION=eu-west-1 ... scripts/worker.sh
#
#   scripts/worker.sh --no-build   run what the last build made (worker-ec2/target/ferry-worker.jar)
#
# FERRY_STACK names a deployed stack (its outputs JobQueueUrl and JobsTableName are read with
# cloudformation:DescribeStacks); or give FERRY_QUEUE_URL and FERRY_TABLE. The worker refuses to
# start, saying why, when the queue has no usable redrive policy or the table is not a Ferry job
# table. Every other setting is the worker's usual environment (README, Configuration):
# FERRY_COMMAND_<TYPE>, FERRY_SLOTS (default: one per GPU nvidia-smi lists), ... Off EC2 the
# Spot/Auto Scaling watch and the scale-in protection switch themselves off after one try; set
# AWS_EC2_METADATA_DISABLED=true to skip even that. Ctrl-C or SIGTERM drains it: running jobs get
# FERRY_DRAIN_GRACE, the rest go back to the queue without spending an attempt.
#
# Is it healthy? `curl -s localhost:8086/health` (FERRY_HEALTH_PORT): its slots, their jobs and
# handlers as JSON; 200 while it takes or runs jobs, 503 while it drains or no slot gets ready.
set -euo pipefail

build=true
for arg in "$@"; do
  case "$arg" in
    --no-build) build=false ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "worker.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
jar=worker-ec2/target/ferry-worker.jar
if $build; then
  echo "worker.sh: building the worker (mvn package, tests skipped)..." >&2
  mvn -q -B -ntp -Dstyle.color=never -Dmaven.test.skip=true package -pl worker-ec2 -am
fi
if [[ ! -f $jar ]]; then
  echo "worker.sh: $jar is missing: run without --no-build first" >&2
  exit 1
fi
java=java
if [[ -n ${JAVA_HOME:-} ]]; then
  java="$JAVA_HOME/bin/java"
fi
exec "$java" -jar "$jar"
