#!/usr/bin/env bash
# Breakglass exec-connector script for MariaDB (protocol v1: see README.md in this folder).
#
#   exec-mariadb.sh [--host H] [--port P] [--user U] [--account-host H] OPERATION < request.json
#
# Pre-staged and ephemeral accounts as `name`@`account-host` (default `%`): staged and rotated
# locked, unlocked for a grant, locked again with every session killed; ephemeral accounts are
# created per grant and dropped at the end. Needs bash, jq, openssl, od and the mariadb client.
#
# Safety rules this script keeps:
# - Secrets arrive on stdin and never leave bash builtins except through pipes: no secret in
#   any argv, in the environment, or in SQL text. Passwords reach the server only as their
#   mysql_native_password hash, computed here; verify compares hashes (no failed logins, so
#   max_password_errors can never lock an account because of Breakglass).
# - Every name and value from the request reaches SQL only as a hex literal, and is quoted by
#   the server itself (QUOTE() inside EXECUTE IMMEDIATE). The mariadb client never sees a quote
#   character it could misparse, nor a backslash command such as `\!`.
# - The admin password (adminSecret) is written to a 0600 option file that is removed on exit.
# - Names the target cannot hold safely are refused with {"ok":false,"invalid":true}.
set -uo pipefail
umask 077
export LC_ALL=C.UTF-8

host=127.0.0.1 port=3306 admin_user=root account_host=% principal=""

# --- answers ---------------------------------------------------------------------------------
# A failure is written to $answer_file and printed by the EXIT trap, so `fail` also works
# inside $(...) and pipelines: callers there add `|| exit 3` to stop the script.
answer_file=$(mktemp) || { printf '{"ok":false,"error":"cannot create a temporary file","retryable":true}\n'; exit 0; }
tmpfiles=("$answer_file")
finish() {
  local rc=$?
  if [ -s "$answer_file" ]; then cat "$answer_file"; rc=0; fi
  rm -f "${tmpfiles[@]}"
  exit "$rc"
}
trap finish EXIT
# Messages travel to jq in its environment, not its argv (argv is world-readable in /proc).
fail() { # message [retryable=false] [invalid=false]
  MSG="$1" jq -cn --argjson r "${2:-false}" --argjson i "${3:-false}" \
    '{ok:false, error:env.MSG, retryable:$r} + (if $i then {invalid:true} else {} end)' >"$answer_file"
  exit 3
}
invalid() { fail "$1" false true; }
ok() { printf '{"ok":true}\n'; exit 0; }

while [ $# -gt 1 ]; do
  case "$1" in
    --host) host=$2 ;;
    --port) port=$2 ;;
    --user) admin_user=$2 ;;
    --account-host) account_host=$2 ;;
    *) fail "unknown option $1" ;;
  esac
  shift 2
done
op=${1:-}
[[ $port =~ ^[0-9]{1,5}$ ]] || fail "--port must be a number"

request=$(head -c 1048576)
jq -e '.version == 1' >/dev/null 2>&1 <<<"$request" || fail "expected a protocol version 1 request on stdin"

# field VAR NAME: VAR = the request's string field NAME, byte-exact (the "." sentinel keeps
# trailing newlines from being stripped by $(...)).
field() { local v; v=$(jq -j --arg f "$2" '(.[$f] // "" | tostring), "."' <<<"$request") || fail "bad request"; printf -v "$1" '%s' "${v%.}"; }
timeout_ms=$(jq -r '.timeoutMs // 5000 | floor' <<<"$request")
connect_timeout=$(( timeout_ms / 2000 > 0 ? timeout_ms / 2000 : 1 ))

# --- SQL plumbing ----------------------------------------------------------------------------
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# A request value as a SQL expression, compared byte for byte (utf8mb4_bin).
sqlval() { printf "CONVERT(X'%s' USING utf8mb4) COLLATE utf8mb4_bin" "$(hex "$1")"; }
# mysql_native_password: '*' + upper hex of SHA1(SHA1(password)).
native_hash() { printf '%s' "$1" | openssl dgst -sha1 -binary | openssl dgst -sha1 -binary | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }

