#!/usr/bin/env bash
# The health hook of a PoP: ties popdns's GET /health to BIRD 2's
# announcement of the anycast service prefix. Every INTERVAL seconds it
# asks /health; while the answer is 200 it keeps the BIRD protocols named
# on the command line enabled (they originate the service prefix, e.g.
# `protocol direct anycast4`), otherwise it disables them, and BIRD
# withdraws the route from its BGP peers.
#
#   bird-health-hook.sh [--url URL] [--birdc-socket PATH] [--interval S]
#                       [--rise N] [--fall N] PROTOCOL...
#
#   --url           /health of this PoP's popdns
#                   (default http://127.0.0.1:8053/health)
#   --birdc-socket  BIRD's control socket (default /run/bird/bird.ctl)
#   --interval      seconds between checks (default 0.5)
#   --rise N        announce after N healthy answers in a row (default 2)
#   --fall N        withdraw after N failed ones in a row (default 1)
#
# Fail-safe: no answer within 1 s (popdns dead, hung, or stopping) counts as
# unhealthy, and when the hook itself stops (SIGTERM, SIGINT) it disables
# the protocols: no health check, no announcement. It also re-asserts the
# state every 10 s, in case someone toggled the protocols by hand or BIRD
# restarted. Transitions are logged on stderr (journald under systemd).
# Needs curl and birdc (Debian: curl, bird2).
set -uo pipefail

URL=http://127.0.0.1:8053/health
SOCK=/run/bird/bird.ctl
INTERVAL=0.5
RISE=2
FALL=1
PROTOCOLS=()
while (($#)); do
  case $1 in
    --url) URL=$2; shift 2 ;;
    --birdc-socket) SOCK=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --rise) RISE=$2; shift 2 ;;
    --fall) FALL=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bird-health-hook: unknown option $1" >&2; exit 2 ;;
    *) PROTOCOLS+=("$1"); shift ;;
  esac
done
((${#PROTOCOLS[@]})) || { echo "bird-health-hook: no BIRD protocol given" >&2; exit 2; }

log() { echo "bird-health-hook: $(date '+%F %T') $*" >&2; }

# Sets every protocol to enable|disable; true when birdc accepted all.
set_bird() {
  local p ok=0
  for p in "${PROTOCOLS[@]}"; do
    birdc -s "$SOCK" "$1" "$p" >/dev/null 2>&1 || ok=1
  done
  return $ok
}

state=unknown   # announced | withdrawn | unknown
good=0 bad=0 since_assert=0
stop() {
  set_bird disable
  log "stopping: ${PROTOCOLS[*]} disabled (route withdrawn)"
  exit 0
}
trap stop TERM INT

log "watching $URL for ${PROTOCOLS[*]} via $SOCK"
while :; do
  code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "$URL" 2>/dev/null)
  if [[ $code == 200 ]]; then
    good=$((good + 1)); bad=0
  else
    bad=$((bad + 1)); good=0
  fi
  want=$state
  if ((good >= RISE)); then want=announced; fi
  if ((bad >= FALL)); then want=withdrawn; fi
  since_assert=$((since_assert + 1))
  if [[ $want != "$state" && $want != unknown ]]; then
    if [[ $want == announced ]]; then set_bird enable; else set_bird disable; fi
    if (($? == 0)); then
      if [[ $want == announced ]]; then what="enabled: route announced"
      else what="disabled: route withdrawn"; fi
      log "/health ${code:-no answer}: ${PROTOCOLS[*]} $what"
      state=$want
    else
      log "/health ${code:-no answer}: birdc failed (is bird running on $SOCK?), retrying"
    fi
    since_assert=0
  elif [[ $state != unknown ]] &&
       (( $(awk -v n=$since_assert -v i="$INTERVAL" 'BEGIN{print (n*i >= 10)}') )); then
    if [[ $state == announced ]]; then set_bird enable; else set_bird disable; fi
    since_assert=0
  fi
  sleep "$INTERVAL" &
  wait $!
done
