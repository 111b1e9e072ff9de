#!/bin/sh
# kill -9 recovery and redb quick-repair, A B C C B A. Usage: crash.sh N [DIR]
# Prints `config metric value` lines (the bench driver runs crash/recover too).
set -e
N=${1:-100000}; DIR=${2:-/tmp/storecmp}/crash
B=${STORECMP_BIN:-$(dirname "$0")/target/release/store-compare}
for c in lmdb redb redb-qr redb-qr redb lmdb; do
  cfg=${c%-qr}; qr=0; [ "$c" = redb-qr ] && qr=1
  rm -rf "$DIR"
  $B load $cfg $N "$DIR" >/dev/null
  if [ $cfg = redb ]; then
    STORECMP_QUICK_REPAIR=$qr $B batch $cfg $N "$DIR" | grep -E 'batch_durable|growth_mixed' | sed "s/^/$c /"
  fi
  STORECMP_QUICK_REPAIR=$qr $B crash $cfg $N "$DIR" 2>/dev/null || true
  $B recover $cfg $N "$DIR" | sed "s/^/$c /"
done
rm -rf "$DIR"