# An option-file value: double-quoted, with the escapes the client's option parser undoes.
optquote() { local v=$1; v=${v//\\/\\\\}; v=${v//\"/\\\"}; v=${v//$'\n'/\\n}; v=${v//$'\r'/\\r}; v=${v//$'\t'/\\t}; printf '"%s"' "$v"; }

admin_file=$(mktemp) && tmpfiles+=("$admin_file") || fail "cannot create a temporary file" true
field admin_secret adminSecret
{
  printf '[client]\nhost=%s\nport=%s\nuser=%s\n' "$(optquote "$host")" "$port" "$(optquote "$admin_user")"
  [ -n "$admin_secret" ] && printf 'password=%s\n' "$(optquote "$admin_secret")"
  printf 'default-character-set=utf8mb4\nconnect-timeout=%s\n' "$connect_timeout"
} >"$admin_file"
unset admin_secret
err_file=$(mktemp) && tmpfiles+=("$err_file") || fail "cannot create a temporary file" true

# Runs the SQL on stdin as the admin; on failure answers with the server's error, classified.
sql() {
  local out
  if out=$({
    # QUOTE() escapes with backslashes: make sure the session reads them as escapes.
    printf "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', ''), SESSION lock_wait_timeout = %s;\n" "$connect_timeout"
    printf 'SET @u = %s, @h = %s;\n' "$(sqlval "$principal")" "$(sqlval "$account_host")"
    cat
  } | mariadb --defaults-file="$admin_file" --batch --skip-column-names 2>"$err_file"); then
    printf '%s' "$out"
    return 0
  fi
  local line code
  line=$(grep -m1 '^ERROR' "$err_file" || head -c 300 "$err_file")
  # Server messages may quote the statement; a password hash is not for the error log.
  line=$(sed -E 's/\*[0-9A-F]{40}/*[hash]/g' <<<"$line")
  code=$(sed -nE 's/^ERROR ([0-9]+).*/\1/p' <<<"$line")
  case "$code" in
    2002|2003|2005|2006|2013|1040|1053|1152|1158|1159|1160|1161|1205|1213|1927) fail "$line" true ;;
    *) fail "${line:-mariadb client failed}" false ;;
  esac
}

# "name"@"host" as the server quotes it, for EXECUTE IMMEDIATE.
account="QUOTE(@u), '@', QUOTE(@h)"

# --- names and specs -------------------------------------------------------------------------
check_principal() {
  field principal principal
  # MariaDB keeps user names as at most 128 utf8mb3 characters compared with PAD SPACE: a
  # 4-byte character would be stored as "?" and a trailing space ignored, both aliasing
  # another account; control characters have no business in a name.
  jq -e '.principal | type == "string" and length > 0 and length <= 128
           and (explode | all(. >= 32 and . != 127 and . < 65536))
           and (test("^\\s|\\s$") | not)' >/dev/null 2>&1 <<<"$request" \
    || invalid "principal is not a name MariaDB can hold safely (1-128 characters, no 4-byte characters, no leading or trailing space)"
  [ "$principal" != "$admin_user" ] || invalid "principal is the script's own admin user"
}

# Refuses names that exist for another host or belong to the admin: KILL USER and DROP USER
# would reach those accounts too.
guard() {
  local clash
  clash=$(sql <<'SQL'
SELECT (SELECT COUNT(*) FROM mysql.global_priv WHERE User = @u AND Host <> @h)
     + (LEFT(CURRENT_USER(), CHAR_LENGTH(CURRENT_USER()) - CHAR_LENGTH(SUBSTRING_INDEX(CURRENT_USER(), '@', -1)) - 1) = @u);
SQL
  ) || exit 3
  [ "$clash" = 0 ] || invalid "principal is the admin user or exists for another host; refusing to manage it"
}

