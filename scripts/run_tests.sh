#!/usr/bin/env bash
# Every test of the project, in the order that fails fastest. Called by `make test` (and so by CI).
# Exits non-zero when anything fails; pytest's summary line is the last thing printed.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DBT_PROFILES_DIR="$PWD/profiles" DBT_PROJECT_DIR="$PWD"
status=0

if [ -f dbt_project.yml ]; then
  echo "== sqlfluff lint (models, analyses, macros, dbt tests)"
  # the dbt templater compiles the project; it needs a profile target but no data
  lint_dir="$(mktemp -d)"
  ANPR_WAREHOUSE="$lint_dir/lint.duckdb" $BIN/sqlfluff lint models analyses tests/dbt --disable-progress-bar || status=1
  rm -rf "$lint_dir"
fi

echo "== ruff (check and format)"
$BIN/ruff check anpr_warehouse tests scripts || status=1
$BIN/ruff format --check anpr_warehouse tests scripts || status=1

echo "== pytest"
# A full run needs about 1 GB of temporary space at its peak (warehouses, deliveries; pyproject keeps only what
# failing tests leave). Say so up front rather than fail on "No space left on device" half-way through.
tmp_free_mb=$(df -Pm "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $4}')
if [ -n "$tmp_free_mb" ] && [ "$tmp_free_mb" -lt 2048 ]; then
  echo "warning: only ${tmp_free_mb} MB free in ${TMPDIR:-/tmp}; the tests peak at about 1 GB (set TMPDIR elsewhere)" >&2
fi
$BIN/pytest -q -p no:cacheprovider
rc=$?
if [ $rc -ne 0 ]; then status=$rc; fi
if [ $status -ne 0 ]; then
  echo "tests failed (exit $status)" >&2
fi
exit $status
