// The consumer page served for GS1 Digital Link URIs, and its assets. Everything is served by Suyuan
// itself: no external script, font or stylesheet. The page verifies the product's offline bundle in the
// browser (WebCrypto Ed25519 and SHA-256): see Specs/bundle.md and Specs/http-api.md.

enum ConsumerPage {
    /// Scripts and styles only from this server; data only from this server.
    static let csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'"

    static func html(code: String, operatorKey: String, bundleURL: String) -> String {
        let path = code.hasPrefix(ProductCodePrefix.value) ? String(code.dropFirst(ProductCodePrefix.value.count)) : ""
        return #"""
<!doctype html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>溯源 Suyuan — 产品验证 Product verification</title>
<link rel="stylesheet" href="/assets/suyuan.css">
</head>
<body data-code="\#(attr(code))" data-vkey="\#(attr(operatorKey))" data-bundle="\#(attr(bundleURL))">
<header>
<h1>溯源 Suyuan <span class="en">product verification</span></h1>
<p id="code">\#(text(code))</p>
</header>
<section id="status" class="status" data-state="pending">正在本机验证… Verifying on this device…</section>
<section id="warnings"></section>
<section><h2>三地互认 Recognition in Guangdong, Hong Kong and Macao</h2><p class="en">一次认证、一次检测、三地通行 — one certification, one test, three regions.</p><div id="recognition"></div></section>
<section><h2>旅程 Journey</h2><ol id="timeline"></ol></section>
<section><h2>检测 Inspections</h2><div id="attestations"></div></section>
<section><h2>完整性 Integrity</h2><div id="integrity"></div>
<p class="en">The checkpoint signature (Ed25519) and every inclusion proof are checked by this page in your browser. The recognition verdicts are computed by the ledger service; check them yourself offline with <code>suyuan verify --bundle</code>.</p>
<p><a id="qr" href="/qr\#(text(path))">QR code label 二维码标签</a></p></section>
<script type="module" src="/assets/page.js"></script>
</body>
</html>
"""#
    }

    static func text(_ s: String) -> String {
        s.replacingAll(["&": "&amp;", "<": "&lt;", ">": "&gt;"])
    }

    static func attr(_ s: String) -> String {
        s.replacingAll(["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"])
    }

    static let assets: [String: (type: String, body: String)] = [
        "verify.js": ("text/javascript; charset=utf-8", verifyJS),
        "page.js": ("text/javascript; charset=utf-8", pageJS),
        "suyuan.css": ("text/css; charset=utf-8", css),
    ]

    static let verifyJS = #"""
// Suyuan offline-bundle verification in the browser (and in Node ≥ 20): checks the checkpoint's
// Ed25519 signature (WebCrypto) and every entry's RFC 6962 inclusion proof, then checks that each
// event and attestation the report shows is one of the verified entries. See Specs/bundle.md.
const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

export function b64(s) { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
function equal(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }
async function sha256(bytes) { return new Uint8Array(await subtle.digest("SHA-256", bytes)); }
const leafHash = (entry) => sha256(concat([0], entry));
const nodeHash = (l, r) => sha256(concat([1], l, r));

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to. */
export async function rootFromInclusionProof(index, size, leaf, proof) {
  if (!(index < size)) throw new Error(`index ${index} is not below the tree size ${size}`);
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new Error("the inclusion proof is too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the inclusion proof is too short");
  return r;
}

/** Parses a verifier key `name+hex8+base64(0x01‖pub)` (C2SP signed-note). */
export async function parseVerifierKey(vkey) {
  const parts = vkey.split("+");
  if (parts.length !== 3) throw new Error("a verifier key is name+keyid+key");
  const [name, idHex, keyB64] = parts;
  const raw = b64(keyB64);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error("only Ed25519 verifier keys are supported");
  const pub = raw.slice(1);
  const id = (await sha256(concat(enc.encode(name), [0x0a, 0x01], pub))).slice(0, 4);
  const hex = Array.from(id, (x) => x.toString(16).padStart(2, "0")).join("");
  if (hex !== idHex) throw new Error("the verifier key's key ID does not match its key");
  const key = await subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
  return { name, id, key };
}

/** Verifies a C2SP signed note with one trusted key and returns its checkpoint (origin, size, root). */
export async function verifyCheckpoint(note, vkey) {
  const k = await parseVerifierKey(vkey);
  const split = note.indexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("the checkpoint is not a signed note");
  const text = note.slice(0, split + 1);
  let verified = false;
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line) continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== k.name) continue;
    const sig = b64(m[2]);
    if (sig.length !== 68 || !equal(sig.slice(0, 4), k.id)) continue;
    if (!(await subtle.verify({ name: "Ed25519" }, k.key, sig.slice(4), enc.encode(text)))) {
      throw new Error("the checkpoint's signature by the trusted key does not verify");
    }
    verified = true;
  }
  if (!verified) throw new Error("the checkpoint is not signed by the trusted operator key");
  const lines = text.split("\n");
  const size = Number(lines[1]);
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1]) || !Number.isSafeInteger(size)) throw new Error("bad checkpoint size");
  const root = b64(lines[2]);
  if (root.length !== 32) throw new Error("bad checkpoint root");
  return { origin: lines[0], size, root };
}

