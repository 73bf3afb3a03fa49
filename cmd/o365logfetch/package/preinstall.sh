#!/bin/sh
# Before the files are unpacked: the system account the service runs as and owns
# /var/lib/o365logfetch, /var/log/o365 and /var/log/o365logfetch. Kept on removal, like the data.
set -e
if ! getent group o365logfetch >/dev/null; then
	groupadd --system o365logfetch
fi
if ! getent passwd o365logfetch >/dev/null; then
	shell=/usr/sbin/nologin
	[ -x "$shell" ] || shell=/sbin/nologin
	useradd --system --gid o365logfetch --home-dir /var/lib/o365logfetch --no-create-home \
		--shell "$shell" --comment "o365logfetch audit log fetcher" o365logfetch
fi
