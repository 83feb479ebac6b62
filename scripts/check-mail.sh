#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The mails as a maintainer gets them. mail.sh runs with a throwaway sender
# identity, into a scratch out directory: every mail must be From: that
# sender, every patch authored and signed by it (once), and nothing of the
# series' placeholder identity may be left. Then what a maintainer does:
# b4 am on series.mbox and git am onto the base, which must give the tree
# of build/linux's HEAD, with the sender as the author of every commit.
# Without an identity, mail.sh must refuse.
#
# mail.sh takes the sender from git config, from whichever scope holds it,
# the clone's own .git/config too. Here only the identity this check gives
# counts, wherever the user keeps theirs, and nothing of theirs is
# touched: no system or global config, and user.name and user.email set in
# the command scope (GIT_CONFIG_COUNT, as git -c does), which git reads
# after every config file. The refusal is tried twice: with no identity
# anywhere (GIT_CONFIG=/dev/null: git config reads that empty file alone;
# no other git command heeds it), and with user.name and user.email set to
# nothing over the user's (mail.sh counts an empty one as none).
. "$(dirname "$0")/lib.sh"

require_linux
wt=$BUILD/b4-check
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; lgit worktree remove -f "$wt" >/dev/null 2>&1 || true' EXIT

name="Throwaway Sender" email="throwaway-sender@example.org"
# sender NAME EMAIL CMD...: CMD with that git identity and no other. An
# outer git -c (GIT_CONFIG_PARAMETERS, read after it) and GIT_CONFIG (git
# config would read that file alone) are dropped.
sender() {
	env -u GIT_CONFIG_PARAMETERS -u GIT_CONFIG \
		HOME="$tmp" GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0="$1" \
		GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1="$2" "${@:3}"
}
# refuses WHAT CMD...: git config, run through CMD, gives no identity, and
# mail.sh, run through CMD, writes no mails and says why.
refuses() {
	local what=$1
	shift
	[ -z "$("$@" git -C "$TOP" config user.name)$("$@" git -C "$TOP" config user.email)" ] ||
		die "git config gives an identity even $what: the user's is not hidden"
	if "$@" OUT="$tmp/none" "$TOP/scripts/mail.sh" >"$tmp/none.log" 2>&1; then
		die "mail.sh wrote mails without a sender identity ($what)"
	fi
	grep -q 'no sender' "$tmp/none.log" ||
		{ cat "$tmp/none.log" >&2; die "mail.sh failed $what without saying why"; }
}
refuses "with none configured anywhere" sender '' '' env GIT_CONFIG=/dev/null
refuses "with user.name and user.email set to nothing" sender '' ''

out=$tmp/out
sender "$name" "$email" OUT="$out" "$TOP/scripts/mail.sh" >"$tmp/mail.log" 2>&1 ||
	{ cat "$tmp/mail.log" >&2; die "mail.sh failed with a sender identity"; }

n=$(lgit rev-list --count "$BASE_TAG..HEAD")
for p in "$out"/[0-9][0-9][0-9][0-9]-*.patch; do
	grep -q -F -e "$SERIES_AUTHOR_NAME" -e "$SERIES_AUTHOR_EMAIL" "$p" &&
		die "${p##*/} still carries the placeholder identity"
	[ "$(grep -m1 '^From: ' "$p")" = "From: $name <$email>" ] ||
		die "${p##*/} is not From: the sender"
	case "${p##*/}" in 0000-cover-letter.patch) continue ;; esac
	[ "$(grep -c '^Signed-off-by: ' "$p")" = 1 ] &&
		grep -q -x -F "Signed-off-by: $name <$email>" "$p" ||
		die "${p##*/} is not signed off by the sender alone"
done

lgit worktree remove -f "$wt" >/dev/null 2>&1 || rm -rf "$wt"
lgit worktree prune
lgit worktree add -q --detach "$wt" "$BASE_TAG"
# A clean HOME, and an identity b4 insists on, as a maintainer's would be.
# The mbox goes in on stdin: b4 0.12 parses a named mbox file with the
# compat32 policy and then trips over folded Subject: lines; messages
# fetched from lore, like stdin, are parsed with its own policy.
(cd "$wt" && env HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_COUNT=2 \
	GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=maintainer \
	GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=maintainer@example.org \
	b4 --offline-mode -n am -m - -o "$tmp" -n series \
	<"$out/series.mbox" >"$tmp/b4.log" 2>&1) || { cat "$tmp/b4.log" >&2; die "b4 am failed on series.mbox"; }
[ -s "$tmp/series.mbx" ] || { cat "$tmp/b4.log" >&2; die "b4 am wrote no series.mbx"; }
(cd "$wt" && env HOME="$tmp" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_COUNT=2 \
	GIT_CONFIG_KEY_0=user.name GIT_CONFIG_VALUE_0=maintainer \
	GIT_CONFIG_KEY_1=user.email GIT_CONFIG_VALUE_1=maintainer@example.org \
	git am -q "$tmp/series.mbx") || die "git am of b4's series.mbx does not apply to $BASE_TAG"
want=$(lgit rev-parse 'HEAD^{tree}')
got=$(git -C "$wt" rev-parse 'HEAD^{tree}')
[ "$want" = "$got" ] || die "b4 am + git am gives tree $got, build/linux has $want"
authors=$(git -C "$wt" log --format='%an <%ae>' "$BASE_TAG..HEAD" | sort -u)
[ "$authors" = "$name <$email>" ] ||
	die "b4 am + git am gives commits by $authors, not by the sender"
[ "$(git -C "$wt" rev-list --count "$BASE_TAG..HEAD")" = "$n" ] ||
	die "b4 am + git am gives another number of commits than $n"
echo "mail: $n patches from, by and signed off by the sender; b4 am + git am gives build/linux's tree"