/**
 * Verifies a bundle (Specs/bundle.md) against the trusted operator key. Returns
 * {ok, failures, checkpoint, entries (index → parsed entry), report}.
 */
export async function verifyBundle(bundle, vkey) {
  const failures = [];
  let cp;
  try { cp = await verifyCheckpoint(bundle.checkpoint, vkey); } catch (e) {
    return { ok: false, failures: [String(e.message || e)], entries: new Map(), report: bundle.report };
  }
  const entries = new Map();
  for (const item of bundle.entries || []) {
    try {
      const bytes = b64(item.entry);
      const root = await rootFromInclusionProof(item.index, cp.size, await leafHash(bytes), (item.proof || []).map(b64));
      if (!equal(root, cp.root)) throw new Error("its inclusion proof does not lead to the checkpoint's root");
      const parsed = JSON.parse(new TextDecoder().decode(bytes));
      if (parsed.index !== item.index) throw new Error(`it says it is entry ${parsed.index}`);
      entries.set(item.index, { bytes, parsed, text: new TextDecoder().decode(bytes) });
    } catch (e) {
      failures.push(`entry ${item.index}: ${e.message || e}`);
    }
  }
  const genesis = entries.get(0);
  if (!genesis) failures.push("the genesis entry does not verify");
  else if (genesis.parsed.statement.payload.origin !== cp.origin) failures.push("the genesis names another origin than the checkpoint");
  // Everything the report shows must come from a verified entry.
  const report = bundle.report;
  if (!report) failures.push("the bundle has no report to show");
  else {
    for (const ev of report.events || []) {
      const e = entries.get(ev.index);
      if (!e || !e.text.includes(ev.eventID)) failures.push(`the event shown at entry ${ev.index} is not a verified entry`);
    }
    for (const a of report.attestations || []) {
      const e = entries.get(a.index);
      if (!e || !e.text.includes(a.id)) failures.push(`the attestation shown at entry ${a.index} is not a verified entry`);
    }
    if (report.checkpoint && report.checkpoint.size !== cp.size) failures.push("the report names another checkpoint");
  }
  return { ok: failures.length === 0 && (report ? report.integrity.failures.length === 0 : false), failures, checkpoint: cp, entries, report };
}
"""#

    static let pageJS = #"""
// The consumer page: fetches the product's offline bundle, verifies it in the browser (verify.js) and
// renders the journey from the verified entries themselves, in Chinese and English.
import { verifyBundle } from "/assets/verify.js";

