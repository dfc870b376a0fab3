# runlib.sh - what the tests of `upager run` share, sourced after
# toollib.sh.  A sanitizer's build of the preload library needs the
# sanitizer's runtime loaded first in a program built without it: up_env
# puts it in LD_PRELOAD (`upager run` adds the preload library after it).
# run_up runs `$U run ARGS...` so.

up_env() {
	sanitized || return 0
	rt=
	grep -q -a __asan_init "$U" && rt=$(${CC:-cc} -print-file-name=libasan.so)
	grep -q -a __tsan_init "$U" && rt=$(${CC:-cc} -print-file-name=libtsan.so)
	export LD_PRELOAD="$rt"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
}

run_up() {
	(up_env && exec "$U" run "$@")
}
