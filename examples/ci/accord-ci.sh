#!/bin/sh
# The shell half of accord's CI recipes (examples/ci/): installing accord, and
# turning accord's exit codes and outputs into what people read (the pull-request
# comment, the job's verdict, the drift issue). Copy it next to the recipes:
# `.github/accord-ci.sh` for GitHub Actions, `.gitlab/accord-ci.sh` for GitLab CI.
# POSIX sh; needs curl, tar and sha256sum (or shasum) for `install`, curl and jq
# for `gitlab-note`.
#
#   accord-ci.sh install VERSION DIR   put accord VERSION in DIR/bin: the release
#                                      binary for this platform, its SHA-256 checked
#                                      against the release's SHA256SUMS; without a
#                                      release binary, `cargo install --locked`
#   accord-ci.sh comment VALIDATE PLAN print the pull-request comment for these exit
#                                      codes of `accord validate` and `accord plan`
#                                      (PLAN `-` when plan did not run), from
#                                      validate.txt, plan.md and plan.err
#   accord-ci.sh verdict VALIDATE PLAN print the comment's headline; exit 0 when the
#                                      plan may be merged (exit 0 or 2), 1 otherwise
#   accord-ci.sh explain COMMAND CODE  say what exit CODE of `accord COMMAND` means
#   accord-ci.sh stale CODE FILE...    exit 0 when `accord apply` exited CODE because
#                                      its saved plan is stale (said in FILE...)
#   accord-ci.sh drift CODE            print the drift issue's body for this exit code
#                                      of `accord plan --detailed-exitcode`, from
#                                      drift.md and drift.err
#   accord-ci.sh gitlab-note FILE      create or update the merge request's note that
#                                      starts with the marker, with FILE as its body
#   accord-ci.sh accounts DIR          print the accounts of DIR (its subdirectories
#                                      but hidden ones, sorted) as the JSON list of a
#                                      job matrix: [{"name": "acme-eu", "variable":
#                                      "ACCORD_BACKEND_ACME_EU"}, ...]
#   accord-ci.sh backend NAME          print the backend of account NAME: the value of
#                                      ACCORD_BACKEND_<NAME> (NAME uppercased, other
#                                      characters than letters and digits as `_`, as
#                                      `accord plan --accounts` reads it); fails when
#                                      it is not set
#   accord-ci.sh store-token github|gitlab
#                                      store the vendor's new refresh token (the file
#                                      ACCORD_REFRESH_TOKEN_FILE, written by accord
#                                      when it refreshed) back into the CI secret
#                                      APS_REFRESH_TOKEN; nothing when accord did not
#                                      refresh (no file). GitHub: `gh secret set` with
#                                      GH_TOKEN allowed to write secrets; GitLab: the
#                                      project variable API with GITLAB_API_TOKEN.
#
# Environment: ACCORD_COMMIT and ACCORD_RUN_URL (named in the comment and the issue),
# ACCORD_COMMENT_MAX (bytes of output kept in a comment, default 60000: GitHub takes
# 65536 characters), ACCORD_RELEASES (where releases are downloaded from).
set -eu

MARKER='<!-- accord-plan -->'
RELEASES=${ACCORD_RELEASES:-https://github.com/accord-rs/accord/releases/download}
MAX=${ACCORD_COMMENT_MAX:-60000}

die() {
  echo "accord-ci.sh: $*" >&2
  exit 1
}

# --- install ----------------------------------------------------------------------

# The release target of this machine.
target() {
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-amd64) echo x86_64-unknown-linux-musl ;;
    Linux-aarch64 | Linux-arm64) echo aarch64-unknown-linux-musl ;;
    Darwin-x86_64) echo x86_64-apple-darwin ;;
    Darwin-arm64 | Darwin-aarch64) echo aarch64-apple-darwin ;;
    MINGW*-x86_64 | MSYS*-x86_64 | CYGWIN*-x86_64) echo x86_64-pc-windows-msvc ;;
    *) return 1 ;;
  esac
}

sha256_check() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -c "$1"
  else
    shasum -a 256 -c "$1"
  fi
}

