#!/bin/sh
# The plugin kit as an outsider uses it: install only the headers and the .pc file
# (automake's own install rules, into a DESTDIR), build plugins/example with its
# standalone Makefile through pkg-config, drop the module into a folder of its own,
# and check that anetrain finds it, self-tests it and trains with it.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
dest="$tmp/dest"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -s -C "$ANETRAIN_BUILDDIR" \
    DESTDIR="$dest" install-anetrainincludeHEADERS install-pkgconfigDATA > "$tmp/install.log" 2>&1
ok $? "headers and anetrain-plugin.pc install into a DESTDIR"
pc=$(find "$dest" -name anetrain-plugin.pc | head -n 1)
test -n "$pc" && test -f "$(dirname "$pc")/../../include/anetrain/backend.h"
ok $? "installed: ${pc#$dest}"

# The outsider's build: nothing from the source tree but the example's two files.
mkdir "$tmp/kit" "$tmp/plugins"
cp "$ANETRAIN_SRCDIR/plugins/example/ant_example.c" "$ANETRAIN_SRCDIR/plugins/example/Makefile" "$tmp/kit/"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL PKG_CONFIG_PATH="$(dirname "$pc")" \
    PKG_CONFIG_SYSROOT_DIR="$dest" ${MAKE:-make} -C "$tmp/kit" > "$tmp/build.log" 2>&1
ok $? "the example builds with its Makefile and pkg-config"
grep -q -- "-I$dest" "$tmp/build.log"
ok $? "it compiled against the installed headers"
diag "$(grep ant_example.c "$tmp/build.log")"
cp "$tmp/kit/ant_example.so" "$tmp/plugins/"

"$ANETRAIN" backends --plugin-path "$tmp/plugins" > "$tmp/backends.out" 2>&1
ok $? "anetrain backends runs"
grep -q "^  example  *$tmp/plugins/ant_example" "$tmp/backends.out" &&
grep -q "probe on none: accepts, priority 1" "$tmp/backends.out" &&
grep -q "setting log_every (int, default 0)" "$tmp/backends.out"
ok $? "the dropped-in module is discovered with its probe and settings"
grep -q "^auto would choose now: cpu" "$tmp/backends.out"
ok $? "auto still picks cpu (the example's priority 1 is below cpu's 10)"

"$ANETRAIN" doctor --plugin-path "$tmp/plugins" > "$tmp/doctor.out" 2>&1
ok $? "anetrain doctor passes"
grep "^  example  *ok: .* vs cpu" "$tmp/doctor.out" > /dev/null
ok $? "doctor self-tests the example against the CPU backend"
diag "$(grep -A3 '^self-test' "$tmp/doctor.out")"

# Train with it, and with the CPU: same math, so nearly the same losses.
cfg="$tmp/small.cfg"
small_config "$cfg" 6
"$ANETRAIN" train --config "$cfg" --plugin-path "$tmp/plugins" --backend example \
    --ckpt "$tmp/ex.ckpt" > "$tmp/ex.out" 2>&1
ok $? "anetrain train --backend example"
grep -q "^backend: example" "$tmp/ex.out" && grep -q "^backend switches: 0" "$tmp/ex.out"
ok $? "trained on the example, no switch"
"$ANETRAIN" train --config "$cfg" --backend cpu --ckpt "$tmp/cpu.ckpt" > "$tmp/cpu.out" 2>&1
ok $? "the same run on cpu"
a=$(sed -n 's/^loss *\([0-9.]*\) -> \([0-9.]*\)$/\2/p' "$tmp/ex.out")
b=$(sed -n 's/^loss *\([0-9.]*\) -> \([0-9.]*\)$/\2/p' "$tmp/cpu.out")
echo "$a $b" | awk '{ d = $1 - $2; if (d < 0) d = -d; exit !(NF == 2 && d <= 1e-3 * $2) }'
ok $? "final loss example $a vs cpu $b (within 0.1%)"
tap_done
