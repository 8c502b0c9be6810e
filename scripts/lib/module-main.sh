#!/usr/bin/env bash
# Runs a test-machinery module's main class (the chaos soak, the benchmarks) on the module's runtime
# classpath, building it first unless --no-build is among the arguments. Sourced by scripts/chaos.sh
# and scripts/bench.sh, which name the module, the main class and themselves:
#
#   module_main chaos.sh chaos dev.ferry.chaos.ChaosMain "$@"
#
# The module's build writes its runtime classpath to <module>/target/classpath.txt. Serial GC and a
# 1 GiB heap: no collector threads competing with the jobs and handlers for a small machine's CPUs.

module_main() {
  local script=$1 module=$2 main=$3
  shift 3
  local build=true
  local args=()
  local arg
  for arg in "$@"; do
    case "$arg" in
      --no-build) build=false ;;
      *) args+=("$arg") ;;
    esac
  done

  if $build; then
    echo "$script: building Ferry (mvn package, tests skipped)..." >&2
    mvn -q -B -ntp -Dstyle.color=never -Dmaven.test.skip=true package -pl "$module" -am
  fi

  local classes=$module/target/classes
  local classpath_file=$module/target/classpath.txt
  if [[ ! -d $classes || ! -f $classpath_file ]]; then
    echo "$script: $classpath_file is missing: run without --no-build first" >&2
    exit 1
  fi

  local java=java
  if [[ -n ${JAVA_HOME:-} ]]; then
    java="$JAVA_HOME/bin/java"
  fi
  exec "$java" -Xmx1g -XX:+UseSerialGC -cp "$classes:$(<"$classpath_file")" "$main" ${args[@]+"${args[@]}"}
}