const STEPS = {
  commission: ["生产", "Produced"], pack: ["装箱", "Packed"], unpack: ["拆箱", "Unpacked"], ship: ["发运", "Shipped"],
  receive: ["收货", "Received"], transport: ["运输", "In transit"], "enter-bonded": ["入保税区", "Entered bonded zone"],
  hold: ["暂扣", "Held"], inspect: ["查验", "Inspected"], sample: ["抽样", "Sampled"], release: ["海关放行", "Customs release"],
  deliver: ["送达消费者", "Delivered"], sensor: ["温度记录", "Temperature reading"], recall: ["召回", "Recalled"],
  return: ["退货", "Returned"], destroy: ["销毁", "Destroyed"], correction: ["更正", "Correction"],
};
const VERDICT = { recognised: ["认可", "Recognised"], "not-recognised": ["不认可", "Not recognised"], indeterminate: ["无法判定", "Indeterminate"] };
const REGION = { GD: ["广东", "Guangdong"], HK: ["香港", "Hong Kong"], MO: ["澳门", "Macao"] };
const ZONES = { nansha: "南沙保税港区 Nansha Bonded Port Area", baiyun: "白云机场综合保税区 Baiyun Airport Comprehensive Bonded Zone", guangzhou: "广州保税区 Guangzhou Bonded Zone" };

const $ = (id) => document.getElementById(id);
function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const bi = ([zh, en]) => el("span", "bi", el("span", "zh", zh), " ", el("span", "en", en));

function fail(messages) {
  const s = $("status");
  s.dataset.state = "failed";
  s.className = "status failed";
  s.replaceChildren(el("strong", "", "✗ 验证失败 Verification failed"), el("ul", "", ...messages.map((m) => el("li", "", m))));
}

async function main() {
  const body = document.body.dataset;
  let bundle;
  try {
    const r = await fetch(body.bundle, { cache: "no-store" });
    if (!r.ok) throw new Error(`${r.status} ${(await r.json().catch(() => ({}))).error || r.statusText}`);
    bundle = await r.json();
  } catch (e) {
    return fail([`无法获取证明 Could not fetch the proof bundle: ${e.message || e}`]);
  }
  const v = await verifyBundle(bundle, body.vkey);
  const report = v.report || {};
  $("code").textContent = report.code || body.code;
  const problems = [...v.failures, ...(report.problems || [])];
  const s = $("status");
  if (v.failures.length) fail(v.failures);
  else if (!report.verified) {
    s.dataset.state = "warning";
    s.className = "status warning";
    s.replaceChildren(el("strong", "", "⚠ 请注意 Attention"), el("ul", "", ...problems.map((m) => el("li", "", m))));
  } else {
    s.dataset.state = "verified";
    s.className = "status verified";
    s.replaceChildren(el("strong", "", "✓ 已验证 Verified"),
      el("p", "", `${v.entries.size} 条记录的签名检查点和包含证明已在本机验证。 ${v.entries.size} entries proved in the operator's signed checkpoint, checked on this device.`));
  }
  const warn = $("warnings");
  if (report.recalled) warn.append(el("div", "warn recall", "⚠ 召回 RECALLED — ", report.recallReason || ""));
  if (report.coldChain === "excursion") warn.append(el("div", "warn cold", "⚠ 冷链温度超标 Cold-chain temperature excursion"));

  // Recognition in the three regions (computed by the ledger service; re-derivable with `suyuan verify --bundle`).
  const rec = $("recognition");
  for (const r of ["GD", "HK", "MO"]) {
    const x = (report.recognition || {})[r];
    if (!x) continue;
    rec.append(el("div", `verdict ${x.verdict}`, el("h3", "", bi(REGION[r]), " — ", bi(VERDICT[x.verdict] || [x.verdict, x.verdict])),
      el("ul", "", ...x.reasons.map((m) => el("li", "", m)))));
  }

  // The timeline, from the verified entries (only the signer's registered name comes from the report).
  const tl = $("timeline");
  for (const ev of report.events || []) {
    const entry = v.entries.get(ev.index);
    if (!entry) { tl.append(el("li", "event unverified", `✗ entry ${ev.index}: not verified`)); continue; }
    const e = entry.parsed.statement.payload.event;
    const place = e["suyuan:bondedZone"] ? ZONES[e["suyuan:bondedZone"]] : ((e.bizLocation || e.readPoint || {}).id || "");
    const li = el("li", `event${ev.retracted ? " retracted" : ""}`,
      el("time", "", e.eventTime), " ", el("b", "", bi(STEPS[ev.step] || [ev.step, ev.step])),
      place ? el("span", "place", " · ", place) : "", el("span", "who", " · ", ev.signer),
      el("span", "entry", ` #${ev.index}`));
    const ilmd = e.ilmd || {};
    if (ilmd["cbvmda:countryOfOrigin"]) li.append(el("div", "detail", `原产地 Origin ${ilmd["cbvmda:countryOfOrigin"]}, 批次 Lot ${ilmd["cbvmda:lotNumber"] || ""}`));
    for (const se of e.sensorElementList || []) for (const r of se.sensorReport || []) li.append(el("div", "detail", `温度 Temperature ${r.value} ${r.uom || ""}`));
    if (e["suyuan:customsRelease"]) li.append(el("div", "detail", `报关单 Declaration ${e["suyuan:customsRelease"].declarationNumber} (1210)`));
    tl.append(li);
  }
  const at = $("attestations");
  for (const a of report.attestations || []) {
    const ok = v.entries.has(a.index);
    at.append(el("div", `attestation${ok ? "" : " unverified"}`, el("b", "", `${a.category}: ${a.standard} — ${a.result === "pass" ? "合格 pass" : "不合格 fail"}`),
      el("div", "", `${a.body} · ${a.validFrom} · ${a.values.join(", ")}`)));
  }
  const cp = v.checkpoint;
  $("integrity").replaceChildren(cp ? el("p", "", `检查点 Checkpoint ${cp.origin} · size ${cp.size} · operator key ${body.vkey.split("+").slice(0, 2).join("+")}`)
                                    : el("p", "", "—"));
}

