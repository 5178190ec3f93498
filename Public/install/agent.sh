#!/bin/sh
# Lookout agent installer, served by the hub at /install/agent.sh (it holds no secret).
#
#   curl -fsSL https://hub.example.com/install/agent.sh | sudo sh -s -- --hub https://hub.example.com --code 7F3K-Q9PX
#
# Make the code on the hub with `lookout enroll <vm_id>` or the dashboard's "Add VM". The script:
#   1. downloads the agent for this machine's architecture (uname -m) from the hub and checks it
#      against the hub's /install/SHA256SUMS, into a temporary folder;
#   2. trades the one-time code for this VM's own push token (POST /install/enroll);
#   3. only then writes: /usr/local/bin/lookout-agent (atomic rename), /etc/lookout/agent.json,
#      /etc/lookout/token (0600), the systemd unit (a cron file where there is no systemd);
#   4. runs one `lookout-agent collect` that pushes a first sample, and says where it reports.
# Every refusal before step 3 (a wrong, used or expired code, no binary for this architecture, a
# checksum that does not match, a hub that cannot be reached) changes nothing on this machine.
#
# Options:
#   --hub URL      the hub, as this VM reaches it (required)
#   --code CODE    the enrollment code (not needed to upgrade an enrolled VM in place)
#   --root DIR     install under DIR instead of / (tests, images); starts nothing
#   --no-start     do not enable or start the service
#   --insecure-http  allow a plain http:// hub on another machine (a network you trust)
#   --uninstall    remove the agent, its config, token, unit or cron file and state
# Runs under any POSIX sh (dash, busybox ash); needs curl or wget, and sha256sum or openssl.
set -eu

# Everything runs from main, called on the last line: `curl … | sh` hands the script over as
# it arrives, and a script that stopped early (a refused option) would leave curl writing
# into a closed pipe ("curl: (23) Failed writing body"), or a cut-off download would run half.
main() {
hub=""
code=""
root=""
start=yes
action=install
insecure_http=no
tmp=""

say() { printf '%s\n' "$*"; }
# One line saying what went wrong and what to do, then exit 1.
die() {
    printf 'lookout install: %s\n' "$*" >&2
    exit 1
}
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

usage() {
    say "usage: agent.sh --hub URL [--code CODE] [--root DIR] [--no-start] [--insecure-http] [--uninstall]"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --hub) [ $# -ge 2 ] || die "--hub needs a URL; copy the command from the hub again"; hub=$2; shift 2 ;;
        --hub=*) hub=${1#--hub=}; shift ;;
        --code) [ $# -ge 2 ] || die "--code needs the enrollment code; copy the command from the hub again"; code=$2; shift 2 ;;
        --code=*) code=${1#--code=}; shift ;;
        --root) [ $# -ge 2 ] || die "--root needs a folder"; root=$2; shift 2 ;;
        --root=*) root=${1#--root=}; shift ;;
        --no-start) start=no; shift ;;
        --insecure-http) insecure_http=yes; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option \"$1\"; see the usage above" ;;
    esac
done

# Paths as the VM sees them, and where this run writes them (under --root).
if [ -n "$root" ]; then
    [ -d "$root" ] || die "--root $root is not a folder; create it first"
    root=$(cd "$root" && pwd)
    [ "$root" != / ] || root=""
fi
bin_path=/usr/local/bin/lookout-agent
config_path=/etc/lookout/agent.json
token_path=/etc/lookout/token
unit_path=/etc/systemd/system/lookout-agent.service
cron_path=/etc/cron.d/lookout-agent
state_dir=/var/lib/lookout-agent

has() { command -v "$1" >/dev/null 2>&1; }
systemd_runs() { [ -z "$root" ] && [ -d /run/systemd/system ] && has systemctl; }
# With --root the service manager of this machine is not the one of the tree being written.
uses_systemd() {
    if [ -n "$root" ]; then [ -d "$root/etc/systemd/system" ] || [ -d "$root/lib/systemd/system" ]; else systemd_runs; fi
}

if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    die "run it as root (… | sudo sh -s -- …), or give --root DIR"
fi

# --- uninstall -------------------------------------------------------------------------------

