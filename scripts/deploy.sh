#!/usr/bin/env bash
# Deploys Ferry into the AWS account and region your AWS CLI uses (README, "Deploy to AWS"):
#
#   1. mvn package            the functions' and the worker's jars
#   2. sam build              the functions' code as Lambda loads it
#   3. sam deploy             guided the first time (or with --guided): stack name, region and
#                             parameters, saved to infra/samconfig.toml; from that file afterwards.
#                             The worker jar's key and infra/worker.env go in as parameters.
#   4. the worker jar         uploaded to the stack's artifact bucket, under a key named by its hash
#   5. the fleet              rolled (instance refresh): a new instance is launched with the new
#                             launch template version, then an old one drains and goes
#   6. the URLs               and how to read the API key and the admin token
#
# Usage: scripts/deploy.sh [--guided]
# Needs: Java 17+, Maven, the AWS CLI v2 with credentials, Python 3 (for the SAM CLI, installed
# into .venv/ unless `sam` is on the PATH). FERRY_STACK_NAME (default ferry) and AWS_REGION (default:
# your CLI's region) are the guided deploy's defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG="$PWD/infra/samconfig.toml"
SAM_VERSION=1.170.0
# Its template expansion (scripts/lib/expand-template.py); as scripts/lint-template.sh pins it.
CFN_LINT_VERSION=1.58.0
guided=false
case "${1:-}" in
  --guided) guided=true ;;
  "") ;;
  *) echo "usage: $0 [--guided]" >&2; exit 2 ;;
esac
[ -f "$CONFIG" ] || guided=true

step() { printf '\n== %s\n' "$*"; }
die() { echo "deploy: $*" >&2; exit 1; }

command -v aws >/dev/null || die "the AWS CLI v2 is needed (https://aws.amazon.com/cli/)"
command -v mvn >/dev/null || die "Maven is needed"
if [ -x .venv/bin/sam ]; then
  SAM=.venv/bin/sam
elif command -v sam >/dev/null; then
  SAM=sam
else
  step "installing the SAM CLI $SAM_VERSION into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
  SAM=.venv/bin/sam
fi
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
export SAM_CLI_TELEMETRY=0

# A value saved in infra/samconfig.toml (default.deploy.parameters.<key>), or nothing.
saved() {
  [ -f "$CONFIG" ] || return 0
  "$PY" - "$CONFIG" "$1" <<'EOF' 2>/dev/null || true
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    value = tomllib.load(f).get("default", {}).get("deploy", {}).get("parameters", {}).get(sys.argv[2])
if value is not None:
    print(value)
EOF
}

STACK=$(saved stack_name)
STACK=${STACK:-${FERRY_STACK_NAME:-ferry}}
REGION=$(saved region)
REGION=${REGION:-${AWS_REGION:-$(aws configure get region || true)}}
[ -n "$REGION" ] || die "no region: set AWS_REGION or run aws configure"
aws sts get-caller-identity --region "$REGION" >/dev/null || die "the AWS CLI has no working credentials"

