#!/usr/bin/env bash
# The main job on the embedded default (a SQLite ledger file), from a fresh clone: installs system
# libraries, builds, creates keys and a ledger, and exercises the ledger core end to end as an
# operator, the three regulators and a consumer would, printing each step.
# Usage: Tools/main-job.sh [DIR]   (default: ./demo; the directory is recreated)
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build --product suyuan 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -3
BIN="$(swift build --show-bin-path)/suyuan"
DIR="${1:-demo}"
rm -rf "$DIR"; mkdir -p "$DIR"; cd "$DIR"
export SUYUAN_PASSPHRASE="demo passphrase (use a real secret in production)"
export SUYUAN_LEDGER="$PWD/suyuan.ledger"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ suyuan %s\n' "$*" >&2; "$BIN" "$@"; }

step "1. Operator and regulators generate keys (Ed25519, encrypted with Argon2id + secretbox, mode 0600)"
run key generate --name gz.suyuan.example/ledger --out operator.key
run key generate --name gd.samr.example/regulator --out gd.key
run key generate --name hk.cedb.example/regulator --out hk.key
run key generate --name mo.ae.example/regulator --out mo.key
ls -l ./*.key
run key show gd.key

step "2. The operator creates the ledger: entry 0 (genesis) names the origin, operator and GD/HK/MO regulator keys"
run init --origin gz.suyuan.example/ledger --operator-key operator.key \
  --regulator GD=gd.key --regulator HK=hk.key --regulator MO="$("$BIN" key show mo.key --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vkey"])')"
run checkpoint > checkpoint-1.txt; echo "(saved checkpoint-1.txt, size 1)"

step "3. Regulators publish notices; each append is committed and covered by a fresh signed checkpoint"
cat > notice-gd.json <<'JSON'
{"level":"warning","title":"进口婴幼儿配方奶粉风险警示 / Risk warning: imported infant formula",
 "text":"Lot NZ-2026-118 is under investigation for melamine contamination. Do not use until further notice.",
 "products":["https://id.gs1.org/01/09421902960055/10/NZ-2026-118"],"categories":["infant-formula"]}
JSON
run append --key gd.key --kind notice --payload notice-gd.json
run notice --key hk.key --title "Mutual recognition update" --text "HKAS-accredited cosmetics microbiology results (ISO 21149) are recognised in GD and MO from 2026-12-01." --category cosmetics
echo '{"level":"notice","title":"Cadeia de frio","text":"Produtos refrigerados: 2–8 °C durante o transporte."}' > notice-mo.json
step "4. An inspector-style offline flow: sign now, append later (a DSSE envelope)"
run sign --key mo.key --kind notice --payload notice-mo.json --out notice-mo.signed.json
head -c 300 notice-mo.signed.json; echo " …"
run append --statement notice-mo.signed.json --json

step "5. What the ledger refuses (each leaves it unchanged)"
sha_before=$(sha256sum "$SUYUAN_LEDGER" | cut -c1-16)
set +e
run append --statement notice-mo.signed.json; echo "exit $? (duplicate)"
run append --key operator.key --kind notice --payload notice-mo.json; echo "exit $? (operator is not a regulator)"
python3 - notice-mo.signed.json > forged.json <<'PY'
import json, sys, base64
env = json.load(open(sys.argv[1]))
body = base64.b64decode(env["payload"]).replace("2–8".encode(), "2–25".encode())
env["payload"] = base64.b64encode(body).decode()
print(json.dumps(env))
PY
run append --statement forged.json; echo "exit $? (payload changed after signing)"
echo '{"level":"notice","title":' > broken.json
run append --key gd.key --kind notice --payload broken.json; echo "exit $? (malformed JSON)"
SUYUAN_PASSPHRASE=wrong "$BIN" append --key gd.key --kind notice --payload notice-gd.json; echo "exit $? (wrong passphrase)"
set -e
sha_after=$(sha256sum "$SUYUAN_LEDGER" | cut -c1-16)
echo "ledger sha256 before $sha_before…, after $sha_after…"

step "6. Anyone lists the entries and checks proofs against the signed checkpoint"
run entries
run checkpoint > checkpoint-latest.txt; cat checkpoint-latest.txt
run verify-checkpoint checkpoint-latest.txt --trust operator.key
run prove inclusion --index 1
run prove consistency --from 1 --json

step "7. A consumer who saved checkpoint-1 checks that today's checkpoint extends it (no history rewritten)"
python3 - "$BIN" <<'PY'
import base64, hashlib, json, subprocess, sys
binary = sys.argv[1]
old = open("checkpoint-1.txt").read().split("\n"); new = open("checkpoint-latest.txt").read().split("\n")
m, n = int(old[1]), int(new[1]); r1, r2 = base64.b64decode(old[2]), base64.b64decode(new[2])
p = json.loads(subprocess.check_output([binary, "prove", "consistency", "--from", str(m), "--to", str(n), "--json"]))
proof = [base64.b64decode(x) for x in p["proof"]]
# RFC 9162 section 2.1.4.2, written independently of the Swift code.
def verify(m, n, r1, r2, proof):
    if m == n: return not proof and r1 == r2
    if m & (m - 1) == 0: proof = [r1] + proof
    fn, sn = m - 1, n - 1
    while fn & 1: fn >>= 1; sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr = hashlib.sha256(b"\x01" + c + fr).digest(); sr = hashlib.sha256(b"\x01" + c + sr).digest()
            while fn & 1 == 0 and fn != 0: fn >>= 1; sn >>= 1
        else:
            sr = hashlib.sha256(b"\x01" + sr + c).digest()
        fn >>= 1; sn >>= 1
    return sn == 0 and fr == r1 and sr == r2
ok = verify(m, n, r1, r2, proof)
print(f"consistency {m} -> {n}: {'verified' if ok else 'FAILED'} (independent Python check)")
sys.exit(0 if ok else 1)
PY

step "8. A regulator audits the whole chain and hands over a signed report"
run audit --trusted-checkpoint checkpoint-1.txt --report audit-report.json --key hk.key --quiet
run verify-report audit-report.json --trust hk.key

step "9. The regions witness the checkpoint; a consumer requires 2 of 3 witness cosignatures"
OPV=$("$BIN" key show operator.key --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vkey"])')
run witness cosign --key gd.key --state gd-witness.state --checkpoint checkpoint-latest.txt --log "$OPV" > cosigned-gd.txt
run witness cosign --key mo.key --state mo-witness.state --checkpoint cosigned-gd.txt --log "$OPV" > cosigned.txt
cat cosigned.txt
python3 - "$BIN" "$OPV" > policy.json <<'PY'
import json, subprocess, sys
w = lambda f: json.loads(subprocess.check_output([sys.argv[1], "key", "show", f, "--json"]))["witnessVkey"]
print(json.dumps({"log": sys.argv[2], "quorum": 2, "witnesses": {"GD": w("gd.key"), "HK": w("hk.key"), "MO": w("mo.key")}}))
PY
run verify-checkpoint cosigned.txt --policy policy.json
set +e
run verify-checkpoint cosigned-gd.txt --policy policy.json; echo "exit $? (only one witness)"
set -e

step "10. Backup"
run backup suyuan-backup.ledger
echo
echo "Done. The ledger is $SUYUAN_LEDGER; keys and files are in $PWD."
