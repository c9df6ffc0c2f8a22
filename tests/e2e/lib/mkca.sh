#!/bin/sh
# mkca.sh DIR: make a throwaway test CA and a server certificate for
# 127.0.0.1 / ::1 / localhost signed by it, for STARTTLS tests (RFC 3207).
#
# Writes into DIR (created if needed):
#   ca.pem       the CA certificate (give it to clients: curl --cacert)
#   ca.key       the CA key
#   server.pem   the server certificate (subjectAltName IP:127.0.0.1,
#                IP:::1, DNS:localhost), signed by ca.pem
#   server.key   its key (unencrypted)
#   chain.pem    server.pem followed by ca.pem
# Exit status: 0 on success, 77 if openssl is missing (skip), 1 otherwise.
# Nothing here is secret: the keys live only as long as the test's temp dir.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: mkca.sh DIR" >&2
	exit 64
fi
command -v openssl >/dev/null 2>&1 || { echo "mkca.sh: openssl missing" >&2; exit 77; }

dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

cat >ca.ext <<'EOF'
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat >server.ext <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

# EC P-256 keys: fast to make, accepted by OpenSSL and GnuTLS alike.
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -new -key ca.key -subj "/CN=herald test CA $$" -out ca.csr
openssl x509 -req -in ca.csr -signkey ca.key -days 30 -sha256 \
	-extfile ca.ext -out ca.pem 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 30 -sha256 -extfile server.ext -out server.pem 2>/dev/null

cat server.pem ca.pem >chain.pem
rm -f ca.csr server.csr ca.ext server.ext ca.srl
chmod 644 ca.pem server.pem chain.pem
openssl verify -CAfile ca.pem server.pem >/dev/null