main().catch((e) => fail([String(e.message || e)]));
"""#

    static let css = #"""
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;max-width:46rem;margin:0 auto;padding:1rem;color:#1b1f23;background:#fafafa}
header h1{margin:.2rem 0;font-size:1.5rem}#code{font-family:ui-monospace,monospace;word-break:break-all;color:#555}
.status{padding:.8rem 1rem;border-radius:.5rem;margin:1rem 0;background:#eee}.status.verified{background:#e6f4ea;border:1px solid #34a853}
.status.failed{background:#fce8e6;border:1px solid #d93025}.status.warning{background:#fef7e0;border:1px solid #f9ab00}
.warn{padding:.6rem 1rem;margin:.4rem 0;border-radius:.4rem;background:#fce8e6;font-weight:600}
.verdict{padding:.4rem .8rem;margin:.4rem 0;border-left:.4rem solid #999;background:#fff}.verdict.recognised{border-color:#34a853}
.verdict.not-recognised{border-color:#d93025}.verdict.indeterminate{border-color:#f9ab00}.verdict h3{margin:.2rem 0;font-size:1rem}
ol#timeline{list-style:none;padding:0}.event{background:#fff;margin:.3rem 0;padding:.5rem .8rem;border-radius:.4rem}
.event time{font-family:ui-monospace,monospace;color:#555}.event.retracted{text-decoration:line-through;opacity:.6}
.detail{font-size:.9rem;color:#444;margin-left:1rem}.entry,.who,.place{color:#666;font-size:.9rem}.unverified{color:#d93025}
.attestation{background:#fff;padding:.5rem .8rem;margin:.3rem 0;border-radius:.4rem}.en{color:#555}
"""#
}

enum ProductCodePrefix {
    static let value = "https://id.gs1.org"
}

extension String {
    /// Replaces each character that is a key of `map` by its value.
    func replacingAll(_ map: [Character: String]) -> String {
        var out = ""
        for c in self { if let r = map[c] { out += r } else { out.append(c) } }
        return out
    }
}