if [ "$action" = uninstall ]; then
    vm=$(sed -n 's/.*"vm_id" *: *"\([A-Za-z0-9._-]*\)".*/\1/p' "$root$config_path" 2>/dev/null | head -n 1 || true)
    # Stopped and disabled whatever --no-start says: a removed agent must not go on pushing.
    if systemd_runs && [ -e "$unit_path" ]; then
        systemctl disable --now lookout-agent.service >/dev/null 2>&1 || true
    fi
    rm -f "$root$unit_path" "$root$cron_path" "$root$bin_path" "$root$bin_path.previous" \
        "$root$config_path" "$root$config_path.before-enroll" "$root$token_path"
    rm -rf "$root$state_dir"
    rmdir "$root/etc/lookout" 2>/dev/null || true
    if systemd_runs; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
    say "lookout-agent removed${vm:+ from $vm}; the hub keeps its history and token (\`lookout forget ${vm:-<vm_id>}\` on the hub removes the history)"
    exit 0
fi

# --- check what was asked, before touching anything --------------------------------------------

[ -n "$hub" ] || die "--hub is missing; copy the whole command from \`lookout enroll\` or the dashboard's Add VM"
case "$hub" in
    http://* | https://*) ;;
    *) die "--hub \"$hub\" must start with http:// or https://; copy the command from the hub again" ;;
esac
case "$hub" in
    *[!A-Za-z0-9.:/_~%[\]-]*) die "--hub \"$hub\" holds characters no hub address has; copy the command again" ;;
esac
# Plain http to another machine: whoever sits on the path could hand this root shell another
# agent together with its checksum. Only loopback, or an explicit --insecure-http.
case "$hub" in
    http://localhost[:/]* | http://localhost | http://127.* | http://\[::1\]*) ;;
    http://*)
        [ "$insecure_http" = yes ] ||
            die "--hub $hub is plain http: anyone between this VM and the hub could replace the agent it installs as root; put the hub behind TLS (docs/reverse-proxy.md), or add --insecure-http on a network you trust" ;;
esac
hub=${hub%/}
if [ -n "$code" ]; then
    case "$code" in
        *[!A-Za-z0-9-]* | "") die "--code is not an enrollment code (8 letters and digits such as 7F3K-Q9PX); copy the command from the hub again" ;;
    esac
    [ ${#code} -le 16 ] || die "--code is not an enrollment code (8 letters and digits such as 7F3K-Q9PX)"
elif [ ! -s "$root$config_path" ] || [ ! -s "$root$token_path" ]; then
    die "--code is missing and this VM is not enrolled yet; make a code on the hub with \`lookout enroll <vm_id>\`"
fi
if [ -n "$root" ]; then
    [ -w "$root" ] || die "cannot write to --root $root"
fi

if has curl; then
    fetcher=curl
elif has wget; then
    fetcher=wget
else
    die "neither curl nor wget is installed; install one (apt-get install curl) and run the command again"
fi
if has sha256sum; then
    sha_tool=sha256sum
elif has openssl; then
    sha_tool=openssl
elif has busybox && busybox sha256sum /dev/null >/dev/null 2>&1; then
    sha_tool=busybox
else
    die "no SHA-256 tool (sha256sum, openssl or busybox) to check the download; install coreutils and run it again"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lookout-install.XXXXXX") || die "cannot make a temporary folder; is /tmp full?"

# http METHOD URL OUT [JSON]: the response body in OUT, the status in $status; returns 1 when the
# hub could not be reached at all (the reason in $tmp/http.err).
http() {
    status=""
    if [ "$fetcher" = curl ]; then
        if [ "$1" = POST ]; then
            status=$(curl -sS --max-time 60 -o "$3" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
                --data-binary "$4" "$2" 2>"$tmp/http.err") || return 1
        else
            status=$(curl -sS --max-time 300 -o "$3" -w '%{http_code}' "$2" 2>"$tmp/http.err") || return 1
        fi
    else
        # No -T: busybox 1.35's wget crashes with it (a segfault, seen on Debian 12).
        if [ "$1" = POST ]; then
            wget -S -q -O "$3" --header='Content-Type: application/json' --post-data="$4" "$2" \
                2>"$tmp/http.err" || true
        else
            wget -S -q -O "$3" "$2" 2>"$tmp/http.err" || true
        fi
        status=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$tmp/http.err" | tail -n 1)
        [ -n "$status" ] || return 1
    fi
    [ -n "$status" ] && [ "$status" != 000 ]
}

# The hub's {"error": "..."} message in FILE, on one line without control characters.
hub_error() {
    sed -n 's/.*"error" *: *"\(.*\)".*/\1/p' "$1" 2>/dev/null | head -n 1 | tr -d '\000-\037' | sed 's/\\"/"/g'
}

unreachable() {
    reason=$(tr -d '\000-\037' <"$tmp/http.err" 2>/dev/null | head -c 200)
    die "cannot reach the hub at $hub${reason:+ ($reason)}; check the address, that the hub runs and that this VM may connect to it"
}

# --- 1. download and verify into the temporary folder -----------------------------------------

arch=$(uname -m)
http GET "$hub/install/SHA256SUMS" "$tmp/SHA256SUMS" || unreachable
[ "$status" = 200 ] || die "the hub has no agent checksums (HTTP $status: $(hub_error "$tmp/SHA256SUMS")); put agent binaries on the hub (scripts/build-release, or --agent-binaries)"
http GET "$hub/install/lookout-agent/$arch" "$tmp/lookout-agent" || unreachable
if [ "$status" = 404 ]; then
    die "the hub has no agent for this machine's architecture $arch ($(hub_error "$tmp/lookout-agent")); build one on a $arch machine with scripts/build-release and put it on the hub"
fi
[ "$status" = 200 ] || die "the hub answered HTTP $status for the agent binary ($(hub_error "$tmp/lookout-agent")); see the hub's log"

expected=$(awk -v want="$arch/lookout-agent" '$2 == want || $2 == "*" want { print $1 }' "$tmp/SHA256SUMS" | head -n 1)
[ -n "$expected" ] || die "the hub's SHA256SUMS lists no $arch/lookout-agent; the hub's agent binaries changed during the download, run the command again"
case "$sha_tool" in
    sha256sum) actual=$(sha256sum "$tmp/lookout-agent" | awk '{ print $1 }') ;;
    openssl) actual=$(openssl dgst -sha256 "$tmp/lookout-agent" | awk '{ print $NF }') ;;
    *) actual=$(busybox sha256sum "$tmp/lookout-agent" | awk '{ print $1 }') ;;
