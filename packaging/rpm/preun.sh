# On erase (not upgrade) stop and disable the service.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
  systemctl stop demarc.service >/dev/null 2>&1 || :
  systemctl disable demarc.service >/dev/null 2>&1 || :
fi
