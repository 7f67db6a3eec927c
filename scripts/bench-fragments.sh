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
# The file is read once first so every step starts from a warm page cache. On these VMs freed memory
# is handed back to the host (virtio-balloon free page reporting, about 2 s after it is freed), and
# the next touch of such a page is several times slower than reusing a page freed just before
# (PLATFORM.md; cp of the 4.4 GB model: 1.4-1.8 s onto just-freed pages, 3.8-6.7 s after 8 s idle).
# So unless BENCH_PREFAULT=0, each timed writer (cp, split, join) is preceded at once by writing and
# deleting as many bytes as it will write: every writer starts on the same, just-freed pages, rather
# than cp on warm pages and split/join, run after sha256sum, on cold ones. BENCH_RUNS=N repeats the
# whole sequence N times and prints every run and the medians.
set -euo pipefail

model=${1:?usage: scripts/bench-fragments.sh MODEL.gguf [WORKDIR]}
[[ -f $model ]] || { echo "no such file: $model" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cli=("node" "$root/bin/run.js")
[[ -f $root/dist/commands/split.js ]] || { echo "build first: npm run build" >&2; exit 2; }

work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/llmfrag-bench.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work/prefault.bin" "$work/set" "$work/set-zst" "$work/copy.gguf" "$work/joined.gguf" "$work/joined-zst.gguf" "$work"/.partial-* "$work/time.txt"; rmdir "$work" 2>/dev/null || true' EXIT

bytes=$(stat -c %s "$model")
echo "model: $model ($bytes bytes), workdir: $work, $(nproc) cores"
cat "$model" > /dev/null # warm the page cache

# prefault: writes and deletes as many bytes as the model, so the next writer reuses just-freed pages.
prefault() {
  [[ ${BENCH_PREFAULT:-1} == 1 ]] || return 0
  head -c "$bytes" /dev/zero > "$work/prefault.bin"
  rm -f "$work/prefault.bin"
}

declare -A secs rss cpu
# step NAME COMMAND...: runs it under GNU time, records wall seconds, CPU seconds (user + system, all
# threads) and peak RSS (KiB) of run $run.
# Steps that write (all but sha256sum and verify) are preceded by prefault.
step() {
  local name=$1
  shift
  [[ $name == sha256sum || $name == verify ]] || prefault
  if ! /usr/bin/time -f '%e %M %U %S' -o "$work/time.txt" "$@" > /dev/null; then
    echo "step $name failed: $*" >&2
    exit 1
  fi
  local user sys
  read -r secs[$name,$run] rss[$name,$run] user sys < "$work/time.txt"
  cpu[$name,$run]=$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')
}

# median of the values given as arguments
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

# table: one line per step of run $1 ("median": the medians of every run), speed relative to cp.
table() {
  local r=$1 s i
  for s in "${steps[@]}"; do
    if [[ $r == median ]]; then
      local t=() c=() m=()
      for i in $(seq 1 "$runs"); do t+=("${secs[$s,$i]}"); c+=("${cpu[$s,$i]}"); m+=("${rss[$s,$i]}"); done
      echo "$s $(median "${t[@]}") $(printf '%s\n' "${m[@]}" | sort -g | tail -1) $(median "${c[@]}")"
    else
      echo "$s ${secs[$s,$r]} ${rss[$s,$r]} ${cpu[$s,$r]}"
    fi
  done | awk -v bytes="$bytes" -v title="$([[ $r == median ]] && echo "median of $runs runs (peak RSS: the largest)" || echo "run $r")" '
    BEGIN { print title; printf "%-10s %9s %8s %8s %12s %10s\n", "step", "seconds", "cpu s", "GB/s", "peak RSS MB", "speed/cp" }
    { t = ($2 > 0.01 ? $2 : 0.01); if ($1 == "cp") cp = t
      printf "%-10s %9.2f %8.2f %8.2f %12.0f %10.2f\n", $1, $2, $4, bytes / t / 1e9, $3 / 1024, cp / t }'
  echo
}

runs=${BENCH_RUNS:-1}
steps=(cp sha256sum split join)
[[ -f $root/dist/commands/verify.js ]] && steps+=(verify)
[[ ${BENCH_COMPRESS:-0} == 1 ]] && steps+=(split-zst join-zst)
for run in $(seq 1 "$runs"); do
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
  rm -rf "$work/set"
  if [[ ${BENCH_COMPRESS:-0} == 1 ]]; then
    step split-zst "${cli[@]}" split "$model" -o "$work/set-zst" --compress --json
    step join-zst "${cli[@]}" join "$work/set-zst" -o "$work/joined-zst.gguf" --json
    cmp -s "$model" "$work/joined-zst.gguf" || { echo "joined (zstd) file differs from the model" >&2; exit 1; }
    rm -rf "$work/set-zst" "$work/joined-zst.gguf"
  fi
  echo "run $run done (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
done

echo
if (( runs > 1 )); then
  for run in $(seq 1 "$runs"); do table "$run"; done
  table median
else
  table 1
fi
echo "targets (issue 2): split and join >= 0.80x the speed of cp; peak RSS < 512 MB (uncompressed)"