esac
if [ "$actual" != "$expected" ]; then
    die "the downloaded agent does not match the hub's checksum (got ${actual:-nothing}, expected $expected); nothing was installed, run the command again (a proxy or a full disk can cut downloads)"
fi
chmod 755 "$tmp/lookout-agent"
version=$("$tmp/lookout-agent" --version 2>/dev/null) ||
    die "the downloaded agent does not run here ($arch); if $tmp is on a noexec mount, run it with TMPDIR=<another folder>, else check the hub's $arch binary"

# --- 2. trade the code (it is spent from here on) ---------------------------------------------

if [ -n "$code" ]; then
    http POST "$hub/install/enroll" "$tmp/enroll.json" "{\"code\": \"$code\"}" || unreachable
    case "$status" in
        200) ;;
        400 | 403)
            why=$(hub_error "$tmp/enroll.json")
            die "the hub refused the code: ${why:-it is wrong, used or expired (HTTP $status); make a new one on the hub with \`lookout enroll <vm_id>\`}"
            ;;
        *) die "the hub could not trade the code (HTTP $status: $(hub_error "$tmp/enroll.json")); the code is not spent: fix what the hub's log says and run the command again" ;;
    esac
    vm=$(sed -n 's/.*"vm_id" *: *"\([A-Za-z0-9._-]*\)".*/\1/p' "$tmp/enroll.json" | head -n 1)
    token=$(sed -n 's/.*"token" *: *"\([A-Za-z0-9._~-]*\)".*/\1/p' "$tmp/enroll.json" | head -n 1)
    if [ -z "$vm" ] || [ ${#token} -lt 16 ]; then
        die "the hub's answer to the code holds no vm_id and token; the code is used: make a new one with \`lookout enroll <vm_id>\`"
    fi
else
    vm=$(sed -n 's/.*"vm_id" *: *"\([A-Za-z0-9._-]*\)".*/\1/p' "$root$config_path" | head -n 1)
    token=""
fi
spent="the code is used now: make a new one on the hub with \`lookout enroll ${vm:-<vm_id>}\` and run the command again"

# --- 3. write: binary, config, token, service -------------------------------------------------

fail_write() {
    if [ -n "$code" ]; then die "could not write $1; $spent"; fi
    die "could not write $1; check the disk and run the command again"
}
# place TEMP MODE DEST: gives TEMP its mode and renames it over DEST (atomic within one folder).
place() {
    if ! { chmod "$2" "$1" && mv -f "$1" "$3"; }; then
        rm -f "$1"
        fail_write "$3"
    fi
}
mkdir -p "$root/usr/local/bin" "$root/etc/lookout" "$root$state_dir" || fail_write "the install folders"
new="$root/usr/local/bin/.lookout-agent.new.$$"
cp "$tmp/lookout-agent" "$new" || {
    rm -f "$new"
    fail_write "$root$bin_path"
}
place "$new" 755 "$root$bin_path"

if [ -n "$code" ]; then
    old_umask=$(umask)
    umask 077
    printf '%s\n' "$token" >"$root/etc/lookout/.token.new" || fail_write "$root$token_path"
    place "$root/etc/lookout/.token.new" 600 "$root$token_path"
    umask "$old_umask"
    cat >"$root/etc/lookout/.agent.json.new" <<CONFIG || fail_write "$root$config_path"
{
  "vm_id": "$vm",
  "push": { "url": "$hub/api/monitoring/ingest", "token_file": "$token_path" }
}
CONFIG
    if [ -s "$root$config_path" ] && ! cmp -s "$root$config_path" "$root/etc/lookout/.agent.json.new"; then
        cp -p "$root$config_path" "$root$config_path.before-enroll" || fail_write "$root$config_path.before-enroll"
    fi
    place "$root/etc/lookout/.agent.json.new" 644 "$root$config_path"
fi

if uses_systemd; then
    mkdir -p "$root/etc/systemd/system" || fail_write "$root/etc/systemd/system"
    cat >"$root$unit_path.new" <<UNIT || fail_write "$root$unit_path"
# Written by the Lookout installer (/install/agent.sh); re-running it rewrites this file.
[Unit]
Description=Lookout agent (pushes this VM's metrics to the Lookout hub)
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=simple
ExecStart=$bin_path run --interval 60 --config $config_path --state $state_dir/state.json
Restart=on-failure
RestartSec=10s
RestartPreventExitStatus=64 78
StateDirectory=lookout-agent
# Root without capabilities: it can read the root-owned 0600 token and the docker socket, and
# write only its state directory.
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
MemoryMax=64M

[Install]
WantedBy=multi-user.target
UNIT
    place "$root$unit_path.new" 644 "$root$unit_path"
    rm -f "$root$cron_path"
    service="the systemd unit lookout-agent.service"
else
    mkdir -p "$root/etc/cron.d" || fail_write "$root/etc/cron.d"
    cat >"$root$cron_path.new" <<CRON || fail_write "$root$cron_path"
# Written by the Lookout installer (/install/agent.sh): one sample every 5 minutes, pushed to the hub.
*/5 * * * * root $bin_path collect --config $config_path --state $state_dir/state.json >/dev/null 2>&1
CRON
    place "$root$cron_path.new" 644 "$root$cron_path"
    service="cron ($cron_path, every 5 minutes)"
fi

# --- 4. start, and push a first sample --------------------------------------------------------

if [ "$start" = yes ] && systemd_runs; then
    systemctl daemon-reload
    systemctl enable lookout-agent.service >/dev/null 2>&1 || say "note: could not enable lookout-agent.service"
    systemctl restart lookout-agent.service || say "note: lookout-agent.service did not start; see journalctl -u lookout-agent"
fi

if [ -n "$root" ] && [ -n "$token" ]; then
    first_token=$token
else
    first_token=$(cat "$root$token_path")
fi
if ! LOOKOUT_TOKEN=$first_token "$root$bin_path" collect --config "$root$config_path" \
    --state "$root$state_dir/state.json" >"$tmp/collect.log" 2>&1; then
    die "installed, but the first sample failed: $(tail -n 1 "$tmp/collect.log" | tr -d '\000-\037' | head -c 300); fix that and run \`$bin_path collect --config $config_path\`"
fi
if [ -n "$(ls -A "$root$state_dir/spool" 2>/dev/null)" ]; then
    die "installed, but the first sample could not be pushed yet (it is kept and resent on the next run): $(grep -i -m 1 'push' "$tmp/collect.log" | tr -d '\000-\037' | head -c 300)"
fi

if [ -n "$root" ]; then
    service="$service under $root, not started"
elif [ "$start" = no ]; then
    service="$service, not started: --no-start"
fi
say "${vm:-this VM} reports to $hub ($version, $service)"
}

main "$@"
