#!/bin/sh
# Install exactly the Debian 12 packages herald needs to build, test and demo.
# Idempotent and noninteractive: does nothing when everything is present.
set -eu

PKGS="build-essential cmake pkg-config git ca-certificates tzdata openssl
libcmark-gfm-dev libcmark-gfm-extensions-dev libetpan-dev libcurl4-gnutls-dev
libyaml-dev libsqlite3-dev sqlite3 libicu-dev libopendkim-dev libssl-dev libcmocka-dev
python3 python3-aiosmtpd python3-dkim python3-nacl python3-cryptography postfix chromium
clang libclang-rt-dev spamassassin
libutf8proc-dev tmux python3-icu libmicrohttpd-dev curl python3-tinycss2"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is only started by the end-to-end tests, with their own config.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
