#!/usr/bin/env bash
# The main job on the embedded default (a SQLite ledger file), from a fresh clone: installs system
# libraries, builds, creates keys and a ledger, and exercises it end to end as an operator, the three
# regulators, labs, warehouses, an importer and consumers would, printing each step.
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

step "10. Regulators register accreditation bodies, labs and enterprises, bind keys, and record recognition agreements"
for k in hk-lab-inspector gd-lab-inspector nansha-warehouse baiyun-warehouse importer; do run key generate --name "$k" --out "$k.key" >/dev/null; done
run registry add-body --key gd.key --id CNAS --name "China National Accreditation Service" --region GD --type accreditation-body --valid-from 2020-01-01
run registry add-body --key hk.key --id HKAS --name "Hong Kong Accreditation Service" --region HK --type accreditation-body --valid-from 2020-01-01
run registry add-body --key hk.key --id HOKLAS-118 --name "Kowloon Food Testing Laboratory" --region HK --type lab \
  --accredited-by HKAS --accreditation "HOKLAS 118" --scope "infant-formula:GB 10765-2021" --scope "infant-formula:GB 2761-2017" --valid-from 2024-01-01
run registry add-body --key gd.key --id CNAS-L0901 --name "Nansha Customs Technology Centre" --region GD --type lab \
  --accredited-by CNAS --accreditation "CNAS L0901" --scope "wine:GB 2758-2012" --scope "infant-formula:GB 10765-2021" --valid-from 2024-01-01
run registry add-body --key gd.key --id GZ-NANSHA-WH --name "Nansha Bonded Logistics Warehouse" --region GD --type enterprise --valid-from 2024-01-01
run registry add-body --key gd.key --id GZ-BAIYUN-WH --name "Baiyun Airport Bonded Cold Store" --region GD --type enterprise --valid-from 2024-01-01
run registry add-body --key gd.key --id GZ-IMPORTER-1 --name "Lingnan Cross-border Trading Co." --region GD --type enterprise --valid-from 2024-01-01
run registry bind-key --key hk.key --body HOKLAS-118 --inspector hk-lab-inspector.key --valid-from 2025-01-01
run registry bind-key --key gd.key --body CNAS-L0901 --inspector gd-lab-inspector.key --valid-from 2025-01-01
run registry bind-key --key gd.key --body GZ-NANSHA-WH --inspector nansha-warehouse.key --role bonded-warehouse --valid-from 2025-01-01
run registry bind-key --key gd.key --body GZ-BAIYUN-WH --inspector baiyun-warehouse.key --role bonded-warehouse --valid-from 2025-01-01
run registry bind-key --key gd.key --body GZ-IMPORTER-1 --inspector importer.key --role importer --valid-from 2025-01-01
run registry recognise --key gd.key --accept-from HK --scope "infant-formula:GB 10765-2021" --from 2025-01-01
run registry recognise --key mo.key --accept-from HK,GD --scope "infant-formula:GB 10765-2021" --scope "wine:GB 2758-2012" --from 2025-01-01
echo "(HK accepts no GD-accredited wine results: the wine's test will not be recognised in HK)"
set +e
run registry set-status --key gd.key --body HOKLAS-118 --status suspended --effective 2026-01-01; echo "exit $? (a GD key cannot suspend an HK lab)"
set -e
run registry show

ago() { date -u -d "-$1" +%Y-%m-%dT%H:%M:%SZ; }
MILK="(01)09421902960055(21)MP-000731"        # infant formula from a dairy in New Zealand
MILK_LOT="(01)09421902960055(10)NZ-2026-204"
RECALLED="(01)09421902960055(21)MP-000999"    # from lot NZ-2026-118, recalled
CASE="(00)094219029600000000"
WINE="(01)03760123450003(21)BDX-2019-0042"    # a Bordeaux from a château in France
WINE_CASE="(00)037601234500000003"

step "11. The milk powder's journey: dairy (NZ) → overseas warehouse → sea freight → Nansha → sampled, tested in HK → released → delivered"
run event commission --key importer.key --product "$MILK" --origin-country NZ --lot NZ-2026-204 --expiry 2028-03-01 --time "$(ago '25 days')" --time-zone +12:00
run event pack --key importer.key --parent "$CASE" --child "$MILK" --time "$(ago '24 days')"
run event ship --key importer.key --product "$CASE" --location "urn:epc:id:sgln:9421902.00001.0" --time "$(ago '23 days')"
run event receive --key importer.key --product "$CASE" --location "urn:epc:id:sgln:9421902.00001.0" --time "$(ago '22 days')"
run event transport --key importer.key --product "$CASE" --time "$(ago '20 days')"
run event enter-bonded --key nansha-warehouse.key --product "$CASE" --zone nansha --time "$(ago '8 days')" --time-zone +08:00
run event sample --key hk-lab-inspector.key --product "$MILK_LOT" --time "$(ago '7 days')"
sha256sum notice-gd.json > milk-report.txt
MILK_ATTESTATION=$(run attest --key hk-lab-inspector.key --product "$MILK_LOT" --category infant-formula --standard "GB 10765-2021" \
  --result pass --value protein=2.05g/100kJ --value melamine=0.05mg/kg --report milk-report.txt)
echo "attestation: $MILK_ATTESTATION"
run event unpack --key nansha-warehouse.key --parent "$CASE" --time "$(ago '5 days')"
run event release --key importer.key --product "$MILK" --declaration 530120261124000731 --order-hash "$(printf 'order 4407' | sha256sum | cut -c1-64)" --time "$(ago '4 days')"
run event deliver --key importer.key --product "$MILK" --time "$(ago '2 days')"

