#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Write the mail-ready series to out/: the cover letter (cover-letter.txt,
# plus shortlog, diffstat and base-commit), one mail per commit, To/Cc from
# the base tree's get_maintainer.pl, and all of it as one mbox (out/series.mbox)
# for b4 am / git am.
#
# The mails are authored and signed by whoever sends them: the identity of
# the git config of whoever runs this (user.name and user.email, as b4
# prep/send use). It takes the place of the series' placeholder identity
# (lib.sh) as the From: of every mail and the author and Signed-off-by of
# every patch. Without a configured identity this stops: it signs as nobody.
# The identity is what `git config user.name` and `git config user.email`
# give in this clone, from any scope: system, global, the clone's own
# .git/config, or for one run the command scope (GIT_CONFIG_COUNT,
# GIT_CONFIG_KEY_<n>, GIT_CONFIG_VALUE_<n> in the environment: what git -c
# gives), which git reads last, over all the others (check-mail.sh uses
# it). An empty user.name or user.email is no identity.
. "$(dirname "$0")/lib.sh"

require_linux
"$TOP/scripts/check-cover-letter.sh"

sender_name=$(git -C "$TOP" config user.name || true)
sender_email=$(git -C "$TOP" config user.email || true)
if [ -z "$sender_name" ] || [ -z "$sender_email" ]; then
	die "no sender: set git config user.name and user.email to whoever sends these mails (they author and sign every patch)"
fi
sender="$sender_name <$sender_email>"
[ "$sender_email" != "$SERIES_AUTHOR_EMAIL" ] || die "the sender is the placeholder identity of lib.sh: set a real one"
note "mails from, authored and signed by $sender"

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
args=()
while read -r a; do [ -n "$a" ] && args+=(--to="$a"); done <<<"$to"
while read -r a; do [ -n "$a" ] && args+=(--cc="$a"); done <<<"$cc"

# Only the mails are replaced: out/ also holds make bench's report.
mkdir -p "$OUT"
rm -f "$OUT"/*.patch "$OUT/series.mbox"
# The placeholder's author line, From: and Signed-off-by become the
# sender's: no in-body From:, one Signed-off-by, the sender's.
lgit format-patch -q --cover-letter --thread=shallow --no-signature \
	--base="$BASE_TAG" --subject-prefix="PATCH v$SERIES_VERSION" "${args[@]}" \
	-o "$OUT" "$BASE_TAG..HEAD" >/dev/null
python3 - "$SERIES_AUTHOR_NAME" "$SERIES_AUTHOR_EMAIL" "$sender_name" "$sender_email" \
	"$OUT"/[0-9][0-9][0-9][0-9]-*.patch <<'PY2'
import email.utils
import sys

pname, paddr, name, addr = sys.argv[1:5]
placeholder = f"{pname} <{paddr}>"
for path in sys.argv[5:]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # The placeholder is plain ASCII: format-patch writes it as it is.
    text = text.replace("From: " + placeholder, "From: " + email.utils.formataddr((name, addr)))
    text = text.replace("Signed-off-by: " + placeholder, f"Signed-off-by: {name} <{addr}>")
    # The cover letter's shortlog: "Placeholder Sender (N):".
    text = text.replace(f"\n{pname} (", f"\n{name} (")
    # Message-Id, In-Reply-To and References carry the committer's address.
    text = text.replace(paddr, addr)
    if pname in text or paddr in text:
        sys.exit(f"{path}: the placeholder identity is left in it")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
PY2

# Put cover-letter.txt into format-patch's template: its Subject, and its
# body in place of the blurb (its base-commit line is format-patch's own).
# Its From: is the sender's already.
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
mail = mail.replace("*** SUBJECT HERE ***", re.sub(r"^\[PATCH (v[0-9]+ )?[0-9]+/[0-9]+\] ", "", subject))
mail = mail.replace("*** BLURB HERE ***", body)
open(dst, "w").write(mail)
PY
cat "$OUT"/*.patch >"$OUT/series.mbox"

echo "mail-ready series ($n patches + cover letter) in $OUT:"
(cd "$OUT" && ls -1 -- *.patch series.mbox)