# spec.privileges: ["SELECT, INSERT ON app.*", ...]. Only listed keywords and plain identifiers
# pass. In a database-level grant (`db.*`) the name gets `_` escaped: there `_` is a wildcard,
# so `app_1`.* would also cover `appx1`.
grants_sql() {
  local ok grant
  ok=$(jq -r '
    def priv: "(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|INDEX|ALTER|EXECUTE|TRIGGER|EVENT|REFERENCES|LOCK TABLES|CREATE VIEW|SHOW VIEW|CREATE ROUTINE|ALTER ROUTINE|CREATE TEMPORARY TABLES|PROCESS|RELOAD|SHOW DATABASES|ALL PRIVILEGES|ALL)";
    def entry: "^" + priv + "(, ?" + priv + ")* ON (\\*\\.\\*|[A-Za-z0-9_]{1,64}\\.(\\*|[A-Za-z0-9_]{1,64}))$";
    (.spec.privileges // []) as $p
    | if ($p | type) == "array" and ($p | length) <= 32 and ($p | all(type == "string" and test(entry; "i")))
      then "yes" else "no" end' <<<"$request" 2>/dev/null)
  [ "$ok" = yes ] || invalid "spec.privileges must be a list like [\"SELECT, INSERT ON app.*\"]"
  jq -r '.spec.privileges // [] | .[]
    | capture("^(?<p>.+) ON (?<d>[^.]+)\\.(?<t>.+)$"; "i")
    | "GRANT \(.p) ON "
      + (if .d == "*" then "*" elif .t == "*" then "`" + (.d | gsub("_"; "\\_")) + "`" else "`" + .d + "`" end) + "."
      + (if .t == "*" then "*" else "`" + .t + "`" end) + " TO "' <<<"$request" \
    | while IFS= read -r grant; do
        printf "EXECUTE IMMEDIATE CONCAT(CONVERT(X'%s' USING utf8mb4), %s);\n" "$(hex "$grant")" "$account"
      done
}

# --- sessions --------------------------------------------------------------------------------
# KILL only signals; a killed connection leaves the process list a moment later. Waits until
# none is left (about half the budget), else answers retryably.
# Counts the sessions first (issue 12: revocation evidence): sessions_before.
sessions_before=0
kill_sessions() {
  local left i
  sessions_before=$(sql <<'SQL'
SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = @u;
SQL
  ) || exit 3
  for i in $(seq 1 $(( timeout_ms / 200 > 0 ? timeout_ms / 200 : 1 ))); do
    left=$(sql <<'SQL'
EXECUTE IMMEDIATE CONCAT('KILL CONNECTION USER ', QUOTE(@u));
SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = @u;
SQL
    ) || exit 3
    [ "$left" = 0 ] && return 0
    sleep 0.1
  done
  fail "$left session(s) of the account are still alive after KILL" true
}

inspect() {
  local row exists unlocked sessions
  row=$(sql <<'SQL'
SELECT COUNT(*), COALESCE(MAX(IFNULL(JSON_VALUE(Priv, '$.account_locked'), '0') NOT IN ('1', 'true')), 0),
       (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = @u)
  FROM mysql.global_priv WHERE User = @u AND Host = @h;
SQL
  ) || exit 3
  read -r exists unlocked sessions <<<"$row"
  jq -cn --argjson e "$exists" --argjson u "$unlocked" --argjson s "$sessions" \
    '{ok:true, inspection:{exists:($e > 0), canLogin:($e > 0 and $u == 1), sessions:$s}}'
  exit 0
}

# Stage, rotate: set the password by hash and lock, in one statement.
set_password_locked() { # create|alter
  local hash verb
  hash=$(native_hash "$1")
  [ "$2" = create ] && verb="CREATE USER IF NOT EXISTS " || verb="ALTER USER "
  printf "EXECUTE IMMEDIATE CONCAT('%s', %s, ' IDENTIFIED VIA mysql_native_password USING ''*%s'' ACCOUNT LOCK');\n" "$verb" "$account" "$hash"
}

drop_account() {
  sql <<SQL >/dev/null || exit 3
EXECUTE IMMEDIATE CONCAT('ALTER USER IF EXISTS ', $account, ' ACCOUNT LOCK');
SQL
  kill_sessions
  sql <<SQL >/dev/null || exit 3
EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS ', $account);
SQL
}

# disable, revoke: what kill_sessions found, every one of them ended (it returned).
sessions_ended() { printf '{"ok":true,"sessionsBefore":%d,"sessionsEnded":%d}\n' "$sessions_before" "$sessions_before"; exit 0; }

# --- operations ------------------------------------------------------------------------------
case "$op" in
  capabilities)
    printf '{"ok":true,"capabilities":{"supportsSessionKill":true,"supportsNativeExpiry":false,"supportsPrestaged":true,"supportsEphemeral":true}}\n'
    ;;
  stage)
    check_principal; guard
    field secret secret; [ -n "$secret" ] || invalid "secret is empty"
    grants=$(grants_sql) || exit 3
    { set_password_locked "$secret" create; set_password_locked "$secret" alter
      printf "EXECUTE IMMEDIATE CONCAT('REVOKE ALL PRIVILEGES, GRANT OPTION FROM ', %s);\n%s\n" "$account" "$grants"
    } | sql >/dev/null || exit 3
    kill_sessions; ok ;;
  enable)
    # No native expiry in MariaDB: Breakglass's own expiry job disables the account.
    check_principal; guard
    printf "EXECUTE IMMEDIATE CONCAT('ALTER USER ', %s, ' ACCOUNT UNLOCK');\n" "$account" | sql >/dev/null || exit 3
    ok ;;
  disable)
    check_principal; guard
    printf "EXECUTE IMMEDIATE CONCAT('ALTER USER IF EXISTS ', %s, ' ACCOUNT LOCK');\n" "$account" | sql >/dev/null || exit 3
    kill_sessions; sessions_ended ;;
  rotate)
    check_principal; guard
    field secret newSecret; [ -n "$secret" ] || invalid "newSecret is empty"
    set_password_locked "$secret" alter | sql >/dev/null || exit 3
    kill_sessions; ok ;;
  verify)
    check_principal
    field secret secret
    stored=$(sql <<'SQL'
SELECT CONCAT(JSON_VALUE(Priv, '$.plugin'), ' ', JSON_VALUE(Priv, '$.authentication_string'))
  FROM mysql.global_priv WHERE User = @u AND Host = @h;
SQL
    ) || exit 3
    [ -n "$stored" ] || { printf '{"ok":true,"result":"rejected"}\n'; exit 0; }
    [ "${stored%% *}" = mysql_native_password ] || fail "cannot verify an account that uses ${stored%% *}"
    if [ "${stored#* }" = "*$(native_hash "$secret")" ]; then result=accepted; else result=rejected; fi
    printf '{"ok":true,"result":"%s"}\n' "$result" ;;
  inspect|inspectIssued)
    check_principal; inspect ;;
  issue)
    check_principal; guard
    grants=$(grants_sql) || exit 3
    # A retry replaces a half-made account: drop it (and its sessions) first.
    drop_account
    password=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | cut -c1-32)
    # Created locked and unlocked last: a failure half way leaves nothing that can log in.
    { set_password_locked "$password" create; printf '%s\n' "$grants"
      printf "EXECUTE IMMEDIATE CONCAT('ALTER USER ', %s, ' ACCOUNT UNLOCK');\n" "$account"
    } | sql >/dev/null || exit 3
    printf '{"ok":true,"credential":{"username":%s,"password":"%s"}}\n' "$(jq -cn --arg u "$principal" '$u')" "$password" ;;
  revoke)
    check_principal; guard; drop_account; sessions_ended ;;
  *)
    fail "unknown operation \"$op\"" ;;
esac
