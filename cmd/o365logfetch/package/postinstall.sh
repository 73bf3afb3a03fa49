#!/bin/sh
# After install or upgrade: systemd learns of the units; the timer is never enabled here, so a
# fresh install fetches nothing until the config is filled in and the admin turns it on.
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
	systemctl daemon-reload || true
fi
# First install: dpkg calls "configure" without a previous version, rpm passes 1.
if { [ "$1" = configure ] && [ -z "$2" ]; } || [ "$1" = 1 ]; then
	cat <<'MSG'
o365logfetch is installed. Its timer is NOT enabled. Next:
  1. edit /etc/o365logfetch/o365_logs.cfg (tenant, clientId, key file, ...) and put the key
     where privateKeyFile says, owned by o365logfetch, mode 600;
     secrets (client secret, PFX password) go in /etc/o365logfetch/secrets.env, mode 600
  2. sudo -u o365logfetch o365logfetch check --config /etc/o365logfetch/o365_logs.cfg
  3. systemctl enable --now o365logfetch.timer
Output: /var/log/o365 · state: /var/lib/o365logfetch · run log: /var/log/o365logfetch
MSG
fi
