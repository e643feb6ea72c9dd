#!/usr/bin/env bash
# Debian packages the browser tests and PDF reports need: Chromium, a CJK font and an emoji font
# (the category tiles' icons; phones have one, a bare Debian does not).
# Installs them when running as root with apt-get; otherwise says what is missing.
set -u
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qiE "wenquanyi|wqy|noto sans cjk" || missing+=(fonts-wqy-microhei)
fc-list 2>/dev/null | grep -qi "emoji" || missing+=(fonts-noto-color-emoji)
command -v msgfmt >/dev/null || missing+=(gettext)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null || {
    echo "apt-get could not install ${missing[*]}"; exit 1; }
else
  echo "Missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
  echo "(browser tests are skipped without chromium, except under CI where they fail)"
fi
