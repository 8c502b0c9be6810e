#!/usr/bin/env bash
# The integration suite (local-stack's *IT, failsafe) once per backend, and a table of the results.
# See --help.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/target/backends"
ALL_BACKENDS=(embedded moto localstack floci aws)
# moto's server mode, from PyPI, in a virtual environment of its own (gitignored).
MOTO_VERSION="5.2.5"
MOTO_VENV="$ROOT/.venv-moto"
REGION="${AWS_REGION:-us-east-1}"

usage() {
  cat <<'EOF'
Usage: scripts/test-backends.sh [--reuse-embedded] [backend...]

Runs the integration suite (local-stack's *IT, through failsafe; unit tests are not run again) once
per backend, then prints a table: backend, passed, failed, skipped, and each skip with its reason.
Backends (default: all of them, in this order):

  embedded    ElasticMQ and DynamoDB Local in the test JVM (what `mvn verify` runs)
  moto        moto's server mode (moto[server]==5.2.5 from PyPI, installed into .venv-moto/),
              started on a free port and stopped afterwards, with DynamoDB's requests one at a
              time: moto's own conditional writes are not atomic (scripts/moto-server.py)
  localstack  localstack/localstack:4.14.0 (its last release that needs no auth token), in a
              container started through Testcontainers; skipped, saying why, without a Docker engine
  floci       floci/floci:1.5.34 (an AWS emulator that needs no account), the same way
  aws         a real account; only with FERRY_TEST_AWS=1, AWS_REGION and credentials in the
              environment (the SDK's chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, ...). Every stack has a
              unique name under this run's prefix and deletes what it created; afterwards a sweep
              deletes any queue or table left with that prefix, even when a test failed

A test that needs what a backend lacks (DynamoDB Streams, SQS message move tasks, a plain-HTTP
endpoint for the fault proxy, the embedded emulators themselves) is skipped with that reason.

Results: target/backends/<backend>/failsafe-reports/ (the XML reports), .../mvn.log, and the table in
target/backends/summary.md. Exits non-zero if a test failed on any backend, or a backend that was
asked for and can run here could not be set up.

--reuse-embedded  report embedded from the reports `mvn verify` just wrote
                  (local-stack/target/failsafe-reports) instead of running the suite again (CI)

Environment: FERRY_IT='PipelineIT,AdminIT' runs only those ITs; MAVEN_ARGS (e.g. -o) reaches every
Maven run; FERRY_TEST_AWS=1 opts in to the aws backend; FERRY_MOTO_RAW=1 runs plain moto_server.
EOF
}

BACKENDS=()
REUSE_EMBEDDED=""
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --reuse-embedded) REUSE_EMBEDDED=1 ;;
    embedded|moto|localstack|floci|aws) BACKENDS+=("$arg") ;;
    *) echo "test-backends: unknown backend or option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#BACKENDS[@]} -gt 0 ]] || BACKENDS=("${ALL_BACKENDS[@]}")

command -v python3 >/dev/null || { echo "test-backends: python3 is needed (moto, and reading the reports)" >&2; exit 2; }
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"   # backend, status, seconds, tests, failures, errors, skipped, note
: > "$RESULTS"

# Whatever a backend started (moto, a container launcher) is stopped on every way out.
CLEANUP=()
cleanup() {
  local i
  for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${CLEANUP[$i]}" || true
  done
  CLEANUP=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf 'test-backends: %s\n' "$*" >&2; }

# The failsafe run: only local-stack's ITs (the testkit's own ITs do not depend on the backend),
# reports in the backend's own directory.
run_suite() {
  local backend="$1" dir="$OUT/$1"
  local tests="${FERRY_IT:-dev.ferry.local.*IT}"
  rm -rf "$dir/failsafe-reports"
  mkdir -p "$dir"
  log "$backend: running the integration suite (log: ${dir#"$ROOT"/}/mvn.log)"
  local status=0
  (cd "$ROOT" && FERRY_TEST_BACKEND="$backend" mvn -B -ntp verify -pl local-stack -am \
      -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
      "-Dit.test=$tests" -Dfailsafe.failIfNoSpecifiedTests=false \
      "-Dfailsafe.reportsDirectory=$dir/failsafe-reports") > "$dir/mvn.log" 2>&1 || status=$?
  return $status
}

