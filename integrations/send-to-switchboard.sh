#!/bin/sh
# send-to-switchboard: sends one command through Switchboard's HTTP command API
# (POST /v1/commands/<pack>/<Command>) and, with a wait, fails when its result is a failure event.
#
# Shared by the Tekton Task (integrations/tekton/send-to-switchboard.yaml embeds this file word for
# word; test/integrations checks the copy) and the GitHub Action (integrations/github-actions/action.yml
# runs it). Needs a POSIX sh, curl (7.55 or later), awk, sed, tr, od, mktemp, and cksum or sha256sum or
# md5sum: busybox has them, so curlimages/curl does; no jq.
#
# Everything comes from the environment, never from arguments or text pasted into this script, so no
# value ever goes through a shell's parser or into JSON unescaped:
#   SWITCHBOARD_ENDPOINT         the ci-webhook pack's base URL, e.g. https://switchboard.example.com
#   SWITCHBOARD_TOKEN            an API token of SWITCHBOARD_API_TOKENS, or
#   SWITCHBOARD_TOKEN_FILE       a file holding it (a mounted Secret)
#   SWITCHBOARD_PACK             the pack, e.g. matrix
#   SWITCHBOARD_COMMAND          the command; default SendMessage with a message, SendRichMessage with input
#   SWITCHBOARD_MESSAGE          a text, sent as {"channelId": <channel>, "message": <text>}, or
#   SWITCHBOARD_INPUT            the whole payload, a JSON object; with a channel, "channel" is added first
#   SWITCHBOARD_CHANNEL          the channel or room (required with a message)
#   SWITCHBOARD_WAIT             seconds to wait for the result event, 0 to 60; 0: only until the broker
#                                has the command (default 30)
#   SWITCHBOARD_IDEMPOTENCY_KEY  names this send across retries (the TaskRun's uid, the workflow run);
#                                a digest of the command is appended, so that two different messages of one
#                                run are two commands. Default: a random one, kept across this run's retries
#   SWITCHBOARD_ATTEMPTS         attempts in all, for 429, 5xx (but 504) and network errors (default 5)
#   SWITCHBOARD_MAX_RETRY_WAIT   longest pause between attempts, in seconds, Retry-After included (default 60)
#
# Exit status: 0 the command succeeded (or, without a wait, the broker has it); 1 it failed, was refused,
# or no result came in time; 2 the settings are wrong. The reason is printed on stderr.
set -eu

say() { printf 'send-to-switchboard: %s\n' "$*" >&2; }
fail_settings() {
  say "$*"
  exit 2
}

endpoint=${SWITCHBOARD_ENDPOINT:-}
pack=${SWITCHBOARD_PACK:-}
command=${SWITCHBOARD_COMMAND:-}
message=${SWITCHBOARD_MESSAGE:-}
input=${SWITCHBOARD_INPUT:-}
channel=${SWITCHBOARD_CHANNEL:-}
wait_seconds=${SWITCHBOARD_WAIT:-30}
attempts=${SWITCHBOARD_ATTEMPTS:-5}
max_retry_wait=${SWITCHBOARD_MAX_RETRY_WAIT:-60}

# A count of seconds or attempts: digits only, and not 0-prefixed (sh arithmetic would read it as octal).
is_count() {
  case $1 in '' | *[!0-9]* | 0?*) return 1 ;; esac
}

[ -n "$endpoint" ] || fail_settings 'SWITCHBOARD_ENDPOINT (endpoint) is empty: set the base URL of the ci-webhook pack'
case $endpoint in
  http://* | https://*) ;;
  *) fail_settings 'SWITCHBOARD_ENDPOINT (endpoint) must start with http:// or https://' ;;
esac
endpoint=${endpoint%/}
# Pack and command names go into the URL path: their grammar (docs/protocol.md) needs no escaping.
case $pack in
  '' | [!a-z]* | *[!a-z0-9-]*) fail_settings "SWITCHBOARD_PACK (pack) \"$pack\" is not a pack name (lower-case letters, digits and -)" ;;
