#!/bin/sh
# Copy the mounted configuration into place, apply port overrides, run Asterisk in the
# foreground. Port overrides let a test Asterisk run beside a demo one on one host.
set -eu
src=/etc/asterisk-conf
[ -d "$src" ] || { echo "mount asterisk-conf/ at $src" >&2; exit 2; }
rm -rf /etc/asterisk/*
cp -r "$src"/. /etc/asterisk/
if [ -n "${ASTERISK_HTTP_PORT:-}" ]; then
  sed -i "s/^bindport *=.*/bindport = ${ASTERISK_HTTP_PORT}/" /etc/asterisk/http.conf
fi
if [ -n "${ASTERISK_SIP_PORT:-}" ]; then
  sed -i "s/^bind *= *127\.0\.0\.1:[0-9]*/bind = 127.0.0.1:${ASTERISK_SIP_PORT}/" /etc/asterisk/pjsip.conf
fi
if [ -n "${ASTERISK_SIPP_PORT:-}" ]; then
  # the sipp test phone's address (test-only file)
  [ -f /etc/asterisk/pjsip_test_sipp.conf ] && \
    sed -i "s/127\.0\.0\.1:5070/127.0.0.1:${ASTERISK_SIPP_PORT}/g" /etc/asterisk/pjsip_test_sipp.conf
fi
mkdir -p /var/spool/asterisk/recording /var/log/asterisk /var/run/asterisk
exec asterisk -f -vvv -U root
