"""Fixed probe texts on which every graph change (export, fusion, quantization) is checked against its parent."""

from __future__ import annotations

# Fixed probes: an empty-ish text, a one-token text, text far longer than any max_seq_length, domain jargon,
# mixed scripts and punctuation, and texts of different lengths in one batch (padding must not leak).
PARITY_TEXTS: tuple[str, ...] = (
    " ",
    "pump",
    "Replace the mechanical seal on centrifugal pump P-101 if leakage exceeds 20 drops per minute. " * 60,
    "PLC alarm E-4711: encoder signal lost on axis 2; check the shielded cable and the 24 V DC supply.",
    "What are the symptoms of autosomal recessive hypophosphatemic rickets?",
    "Lubricate deep-groove ball bearings every 2,000 h with lithium-complex grease (NLGI 2).",
    "Ärztliche Schweigepflicht gilt auch für Daten in ISO-13485-Dokumenten — naïve café résumé 東京 😀",
    "Art. 6(1)(f) GDPR: legitimate interest; cf. Recital 47.",
    "?",
    "The   quick\tbrown\nfox",
)
