#!/bin/sh
# `make install` (issue 12): PREFIX and DESTDIR put the binary in bin/ and
# the man page in share/man/man1/; the installed herald runs from any
# directory, and man(1) renders the installed page.
set -eu
: "${HERALD_SRC:?}" "${HERALD_BUILD:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

make -s -C "$HERALD_SRC" install BUILD="$HERALD_BUILD" PREFIX=/opt/herald \
	DESTDIR="$tmp/stage" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "make install"; }
bin="$tmp/stage/opt/herald/bin/herald"
man="$tmp/stage/opt/herald/share/man/man1/herald.1"
[ -x "$bin" ] || fail "no executable at $bin"
[ -f "$man" ] || fail "no man page at $man"
(cd "$tmp" && "$bin" --version) | grep -q '^herald ' || fail "installed herald --version"
if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man -l "$man" 2>/dev/null | grep -q 'CONFIGURATION' ||
		fail "the installed man page has no CONFIGURATION section"
fi
echo "ok: installed into DESTDIR/opt/herald"
