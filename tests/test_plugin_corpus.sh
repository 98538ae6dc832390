#!/bin/sh
# Hostile files in the plugin folder: truncated at several offsets, empty, another
# machine, another ELF class, not ELF at all, a folder named like a module, and a
# module with an undefined symbol. Each is refused with its own reason (not "file not
# found", not a crash), the good module beside them still loads, and training works.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
dir="$tmp/plugins"
mkdir "$dir"
cpu="$ANETRAIN_BUILDDIR/backends/.libs/ant_cpu.so"
undef="$ANETRAIN_BUILDDIR/tests/hostile/.libs/ant_test_undefined.so"
byte() { od -A n -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }   # byte FILE OFFSET

if [ ! -f "$cpu" ] || [ "$(od -A n -c -N 4 "$cpu" | tr -d ' ')" != '177ELF' ]; then
    echo "1..0 # SKIP the modules here are not ELF shared objects"
    exit 0
fi
size=$(wc -c < "$cpu")
cp "$cpu" "$dir/ant_cpu.so"
cp "$undef" "$dir/ant_test_undefined.so"
: > "$dir/ant_empty.so"
head -c 16 "$cpu" > "$dir/ant_cut16.so"        # inside the ELF header
head -c 100 "$cpu" > "$dir/ant_cut100.so"      # inside the program headers
# inside the last loaded segment (what made dlopen die of SIGBUS); without readelf, at
# half the size (then possibly among the debug sections: refused all the same)
seg_end=$(readelf -lW "$cpu" 2>/dev/null | awk '$1 == "LOAD" { print $2, $5 }' |
          while read off len; do echo $((off + len)); done | sort -n | tail -n 1)
head -c $((${seg_end:-$((size + 100))} - 100)) "$cpu" > "$dir/ant_cutseg.so"
head -c $((size - 100)) "$cpu" > "$dir/ant_cutend.so"  # inside the section headers
cp "$cpu" "$dir/ant_othermachine.so"   # e_machine (offset 18): x86-64 62 <-> aarch64 183
if [ "$(byte "$cpu" 18)" = 62 ]; then other='\267'; othername=aarch64; else other='\076'; othername=x86-64; fi
printf "$other" | dd of="$dir/ant_othermachine.so" bs=1 seek=18 conv=notrunc 2>/dev/null
cp "$cpu" "$dir/ant_class32.so"        # EI_CLASS (offset 4): 1 = 32-bit
printf '\001' | dd of="$dir/ant_class32.so" bs=1 seek=4 conv=notrunc 2>/dev/null
printf 'not a module\n' > "$dir/ant_text.so"
mkdir "$dir/ant_folder.so"

"$ANETRAIN" backends --plugin-path "$dir" > "$tmp/out" 2> "$tmp/err"
st=$?
ok $([ $st -eq 0 ]; echo $?) "anetrain backends survives the hostile folder (exit $st)"
refused() {   # refused MODULE PATTERN: its REFUSED line gives that reason
    grep -A1 "$dir/$1\$" "$tmp/out" | grep -q -E "REFUSED: .*$2"
    ok $? "$1: refused: $2"
    grep -A1 "$dir/$1\$" "$tmp/out" | grep -q -E "REFUSED: .*$2" || diag "$(grep -A1 "$dir/$1\$" "$tmp/out")"
}
refused ant_empty "is empty"
refused ant_cut16 "truncated: 16 bytes, an ELF header needs"
refused ant_cut100 "truncated: the program headers end past the file's 100 bytes"
if [ -n "$seg_end" ]; then
    refused ant_cutseg "truncated: segment [0-9]+ needs bytes"
else
    refused ant_cutseg "truncated"
fi
refused ant_cutend "truncated: the section headers end past"
refused ant_othermachine "built for $othername"
refused ant_class32 "a 32-bit ELF object"
refused ant_text "no ELF magic"
refused ant_folder "is a folder"
refused ant_test_undefined "undefined symbol: ant_test_no_such_function"
[ "$(grep -c REFUSED "$tmp/out")" -eq 10 ]
ok $? "ten refusals, one per hostile file"
! grep -q -i "file not found" "$tmp/out" "$tmp/err"
ok $? "no refusal says 'file not found'"
grep -A1 "^  cpu  *$dir/ant_cpu\$" "$tmp/out" | sed -n 2p | grep -q "ABI 1"
ok $? "the good module in the same folder loads"

small_config "$tmp/small.cfg" 3
"$ANETRAIN" train --config "$tmp/small.cfg" --plugin-path "$dir" --ckpt "$tmp/t.ckpt" \
    > "$tmp/train.out" 2>&1 &&
    "$ANETRAIN" eval --config "$tmp/small.cfg" --ckpt "$tmp/t.ckpt" --batches 1 \
    --plugin-path "$dir" 2>/dev/null | grep -q -E "loss [0-9]"
ok $? "training and eval work beside the hostile folder"
grep -q "using backend cpu ($dir/ant_cpu)" "$tmp/train.out"
ok $? "with the folder's own CPU module"
tap_done