step "12. The wine's journey: château (FR) → air freight → Baiyun cold store (10–18 °C, one excursion) → tested in Nansha → released"
run event commission --key importer.key --product "$WINE" --origin-country FR --lot BDX-2019 --min 10 --max 18 --time "$(ago '20 days')" --time-zone +01:00
run event pack --key importer.key --parent "$WINE_CASE" --child "$WINE" --time "$(ago '19 days')"
run event ship --key importer.key --product "$WINE_CASE" --time "$(ago '18 days')"
run event enter-bonded --key baiyun-warehouse.key --product "$WINE_CASE" --zone baiyun --time "$(ago '15 days')"
run event sensor --key baiyun-warehouse.key --product "$WINE_CASE" --temperature 14.5 --time "$(ago '14 days')"
run event sensor --key baiyun-warehouse.key --product "$WINE_CASE" --temperature 24.0 --time "$(ago '13 days')"
run event unpack --key baiyun-warehouse.key --parent "$WINE_CASE" --time "$(ago '10 days')"
WINE_ATTESTATION=$(run attest --key gd-lab-inspector.key --product "$WINE" --category wine --standard "GB 2758-2012" --result pass --value methanol=120mg/L)
run event release --key importer.key --product "$WINE" --declaration 530120261124000802 --time "$(ago '3 days')"

step "13. A lot is recalled (the risk warning of step 3)"
run event commission --key importer.key --product "$RECALLED" --origin-country NZ --lot NZ-2026-118 --time "$(ago '28 days')"
run event recall --key importer.key --product "(01)09421902960055(10)NZ-2026-118" --reason "melamine above limit in lot NZ-2026-118"

step "14. Consumers verify what they bought (each entry proved in the operator's signed checkpoint)"
run verify "$MILK" --trust "$OPV" --trusted-checkpoint checkpoint-1.txt; echo "exit $? (milk powder: recognised in GD, HK and MO)"
set +e
run verify "$WINE" --trust "$OPV"; echo "exit $? (wine: cold-chain excursion; its GD test is not recognised in HK)"
run verify "$RECALLED" --trust "$OPV" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print("recalled:", d["recalled"], "| verified:", d["verified"], "|", d["problems"][0])'
set -e
run explain --attestation "$MILK_ATTESTATION" --region MO
set +e
run explain --attestation "$WINE_ATTESTATION" --region HK; echo "exit $? (not recognised in HK, and why)"
set -e

step "15. An offline bundle: checked on a phone with no ledger; any change makes it fail"
run verify "$MILK" --trust "$OPV" --bundle milk-bundle.json --json > /dev/null
run verify --bundle milk-bundle.json --trust "$OPV" | head -3
python3 - <<'PY'
import json, base64
b = json.load(open("milk-bundle.json"))
for e in b["entries"]:
    raw = base64.b64decode(e["entry"])
    if b"nansha" in raw:
        e["entry"] = base64.b64encode(raw.replace(b"nansha", b"baiyun")).decode(); break
json.dump(b, open("milk-bundle-tampered.json", "w"))
PY
set +e
run verify --bundle milk-bundle-tampered.json --trust "$OPV" | head -3; echo "exit $? (tampered bundle)"
set -e
run export-epcis --product "$MILK" --out milk-epcis.json
echo "exported $(python3 -c 'import json; print(len(json.load(open("milk-epcis.json"))["epcisBody"]["eventList"]))') EPCIS 2.0 events to milk-epcis.json"

step "15b. The ledger as a service: a phone scanning the QR code lands on the Digital Link page, which verifies the bundle itself"
"$BIN" serve --port 0 > serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "serving" serve.log 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' serve.log | head -1); cat serve.log
curl -sf "${URL}api/v1/products/verification?code=https%3A%2F%2Fid.gs1.org%2F01%2F09421902960055%2F21%2FMP-000731" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("GET /api/v1/products/verification:", "verified" if d["verified"] else "NOT verified", {r: v["verdict"] for r, v in d["recognition"].items()})'
curl -sf -o /dev/null -w "GET /01/09421902960055/21/MP-000731 (the consumer page): HTTP %{http_code}, %{content_type}\n" "${URL}01/09421902960055/21/MP-000731"
curl -sf -o milk-qr.svg -w "GET /qr/01/09421902960055/21/MP-000731 (label QR code): HTTP %{http_code}, %{content_type}, saved milk-qr.svg\n" "${URL}qr/01/09421902960055/21/MP-000731"
curl -sf "${URL}checkpoint" | head -2

step "15c. Remote users: an inspector in Hong Kong and a consumer use the CLI against the server (--server); a regulator mirrors it"
export SUYUAN_HOME="$PWD/home"
run verify "$MILK" --server "${URL%/}" --server-key "$OPV" --json \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("verify --server:", "verified" if d["verified"] else "NOT verified", {r: v["verdict"] for r, v in d["recognition"].items()})'
run notice --server "${URL%/}" --key hk.key --level notice --title "Remote notice" --text "Recorded through the server; the entry was proved included before this printed." --category infant-formula
run mirror --from "${URL%/}" --ledger replica.ledger --trust "$OPV"
run audit --ledger replica.ledger --quiet
kill $SERVER; wait $SERVER 2>/dev/null || true; trap - EXIT

step "16. The regulator's audit of the whole ledger, registry rules included"
run audit --trusted-checkpoint checkpoint-1.txt --quiet

step "17. Backup"
run backup suyuan-backup.ledger
echo
echo "Done. The ledger is $SUYUAN_LEDGER; keys and files are in $PWD."
