#!/usr/bin/env bash
# End-to-end check of gort's packaging, as a downstream user meets it:
#   1. build and install gort with CMake exactly as the README says: default
#      build type, default compiler, no options (no test programs built);
#   2. a developer build of the same tree: the C/C++ tests with -Werror
#      (GORT_BUILD_TESTS, GORT_WARNINGS_AS_ERRORS), registered with CTest as
#      their headers ask (as many as GORT_EXPECT_CTESTS), a few of them run;
#      installed with --prefix over a decoy CMAKE_INSTALL_PREFIX;
#   3. build tests/consumer with find_package(gort) -- shared and static,
#      C and C++ -- and run the programs;
#   4. build the consumer programs with `pkg-config --cflags --libs gort`
#      and, statically, `gort-static` (readelf: no libgort.so) and run them.
#
# Usage: tests/consumer/run.sh [WORK_DIR]
#   WORK_DIR  scratch directory (default: a new temporary one). Reusing one
#             keeps its cargo build: a rerun takes seconds, not a minute.
# Environment:
#   CARGO               cargo to build with (default: the one on PATH)
#   CC, CXX             compilers, as CMake reads them
#   GORT_CTEST_ARGS     if set, `ctest $GORT_CTEST_ARGS` in the developer
#                       build (e.g. "-L cpp" or "-R chan_")
#   GORT_EXPECT_CTESTS  if set, the number of tests CTest must have registered
#                       (tests/cmake.rs counts the runs the C harness makes of
#                       c-tests/, from the same `// env:` lines)
# Needs cmake (3.16+), pkg-config, a C and a C++ compiler, readelf.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/gort-consumer.XXXXXX")}
mkdir -p "$work"
work=$(cd "$work" && pwd)
build=$work/build
dev=$work/dev-build
prefix=$work/prefix
consumer=$work/consumer-build
jobs=$(nproc 2>/dev/null || echo 2)
rm -rf "$prefix" "$work/dev-prefix" "$consumer" "$work/pkg-config"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
run() { printf '+ %s\n' "$*"; "$@"; }

version=$(sed -n 's/^version[[:space:]]*=[[:space:]]*"\([0-9.]*\)".*/\1/p' "$src/Cargo.toml" | head -n 1)
[ -n "$version" ] || fail "no version in Cargo.toml"

step "gort $version as the README builds and installs it ($src)"
run cmake -S "$src" -B "$build"
run cmake --build "$build"
[ ! -e "$build/c-tests" ] || fail "the default build built the test programs"
run cmake --install "$build" --prefix "$prefix"
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
for f in "$libdir/libgort.so" "$libdir/libgort.a" "$prefix/include/gort.h" "$prefix/include/gort.hpp" \
    "$libdir/pkgconfig/gort.pc" "$libdir/pkgconfig/gort-static.pc" "$libdir/cmake/gort/gortConfig.cmake" \
    "$libdir/cmake/gort/gortConfigVersion.cmake"; do
    [ -f "$f" ] || fail "not installed: $f"
done
soname=$(readelf -d "$libdir/libgort.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libgort.so ] || fail "installed libgort.so has soname '$soname', expected libgort.so"
echo "installed; soname $soname"

step "developer build: the C/C++ tests with -Werror (cargo's output shared with the build above)"
# The configured prefix is a decoy: installing with --prefix must still
# produce pkg-config files and a gortConfig.cmake that point at the real one.
run cmake -S "$src" -B "$dev" -DGORT_BUILD_TESTS=ON -DGORT_WARNINGS_AS_ERRORS=ON \
    -DGORT_CARGO_TARGET_DIR="$build/cargo" -DCMAKE_INSTALL_PREFIX="$work/not-the-prefix"
run cmake --build "$dev" --parallel "$jobs"
if [ -n "${GORT_EXPECT_CTESTS:-}" ]; then
    registered=$(cd "$dev" && ctest -N | sed -n 's/^Total Tests: \([0-9]*\)$/\1/p')
    echo "tests registered: $registered, runs the C harness makes of c-tests/: $GORT_EXPECT_CTESTS"
    [ "$registered" = "$GORT_EXPECT_CTESTS" ] || fail "ctest registered $registered tests, expected $GORT_EXPECT_CTESTS"
fi
if [ -n "${GORT_CTEST_ARGS:-}" ]; then
    # shellcheck disable=SC2086  # word splitting intended
    (cd "$dev" && run ctest --output-on-failure $GORT_CTEST_ARGS)
fi
run cmake --install "$dev" --prefix "$work/dev-prefix"
if grep -rq "not-the-prefix" "$work/dev-prefix"/*/pkgconfig "$work/dev-prefix"/*/cmake/gort/; then
    fail "installed files name the configure-time prefix instead of the --prefix one"
fi

check_output() {  # program expected-line-start
    local out
    out=$("$1") || fail "$1 exited with status $?"
    echo "$out"
    case $out in "$2"*) ;; *) fail "$1 printed '$out'" ;; esac
}
needs_libgort() { readelf -d "$1" | grep -q 'NEEDED.*\[libgort\.so\]'; }

step "consumer with find_package(gort $version)"
run cmake -S "$src/tests/consumer" -B "$consumer" -DCMAKE_PREFIX_PATH="$prefix" -DGORT_EXPECT_VERSION="$version"
run cmake --build "$consumer" --parallel "$jobs"
for lang in c cpp; do
    needs_libgort "$consumer/consumer_${lang}_shared" || fail "consumer_${lang}_shared does not load libgort.so"
    ! needs_libgort "$consumer/consumer_${lang}_static" || fail "consumer_${lang}_static loads libgort.so"
    check_output "$consumer/consumer_${lang}_shared" "consumer.$lang: sum="
    check_output "$consumer/consumer_${lang}_static" "consumer.$lang: sum="
done

step "consumer with pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pcver=$(pkg-config --modversion gort)
[ "$pcver" = "$version" ] || fail "pkg-config says gort $pcver, expected $version"
out=$work/pkg-config
mkdir -p "$out"
# shellcheck disable=SC2046  # word splitting intended
run "${CC:-cc}" "$src/tests/consumer/consumer.c" -o "$out/consumer_c" $(pkg-config --cflags --libs gort)
# shellcheck disable=SC2046
run "${CXX:-c++}" -std=c++17 "$src/tests/consumer/consumer.cpp" -o "$out/consumer_cpp" $(pkg-config --cflags --libs gort)
# A static link, as the README documents it.
# shellcheck disable=SC2046
run "${CC:-cc}" "$src/tests/consumer/consumer.c" -o "$out/consumer_c_static" $(pkg-config --cflags --libs gort-static)
# shellcheck disable=SC2046
run "${CXX:-c++}" -std=c++17 "$src/tests/consumer/consumer.cpp" -o "$out/consumer_cpp_static" \
    $(pkg-config --cflags --libs gort-static)
for lang in c cpp; do
    ! needs_libgort "$out/consumer_${lang}_static" || fail "consumer_${lang}_static (gort-static.pc) loads libgort.so"
done
LD_LIBRARY_PATH=$libdir check_output "$out/consumer_c" "consumer.c: sum="
LD_LIBRARY_PATH=$libdir check_output "$out/consumer_cpp" "consumer.cpp: sum="
check_output "$out/consumer_c_static" "consumer.c: sum="
check_output "$out/consumer_cpp_static" "consumer.cpp: sum="

printf '\nconsumer flow: ok (gort %s; work dir %s)\n' "$version" "$work"
