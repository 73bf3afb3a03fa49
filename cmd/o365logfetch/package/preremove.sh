#!/bin/sh
# Before removal (not upgrade): stop and disable the timer so nothing starts a removed binary.
set -e
if [ "$1" = remove ] || [ "$1" = 0 ]; then
	if command -v systemctl >/dev/null; then
		systemctl disable o365logfetch.timer >/dev/null 2>&1 || true
		if [ -d /run/systemd/system ]; then
			systemctl stop o365logfetch.timer o365logfetch.service >/dev/null 2>&1 || true
		fi
	fi
fi