output() {
  aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

step "mvn package"
mvn -B -ntp -q package -DskipTests
JAR=worker-ec2/target/ferry-worker.jar
[ -f "$JAR" ] || die "$JAR was not built"

# The jar's key names its content: a new build is a new launch template version, which is what
# the instance refresh replaces; an unchanged build changes nothing.
if command -v sha256sum >/dev/null; then hash=$(sha256sum "$JAR"); else hash=$(shasum -a 256 "$JAR"); fi
JAR_KEY="worker/ferry-worker-${hash:0:16}.jar"
# The job commands: infra/worker.env without comments and blank lines, base64 on one line.
WORKER_ENV=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' infra/worker.env | base64 | tr -d '\n')
# A Lambda pool's function carries it too, beside its other variables, within Lambda's 4 KB of
# environment: 3,400 characters leave those room.
[ "${#WORKER_ENV}" -le 3400 ] || die "infra/worker.env is too long: ${#WORKER_ENV} characters in base64, at most 3400 (a Lambda pool's function carries it in its 4 KB environment); put long commands in scripts on the image or in a layer"

upload_jar() {
  local bucket=$1
  if aws s3api head-object --region "$REGION" --bucket "$bucket" --key "$JAR_KEY" >/dev/null 2>&1; then
    echo "s3://$bucket/$JAR_KEY is there already"
  else
    aws s3 cp --only-show-errors --region "$REGION" "$JAR" "s3://$bucket/$JAR_KEY"
    echo "uploaded s3://$bucket/$JAR_KEY"
  fi
}

# Upload before the deploy when the bucket exists, so instances the new launch template starts
# find their jar at once. (On the first deploy they wait for it.)
if bucket=$(output WorkerArtifactBucketName 2>/dev/null) && [ -n "$bucket" ] && [ "$bucket" != None ]; then
  step "worker jar"
  upload_jar "$bucket"
fi

# A stack deployed before pools has one job queue (output JobQueueUrl). This template's pools have
# queues of their own (<stack>_<Pool>-jobs...), and CloudFormation deletes the old ones with
# whatever they hold: a queued job would lose its message, a failed one its dead letter. So refuse
# until they are empty (README, Pools: "Upgrading a stack from before pools").
if old=$(output JobQueueUrl 2>/dev/null) && [ -n "$old" ] && [ "$old" != None ]; then
  for queue in "$old" "$(output JobDeadLetterQueueUrl)"; do
    held=$(aws sqs get-queue-attributes --region "$REGION" --queue-url "$queue" --output text \
      --attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible ApproximateNumberOfMessagesDelayed \
      --query 'sum(map(&to_number(@), values(Attributes)))')
    if [ "$held" != 0 ] && [ "$held" != 0.0 ]; then
      die "stack $STACK is from before pools and its queue $queue still holds $held message(s); this deploy would
delete it with them. Let the workers finish (and redrive or discard the failed jobs) until both its queues are
empty, then deploy again (README, Pools)."
    fi
  done
fi

step "sam build"
# The template with its pools' loops expanded (scripts/lib/expand-template.py, cfn-lint's own
# expansion): sam build cannot read Fn::ForEach in Resources (aws/aws-sam-cli#5647). The pools
# deployed are the ones the template's Mappings name.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import cfnlint' 2>/dev/null \
  || .venv/bin/python -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION"
mkdir -p .aws-sam
.venv/bin/python scripts/lib/expand-template.py infra/template.yaml > .aws-sam/template-expanded.json
"$SAM" build --template-file .aws-sam/template-expanded.json --base-dir infra --build-dir .aws-sam/build

step "sam deploy"
ours=("WorkerJarKey=$JAR_KEY" "WorkerEnvironment=$WORKER_ENV")
if $guided; then
  cat <<EOF
First deploy: sam deploy asks for the stack name, the region and every parameter (Enter keeps the
default; AlarmEmail is worth filling in), then saves the answers to infra/samconfig.toml.
It asks "AdminFunction has no authentication. Is this okay?": answer y. The admin routes take no API
key on purpose: the function checks its own bearer token, the admin token secret.
EOF
  "$SAM" deploy --guided --template-file .aws-sam/build/template.yaml --config-file "$CONFIG" \
    --stack-name "$STACK" --region "$REGION" --capabilities CAPABILITY_IAM --resolve-s3 \
    --parameter-overrides "${ours[@]}"
  STACK=$(saved stack_name); STACK=${STACK:-${FERRY_STACK_NAME:-ferry}}
  REGION=$(saved region); REGION=${REGION:-${AWS_REGION:-$(aws configure get region)}}
else
  # Command-line overrides replace the saved ones wholesale: pass the saved ones along with ours.
  # (A parameter given nowhere keeps its deployed value.)
  overrides=()
  while IFS= read -r line; do overrides+=("$line"); done < <("$PY" - "$CONFIG" <<'EOF' 2>/dev/null || true
import shlex, sys, tomllib
with open(sys.argv[1], "rb") as f:
    saved = tomllib.load(f).get("default", {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
for token in (shlex.split(saved) if isinstance(saved, str) else saved):
    key, _, value = token.partition("=")
    if key not in ("WorkerJarKey", "WorkerEnvironment"):
        print(key + '="' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
EOF
)
  "$SAM" deploy --template-file .aws-sam/build/template.yaml --config-file "$CONFIG" \
    --no-fail-on-empty-changeset --parameter-overrides ${overrides[@]+"${overrides[@]}"} "${ours[@]}"
fi

step "worker jar"
upload_jar "$(output WorkerArtifactBucketName)"

step "rolling the fleet"
# Every pool's group (outputs <Pool>WorkerGroupName), one after another.
groups=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK" --output text \
  --query "Stacks[0].Outputs[?ends_with(OutputKey, 'WorkerGroupName')].OutputValue")
for GROUP in $groups; do
  running=$(aws autoscaling describe-auto-scaling-groups --region "$REGION" --auto-scaling-group-names "$GROUP" \
    --query 'length(AutoScalingGroups[0].Instances)' --output text)
  if [ "$running" = 0 ]; then
    echo "$GROUP has no instances: the next one it starts runs this build"
  else
    # Launch before terminate (min 100 %, max 200 %): each old instance drains (lifecycle hook) only
    # once its replacement is in service. Instances already on the latest version are left alone.
    preferences='{"MinHealthyPercentage":100,"MaxHealthyPercentage":200,"SkipMatching":true,"InstanceWarmup":300}'
    if ! refresh=$(aws autoscaling start-instance-refresh --region "$REGION" --auto-scaling-group-name "$GROUP" \
        --preferences "$preferences" --query InstanceRefreshId --output text 2>&1); then
      if [[ "$refresh" == *InstanceRefreshInProgress* ]]; then
        echo "an instance refresh is in progress: cancelling it and starting one for this build"
        aws autoscaling cancel-instance-refresh --region "$REGION" --auto-scaling-group-name "$GROUP" >/dev/null
        for _ in $(seq 1 60); do
          status=$(aws autoscaling describe-instance-refreshes --region "$REGION" --auto-scaling-group-name "$GROUP" \
            --max-records 1 --query 'InstanceRefreshes[0].Status' --output text)
          [ "$status" = Cancelling ] || break
          sleep 10
        done
        refresh=$(aws autoscaling start-instance-refresh --region "$REGION" --auto-scaling-group-name "$GROUP" \
          --preferences "$preferences" --query InstanceRefreshId --output text)
      else
        die "could not start an instance refresh: $refresh"
      fi
    fi
    echo "instance refresh $refresh over $running instance(s): each one not on the latest launch template is"
    echo "replaced, its replacement in service before it drains. Follow it with"
    echo "  aws autoscaling describe-instance-refreshes --region $REGION --auto-scaling-group-name $GROUP"
  fi
done

step "Ferry is deployed: stack $STACK in $REGION"
cat <<EOF
API             $(output ApiUrl)        (POST /jobs, GET /jobs/{jobId}; header x-api-key)
Admin page      $(output AdminPageUrl)
API key         $(output ReadApiKeyCommand)
Admin token     $(output ReadAdminTokenCommand)
Pools           $(echo "$groups" | tr '\t' ' ') (queues: the <Pool>JobQueueUrl outputs)
Job table       $(output JobsTableName)
Worker logs     $(output WorkerLogGroupName)
EOF
