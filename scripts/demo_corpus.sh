#!/usr/bin/env bash
# Builds the `make demo` fine-tuning corpus from a real text collection: the Debian `fortunes`
# package (/usr/share/games/fortunes/<category>, entries separated by lines holding only "%").
#
#   bash scripts/demo_corpus.sh OUT_DIR
#
# writes OUT_DIR/train.tsv and OUT_DIR/eval.tsv (`text<TAB>category`) and OUT_DIR/labels.txt (the 13
# category names, one per line, in the order below: label index = line number - 1).
#
# Categories: 13 (as many as the seed config's labels), chosen for a distinct subject and enough
# entries of at most MAX_CHARS characters (counts from fortunes 1:1.99.1-7.3, Debian 12):
#   computers 868, definitions 1152, politics 657, science 536, songs-poems 536, men-women 529,
#   zippy 546, work 570, art 420, linux 325, literature 235, startrek 226, food 173.
# Left out: the generic quote collections (cookie, fortunes, people, wisdom, platitudes,
# miscellaneous, knghtbrd), which share no subject, and the small ones (< 150 entries).
#
# Each entry becomes one line: overstrike sequences ("_\bx") reduced to the struck character,
# other control characters dropped, whitespace (tabs, newlines) collapsed to one space, trimmed.
# Entries that end up empty or longer than MAX_CHARS (default 400) are dropped, as are exact
# duplicates (the first occurrence wins, so no text is in both train and eval). A category with
# more than CAP (default 400) entries keeps CAP of them spread evenly over the file. Of the kept
# entries of each category, every EVAL_EVERY-th (default 5th: the 5th, 10th, ...) goes to eval.
# Both files interleave the categories round-robin. No randomness: the output depends only on
# the installed files. Plain bash + awk.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: bash scripts/demo_corpus.sh OUT_DIR" >&2
  exit 2
fi
OUT=$1
SRC=${FORTUNES_DIR:-/usr/share/games/fortunes}
CAP=${CAP:-400}
MAX_CHARS=${MAX_CHARS:-400}
EVAL_EVERY=${EVAL_EVERY:-5}
CATEGORIES=(computers definitions politics science songs-poems men-women zippy work art linux literature startrek food)

if [[ ! -d $SRC ]]; then
  echo "demo_corpus: $SRC is missing: install the Debian package fortunes (apt-get install fortunes)" >&2
  exit 1
fi
files=()
for c in "${CATEGORIES[@]}"; do
  if [[ ! -r $SRC/$c ]]; then
    echo "demo_corpus: $SRC/$c is missing: install the Debian package fortunes (apt-get install fortunes)" >&2
    exit 1
  fi
  files+=("$SRC/$c")
done

mkdir -p "$OUT"
printf '%s\n' "${CATEGORIES[@]}" >"$OUT/labels.txt"

# The C locale makes length() count bytes and the character classes plain ASCII, whatever the
# caller's locale; bytes >= 0x80 (UTF-8) pass through untouched.
LC_ALL=C awk -v cap="$CAP" -v max_chars="$MAX_CHARS" -v eval_every="$EVAL_EVERY" \
    -v train="$OUT/train.tsv" -v eval="$OUT/eval.tsv" -v ncat="${#CATEGORIES[@]}" '
function category(path,   n, parts) { n = split(path, parts, "/"); return parts[n] }
function finish(   t) {
  t = entry
  while (t ~ /[^\010]\010/) gsub(/[^\010]\010/, "", t)   # overstrike: "x\bY" shows Y
  gsub(/[\001-\010\013-\037\177]/, "", t)                # other control characters
  gsub(/[ \t\r\n\f\v]+/, " ", t)
  sub(/^ /, "", t); sub(/ $/, "", t)
  entry = ""; has_entry = 0
  if (t == "" || length(t) > max_chars || (t in seen)) return
  seen[t] = 1
  count[cat]++
  text[cat, count[cat]] = t
}
FNR == 1 {
  if (has_entry) finish()
  cat = category(FILENAME); order[++ncats] = cat; count[cat] = 0
}
/^%$/ { if (has_entry) finish(); next }
{ entry = entry "\n" $0; has_entry = 1 }
END {
  if (has_entry) finish()
  if (ncats != ncat) { print "demo_corpus: read " ncats " of " ncat " categories" > "/dev/stderr"; exit 1 }
  rows_max = 0
  for (c = 1; c <= ncats; c++) {
    k = order[c]; n = count[k]
    # keep min(n, cap) entries spread evenly: entry j (1-based) when floor(j*cap/n) steps up
    kept = 0
    for (j = 1; j <= n; j++)
      if (n <= cap || int(j * cap / n) > int((j - 1) * cap / n)) {
        kept++
        if (kept % eval_every == 0) { n_ev[k]++; ev[k, n_ev[k]] = text[k, j] }
        else { n_tr[k]++; tr[k, n_tr[k]] = text[k, j] }
      }
    if (n_tr[k] + 0 > rows_max) rows_max = n_tr[k]
    printf "%-12s %5d entries  %4d train  %3d eval\n", k, n, n_tr[k], n_ev[k] > "/dev/stderr"
    total_tr += n_tr[k]; total_ev += n_ev[k]
  }
  printf "" > train; printf "" > eval
  for (r = 1; r <= rows_max; r++)
    for (c = 1; c <= ncats; c++) {
      k = order[c]
      if (r <= n_tr[k]) print tr[k, r] "\t" k > train
      if (r <= n_ev[k]) print ev[k, r] "\t" k > eval
    }
  printf "%-12s %5s          %4d train  %3d eval\n", "total", "", total_tr, total_ev > "/dev/stderr"
}' "${files[@]}"

echo "demo_corpus: wrote $OUT/train.tsv, $OUT/eval.tsv, $OUT/labels.txt (${#CATEGORIES[@]} categories)" >&2
