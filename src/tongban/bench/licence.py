"""``tongban bench licence``: e-seal signature rates and the verification API latency.

SM2/SM3 (through OpenSSL's libcrypto, with the GB/T 35276 default user ID) and Ed25519 sign and
verify rates per core are measured as operations per second of **process CPU time**, the same
divisor ``openssl speed`` uses (user CPU time), so a busy shared machine does not distort the
ratio; ``openssl speed -seconds N sm2 ed25519`` runs in the same benchmark, before and after
ours, and the better of its two runs is the peer figure (Ed25519 is verified by libsodium, so its
ratio compares libsodium with OpenSSL on the same core). The message signed is a real COSE Sig_structure
of a licence QR code. Then the public ``POST /api/v1/licences/verify`` is timed through Django's
test client (routing, middleware, JSON, database lookups of key, licence and status list) on
static codes of many licences, and the size distribution of the QR texts is reported.
Targets: SM2 verify ≥ 50 % of OpenSSL's rate, Ed25519 verify ≥ 10,000/s, API p99 ≤ 20 ms.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.test import Client

from tongban.bench.base import Benchmark, Log, Option, Stopwatch, benchmarks, percentiles
from tongban.licences import cose, qr, tokens
from tongban.licences.crypto import algorithms

VERIFY_URL = "/api/v1/licences/verify"
_SPEED_LINE = re.compile(r"256 bits SM2 \(CurveSM2\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)")
_ED25519_LINE = re.compile(r"253 bits EdDSA \(Ed25519\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)")


def cpu_rate(operation: Callable[[], Any], seconds: float) -> float:
    """Operations per CPU second, running ``operation`` for about ``seconds`` of CPU time."""
    for _ in range(20):  # warm-up
        operation()
    count = 0
    started = time.process_time()
    while True:
        for _ in range(50):
            operation()
        count += 50
        spent = time.process_time() - started
        if spent >= seconds:
            return count / spent


def openssl_speed(seconds: int, log: Log) -> dict[str, tuple[float, float]] | None:
    """{"sm2": (sign/s, verify/s), "ed25519": (…)} from ``openssl speed -seconds N sm2
    ed25519``, or None without openssl."""
    binary = shutil.which("openssl")
    if binary is None:
        log("openssl not found: no peer figures")
        return None
    result = subprocess.run(  # noqa: S603 - the openssl binary with fixed arguments
        [binary, "speed", "-seconds", str(seconds), "sm2", "ed25519"],
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds * 8 + 60,
    )
    found = {}
    for name, pattern in (("sm2", _SPEED_LINE), ("ed25519", _ED25519_LINE)):
        match = pattern.search(result.stdout)
        if match is None:
            log(f"could not read openssl speed {name} output: {result.stdout[-300:]!r}")
            return None
        found[name] = (float(match.group(1)), float(match.group(2)))
    return found


def _message() -> bytes:
    protected = cose.protected_header(algorithms.COSE_ALG_SM2_SM3, b"\x01" * 8)
    payload = b"\xaa" * 150  # the size of a real claims map
    return cose.sig_structure(protected, payload)


def _rates(algorithm: str, seconds: float) -> tuple[float, float]:
    private = algorithms.generate(algorithm)
    public = algorithms.load_public(algorithm, private.public_der())
    message = _message()
    signature = private.sign(message)
    assert public.verify(message, signature)
    sign = cpu_rate(lambda: private.sign(message), seconds)
    verify = cpu_rate(lambda: public.verify(message, signature), seconds)
    return sign, verify


def _licences(count: int, log: Log) -> list[Any]:
    from tongban.identity.models import Department, Division, Enterprise, Person
    from tongban.licences import services
    from tongban.licences.models import HolderKind, LicenceType

    division = Division.objects.create(code="339900", name="基准市", level="city")
    department = Department.objects.create(
        code="BENCH-SCJG", name="基准市场监管局", division=division
    )
    licence_type = LicenceType.objects.create(
        code="LT-BENCH-LICENCE",
        name="基准营业执照",
        number_prefix="JZ",
        department=department,
        holder_kind=HolderKind.EITHER,
        validity_months=60,
    )
    from tongban.core.identifiers import id_number_check_char, org_code_check_char, uscc_check_char

    made = []
    names = ["王芳", "欧阳明月", "李娜", "司马相如"]
    for n in range(count):
        if n % 2:
            body = f"33990019{70 + n % 30:02d}0101{n % 1000:03d}"
            person = Person.objects.create(
                id_number=body + id_number_check_char(body),
                name=names[n % len(names)],
                gender="male",
                birth_date="1970-01-01",
            )
            made.append(services.do_issue(licence_type, holder_person=person, data={"n": n}))
        else:
            organisation = f"{n + 10:08d}"
            body = "91339900" + organisation + org_code_check_char(organisation)
            enterprise = Enterprise.objects.create(
                uscc=body + uscc_check_char(body),
                name=f"基准{'示例' * (n % 6)}科技有限公司{n}",
                kind="company",
                division=division,
            )
            made.append(services.do_issue(licence_type, holder_enterprise=enterprise, data={}))
    log(f"issued {count} licences")
    return made


def _distribution(values: list[int], prefix: str) -> dict[str, float]:
    return {
        f"{prefix}_min": min(values),
        f"{prefix}_median": statistics.median(values),
        f"{prefix}_max": max(values),
    }


@benchmarks.register("licence")
class LicenceBenchmark(Benchmark):
    summary = (
        "SM2/SM3 and Ed25519 sign/verify per core beside `openssl speed sm2 ed25519`; "
        "POST /api/v1/licences/verify p99 (targets: ≥ 50 % of OpenSSL, ≤ 20 ms)"
    )
    options = {
        "crypto_seconds": Option(int, 3, "CPU seconds per signature measurement and openssl run"),
        "requests": Option(int, 1000, "timed verification requests"),
        "licences": Option(int, 100, "licences issued for the API run"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        seconds = options["crypto_seconds"]
        result: dict[str, Any] = {"benchmark": "licence"}
        log(f"openssl speed -seconds {seconds} sm2 ed25519 …")
        before = openssl_speed(seconds, log)
        log("SM2 and Ed25519 in tongban …")
        sm2_sign, sm2_verify = _rates(algorithms.SM2, seconds)
        ed_sign, ed_verify = _rates(algorithms.ED25519, seconds)
        after = openssl_speed(seconds, log)
        result["sm2_sign_per_s"] = round(sm2_sign, 1)
        result["sm2_verify_per_s"] = round(sm2_verify, 1)
        result["ed25519_sign_per_s"] = round(ed_sign, 1)
        result["ed25519_verify_per_s"] = round(ed_verify, 1)
        peers = [p for p in (before, after) if p is not None]
        ours = {"sm2": (sm2_sign, sm2_verify), "ed25519": (ed_sign, ed_verify)}
        for name, (sign, verify) in ours.items():
            if not peers:
                result[f"openssl_{name}_verify_per_s"] = None
                result[f"{name}_verify_ratio_vs_openssl"] = None
                continue
            peer_sign = max(p[name][0] for p in peers)
            peer_verify = max(p[name][1] for p in peers)
            result[f"openssl_{name}_sign_per_s"] = peer_sign
            result[f"openssl_{name}_verify_per_s"] = peer_verify
            result[f"{name}_sign_ratio_vs_openssl"] = round(sign / peer_sign, 3)
            result[f"{name}_verify_ratio_vs_openssl"] = round(verify / peer_verify, 3)
        result["openssl_runs"] = [{k: list(v) for k, v in p.items()} for p in peers]

        licences = _licences(options["licences"], log)
        static = [tokens.make_token(lic) for lic in licences]
        dynamic = [tokens.make_token(lic, dynamic=True) for lic in licences[:20]]
        result.update(_distribution([len(t) for t in static], "static_code_chars"))
        result.update(_distribution([len(t) for t in dynamic], "dynamic_code_chars"))
        result.update(_distribution([qr.version_of(t) for t in static], "static_qr_version"))
        client = Client()
        for text in static[:20]:  # warm-up, and a check that they verify
            body = client.post(VERIFY_URL, json.dumps({"text": text}), "application/json").json()
            if body.get("verdict") != "valid":
                raise RuntimeError(f"a fresh code did not verify: {body}")
        watch = Stopwatch()
        cpu_started = time.process_time()
        for n in range(options["requests"]):
            payload = json.dumps({"text": static[n % len(static)]})
            watch.time(partial(client.post, VERIFY_URL, payload, "application/json"))
        cpu_ms = (time.process_time() - cpu_started) * 1000 / options["requests"]
        result.update(percentiles(watch.samples_ms, "verify_api_"))
        # CPU time per request: what the latency would be on an idle core (shared machines)
        result["verify_api_cpu_ms_per_request"] = round(cpu_ms, 3)
        result["verify_api_requests"] = options["requests"]
        return result