# Records a backend's outcome: counts from its reports (or none), with a note.
record() {
  local backend="$1" status="$2" seconds="$3" note="${4:-}"
  python3 - "$backend" "$status" "$seconds" "$note" "$OUT/$backend/failsafe-reports" >> "$RESULTS" <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
backend, status, seconds, note, reports = sys.argv[1:6]
tests = failures = errors = skipped = 0
for path in sorted(glob.glob(os.path.join(reports, "TEST-*.xml"))):
    suite = ET.parse(path).getroot()
    tests += int(suite.get("tests", 0)); failures += int(suite.get("failures", 0))
    errors += int(suite.get("errors", 0)); skipped += int(suite.get("skipped", 0))
print("\t".join([backend, status, seconds, str(tests), str(failures), str(errors), str(skipped),
                 note.replace("\t", " ").replace("\n", " ")]))
PY
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The backend's environment for the suite: only what the backend needs, over the caller's.
external_env() {
  export FERRY_BACKEND=external AWS_REGION="$REGION"
  unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_STS
  FERRY_STACK_PREFIX="ferry-r$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8)))')"
  export FERRY_STACK_PREFIX
}

fake_credentials() {
  export AWS_ACCESS_KEY_ID="$1" AWS_SECRET_ACCESS_KEY="$1"
  unset AWS_SESSION_TOKEN AWS_PROFILE
}

ensure_moto() {
  if [[ -x "$MOTO_VENV/bin/moto_server" ]] \
      && [[ "$("$MOTO_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" == "$MOTO_VERSION" ]]; then
    return 0
  fi
  log "moto: installing moto[server]==$MOTO_VERSION into ${MOTO_VENV#"$ROOT"/}"
  rm -rf "$MOTO_VENV"
  python3 -m venv "$MOTO_VENV" \
    && "$MOTO_VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

# Builds the launcher and the sweep (module backends/), once.
LAUNCHER_CP=""
ensure_launcher() {
  [[ -n "$LAUNCHER_CP" ]] && return 0
  log "building the container launcher and the sweep (backends/)"
  (cd "$ROOT" && mvn -B -ntp -q package -pl backends -am -DskipTests) > "$OUT/backends-build.log" 2>&1 || return 1
  LAUNCHER_CP="$ROOT/backends/target/classes:$(cat "$ROOT/backends/target/classpath.txt")"
}

# Starts ContainerBackend for $1 and waits for its one line: sets LAUNCHED to "endpoint=..." or "skip=...".
LAUNCHED=""
launch_container() {
  local name="$1" dir="$OUT/$1"
  mkdir -p "$dir"
  : > "$dir/launcher.out"
  java -cp "$LAUNCHER_CP" dev.ferry.backends.ContainerBackend "$name" > "$dir/launcher.out" 2> "$dir/launcher.log" &
  local pid=$!
  CLEANUP+=("kill -TERM $pid 2>/dev/null && wait $pid 2>/dev/null")
  local waited=0
  while [[ ! -s "$dir/launcher.out" ]] && kill -0 "$pid" 2>/dev/null && ((waited < 600)); do
    sleep 1; waited=$((waited + 1))
  done
  LAUNCHED="$(head -n1 "$dir/launcher.out" || true)"
  if [[ -z "$LAUNCHED" ]]; then
    LAUNCHED="skip=the launcher said nothing within ${waited} s (see ${dir#"$ROOT"/}/launcher.log)"
  fi
}

run_backend() {
  local backend="$1" start status=0
  start=$(date +%s)
  mkdir -p "$OUT/$backend"
  rm -rf "$OUT/$backend/failsafe-reports"
  case "$backend" in
    embedded)
      if [[ -n "$REUSE_EMBEDDED" ]]; then
        local from="$ROOT/local-stack/target/failsafe-reports"
        if ! compgen -G "$from/TEST-dev.ferry.local.*IT.xml" > /dev/null; then
          record embedded error 0 "--reuse-embedded, but local-stack/target/failsafe-reports holds no IT report (run mvn verify first)"
          return
        fi
        mkdir -p "$OUT/embedded/failsafe-reports"
        cp "$from"/TEST-dev.ferry.local.*IT.xml "$OUT/embedded/failsafe-reports/"
        log "embedded: the reports of the mvn verify that just ran, not run again"
        record embedded ok 0 "the reports of mvn verify"
        return
      fi
      ( export FERRY_BACKEND=embedded; unset FERRY_STACK_PREFIX; run_suite embedded ) || status=$?
      record embedded "$( ((status == 0)) && echo ok || echo failed)" $(($(date +%s) - start))
      ;;
    moto)
      if ! ensure_moto > "$OUT/moto/install.log" 2>&1; then
        record moto error $(($(date +%s) - start)) "moto[server]==$MOTO_VERSION could not be installed (see target/backends/moto/install.log)"
        return
      fi
      local port pid
      port=$(free_port)
      # moto's server with DynamoDB's requests one at a time (scripts/moto-server.py says why);
      # FERRY_MOTO_RAW=1: moto_server itself.
      local server=("$MOTO_VENV/bin/python" "$ROOT/scripts/moto-server.py")
      [[ "${FERRY_MOTO_RAW:-}" == "1" ]] && server=("$MOTO_VENV/bin/moto_server")
      "${server[@]}" -H 127.0.0.1 -p "$port" > "$OUT/moto/server.log" 2>&1 &
      pid=$!
      CLEANUP+=("kill -TERM $pid 2>/dev/null && wait $pid 2>/dev/null")
      local waited=0
      until curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/"; do
        if ! kill -0 "$pid" 2>/dev/null || ((waited >= 60)); then
          record moto error $(($(date +%s) - start)) "moto_server did not answer on port $port (see target/backends/moto/server.log)"
          return
        fi
        sleep 0.5; waited=$((waited + 1))
      done
      log "moto: moto_server $MOTO_VERSION on http://127.0.0.1:$port"
      ( external_env; fake_credentials testing; export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
        run_suite moto ) || status=$?
      kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
      record moto "$( ((status == 0)) && echo ok || echo failed)" $(($(date +%s) - start))
      ;;
    localstack|floci)
      if ! ensure_launcher; then
        record "$backend" error $(($(date +%s) - start)) "the container launcher did not build (see target/backends/backends-build.log)"
        return
      fi
      launch_container "$backend"
      case "$LAUNCHED" in
        endpoint=*)
          log "$backend: ${LAUNCHED#endpoint=}"
          ( external_env; fake_credentials test; export AWS_ENDPOINT_URL="${LAUNCHED#endpoint=}"
            run_suite "$backend" ) || status=$?
          record "$backend" "$( ((status == 0)) && echo ok || echo failed)" $(($(date +%s) - start))
          ;;
        *)
          log "$backend: skipped: ${LAUNCHED#skip=}"
          record "$backend" skipped $(($(date +%s) - start)) "${LAUNCHED#skip=}"
          ;;
      esac
      cleanup
      ;;
    aws)
      if [[ "${FERRY_TEST_AWS:-}" != "1" ]]; then
        record aws skipped 0 "opt-in only: set FERRY_TEST_AWS=1, with AWS_REGION and credentials in the environment"
        return
      fi
      if [[ -z "${AWS_REGION:-}" ]]; then
        record aws skipped 0 "FERRY_TEST_AWS=1 but AWS_REGION is unset"
        return
      fi
      if [[ -z "${AWS_ACCESS_KEY_ID:-}${AWS_PROFILE:-}${AWS_WEB_IDENTITY_TOKEN_FILE:-}${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" \
            && ! -f "$HOME/.aws/credentials" && ! -f "$HOME/.aws/config" ]]; then
        record aws skipped 0 "FERRY_TEST_AWS=1 but no credentials in the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ~/.aws/...)"
        return
      fi
      if ! ensure_launcher; then
        record aws error $(($(date +%s) - start)) "the sweep did not build (see target/backends/backends-build.log)"
        return
      fi
      local prefix
      prefix="ferry-r$(python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8)))')"
      local sweep="(unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_DYNAMODB; java -cp '$LAUNCHER_CP' dev.ferry.backends.Sweep $prefix >> '$OUT/aws/sweep.log' 2>&1) || echo 'test-backends: the sweep of $prefix failed: see target/backends/aws/sweep.log' >&2"
      CLEANUP+=("$sweep")
      log "aws: region $AWS_REGION, every resource under $prefix-*"
      ( export FERRY_BACKEND=external FERRY_STACK_PREFIX="$prefix"
        unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_STS
        run_suite aws ) || status=$?
      cleanup   # the sweep, now
      record aws "$( ((status == 0)) && echo ok || echo failed)" $(($(date +%s) - start)) \
        "swept: $(grep -c '^deleted ' "$OUT/aws/sweep.log" 2>/dev/null || echo 0) leftover(s) deleted"
      ;;
  esac
}

