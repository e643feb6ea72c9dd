#!/usr/bin/env bash
# Print the path of a Python >= 3.12, or explain how to get one and fail.
set -u
candidates=(python3.14 python3.13 python3.12 python3)
for dir in "$HOME"/.pyenv/versions/3.1[2-9]*/bin /usr/local/bin /usr/bin; do
  [ -d "$dir" ] && candidates+=("$dir/python3")
done
for c in "${candidates[@]}"; do
  path=$(command -v "$c" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
cat >&2 <<'MSG'
Wangge needs Python 3.12 or newer, and none was found on PATH or under ~/.pyenv.
Install one, for example:
  Debian 13 / Ubuntu 24.04:  sudo apt-get install python3 python3-venv
  pyenv:                     pyenv install 3.12
then run the command again (or set PYTHON=/path/to/python3.12).
MSG
exit 1