install_accord() {
  [ $# -eq 2 ] || die "usage: accord-ci.sh install VERSION DIR"
  version=${1#v}
  dir=$2
  exe=accord
  case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) exe=accord.exe ;; esac
  if [ -x "$dir/bin/$exe" ] && [ "$("$dir/bin/$exe" --version 2>/dev/null)" = "accord $version" ]; then
    echo "accord $version is in $dir/bin (cached)"
    return 0
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if platform=$(target); then
    name="accord-v$version-$platform"
    archive="$name.tar.gz"
    case "$platform" in *windows*) archive="$name.zip" ;; esac
    url="$RELEASES/v$version"
    if curl --fail --silent --show-error --location --retry 3 -o "$tmp/$archive" "$url/$archive" &&
      curl --fail --silent --show-error --location --retry 3 -o "$tmp/SHA256SUMS" "$url/SHA256SUMS"; then
      # A checksum that does not match is never worked around by building instead.
      awk -v f="$archive" '$2 == f || $2 == "*" f' "$tmp/SHA256SUMS" >"$tmp/$archive.sha256"
      [ -s "$tmp/$archive.sha256" ] ||
        die "SHA256SUMS of v$version has no checksum for $archive; nothing was installed"
      (cd "$tmp" && sha256_check "$archive.sha256") ||
        die "the checksum of $archive does not match SHA256SUMS of v$version; nothing was installed"
      case "$archive" in
        *.zip) (cd "$tmp" && unzip -q "$archive") ;;
        *) tar -xzf "$tmp/$archive" -C "$tmp" ;;
      esac
      mkdir -p "$dir/bin"
      cp "$tmp/$name/$exe" "$dir/bin/$exe"
      chmod 755 "$dir/bin/$exe"
      echo "installed accord $version ($platform, checksum verified) in $dir/bin"
      "$dir/bin/$exe" --version
      return 0
    fi
    echo "accord-ci.sh: no release binary at $url/$archive" >&2
  else
    echo "accord-ci.sh: no release binary for $(uname -s) $(uname -m)" >&2
  fi
  command -v cargo >/dev/null 2>&1 ||
    die "and no cargo to build accord $version with: use an image with Rust (rust:1), or download a release by hand"
  echo "building accord $version with cargo install (cache $dir to do this once)" >&2
  cargo install --locked --root "$dir" --version "$version" accord-cli
  "$dir/bin/$exe" --version
}

# --- what an exit code means ------------------------------------------------------

explain() {
  [ $# -eq 2 ] || die "usage: accord-ci.sh explain COMMAND CODE"
  case "$1:$2" in
    *:-) echo "accord $1 did not run" ;;
    validate:0) echo "the configuration is valid" ;;
    validate:1) echo "the configuration is invalid" ;;
    plan:0) echo "no changes: the live account matches the configuration" ;;
    plan:2) echo "changes (with --detailed-exitcode)" ;;
    plan:1) echo "an error: the backend could not be read, or the plan could not be made; nothing was changed" ;;
    plan:3 | apply:3) echo "refused by a safety rule (R11-R14); nothing was changed" ;;
    apply:0) echo "converged: the live account matches the configuration" ;;
    apply:1) echo "an error: a stale or edited saved plan, an unreachable backend, or failed changes (see the run journal)" ;;
    *:64) echo "a usage error: the command line of accord $1 is wrong; fix the workflow" ;;
    *) echo "an unexpected exit code $2 of accord $1" ;;
  esac
}

# --- the pull-request comment -----------------------------------------------------

# Prints FILE (stdin when `-`), at most MAX bytes of it, whole lines, with a note
# when it was cut; closes a code fence or <details> block the cut left open.
excerpt() {
  awk -v max="$MAX" -v what="$2" '
    { if (used + length($0) + 1 > max) { cut = 1; exit } used += length($0) + 1; print }
    /^(```|~~~)/ { fence = !fence }
    /<details>/ { open++ }
    /<\/details>/ { open-- }
    END {
      if (!cut) exit
      if (fence) print "```"
      while (open-- > 0) print "</details>"
      printf "\n_... cut here: the whole %s is in the job log and its artifacts._\n", what
    }' "$1"
}

# Prints FILE in a code block, if it is not empty.
block() {
  if [ -s "$1" ]; then
    echo '````text'
    excerpt "$1" "output"
    echo '````'
  fi
}

# The headline of the comment and the job's verdict.
headline() {
  validate=$1
  plan=$2
  case "$validate" in
    -) echo "accord did not run." ;;
    0)
      case "$plan" in
        0) echo "No changes: the live account already matches the configuration." ;;
        2)
          if [ -s plan.md ]; then
            echo "Changes to review: merging applies this plan."
          else
            echo "Usage error: accord plan exited 2 without printing a plan; the workflow's accord command line is wrong."
          fi
          ;;
        3) echo "Refused by a safety rule: this plan cannot be applied; nothing was changed." ;;
        1)
          if grep -Eq '^error: cannot (open the backend|read the account from)' plan.err 2>/dev/null; then
            echo "Backend error: accord could not read the live account, so there is no plan; nothing was changed."
          else
            echo "Error: accord could not make the plan; nothing was changed."
          fi
          ;;
        64) echo "Usage error: the workflow runs accord plan with a wrong command line; fix the workflow." ;;
        -) echo "accord plan did not run." ;;
        *) echo "accord plan failed with the unexpected exit code $plan; nothing was changed." ;;
      esac
      ;;
    1) echo "The configuration is invalid: nothing was planned. Fix the problems below." ;;
    2 | 64) echo "Usage error: the workflow runs accord validate with a wrong command line; fix the workflow." ;;
    *) echo "accord validate failed with the unexpected exit code $validate." ;;
  esac
}

