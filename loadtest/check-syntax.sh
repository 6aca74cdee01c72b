#!/usr/bin/env bash
# Checks the syntax of every k6 script under loadtest/ with node, without k6
# and without network access. k6 scripts are ES modules, so each file is
# copied to a temporary .mjs file and checked with `node --check` (which
# parses but neither runs the file nor resolves its imports). Imports must
# be relative or one of k6's built-in modules: no remote imports.
#
#   bash loadtest/check-syntax.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if ! command -v node >/dev/null 2>&1; then
  echo "check-syntax: node is not installed" >&2
  exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mapfile -t files < <(cd "$here" && find . -name '*.js' -type f | sed 's|^\./||' | LC_ALL=C sort)
if [ "${#files[@]}" -eq 0 ]; then
  echo "check-syntax: no .js files under $here" >&2
  exit 1
fi

allowed='^(\.{1,2}/.*|k6|k6/http|k6/metrics|k6/execution|k6/data|k6/crypto|k6/encoding|k6/timers)$'

for f in "${files[@]}"; do
  printf '%s ... ' "loadtest/$f"
  copy="$tmp/$(printf '%s' "$f" | tr '/' '_').mjs"
  cp "$here/$f" "$copy"
  if ! out="$(node --check "$copy" 2>&1)"; then
    echo "FAILED"
    # Point node's messages at the real file.
    printf '%s\n' "${out//$copy/loadtest/$f}" >&2
    exit 1
  fi
  # Every module specifier of an import/export ... from '...'.
  while IFS= read -r spec; do
    if ! [[ "$spec" =~ $allowed ]]; then
      echo "FAILED"
      echo "loadtest/$f: import of '$spec': only relative paths and k6 built-in modules are allowed" >&2
      exit 1
    fi
    if [[ "$spec" == .* ]] && [ ! -f "$(dirname "$here/$f")/$spec" ]; then
      echo "FAILED"
      echo "loadtest/$f: import of '$spec': no such file" >&2
      exit 1
    fi
  done < <(grep -E "^[[:space:]]*(import|export|\}).*from[[:space:]]*['\"][^'\"]+['\"][[:space:]]*;?[[:space:]]*$|^[[:space:]]*import[[:space:]]*['\"][^'\"]+['\"]" "$here/$f" |
    sed -E "s/^.*['\"]([^'\"]+)['\"][[:space:]]*;?[[:space:]]*$/\1/" || true)
  echo "ok"
done

echo "check-syntax: ${#files[@]} files ok"
