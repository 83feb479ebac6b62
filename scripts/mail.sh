#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Write the mail-ready series to out/: the cover letter (cover-letter.txt,
# plus shortlog, diffstat and base-commit), one mail per commit, To/Cc from
# the base tree's get_maintainer.pl, and all of it as one mbox (out/series.mbox)
# for b4 am / git am.
#
# The mails are sent and signed by the sender: the identity of the git
# config of whoever runs this (user.name and user.email, as b4 prep/send
# use), or, where none is set, the series author of lib.sh. A sender other
# than the author (a maintainer or contributor posting the series) gives
# mails From: the sender with an in-body From: of the author, the author
# in Cc, and the sender's Signed-off-by after the author's on every patch.
. "$(dirname "$0")/lib.sh"

require_linux
"$TOP/scripts/check-cover-letter.sh"

author="$SERIES_AUTHOR_NAME <$SERIES_AUTHOR_EMAIL>"
sender_name=$(git -C "$TOP" config user.name || true)
sender_email=$(git -C "$TOP" config user.email || true)
if [ -z "$sender_name" ] && [ -z "$sender_email" ]; then
	sender_name=$SERIES_AUTHOR_NAME sender_email=$SERIES_AUTHOR_EMAIL
elif [ -z "$sender_name" ] || [ -z "$sender_email" ]; then
	die "git config has only one of user.name and user.email: set both (the sender of the mails) or neither (then the series author sends)"
fi
sender="$sender_name <$sender_email>"
note "mails from $sender$([ "$sender" = "$author" ] || echo ", on behalf of the author $author")"

n=$(lgit rev-list --count "$BASE_TAG..HEAD")
[ "$n" -gt 0 ] || die "no commits on top of $BASE_TAG in $LINUX"

# Recipients for the whole series (as b4 prep --auto-to-cc does): the
# maintainers of every file touched go in To, reviewers and lists in Cc.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lgit format-patch -q --zero-commit --no-signature -o "$tmp" "$BASE_TAG..HEAD" >/dev/null
# get_maintainer.pl looks up the commits of Fixes: tags with git log to Cc
# their authors; the base has no history, so git's complaints about those
# commits are dropped (and nobody is added for them).
gm() {
	(cd "$LINUX" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
		--no-rolestats --no-s --no-multiline --separator=$'\n' "$@" "$tmp"/*.patch \
		2> >(grep -v -e '^fatal: ambiguous argument' -e "^Use '--' to separate" \
			-e "^'git <command>" >&2)) |
		grep -v -F -e "$SERIES_AUTHOR_EMAIL" -e "$sender_email" | sed '/^$/d' | sort -u
}
to=$(gm --no-r --no-l)
cc=$(gm --no-m | grep -v -x -F -e "$to")
[ "$sender" = "$author" ] || cc=$(printf '%s\n%s\n' "$author" "$cc" | sed '/^$/d')
args=()
while read -r a; do [ -n "$a" ] && args+=(--to="$a"); done <<<"$to"
while read -r a; do [ -n "$a" ] && args+=(--cc="$a"); done <<<"$cc"

# Only the mails are replaced: out/ also holds make bench's report.
mkdir -p "$OUT"
rm -f "$OUT"/*.patch "$OUT/series.mbox"
# --from: From: the sender, and an in-body From: where the author differs.
lgit format-patch -q --cover-letter --thread=shallow --no-signature \
	--base="$BASE_TAG" --subject-prefix=PATCH --from="$sender" "${args[@]}" \
	-o "$OUT" "$BASE_TAG..HEAD" >/dev/null
# The sender signs every patch, after the author's Signed-off-by (once: not
# again where the sender's is already the last trailer).
for p in "$OUT"/[0-9][0-9][0-9][0-9]-*.patch; do
	case "${p##*/}" in 0000-cover-letter.patch) continue ;; esac
	lgit interpret-trailers --in-place --where end --if-exists addIfDifferentNeighbor \
		--if-missing add --trailer "Signed-off-by: $sender" "$p"
done

# Put cover-letter.txt into format-patch's template: its Subject, and its
# body in place of the blurb (its base-commit line is format-patch's own).
# format-patch writes the cover letter From: the committer: make it the
# sender's.
cover=$(ls "$OUT"/0000-cover-letter.patch)
python3 - "$TOP/cover-letter.txt" "$cover" "$sender_name" "$sender_email" <<'PY'
import email.utils
import re
import sys

src, dst, name, addr = sys.argv[1:5]
text = open(src).read()
head, _, body = text.partition("\n\n")
subject = re.search(r"^Subject: (.*)$", head, re.M).group(1)
body = re.sub(r"\n*^base-commit: .*\n*", "\n", body, flags=re.M).strip("\n")
mail = open(dst).read()
head, sep, rest = mail.partition("\n\n")
head = re.sub(r"^From: .*(\n[ \t].*)*$", lambda _: "From: " + email.utils.formataddr((name, addr)),
              head, count=1, flags=re.M)
mail = head + sep + rest
mail = mail.replace("*** SUBJECT HERE ***", re.sub(r"^\[PATCH [0-9]+/[0-9]+\] ", "", subject))
mail = mail.replace("*** BLURB HERE ***", body)
open(dst, "w").write(mail)
PY
cat "$OUT"/*.patch >"$OUT/series.mbox"

echo "mail-ready series ($n patches + cover letter) in $OUT:"
(cd "$OUT" && ls -1 -- *.patch series.mbox)
