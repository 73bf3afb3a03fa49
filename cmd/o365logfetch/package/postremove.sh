#!/bin/sh
# After removal: systemd forgets the units. The account, the state in /var/lib/o365logfetch and
# the output in /var/log/o365 stay (even on purge): they are audit data, removed only by hand.
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
	systemctl daemon-reload || true
fi
if [ "$1" = remove ] || [ "$1" = 0 ]; then
	echo "o365logfetch removed; kept the o365logfetch account, /var/lib/o365logfetch (state) and /var/log/o365 (output)"
fi
