#!/usr/bin/env bash
# Runs the image built by `make image`: `o365logfetch version`, then a fetch against the
# emulator on the host's loopback, with the emulator's CA handed over by SSL_CERT_FILE.
# Where this machine cannot run containers at all (a sandbox without the needed privileges),
# it says so and exits 0; a container that runs but fails is an error.
# Usage: image-test.sh <podman|docker> <image> <o365emulator binary>
set -euo pipefail
engine=$1 image=$2 emulator=$3

run() { "$engine" "${runtime[@]}" run --rm "${flags[@]}" "$@"; }

# Default flags first; then what lets podman run in a restricted sandbox (no rlimit raises,
# no cgroup controllers): runc and rlimits below the caller's own.
runtime=() flags=(--network host)
if ! out=$(run "$image" version 2>&1); then
  if [ "$(basename "$engine")" = podman ] && command -v runc >/dev/null 2>&1; then
    runtime=(--runtime runc)
    flags+=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Sn)" --ulimit "nproc=4096:4096")
  fi
  if ! out=$(run "$image" version 2>&1); then
    echo "SKIP image test: this machine cannot run containers with $engine:"
    echo "$out" | tail -n 3
    exit 0
  fi
fi
echo "== $engine run $image version"
echo "$out"
case $out in o365logfetch*) ;; *) echo "unexpected version output"; exit 1 ;; esac

dir=$(mktemp -d)
trap 'kill "$epid" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$emulator" -dir "$dir" -hours 2 > "$dir/emulator.out" 2>&1 & epid=$!
for _ in $(seq 1 100); do [ -f "$dir/ready" ] && break; sleep 0.1; done
[ -f "$dir/ready" ] || { echo "emulator did not start:"; cat "$dir/emulator.out"; exit 1; }
# The image runs as 65532, as it would on a volume owned by the pod's fsGroup.
chown -R 65532:65532 "$dir" 2>/dev/null || chmod -R a+rwX "$dir"
echo "== $engine run $image --env-file $dir/.env --summary text   (SSL_CERT_FILE=$dir/ca.pem)"
run -v "$dir:$dir" -e "SSL_CERT_FILE=$dir/ca.pem" "$image" --env-file "$dir/.env" --summary text
lines=$(cat "$dir"/out/*.log | wc -l)
echo "== $lines lines written by the container:"
ls -l "$dir/out"
[ "$lines" -gt 0 ] || { echo "the container wrote nothing"; exit 1; }
