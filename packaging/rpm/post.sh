# State (signing key, journal, evidence) lives in /var/lib/demarc, root only;
# upgrades and removal keep it.
mkdir -p /var/lib/demarc
chown root:root /var/lib/demarc
chmod 0700 /var/lib/demarc
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -gt 1 ] && systemctl is-active --quiet demarc.service; then
    systemctl restart demarc.service || :
  fi
fi
