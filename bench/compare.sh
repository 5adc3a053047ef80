#!/usr/bin/env bash
# Side-by-side benchmark of `accord validate` (see BENCHMARKS.md).
#
# Installs the peers itself (check-jsonschema from PyPI into a venv, ajv-cli and
# ajv-formats from npm, both under target/bench/), generates the workloads with
# bench/generate.rs (50,000 members as 1 file and as 20 files, YAML and a JSON
# copy), then for each tool and workload takes the median wall time of RUNS runs
# after a warm-up (hyperfine when installed, else a timing loop) and the peak
# resident memory (/usr/bin/time -v). Prints a Markdown table and writes it to
# target/bench/results.md.
#
# Usage: bench/compare.sh                (from anywhere; works in the repository)
# Environment:
#   MEMBERS=50000  FILES=20              workload size and split
#   RUNS=5                               timed runs per fast tool (after 1 warm-up)
#   SLOW_RUNS=3                          timed runs of check-jsonschema (~100 s each;
#                                        no warm-up: a 100 s run warms nothing)
#   TOOLS="accord parse parse-parallel ajv-yaml ajv-json check-jsonschema"
#   BENCH_DIR=target/bench               where tools, workloads and results go
# Needs: cargo, python3 (with venv), npm, bc, /usr/bin/time (Debian: `time`);
# hyperfine is used when installed (Debian: `hyperfine`).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${BENCH_DIR:-$ROOT/target/bench}
MEMBERS=${MEMBERS:-50000}
FILES=${FILES:-20}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
TOOLS=${TOOLS:-accord parse parse-parallel ajv-yaml ajv-json check-jsonschema}
ACCORD=$ROOT/target/release/accord
GENERATE=$ROOT/target/release/examples/generate
PARSE_ONLY=$ROOT/target/release/examples/parse_only
SCHEMA=
mkdir -p "$WORK"

say() { printf '== %s\n' "$*" >&2; }

wants() { [[ " $TOOLS " == *" $1 "* ]]; }

build() {
    say "building accord, the generator and the parse-only baseline (release)"
    cargo build --release --quiet --bin accord --example generate --example parse_only
}

# The committed schema; when it is not there yet, the one `accord schema` prints.
schema_file() {
    if [[ -s $ROOT/schemas/accord.schema.json ]]; then
        echo "$ROOT/schemas/accord.schema.json"
    else
        "$ACCORD" schema >"$WORK/accord.schema.json"
        echo "$WORK/accord.schema.json"
    fi
}

install_check_jsonschema() {
    if [[ ! -x $WORK/venv/bin/check-jsonschema ]]; then
        say "installing check-jsonschema (PyPI) into $WORK/venv"
        python3 -m venv "$WORK/venv"
        "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check check-jsonschema
    fi
}

install_ajv() {
    if [[ ! -x $WORK/node/node_modules/.bin/ajv ]]; then
        say "installing ajv-cli and ajv-formats (npm) into $WORK/node"
        mkdir -p "$WORK/node"
        npm install --silent --no-audit --no-fund --prefix "$WORK/node" ajv-cli ajv-formats
    fi
}

# generate DIR FILES [--json]: a fresh workload (the generator refuses a used directory).
generate() {
    local dir=$1 files=$2
    shift 2
    rm -rf "$dir"
    "$GENERATE" --members "$MEMBERS" --files "$files" --out "$dir" "$@"
}

