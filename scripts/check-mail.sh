#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What a maintainer does with the series: b4 am on out/series.mbox, then
# git am onto the base. The result must be the tree of build/linux's HEAD.
. "$(dirname "$0")/lib.sh"

require_linux
[ -f "$OUT/series.mbox" ] || die "no $OUT/series.mbox: run 'make' (scripts/mail.sh) first"
wt=$BUILD/b4-check
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; lgit worktree remove -f "$wt" >/dev/null 2>&1 || true' EXIT

lgit worktree remove -f "$wt" >/dev/null 2>&1 || rm -rf "$wt"
lgit worktree prune
lgit worktree add -q --detach "$wt" "$BASE_TAG"
# A clean HOME, and an identity b4 insists on, as a maintainer's would be.
# The mbox goes in on stdin: b4 0.12 parses a named mbox file with the
# compat32 policy and then trips over folded Subject: lines; messages
# fetched from lore, like stdin, are parsed with its own policy.
export HOME=$tmp GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_COUNT=2 \
	GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=maintainer \
	GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=maintainer@example.org
(cd "$wt" && b4 --offline-mode -n am -m - -o "$tmp" -n series \
	<"$OUT/series.mbox" >"$tmp/b4.log" 2>&1) || { cat "$tmp/b4.log" >&2; die "b4 am failed on $OUT/series.mbox"; }
[ -s "$tmp/series.mbx" ] || { cat "$tmp/b4.log" >&2; die "b4 am wrote no series.mbx"; }
n=$(grep -c '^From: ' "$tmp/series.mbx")
(cd "$wt" && git am -q "$tmp/series.mbx") || die "git am of b4's series.mbx does not apply to $BASE_TAG"
want=$(lgit rev-parse 'HEAD^{tree}')
got=$(git -C "$wt" rev-parse 'HEAD^{tree}')
[ "$want" = "$got" ] || die "b4 am + git am gives tree $got, build/linux has $want"
# Whoever sent the mails, every commit keeps its author (in-body From:).
[ "$(lgit log --format='%an <%ae>' "$BASE_TAG..HEAD")" = \
  "$(git -C "$wt" log --format='%an <%ae>' "$BASE_TAG..HEAD")" ] ||
	die "b4 am + git am gives commits of other authors than build/linux's"
echo "b4 am: $n patches apply to $BASE_TAG and give build/linux's tree and authors"
