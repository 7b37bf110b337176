#!/bin/sh
# Builds libgort, compiles examples/preemption_demo.c and runs it: 8
# goroutines in call-free loops on 2 Ps, first without asynchronous
# preemption (they starve), then with it (they share the CPU). The
# preemptive run writes an execution trace, turned into an HTML timeline.
#
#   examples/run-demo.sh [--seconds S] [--hogs N] [--procs P] [--ascii]
#
# Needs the Rust toolchain, a C compiler (cc, or $CC) and python3 (for the
# HTML only). Output goes to target/demo/ ($CARGO_TARGET_DIR/demo if set).
# The test suite (tests/examples.rs) sets GORT_LIB_DIR (use the libgort.so
# there instead of running cargo) and GORT_DEMO_OUT (the output directory).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
out=${GORT_DEMO_OUT:-$target/demo}

if [ -n "${GORT_LIB_DIR:-}" ]; then
    lib=$GORT_LIB_DIR
else
    echo "==> cargo build --release"
    (cd "$root" && cargo build --release --lib)
    lib=$target/release
fi

echo "==> ${CC:-cc} -O2 -pthread examples/preemption_demo.c"
mkdir -p "$out"
${CC:-cc} -O2 -pthread -I"$root/include" "$root/examples/preemption_demo.c" -o "$out/preemption_demo" \
    -L"$lib" -Wl,-rpath,"$lib" -lgort

rm -f "$out/trace.json" "$out/trace.html"
echo
GORTTRACE=$out/trace.json "$out/preemption_demo" "$@"

if command -v python3 >/dev/null 2>&1; then
    python3 "$root/tools/trace2html.py" "$out/trace.json" "$out/trace.html" \
        --title "gort preemption demo (with preemption)" >/dev/null
    echo "Timeline (open in a browser):  $out/trace.html"
else
    echo "(python3 not found: no HTML timeline; $out/trace.json opens in https://ui.perfetto.dev)"
fi