# The command of TOOL on the workload of K files, one word per line (for mapfile).
command_of() {
    local tool=$1 k=$2
    local yaml_dir=$WORK/yaml-$k json_dir=$WORK/json-$k
    case $tool in
    accord) printf '%s\n' "$ACCORD" validate "$yaml_dir" ;;
    parse) printf '%s\n' "$PARSE_ONLY" "$yaml_dir" ;;
    parse-parallel) printf '%s\n' "$PARSE_ONLY" "$yaml_dir" --parallel ;;
    ajv-yaml | ajv-json)
        local dir=$yaml_dir ext=yaml file
        if [[ $tool == ajv-json ]]; then dir=$json_dir ext=json; fi
        printf '%s\n' "$WORK/node/node_modules/.bin/ajv" validate --spec=draft2020 \
            -c ajv-formats -s "$SCHEMA"
        for file in "$dir"/*."$ext"; do printf '%s\n' -d "$file"; done
        ;;
    check-jsonschema)
        printf '%s\n' "$WORK/venv/bin/check-jsonschema" --schemafile "$SCHEMA"
        printf '%s\n' "$yaml_dir"/*.yaml
        ;;
    esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure TOOL K: prints "SECONDS MIB", or "failed" when the tool does not accept
# the workload (its output is then shown: a valid workload must pass everywhere).
measure() {
    local tool=$1 k=$2 log=$WORK/$1-$2.log
    local -a cmd
    mapfile -t cmd < <(command_of "$tool" "$k")
    local runs=$RUNS warmup=1
    if [[ $tool == check-jsonschema ]]; then runs=$SLOW_RUNS warmup=0; fi

    # One run under /usr/bin/time -v: it checks the exit code and gives peak memory.
    if ! /usr/bin/time -v -o "$log.time" "${cmd[@]}" >"$log" 2>&1; then
        say "$tool on $k file(s) FAILED; its output (first lines):"
        head -n 20 "$log" >&2
        echo failed
        return
    fi
    local kib seconds
    kib=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$log.time")

    if command -v hyperfine >/dev/null && ((warmup > 0)); then
        hyperfine --style none --warmup "$warmup" --runs "$runs" \
            --export-json "$log.json" "$(printf '%q ' "${cmd[@]}")" >/dev/null
        seconds=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$log.json")
    else
        local i start end
        local -a times=()
        for ((i = 0; i < warmup + runs; i++)); do
            start=$(date +%s.%N)
            "${cmd[@]}" >/dev/null 2>&1
            end=$(date +%s.%N)
            if ((i >= warmup)); then times+=("$(echo "$end - $start" | bc -l)"); fi
        done
        seconds=$(printf '%s\n' "${times[@]}" | median)
    fi
    printf '%.3f %.0f\n' "$seconds" "$(echo "$kib / 1024" | bc -l)"
}

label() {
    case $1 in
    accord) echo 'accord validate (schema + R01-R10)' ;;
    parse) echo 'saphyr-parser events, parse only (1 thread)' ;;
    parse-parallel) echo 'saphyr-parser events, parse only (1 thread per CPU)' ;;
    ajv-yaml) echo 'ajv-cli + ajv-formats, schema only, YAML input' ;;
    ajv-json) echo 'ajv-cli + ajv-formats, schema only, JSON copy' ;;
    check-jsonschema) echo 'check-jsonschema, schema only' ;;
    esac
}

declare -A result

# table BYTES: the figures, then the goals of issue 2 and PERFORMANCE.md as ratios.
table() {
    local bytes=$1 tool k r
    echo "| tool | 1 file: wall | peak memory | $FILES files: wall | peak memory |"
    echo "|---|---|---|---|---|"
    for tool in $TOOLS; do
        printf '| %s |' "$(label "$tool")"
        for k in 1 "$FILES"; do
            r=${result[$tool,$k]}
            if [[ $r == failed ]]; then printf ' failed | |'; else
                printf ' %s s | %s MiB |' "${r% *}" "${r#* }"
            fi
        done
        echo
    done
    if ! wants accord; then return 0; fi
    echo
    echo "| ratio | 1 file | $FILES files |"
    echo "|---|---|---|"
    if wants parse; then ratio 'accord time / parse-only time (goal <= 1.5)' time parse; fi
    if wants parse-parallel; then ratio 'accord time / parallel parse-only time' time parse-parallel; fi
    ratio "accord peak memory / input bytes (goal <= 10; PERFORMANCE.md: <= 8)" memory "$bytes"
    if wants check-jsonschema; then ratio 'check-jsonschema time / accord time (goal >= 10; PERFORMANCE.md: >= 50)' speedup check-jsonschema; fi
    if wants ajv-yaml; then ratio 'ajv-cli (YAML) time / accord time (goal >= 2)' speedup ajv-yaml; fi
    if wants ajv-json; then ratio 'ajv-cli (JSON) time / accord time' speedup ajv-json; fi
}

# ratio NAME KIND OTHER: one row; KIND is time (accord / OTHER), speedup
# (OTHER / accord) or memory (accord's peak bytes / OTHER, the input size).
ratio() {
    local name=$1 kind=$2 other=$3 k a o line
    line="| $name |"
    for k in 1 "$FILES"; do
        a=${result[accord,$k]}
        o=${result[$other,$k]:-}
        if [[ $a == failed || $o == failed ]]; then line+=" - |"; continue; fi
        case $kind in
        time) line+=" $(printf '%.2f' "$(echo "${a% *} / ${o% *}" | bc -l)") |" ;;
        speedup) line+=" $(printf '%.1f' "$(echo "${o% *} / ${a% *}" | bc -l)") |" ;;
        memory) line+=" $(printf '%.1f' "$(echo "${a#* } * 1048576 / $other" | bc -l)") |" ;;
        esac
    done
    echo "$line"
}

# The versions of what was measured, for the record.
versions() {
    local node=$WORK/node/node_modules parts=()
    parts+=("$(rustc --version | cut -d' ' -f1-2)")
    if wants check-jsonschema; then parts+=("$("$WORK/venv/bin/check-jsonschema" --version)"); fi
    if wants ajv-yaml || wants ajv-json; then
        local package
        for package in ajv-cli ajv ajv-formats; do
            parts+=("$package $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$node/$package/package.json")")
        done
    fi
    if command -v hyperfine >/dev/null; then parts+=("$(hyperfine --version)"); fi
    local joined
    joined=$(printf '%s, ' "${parts[@]}")
    echo "${joined%, }"
}

main() {
    build
    SCHEMA=$(schema_file)
    if wants check-jsonschema; then install_check_jsonschema; fi
    if wants ajv-yaml || wants ajv-json; then install_ajv; fi

    say "generating $MEMBERS members as 1 and $FILES files under $WORK"
    local k tool bytes load
    for k in 1 "$FILES"; do
        generate "$WORK/yaml-$k" "$k"
        if wants ajv-json; then generate "$WORK/json-$k" "$k" --json; fi
    done
    bytes=$(cat "$WORK/yaml-1"/*.yaml | wc -c)
    load=$(cut -d' ' -f1-3 /proc/loadavg)

    for tool in $TOOLS; do
        for k in 1 "$FILES"; do
            say "measuring $tool on $k file(s)"
            result[$tool,$k]=$(measure "$tool" "$k")
        done
    done

    {
        echo "Workload: $MEMBERS members, $bytes bytes of YAML, as 1 file and as $FILES files (bench/generate.rs, seed 1)."
        echo "Machine: $(nproc) CPUs, $(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2 }'); load average before: $load, after: $(cut -d' ' -f1-3 /proc/loadavg)."
        echo "Tools: $(versions)."
        echo "Wall: median of $RUNS runs after 1 warm-up (check-jsonschema: $SLOW_RUNS runs, no warm-up). Memory: peak RSS of one run."
        echo
        table "$bytes"
    } | tee "$WORK/results.md"
    say "written to $WORK/results.md"
}

main "$@"