footer() {
  if [ -n "${ACCORD_COMMIT:-}" ] || [ -n "${ACCORD_RUN_URL:-}" ]; then
    echo
    line="<sub>accord ran on"
    [ -z "${ACCORD_COMMIT:-}" ] || line="$line commit \`$ACCORD_COMMIT\`"
    [ -z "${ACCORD_RUN_URL:-}" ] || line="$line in [this run]($ACCORD_RUN_URL)"
    echo "$line.</sub>"
  fi
}

comment() {
  [ $# -eq 2 ] || die "usage: accord-ci.sh comment VALIDATE PLAN"
  validate=$1
  plan=$2
  echo "$MARKER"
  echo "**$(headline "$validate" "$plan")**"
  echo
  if [ "$validate" != 0 ]; then
    echo "\`accord validate\`: $(explain validate "$validate") (exit $validate)."
    echo
    block validate.txt
  else
    echo "\`accord plan\`: $(explain plan "$plan") (exit $plan)."
    echo
    case "$plan" in
      0 | 2 | 3)
        if [ -s plan.md ]; then excerpt plan.md plan; fi
        if [ -s plan.err ]; then
          echo
          echo "accord also said:"
          echo
          block plan.err
        fi
        ;;
      *)
        block plan.err
        if [ -s plan.md ]; then
          echo
          echo "accord printed this before the error:"
          echo
          excerpt plan.md plan
        fi
        ;;
    esac
  fi
  footer
}

verdict() {
  [ $# -eq 2 ] || die "usage: accord-ci.sh verdict VALIDATE PLAN"
  headline "$1" "$2"
  [ "$1" = 0 ] || return 1
  case "$2" in
    0) return 0 ;;
    2) [ -s plan.md ] ;;
    *) return 1 ;;
  esac
}

# --- apply: is the saved plan stale? -----------------------------------------------

stale() {
  [ $# -ge 1 ] || die "usage: accord-ci.sh stale CODE FILE..."
  code=$1
  shift
  [ "$code" = 1 ] || return 1
  for file in "$@"; do
    [ -f "$file" ] || continue
    # The JSON error's kind, or the words of the message in any format.
    if grep -Eq '"kind" *: *"stale_plan"|changed since this plan was made' "$file"; then
      return 0
    fi
  done
  return 1
}

# --- drift ------------------------------------------------------------------------

drift() {
  [ $# -eq 1 ] || die "usage: accord-ci.sh drift CODE"
  [ -s drift.md ] || die "accord plan printed no drift report (exit $1)"
  case "$1" in
    2) echo "**The live account has drifted from the configuration.** Change the configuration to match, or repair the account (\`accord apply\`, or \`ACCORD_DRIFT=repair\`)." ;;
    3) echo "**The live account has drifted, and repairing it is refused by a safety rule** (R11-R14): a person has to decide. Nothing was changed." ;;
    *) die "exit $1 of accord plan is not drift: $(explain plan "$1")" ;;
  esac
  echo
  excerpt drift.md report
  if [ -s drift.err ]; then
    echo
    block drift.err
  fi
  footer
  echo
  echo "_This issue is updated by every nightly run that finds drift, and closed by the first that finds none._"
}

# --- GitLab: the merge request's one note -----------------------------------------

