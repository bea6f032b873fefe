#!/usr/bin/env bash
# Extract every translatable string, merge it into each locale's catalog (existing
# translations are kept; changed strings become fuzzy for review) and compile the .mo files.
#
#   scripts/i18n.sh            extract + update + compile
#   scripts/i18n.sh compile    only compile (after editing a .po by hand)
#
# Then translate the new entries (empty msgstr, or marked "#, fuzzy") in
# formloom/translations/zh_Hans_CN/LC_MESSAGES/messages.po and run it again. English is the
# source language, so en/messages.po may keep empty msgstr: gettext shows the msgid.
set -euo pipefail

cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
[ -x "$PYBABEL" ] || PYBABEL=pybabel
DIR=formloom/translations
# Babel expands zh_CN to zh_Hans_CN (CLDR likely subtags) and Flask-Babel looks for the
# catalog under that name, so the Simplified Chinese folder is zh_Hans_CN. The app's own
# locale code stays "zh_CN" (language switch, session, users.locale).
LOCALES=(zh_Hans_CN en)

compile() {
    "$PYBABEL" compile -d "$DIR" --statistics
}

if [ "${1:-}" = "compile" ]; then
    compile
    exit 0
fi

POT="$(mktemp --suffix=.pot)"
trap 'rm -f "$POT"' EXIT

# File-only locations: enough to find a string, without line numbers that would change
# (and conflict) every time someone edits a template.
"$PYBABEL" extract -F babel.cfg -o "$POT" \
    -k _l -k N_ -k _words:2 -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
    --add-location=file --sort-output \
    --project=Formloom --copyright-holder="Formloom contributors" \
    \
    .

for locale in "${LOCALES[@]}"; do
    po="$DIR/$locale/LC_MESSAGES/messages.po"
    if [ -f "$po" ]; then
        "$PYBABEL" update -i "$POT" -d "$DIR" -l "$locale"
    else
        "$PYBABEL" init -i "$POT" -d "$DIR" -l "$locale"
    fi
done

compile