esac
if [ -n "$message" ] && [ -n "$input" ]; then
  fail_settings 'give a message or an input (a JSON payload), not both'
fi
if [ -z "$message" ] && [ -z "$input" ]; then
  fail_settings 'nothing to send: give a message (with a channel) or an input (a JSON payload)'
fi
if [ -n "$message" ] && [ -z "$channel" ]; then
  fail_settings 'SWITCHBOARD_CHANNEL (channel) is empty: a message needs a channel or room'
fi
if [ -z "$command" ]; then
  if [ -n "$message" ]; then command=SendMessage; else command=SendRichMessage; fi
fi
case $command in
  [!A-Z]* | *[!A-Za-z0-9]*) fail_settings "SWITCHBOARD_COMMAND (command) \"$command\" is not a command name (PascalCase)" ;;
esac
is_count "$wait_seconds" && [ "$wait_seconds" -le 60 ] ||
  fail_settings "SWITCHBOARD_WAIT (wait) \"$wait_seconds\" is not a number of seconds from 0 to 60"
is_count "$attempts" && [ "$attempts" -ge 1 ] ||
  fail_settings "SWITCHBOARD_ATTEMPTS \"$attempts\" is not a number of attempts, 1 or more"
is_count "$max_retry_wait" || fail_settings "SWITCHBOARD_MAX_RETRY_WAIT \"$max_retry_wait\" is not a number of seconds"

token=${SWITCHBOARD_TOKEN:-}
if [ -z "$token" ] && [ -n "${SWITCHBOARD_TOKEN_FILE:-}" ]; then
  [ -r "$SWITCHBOARD_TOKEN_FILE" ] || fail_settings "cannot read the token file $SWITCHBOARD_TOKEN_FILE"
  # Command substitution drops the trailing newline a Secret's file often has.
  token=$(cat "$SWITCHBOARD_TOKEN_FILE")
