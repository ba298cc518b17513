#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 60s).
# `make test` runs only their seed corpora; this is the longer search.
# Targets are found, not listed, so a new one cannot be forgotten.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-60s}
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
	pkg=./$(dirname "${f#./}")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		echo "== $pkg $name ($time)"
		go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$time"
	done
done
