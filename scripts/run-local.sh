#!/usr/bin/env bash
# Runs Ferry's whole pipeline on this machine, in one JVM, without Docker: the API on
# localhost:${FERRY_PORT:-3000}, SQS (ElasticMQ) and DynamoDB Local embedded, real workers.
# Needs Java 17+ and Maven.
#
#   scripts/run-local.sh              build (tests skipped), then run in the foreground; Ctrl-C stops it
#   scripts/run-local.sh --no-build   run what the last build made
#   scripts/run-local.sh --offline    build with Maven offline (-o), from what ~/.m2 already has
#
# Environment: FERRY_PORT (API port, 3000), FERRY_LOCAL_WORKERS (workers, 1), FERRY_SLOTS (job slots
# per worker, 2), FERRY_COMMAND_<TYPE> (a job type of your own, run by the workers next to "sample"),
# FERRY_TIMEOUT_<TYPE> and FERRY_JOB_TIMEOUT (how long a job may run), FERRY_ADMIN_TOKEN (the admin
# API's token, at least 16 characters; unset: a random one, printed), FERRY_WEBHOOK_SECRET (the
# webhooks' signing key, likewise). Job programs get this shell's environment (HF_TOKEN, HF_HOME,
# PATH, ...) under Ferry's own settings; its AWS_* and other FERRY_* variables stay out: the stack
# runs on its embedded emulators.
set -euo pipefail

usage() {
  # The comment block at the top of this file.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

build=true
maven_flags=(-q -B -Dstyle.color=never -Dmaven.test.skip=true)
for arg in "$@"; do
  case "$arg" in
    --no-build) build=false ;;
    --offline) maven_flags+=(-o) ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run-local.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if $build; then
  echo "run-local.sh: building Ferry (mvn package, tests skipped)..." >&2
  # package, not install: in one reactor build the modules' jars resolve from their target/
  # folders, so nothing needs to be in ~/.m2 first. local-stack's build writes its runtime
  # classpath to local-stack/target/classpath.txt.
  mvn "${maven_flags[@]}" package -pl local-stack -am
fi

classes=local-stack/target/classes
classpath_file=local-stack/target/classpath.txt
if [[ ! -d $classes || ! -f $classpath_file ]]; then
  echo "run-local.sh: $classpath_file is missing: run without --no-build first" >&2
  exit 1
fi

java=java
if [[ -n ${JAVA_HOME:-} ]]; then
  java="$JAVA_HOME/bin/java"
fi
exec "$java" -cp "$classes:$(<"$classpath_file")" dev.ferry.local.LocalStackMain