fi
[ -n "$token" ] || fail_settings 'no API token: set SWITCHBOARD_TOKEN or SWITCHBOARD_TOKEN_FILE (from a Secret, never a parameter)'
# A bearer token is printable and has no spaces; anything else would break the header. Never printed.
case $token in *[![:graph:]]*) fail_settings 'the API token has spaces or control characters' ;; esac

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The body, built by awk from the environment: JSON-escapes ", \ and every control character (newlines
# included), and copies every other byte as it is, so UTF-8 (emoji) arrives unchanged. LC_ALL=C makes
# every awk read bytes, not characters.
LC_ALL=C awk '
  function quote(text,    out, i, c) {
    out = ""
    for (i = 1; i <= length(text); i++) {
      c = substr(text, i, 1)
      out = out ((c in escaped) ? escaped[c] : c)
    }
    return "\"" out "\""
  }
  BEGIN {
    for (i = 1; i < 32; i++) escaped[sprintf("%c", i)] = sprintf("\\u%04x", i)
    escaped["\""] = "\\\""; escaped["\\"] = "\\\\"
    escaped["\n"] = "\\n"; escaped["\r"] = "\\r"; escaped["\t"] = "\\t"
    message = ENVIRON["SWITCHBOARD_MESSAGE"]; input = ENVIRON["SWITCHBOARD_INPUT"]
    channel = ENVIRON["SWITCHBOARD_CHANNEL"]
    if (message != "") {
      printf "{\"channelId\":%s,\"message\":%s}", quote(channel), quote(message)
      exit 0
    }
    if (input !~ /^[ \t\r\n]*\{/) {
      print "send-to-switchboard: the input is not a JSON object (it must start with {)" > "/dev/stderr"
      exit 2
    }
    if (channel == "") { printf "%s", input; exit 0 }
    rest = input
    sub(/^[ \t\r\n]*\{[ \t\r\n]*/, "", rest)
    printf "{\"channel\":%s%s%s", quote(channel), (substr(rest, 1, 1) == "}" ? "" : ","), rest
  }' >"$work/request" || exit 2

# A short digest of a file. cksum is POSIX, but some busybox builds leave it out: any of these will do.
digest_of() {
  for tool in cksum sha256sum md5sum; do
    value=$("$tool" <"$1" 2>/dev/null | sed 's/[^0-9A-Za-z].*//')
    if [ -n "$value" ]; then
      printf '%s' "$value"
      return 0
    fi
  done
  fail_settings 'none of cksum, sha256sum and md5sum works here, to name the command'
}

# One key for every attempt of this run, so that the API publishes the command once however often we
# retry. The digest tells apart the different commands one TaskRun or job sends.
printf '%s/%s\n' "$pack" "$command" | cat - "$work/request" >"$work/digested"
digest=$(digest_of "$work/digested")
base_key=${SWITCHBOARD_IDEMPOTENCY_KEY:-}
if [ -z "$base_key" ]; then
  base_key=sh-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
fi
case $base_key in *[![:graph:]]*) fail_settings 'SWITCHBOARD_IDEMPOTENCY_KEY has spaces or control characters' ;; esac
key=$base_key-$digest
# The API takes keys of at most 200 characters (a long job name could pass that): a digest stands in then.
if [ ${#key} -gt 200 ]; then
  printf '%s' "$base_key" >"$work/base-key"
  key=long-$(digest_of "$work/base-key")-$digest
fi

# Headers go to curl in a file, so that the token never appears in a process list.
printf 'Authorization: Bearer %s\nIdempotency-Key: %s\nContent-Type: application/json\n' \
  "$token" "$key" >"$work/headers"

url="$endpoint/v1/commands/$pack/$command"
if [ "$wait_seconds" -gt 0 ]; then url="$url?wait=$wait_seconds"; fi
what="$pack.$command"

# A field of the answer, for the reason printed: the failure event's errorCode and error, or the API
# error's code and message. A best effort without jq; the whole answer is printed after it.
field() {
  sed -n -E 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)".*/\1/p' "$work/answer" | head -n 1
}

reason() {
  code=$(field errorCode)
  [ -n "$code" ] || code=$(field code)
  text=$(field error)
  [ -n "$text" ] || text=$(field message)
  if [ -n "$code" ] || [ -n "$text" ]; then printf '%s: %s' "${code:-error}" "$text"; else printf 'no reason given'; fi
}

print_answer() {
  if [ -s "$work/answer" ]; then
    cat "$work/answer" >&2
    printf '\n' >&2
  fi
}

attempt=1
pause=1
while :; do
  : >"$work/answer"
  : >"$work/answer-headers"
  status=$(curl --silent --show-error --output "$work/answer" --dump-header "$work/answer-headers" \
    --write-out '%{http_code}' --connect-timeout 10 --max-time $((wait_seconds + 30)) \
    --request POST --header "@$work/headers" --data-binary "@$work/request" "$url") || status=000
  case $status in
    2??)
      say "$what: HTTP $status"
      cat "$work/answer"
      printf '\n'
      exit 0
      ;;
    422)
      say "$what failed: $(reason)"
      print_answer
      exit 1
      ;;
    504)
      say "$what: no result within ${wait_seconds}s (HTTP 504); the command was sent and may still run"
      print_answer
      exit 1
      ;;
    429 | 5?? | 000)
      if [ "$status" = 000 ]; then problem='no answer'; else problem="HTTP $status"; fi
      if [ "$attempt" -ge "$attempts" ]; then
        say "$what: $problem after $attempt attempts, giving up: $(reason)"
        print_answer
        exit 1
      fi
      # Retry-After in seconds (the API's form); an HTTP date falls back on our own backoff.
      retry_after=$(tr -d '\r' <"$work/answer-headers" |
        sed -n 's/^[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]:[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\1/p' |
        tail -n 1)
      delay=${retry_after:-$pause}
      [ "$delay" -le "$max_retry_wait" ] || delay=$max_retry_wait
      say "$what: $problem, attempt $attempt of $attempts; trying again in ${delay}s"
      sleep "$delay"
      attempt=$((attempt + 1))
      pause=$((pause * 2))
      ;;
    *)
      say "$what refused (HTTP $status): $(reason)"
      print_answer
      exit 1
      ;;
  esac
done
