#!/usr/bin/env bash
# Installs, builds (once, cached) and runs the local emulators tickbeam's
# tests use, all on loopback: the Pub/Sub emulator (gcloud) and the BigQuery
# emulator (goccy/bigquery-emulator, version pinned in tools/go.mod).
# fake-gcs-server runs in-process in the tests.
#
#   scripts/emulators.sh install   # apt-get clang if missing, build + cache the binaries
#   scripts/emulators.sh start     # start all three; prints the env to export
#   scripts/emulators.sh stop      # stop what start started
#   scripts/emulators.sh env       # print the env of running emulators
#
# The BigQuery emulator's zetasql core does not build with gcc 12, and its
# first build takes ~20 minutes on two cores, so it is built with clang into
# a cache outside the checkout, keyed by version.
set -euo pipefail

BQ_EMULATOR_VERSION=v0.6.6
CACHE_DIR=${TICKBEAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tickbeam}
BIN_DIR=$CACHE_DIR/bin
RUN_DIR=${TICKBEAM_EMULATORS_DIR:-${TMPDIR:-/tmp}/tickbeam-emulators}
PROJECT=${TICKBEAM_TEST_PROJECT:-tickbeam-test}
BQ_BIN=$BIN_DIR/bigquery-emulator-$BQ_EMULATOR_VERSION
TOOLS_DIR=$(cd "$(dirname "$0")/../tools" && pwd)

log() { echo "emulators: $*" >&2; }

install_clang() {
  if command -v clang >/dev/null && command -v clang++ >/dev/null; then return; fi
  log "installing clang (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq clang >/dev/null
}

build_bq() {
  [ -x "$BQ_BIN" ] && return
  install_clang
  log "building bigquery-emulator $BQ_EMULATOR_VERSION with clang (first time only, ~20 min on 2 cores)"
  mkdir -p "$BIN_DIR"
  (cd "$TOOLS_DIR" && CGO_ENABLED=1 CC=clang CXX=clang++ go build -o "$BQ_BIN.tmp" github.com/goccy/bigquery-emulator/cmd/bigquery-emulator)
  mv "$BQ_BIN.tmp" "$BQ_BIN"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_port() { # host port name seconds
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "$3 did not listen on $1:$2 within $4 s; its log:"; tail -20 "$RUN_DIR/$3.log" >&2 || true
  return 1
}

start() {
  mkdir -p "$RUN_DIR"
  stop >/dev/null 2>&1 || true
  local ps bq bqg
  ps=$(free_port); bq=$(free_port); bqg=$(free_port)
  # setsid: killing gcloud's wrapper leaves the Java emulator running, so
  # each emulator gets its own process group and stop kills the group.
  setsid gcloud beta emulators pubsub start --host-port="127.0.0.1:$ps" --project="$PROJECT" >"$RUN_DIR/pubsub.log" 2>&1 &
  echo $! >"$RUN_DIR/pubsub.pid"
  if [ -x "$BQ_BIN" ]; then
    setsid "$BQ_BIN" --project="$PROJECT" --host=127.0.0.1 --port="$bq" --grpc-port="$bqg" >"$RUN_DIR/bigquery.log" 2>&1 &
    echo $! >"$RUN_DIR/bigquery.pid"
  fi
  {
    echo "export PUBSUB_EMULATOR_HOST=127.0.0.1:$ps"
    echo "export TICKBEAM_TEST_PROJECT=$PROJECT"
    if [ -x "$BQ_BIN" ]; then
      echo "export BIGQUERY_EMULATOR_HOST=127.0.0.1:$bq"
      echo "export BIGQUERY_STORAGE_EMULATOR_HOST=127.0.0.1:$bqg"
    fi
  } >"$RUN_DIR/env"
  wait_port 127.0.0.1 "$ps" pubsub 60
  if [ -x "$BQ_BIN" ]; then wait_port 127.0.0.1 "$bq" bigquery 60; fi
  cat "$RUN_DIR/env"
}

stop() {
  local f pid
  for f in "$RUN_DIR"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$RUN_DIR/env"
}

case "${1:-}" in
  install) build_bq ;;
  start) start ;;
  stop) stop ;;
  env) cat "$RUN_DIR/env" ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
