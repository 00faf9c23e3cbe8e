"""``tongban bench licence``: runs in a throw-away database and prints the agreed JSON keys
(figures are reported, never asserted), and reads ``openssl speed`` output."""

from __future__ import annotations

from pathlib import Path

from tests.test_bench import only_json_object, run_bench
from tongban.bench.licence import _ED25519_LINE, _SPEED_LINE


def test_licence_benchmark_json(tmp_path: Path) -> None:
    done = run_bench(
        tmp_path,
        "licence",
        "--json",
        "--crypto-seconds",
        "1",
        "--requests",
        "20",
        "--licences",
        "6",
    )
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert result["benchmark"] == "licence"
    for key in (
        "sm2_verify_per_s",
        "sm2_sign_per_s",
        "openssl_sm2_verify_per_s",
        "sm2_verify_ratio_vs_openssl",
        "ed25519_verify_per_s",
        "openssl_ed25519_verify_per_s",
        "ed25519_verify_ratio_vs_openssl",
        "verify_api_p99_ms",
        "static_code_chars_max",
        "static_qr_version_max",
    ):
        assert key in result, key
    assert result["sm2_verify_per_s"] > 0
    assert result["verify_api_requests"] == 20


def test_openssl_speed_line_is_read() -> None:
    line = " 256 bits SM2 (CurveSM2)   0.0003s   0.0003s   3063.6   3325.0"
    match = _SPEED_LINE.search(line)
    assert match is not None
    assert (float(match.group(1)), float(match.group(2))) == (3063.6, 3325.0)


def test_openssl_ed25519_line_is_read() -> None:
    line = " 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  22212.0   8765.0"
    match = _ED25519_LINE.search(line)
    assert match is not None
    assert (float(match.group(1)), float(match.group(2))) == (22212.0, 8765.0)
