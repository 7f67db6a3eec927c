#!/usr/bin/env bash
# Throughput and peak RSS of llmfrag split / join / verify beside cp and sha256sum of the same file.
#
#   scripts/bench-fragments.sh MODEL.gguf [WORKDIR]
#
# WORKDIR (default: a new folder under ${TMPDIR:-/tmp}) should be on the same filesystem as the
# copies a user would make; everything written there is removed at the end. BENCH_COMPRESS=1 also
# times split --compress and join of the compressed set (slow: zstd in WebAssembly and fzstd).
# Needs the built CLI (npm run build) and GNU time (/usr/bin/time -v) for peak RSS.
#
# The file is read once first so every step starts from a warm page cache. On these VMs the first
# touch of never-used memory is several times slower than reusing freed pages (PLATFORM.md; cp of
# 0.96 GB took 1.2 s onto fresh pages, 0.2 s onto reused ones), so unless BENCH_PREFAULT=0 two
# copies of the model are written and deleted first: every timed writer then gets reused pages,
# whatever its place in the sequence (join writes while the split set still exists).
set -euo pipefail

model=${1:?usage: scripts/bench-fragments.sh MODEL.gguf [WORKDIR]}
[[ -f $model ]] || { echo "no such file: $model" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cli=("node" "$root/bin/run.js")
[[ -f $root/dist/commands/split.js ]] || { echo "build first: npm run build" >&2; exit 2; }

work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/llmfrag-bench.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work/set" "$work/set-zst" "$work/copy.gguf" "$work/joined.gguf" "$work/joined-zst.gguf" "$work"/.partial-* "$work/time.txt"; rmdir "$work" 2>/dev/null || true' EXIT

bytes=$(stat -c %s "$model")
echo "model: $model ($bytes bytes), workdir: $work, $(nproc) cores"
cat "$model" > /dev/null # warm the page cache
if [[ ${BENCH_PREFAULT:-1} == 1 ]]; then
  cp "$model" "$work/copy.gguf" && cp "$model" "$work/joined.gguf" && rm -f "$work/copy.gguf" "$work/joined.gguf"
fi

declare -A secs rss
# step NAME COMMAND...: runs it under GNU time, records wall seconds and peak RSS (KiB).
step() {
  local name=$1
  shift
  if ! /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" > /dev/null; then
    echo "step $name failed: $*" >&2
    exit 1
  fi
  read -r secs[$name] rss[$name] < "$work/time.txt"
}

step cp cp "$model" "$work/copy.gguf"
rm -f "$work/copy.gguf"
step sha256sum sha256sum "$model"
step split "${cli[@]}" split "$model" -o "$work/set" --json
step join "${cli[@]}" join "$work/set" -o "$work/joined.gguf" --json
cmp -s "$model" "$work/joined.gguf" || { echo "joined file differs from the model" >&2; exit 1; }
rm -f "$work/joined.gguf"
if [[ -f $root/dist/commands/verify.js ]]; then
  step verify "${cli[@]}" verify "$work/set" --json
fi
steps=(cp sha256sum split join)
[[ -n ${secs[verify]:-} ]] && steps+=(verify)
rm -rf "$work/set"
if [[ ${BENCH_COMPRESS:-0} == 1 ]]; then
  step split-zst "${cli[@]}" split "$model" -o "$work/set-zst" --compress --json
  step join-zst "${cli[@]}" join "$work/set-zst" -o "$work/joined-zst.gguf" --json
  cmp -s "$model" "$work/joined-zst.gguf" || { echo "joined (zstd) file differs from the model" >&2; exit 1; }
  steps+=(split-zst join-zst)
fi

echo
for s in "${steps[@]}"; do echo "$s ${secs[$s]} ${rss[$s]}"; done | awk -v bytes="$bytes" -v cp="${secs[cp]}" '
  BEGIN { printf "%-10s %9s %8s %12s %10s\n", "step", "seconds", "GB/s", "peak RSS MB", "speed/cp" }
  { t = ($2 > 0.01 ? $2 : 0.01); c = (cp > 0.01 ? cp : 0.01)
    printf "%-10s %9.2f %8.2f %12.0f %10.2f\n", $1, $2, bytes / t / 1e9, $3 / 1024, c / t }'

echo
echo "targets (issue 2): split and join >= 0.80x the speed of cp; peak RSS < 512 MB (uncompressed)"