for backend in "${BACKENDS[@]}"; do
  run_backend "$backend"
done
cleanup

# The table, on stdout and in summary.md.
python3 - "$RESULTS" "$OUT" > "$OUT/summary.md" <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
results, out = sys.argv[1:3]

def reason(element):
    text = (element.get("message") or element.text or "").strip()
    line = text.splitlines()[0] if text else ""
    for marker in ("Assumption failed: ", "TestAbortedException: "):
        if marker in line:
            line = line.split(marker, 1)[1]
    return line or "(no reason given)"

def duration(seconds):
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"

rows, skips, failures = [], [], []
total = {"passed": 0, "failed": 0, "skipped": 0}
for line in open(results):
    backend, status, seconds, tests, fails, errors, skipped, note = line.rstrip("\n").split("\t")
    tests, fails, errors, skipped = int(tests), int(fails), int(errors), int(skipped)
    if status in ("skipped", "error") and tests == 0:
        rows.append(f"| {backend} | – | – | – | {status}: {note} |")
        continue
    passed = tests - fails - errors - skipped
    total["passed"] += passed; total["failed"] += fails + errors; total["skipped"] += skipped
    ok = "ok" if fails + errors == 0 and status == "ok" else ("failed" if tests else "failed: no test ran, see its mvn.log")
    rows.append(f"| {backend} | {passed} | {fails + errors} | {skipped} | {ok}, {duration(seconds)}" + (f"; {note}" if note else "") + " |")
    grouped = {}
    for path in sorted(glob.glob(os.path.join(out, backend, "failsafe-reports", "TEST-*.xml"))):
        for case in ET.parse(path).getroot().iter("testcase"):
            name = case.get("classname", "").rsplit(".", 1)[-1]
            for tag in ("skipped", "failure", "error"):
                element = case.find(tag)
                if element is None:
                    continue
                if tag == "skipped":
                    grouped.setdefault((name, reason(element)), []).append(case.get("name"))
                else:
                    failures.append(f"- {backend}: {name}.{case.get('name')}: {reason(element)}")
    for (name, why), cases in grouped.items():
        which = cases[0] if len(cases) == 1 else f"all {len(cases)} tests"
        skips.append(f"- {backend}: {name} ({which}): {why}")

print("| backend | passed | failed | skipped | result |")
print("|---|---|---|---|---|")
print("\n".join(rows))
if skips:
    print("\nSkipped, and why:\n")
    print("\n".join(skips))
if failures:
    print("\nFailed:\n")
    print("\n".join(failures))
print(f"\nbackends: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
PY
cat "$OUT/summary.md"

# Non-zero when a test failed, or a backend that was asked for could not be set up.
if awk -F'\t' '$2 == "failed" || $2 == "error" || $5 + $6 > 0 { bad = 1 } END { exit bad ? 0 : 1 }' "$RESULTS"; then
  exit 1
fi
