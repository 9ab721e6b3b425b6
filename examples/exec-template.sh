#!/usr/bin/env bash
# Skeleton of a Breakglass exec-connector script (protocol v1; README.md has the details).
#
# Breakglass runs   <command> <args...> <operation>   with no shell, a minimal environment
# (PATH, HOME, LANG) and ONE JSON request on stdin, for example
#   {"version":1,"operation":"enable","timeoutMs":5000,"principal":"oncall_dba",
#    "validUntil":"2025-01-01T12:00:00.000Z","adminSecret":"…"}
# and expects ONE JSON answer on stdout:
#   {"ok":true}                                              stage, enable, disable, rotate, revoke
#   {"ok":true,"result":"accepted"}  or "rejected"           verify
#   {"ok":true,"inspection":{"exists":true,"canLogin":false,"sessions":0}}   inspect, inspectIssued
#   {"ok":true,"credential":{"username":"…","password":"…"}} issue
#   {"ok":false,"error":"why","retryable":true}              any failure (retryable: try later)
#   {"ok":false,"error":"why","invalid":true}                a name/spec the target cannot hold
# Secrets (secret, newSecret, adminSecret) come only on stdin: keep them out of argv and out of
# the environment of anything you run, and out of stderr (Breakglass redacts them, but still).
# stderr is kept as evidence in error messages. Exit 75 without an answer means "try later".
set -uo pipefail

op=${!#}                    # the operation is always the last argument
request=$(cat)

reply_error() { MSG="$1" jq -cn --argjson r "$2" '{ok:false, error:env.MSG, retryable:$r}'; exit 0; }

case "$op" in
  capabilities)
    # Must confirm every capability the target settings declare.
    printf '{"ok":true,"capabilities":{"supportsSessionKill":false,"supportsNativeExpiry":false,"supportsPrestaged":false,"supportsEphemeral":false}}\n'
    ;;
  stage|enable|disable|rotate|verify|inspect|issue|revoke|inspectIssued)
    principal=$(jq -r '.principal // ""' <<<"$request")   # not a secret: fine to log
    echo "template: $op of $principal is not implemented" >&2
    reply_error "$op is not implemented by this template" false
    ;;
  *)
    reply_error "unknown operation \"$op\"" false
    ;;
esac