gitlab_note() {
  [ $# -eq 1 ] || die "usage: accord-ci.sh gitlab-note FILE"
  : "${CI_API_V4_URL:?}" "${CI_PROJECT_ID:?}" "${CI_MERGE_REQUEST_IID:?}" "${GITLAB_API_TOKEN:?}"
  api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
  auth="PRIVATE-TOKEN: $GITLAB_API_TOKEN"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # Every page of notes, until the marked one is found (GitLab says the next page
  # in the X-Next-Page header; empty on the last page).
  page=1
  note=
  while [ -n "$page" ] && [ -z "$note" ]; do
    curl --fail --silent --show-error --location --header "$auth" --dump-header "$tmp/headers" \
      -o "$tmp/notes.json" "$api?per_page=100&page=$page&sort=asc&order_by=created_at"
    note=$(jq -r --arg m "$MARKER" '[.[] | select(.body | startswith($m))][0].id // empty' "$tmp/notes.json")
    page=$(tr -d '\r' <"$tmp/headers" | awk -F': *' 'tolower($1) == "x-next-page" { p = $2 } END { print p }')
  done
  jq -cRs '{body: .}' "$1" >"$tmp/body.json"
  if [ -n "$note" ]; then
    curl --fail --silent --show-error --location -X PUT --header "$auth" --header "Content-Type: application/json" \
      --data-binary @"$tmp/body.json" "$api/$note" >/dev/null
    echo "updated note $note"
  else
    curl --fail --silent --show-error --location -X POST --header "$auth" --header "Content-Type: application/json" \
      --data-binary @"$tmp/body.json" "$api" >/dev/null
    echo "created the note"
  fi
}

# --- the vendor's rotating refresh token ------------------------------------------

# The vendor's refresh token works once: each run that refreshed wrote the new one to
# ACCORD_REFRESH_TOKEN_FILE, and the next run needs it in the secret. The token is
# passed on standard input or as a form field from the file, never on a command line.
store_token() {
  [ $# -eq 1 ] || die "usage: accord-ci.sh store-token github|gitlab"
  file=${ACCORD_REFRESH_TOKEN_FILE:-}
  if [ -z "$file" ] || [ ! -s "$file" ]; then
    echo "no new refresh token to store (accord did not refresh one)"
    return 0
  fi
  case "$1" in
    github)
      gh secret set APS_REFRESH_TOKEN <"$file"
      ;;
    gitlab)
      : "${CI_API_V4_URL:?}" "${CI_PROJECT_ID:?}" "${GITLAB_API_TOKEN:?}"
      curl --fail --silent --show-error --location -X PUT \
        --header "PRIVATE-TOKEN: $GITLAB_API_TOKEN" \
        --form "value=<$file" --form "masked=true" \
        "$CI_API_V4_URL/projects/$CI_PROJECT_ID/variables/APS_REFRESH_TOKEN" >/dev/null
      ;;
    *) die "usage: accord-ci.sh store-token github|gitlab" ;;
  esac
  rm -f "$file"
  echo "stored the new refresh token in APS_REFRESH_TOKEN"
}

# --- many accounts ------------------------------------------------------------------

# ACCORD_BACKEND_<NAME> for account NAME, as accord names it.
variable_of() {
  printf 'ACCORD_BACKEND_%s\n' "$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]' | tr -c '[:upper:][:digit:]' '_')"
}

# The accounts of a repository as a job matrix's JSON list, for GitHub Actions'
# `fromJSON`. Account names are directory names: quotes and backslashes are refused.
accounts() {
  [ $# -eq 1 ] || die "usage: accord-ci.sh accounts DIR"
  [ -d "$1" ] || die "$1 is not a directory of accounts"
  list=''
  for dir in "$1"/*/; do
    [ -d "$dir" ] || continue
    name=$(basename "$dir")
    case "$name" in
      *\"* | *\\*) die "account $name: a name with a quote or a backslash" ;;
    esac
    list="$list${list:+, }{\"name\": \"$name\", \"variable\": \"$(variable_of "$name")\"}"
  done
  [ -n "$list" ] || die "$1 holds no account: each subdirectory is one account's configuration"
  printf '[%s]\n' "$list"
}

# The backend of one account, from its variable (GitLab exports every CI/CD
# variable to the job: the matrix job reads its own account's).
backend() {
  [ $# -eq 1 ] || die "usage: accord-ci.sh backend NAME"
  variable=$(variable_of "$1")
  value=$(printenv "$variable" || true)
  [ -n "$value" ] || die "no backend for account $1: set the CI/CD variable $variable"
  printf '%s\n' "$value"
}

command=${1:-}
[ $# -eq 0 ] || shift
case "$command" in
  install) install_accord "$@" ;;
  comment) comment "$@" ;;
  verdict) verdict "$@" ;;
  explain) explain "$@" ;;
  stale) stale "$@" ;;
  drift) drift "$@" ;;
  gitlab-note) gitlab_note "$@" ;;
  store-token) store_token "$@" ;;
  accounts) accounts "$@" ;;
  backend) backend "$@" ;;
  *) die "usage: accord-ci.sh install|comment|verdict|explain|stale|drift|gitlab-note|store-token|accounts|backend ... (see the top of this file)" ;;
esac
