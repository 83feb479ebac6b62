#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch the pinned base (Debian's linux-source-7.3 .deb) with apt through the
# mirror this machine is already configured for and verify its SHA256.
# Cached under build/base; prints the path of the .deb.
#
# A private apt configuration under build/apt keeps the machine's own apt
# state untouched; the mirror URI is read from the machine's apt sources.
. "$(dirname "$0")/lib.sh"

APTDIR=$BUILD/apt
DEB=$BUILD/base/${BASE_PKG}_${BASE_VERSION}_all.deb

mirror_uri() {
	# deb822 sources first, then one-line sources; the first Debian
	# archive URI (not -security) wins.
	local f uri
	for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
		 /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		case "$f" in
		*.sources)
			uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f") ;;
		*)
			uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' "$f") ;;
		esac
		uri=$(printf '%s\n' "$uri" | grep -v -e '-security' -e 'security\.' | grep '/debian/\?$' | head -n 1 || true)
		if [ -n "$uri" ]; then
			echo "${uri%/}"
			return 0
		fi
	done
	return 1
}

fetch_deb() {
	local uri arch
	uri=$(mirror_uri) || die "cannot fetch the base: no Debian mirror URI in this machine's apt sources"
	arch=$(dpkg --print-architecture)
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$(dirname "$DEB")"
	: >"$APTDIR/status"
	# binary-all indexes on some mirrors lag behind the per-arch ones;
	# Architecture: all packages are listed in both, so ask for one arch.
	cat >"$APTDIR/sources.list" <<-EOS
	deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $BASE_SUITE main
	EOS
	cat >"$APTDIR/apt.conf" <<-EOS
	Dir::Etc::sourcelist "$APTDIR/sources.list";
	Dir::Etc::sourceparts "/nonexistent";
	Dir::State "$APTDIR";
	Dir::State::lists "$APTDIR/lists";
	Dir::State::status "$APTDIR/status";
	Dir::Cache "$APTDIR/cache";
	APT::Sandbox::User "root";
	EOS
	export APT_CONFIG=$APTDIR/apt.conf
	note "fetching $BASE_PKG $BASE_VERSION ($BASE_SUITE) from the configured mirror"
	apt-get -q update >"$APTDIR/update.log" 2>&1 ||
		die "cannot fetch the base: apt-get update of $BASE_SUITE failed (see $APTDIR/update.log)"
	(cd "$(dirname "$DEB")" &&
	 apt-get -q download "$BASE_PKG=$BASE_VERSION" >"$APTDIR/download.log" 2>&1) ||
		die "cannot fetch the base: $BASE_PKG=$BASE_VERSION is not available from $BASE_SUITE (see $APTDIR/download.log)"
	# apt names the file with the epoch-less, URL-encoded version.
	local got
	got=$(ls "$(dirname "$DEB")"/${BASE_PKG}_*_all.deb 2>/dev/null | head -n 1)
	[ -n "$got" ] || die "cannot fetch the base: apt reported success but left no .deb"
	[ "$got" = "$DEB" ] || mv "$got" "$DEB"
}

[ -f "$DEB" ] || fetch_deb
echo "$BASE_SHA256  $DEB" | sha256sum -c --quiet - >/dev/null 2>&1 || {
	rm -f "$DEB"
	die "cannot use the base: $DEB does not have SHA256 $BASE_SHA256 (removed; retry)"
}

echo "$DEB"
