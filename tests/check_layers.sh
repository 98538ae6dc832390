#!/bin/sh
# The layering of the source tree (HACKING.md "Layout"): every `#include "..."` of
# core/ and backends/ names a header that exists at core/HEADER or backends/HEADER
# (folder-qualified), and an area includes only itself and the areas its line of the
# table below allows. Prints FILE:LINE: AREA may not include AREA2 (HEADER) for each
# break of the rule.
#
#   tests/check_layers.sh --tree DIR   check the tree at DIR; status 1 on any violation
#   tests/check_layers.sh              (make check) TAP: the source tree, then the check
#                                      itself on small broken trees
#
# A file's area is its folder: core/X, backends/cpu, backends/ane/X, backends/ane-X.
# One line per area: the area (a shell pattern), then what it may include besides
# itself (shell patterns). A new area is one new line. A known violation that needs
# more than an include fix gets an `except FILE HEADER` line with a comment saying why.
layer_table='
core/base
core/config           core/base
core/data             core/base core/config
core/formats          core/base core/config core/data
core/dispatch         core/base core/config core/data core/formats
core/infer            core/base core/config core/data core/formats
core/train            core/base core/config core/data core/formats core/dispatch core/infer
core/cli              core/* backends/ane/tool
backends/ane/base     core/base
backends/ane/mil      backends/ane/base core/base
backends/ane/emu      backends/ane/mil backends/ane/base core/base
backends/ane/device   backends/ane/emu backends/ane/mil backends/ane/base core/base
backends/ane/tool     backends/ane/device backends/ane/emu backends/ane/mil backends/ane/base core/base core/dispatch
backends/ane/train    backends/ane/device backends/ane/mil backends/ane/emu backends/ane/base backends/cpu core/base
backends/ane-*        backends/ane/* backends/cpu core/base
backends/cpu          core/base
'

# area_of PATH: the area of a file below the tree's root, or "" if it is in none.
area_of() {
    case "$1" in
        core/*/*) a=${1#core/}; echo "core/${a%%/*}" ;;
        backends/ane/*/*) a=${1#backends/ane/}; echo "backends/ane/${a%%/*}" ;;
        backends/*/*) a=${1#backends/}; echo "backends/${a%%/*}" ;;
        *) echo "" ;;
    esac
}

# The table's lines, comments and blank lines left out.
table() { echo "$layer_table" | sed -e 's/#.*//' -e '/^[[:space:]]*$/d'; }

# has_rule AREA: status 0 if a line of the table is about AREA.
has_rule() {
    table | { while read -r area deps; do
        [ "$area" = except ] && continue
        case "$1" in $area) exit 0 ;; esac
    done; exit 1; }
}

# allowed FROM TO: status 0 if area FROM may include area TO (the first line about
# FROM decides).
allowed() {
    [ "$1" = "$2" ] && return 0
    table | { while read -r area deps; do
        [ "$area" = except ] && continue
        case "$1" in $area) ;; *) continue ;; esac
        for d in $deps; do
            case "$2" in $d) exit 0 ;; esac
        done
        exit 1
    done; exit 1; }
}

# excepted FILE HEADER: status 0 if the table has `except FILE HEADER`.
excepted() {
    table | { while read -r kw file header; do
        [ "$kw" = except ] && [ "$file" = "$1" ] && [ "$header" = "$2" ] && exit 0
    done; exit 1; }
}

# check_tree DIR: print the violations of the tree at DIR; status 1 if any.
check_tree() {
    (cd "$1" || exit 2
     bad=0
     for f in $(find core backends \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
     do
         from=$(area_of "$f")
         if [ -z "$from" ] || ! has_rule "$from"; then
             echo "$f: not in an area of the layering table (tests/check_layers.sh)"
             bad=1
             continue
         fi
         includes=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
                    sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1 \2/')
         while read -r line h; do
             [ -z "$line" ] && continue
             case "$h" in
                 */../*|../*|./*) to="" ;;
                 *) if [ -f "core/$h" ]; then to=$(area_of "core/$h")
                    elif [ -f "backends/$h" ]; then to=$(area_of "backends/$h")
                    else to=""; fi ;;
             esac
             if [ -z "$to" ]; then
                 echo "$f:$line: no such header $h (includes name core/HEADER or backends/HEADER)"
                 bad=1
             elif ! allowed "$from" "$to" && ! excepted "$f" "$h"; then
                 echo "$f:$line: $from may not include $to ($h)"
                 bad=1
             fi
         done <<EOF
$includes
EOF
     done
     exit $bad)
}

if [ "$1" = "--tree" ]; then
    check_tree "$2"
    exit $?
fi

. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
self="${ANETRAIN_SRCDIR:-.}/tests/check_layers.sh"

check_tree "${ANETRAIN_SRCDIR:-.}" > "$tmp/src.out"
ok $? "the source tree keeps the layering and names only existing headers"
[ -s "$tmp/src.out" ] && diag "$(cat "$tmp/src.out")"

# The check on trees made to break it, each message compared with the expected one.
mkdir -p "$tmp/t/core/base" "$tmp/t/core/config" "$tmp/t/backends/cpu"
printf '/* a */\n#include <stdio.h>\n#include "base/a.h"\n' > "$tmp/t/core/base/a.c"
printf '#include "base/a.h"\n#include "config/c.h"\n' > "$tmp/t/core/config/c.h"
printf '/* fine */\n' > "$tmp/t/core/base/a.h"
sh "$self" --tree "$tmp/t" > "$tmp/t.out"
ok $? "a tree with only allowed includes passes"
[ -s "$tmp/t.out" ] && diag "$(cat "$tmp/t.out")"

printf '#include "base/a.h"\n\n  # include "config/c.h"  /* no */\n' >> "$tmp/t/core/base/a.h"
sh "$self" --tree "$tmp/t" > "$tmp/t.out"
test $? -ne 0
ok $? "an include against the layering fails the check"
test "$(cat "$tmp/t.out")" = "core/base/a.h:4: core/base may not include core/config (config/c.h)"
ok $? "and names the file, the line, both areas and the header"
[ -s "$tmp/t.out" ] && diag "$(cat "$tmp/t.out")"

printf '/* fine */\n' > "$tmp/t/core/base/a.h"
printf '#include "base/a.h"\n#include "cpu/gone.h"\n#include "../core/base/a.h"\n' \
    > "$tmp/t/backends/cpu/ops.c"
sh "$self" --tree "$tmp/t" > "$tmp/t.out"
test $? -ne 0 &&
test "$(cat "$tmp/t.out")" = "backends/cpu/ops.c:2: no such header cpu/gone.h (includes name core/HEADER or backends/HEADER)
backends/cpu/ops.c:3: no such header ../core/base/a.h (includes name core/HEADER or backends/HEADER)"
ok $? "a stale include and a relative one are named with their line"
[ -s "$tmp/t.out" ] && diag "$(cat "$tmp/t.out")"

rm "$tmp/t/backends/cpu/ops.c"
printf '/* loose */\n' > "$tmp/t/core/loose.c"
mkdir -p "$tmp/t/core/nowhere" && printf '\n' > "$tmp/t/core/nowhere/x.c"
sh "$self" --tree "$tmp/t" > "$tmp/t.out"
test $? -ne 0 &&
test "$(cat "$tmp/t.out")" = "core/loose.c: not in an area of the layering table (tests/check_layers.sh)
core/nowhere/x.c: not in an area of the layering table (tests/check_layers.sh)"
ok $? "a file outside every area of the table is named"
[ -s "$tmp/t.out" ] && diag "$(cat "$tmp/t.out")"
tap_done
