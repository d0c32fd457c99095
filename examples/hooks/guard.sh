#!/bin/sh
# A command hook guard in shell (see docs/user-guide/command-hooks.md).
# Refuses file-tool calls whose path leaves the workspace or touches a
# `.env` file; lets everything else through. The hook context arrives as
# JSON on stdin.
ctx=$(cat)
path=$(printf '%s' "$ctx" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
case "$path" in
    *..*|/etc/*) echo "path \`$path\` leaves the workspace" >&2; exit 2 ;;
    *.env) echo "\`.env\` files hold secrets" >&2; exit 2 ;;
esac
exit 0
