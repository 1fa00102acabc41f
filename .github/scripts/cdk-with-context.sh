#!/usr/bin/env bash
# Runs `npx cdk <arguments>` with the CDK context values the deploy and destroy workflows take from
# repository variables, passed here as environment variables. An unset or empty variable adds nothing,
# so its context value keeps its default (cdk.json, lib/config.ts); an empty value never reaches the
# app as `-c key=`.
#
#   NAME_PREFIX -> namePrefix        ALERT_EMAIL -> alertEmail      RETAIN_DATA -> retainData
#   SIMULATOR_START -> simulatorStart                               SIMULATOR_RATE -> simulatorRate
#   CDK_CONTEXT: any other context values, one key=value per line (blank lines and # comments ignored)
#
# Usage: bash .github/scripts/cdk-with-context.sh deploy --all --require-approval never
set -euo pipefail

args=()
add() {
  if [ -n "$2" ]; then
    args+=(-c "$1=$2")
  fi
}
add namePrefix "${NAME_PREFIX:-}"
add alertEmail "${ALERT_EMAIL:-}"
add retainData "${RETAIN_DATA:-}"
add simulatorStart "${SIMULATOR_START:-}"
add simulatorRate "${SIMULATOR_RATE:-}"

while IFS= read -r line || [ -n "$line" ]; do
  line="${line%$'\r'}"
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  case "$line" in
    '' | '#'*) ;;
    [A-Za-z@]*=*) args+=(-c "$line") ;;
    *)
      echo "::error::CDK_CONTEXT: '$line' is not a key=value line" >&2
      exit 1
      ;;
  esac
done <<<"${CDK_CONTEXT:-}"

# The context keys only (values may be e-mail addresses): what this run was given.
printf 'cdk %s, context:' "$1"
for arg in "${args[@]}"; do
  [ "$arg" = -c ] || printf ' %s' "${arg%%=*}"
done
echo

exec npx cdk "$@" "${args[@]}"
