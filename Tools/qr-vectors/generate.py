#!/usr/bin/env python3
"""Writes Specs/vectors/qr.json: QR Code symbols made by segno, an independent encoder.

Every symbol is QR Code Model 2, byte mode over the UTF-8 bytes of the text, without ECI, at
the given error-correction level (never boosted), in the smallest version that holds it. For
each text and level the file records segno's version, the mask segno chose by its penalty
rules, and the module matrix (without quiet zone) as rows of '0' (light) and '1' (dark).
A few extra entries force each of the eight masks on two texts.

One correction is made to segno before use. segno (up to at least 1.6.6) appends eight zero
bits after the terminator when the bit stream already ends on a codeword boundary, which is
always the case in byte mode with a full terminator; ISO/IEC 18004:2015 7.4.10 adds padding
bits only to reach a boundary, so the pad codewords 0xEC 0x11 must follow at once
(https://github.com/heuer/segno/issues/123, /issues/148). The symbols still decode, but they
are not the standard's. `write_padding_bits` is replaced by the standard rule; everything else
(capacities, blocks, Reed-Solomon, placement, masks and their penalties, format and version
information) is segno's own.

    pip install segno
    python3 Tools/qr-vectors/generate.py

The Swift tests read the JSON only; they need neither Python nor segno.
"""
import json
import pathlib

import segno
from segno import encoder


def _standard_padding_bits(buff, version, length):
    """Zero bits up to the next codeword boundary, none if already there (7.4.10)."""
    if version not in (segno.consts.VERSION_M1, segno.consts.VERSION_M3):
        buff.extend([0] * (-length % 8))


def _probe():
    """The text "A" at 1-L: 20 data bits and a 4-bit terminator end on a codeword boundary."""
    return segno.make("A", error="L", mode="byte", mask=0, micro=False, boost_error=False).matrix


_before = _probe()
encoder.write_padding_bits = _standard_padding_bits
# True while segno still has the extra codeword (the replacement is harmless once it is fixed).
PATCHED = _before != _probe()

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Specs" / "vectors" / "qr.json"

LONG_URI = (
    "https://id.gs1.org/01/09421902960055/10/LOT-2025-11-07-A/21/MP-000731"
    "?17=271107&11=251107&3103=000900&linkType=gs1:traceability"
    "&lang=zh-CN"
    "&origin=NZ-Waikato-Farm-0042&route=NZ-AKL.CN-SHA.HK-HKG"
    "&checkpoint=hk.example%2Fledger%2B8d66cf3f&size=20852163"
)
assert 240 <= len(LONG_URI.encode("utf-8")) <= 260, len(LONG_URI.encode("utf-8"))

TEXTS = [
    "A",
    "1",
    "https://id.gs1.org/01/09421902960055",
    "https://id.gs1.org/01/09421902960055/21/MP-000731",
    "https://id.gs1.org/01/03760123450005/10/CUVEE-2019",
    "https://wine.example.fr/01/03760123450005/10/Cuvée-2019/21/B0042",
    "https://suyuan.example/01/06901234567892/21/葡萄酒-7",
    "https://id.gs1.org/00/094219020000000012",
    "https://id.gs1.org/414/9421902000017/254/DOCK-3",
    "HTTPS://ID.GS1.ORG/01/09421902960055/21/MP-000731",
    "(01)09421902960055(21)MP-000731",
    "010942190296005521MP-000731",
    "0109421902960055",
    "urn:epc:id:sgtin:9421902.096005.MP-000731",
    "奶粉 · 新西兰",
    "14 bytes: v1-M",
    "15 bytes: v2-M!",
    "https://example.com/01/09421902960055/10/ABC123?17=261130",
    LONG_URI,
    LONG_URI + "&note=" + "x" * 40,
]

LEVELS = ["L", "M", "Q", "H"]

# Texts for which every mask is forced: version 3 at level M, and version 16 at level H (with version information).
FORCED = [("https://id.gs1.org/01/09421902960055", "M"), (LONG_URI, "H")]

# One symbol of the largest version: 2953 bytes at level L fill version 40 exactly.
LARGEST = ("https://id.gs1.org/01/09421902960055?pad=" + "0123456789abcdef" * 200)[:2953]


def make(text, level, mask=None):
    return segno.make(text, error=level, mode="byte", encoding="utf-8", mask=mask,
                      micro=False, boost_error=False, eci=False)


def rows(qr):
    return ["".join("1" if m else "0" for m in row) for row in qr.matrix]


def entry(text, level, forced_mask=None):
    qr = make(text, level, forced_mask)
    assert qr.error == level, (qr.error, level)
    assert qr.mode == "byte", qr.mode
    return {
        "text": text,
        "bytes": len(text.encode("utf-8")),
        "level": level,
        "version": qr.version,
        "mask": qr.mask,
        "maskForced": forced_mask is not None,
        "matrix": rows(qr),
    }


def main():
    vectors = [entry(t, lv) for t in TEXTS for lv in LEVELS]
    vectors += [entry(t, lv, m) for (t, lv) in FORCED for m in range(8)]
    vectors.append(entry(LARGEST, "L"))
    doc = {
        "description": "QR Code Model 2 symbols from segno " + segno.__version__
                       + ": byte mode over UTF-8, no ECI, level not boosted, smallest version. "
                       + "matrix rows are top to bottom, '1' = dark, no quiet zone. "
                       + "mask is segno's automatic choice unless maskForced. "
                       + "segno's padding after the terminator is corrected to ISO/IEC 18004:2015 7.4.10 "
                       + "(see the generator).",
        "generator": "Tools/qr-vectors/generate.py",
        "segnoPaddingCorrected": PATCHED,
        "vectors": vectors,
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(vectors)} vectors -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
