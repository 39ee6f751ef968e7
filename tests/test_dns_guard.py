"""No test or benchmark sends a DNS query off this machine.

Every gateway config the helpers build (`tests/gateway.write_config`, `stage_context`, the scale
tests' and benchmarks' configs, the web tests' settings) must point `[trust] dns_servers` at a
loopback server: left empty, the sender check would ask the machine's resolver for every test
mail's domain. A file under tests/ or bench/ that writes a gateway config of its own must go
through `tests.dnsstub.loopback_dns` (or be listed here with the reason it needs no resolver).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import dns.resolver

from intake.settings import Settings, load_settings
from tests import browser, dnsstub, gateway
from tests.dnsstub import dns_env, loopback_dns, shared_stub
from tests.store_fixtures import stage_context

ROOT = Path(__file__).resolve().parents[1]

# Files that write config sections but never start the pipeline, a daemon or the review page.
NO_RESOLVER_NEEDED = {
    "tests/test_settings.py": "parses settings only",
    "tests/test_sources.py": "runs the sources alone (IMAP, listener, fax folder): no sender check",
    "tests/test_dns_guard.py": "this file",
}


def _assert_loopback(settings: Settings, where: str) -> None:
    servers = settings.trust.dns_servers
    assert servers, f"{where}: [trust] dns_servers is unset, the sender check would use the machine's resolver"
    for server in servers:
        assert ipaddress.ip_address(server).is_loopback, f"{where}: DNS server {server} is not on loopback"


def test_gateway_configs_of_the_helpers_use_a_loopback_dns_stub(tmp_path: Path) -> None:
    plain = gateway.write_config(tmp_path, dovecot=None, sink=None)
    _assert_loopback(load_settings(plain), "write_config()")
    own_trust = tmp_path / "own"
    own_trust.mkdir()
    trusting = gateway.write_config(own_trust, dovecot=None, sink=None,
                                    extra='[trust]\nauthserv_id = "mx.ours.example"\n')
    settings = load_settings(trusting)
    _assert_loopback(settings, "write_config(extra='[trust] ...')")
    assert settings.trust.authserv_id == "mx.ours.example"  # the caller's table kept, the keys added
    (tmp_path / "stage").mkdir()
    ctx = stage_context(tmp_path / "stage")
    try:
        _assert_loopback(ctx.settings, "stage_context()")
    finally:
        ctx.store.dispose()
    _assert_loopback(browser.web_settings(tmp_path), "tests.browser.web_settings()")
    # The scale tests' configs (imported here: its module needs no server to import).
    from tests import test_scale

    scale = test_scale.write_config(tmp_path / "w.toml", tmp_path / "shared", url="postgresql+psycopg://nobody@127.0.0.1:5432/none",
                                    role="worker", sink=None)
    _assert_loopback(load_settings(scale), "tests/test_scale.write_config()")


def test_loopback_dns_merges_into_a_trust_table_and_keeps_a_callers_servers() -> None:
    stub = shared_stub()
    assert loopback_dns('[trust]\ndns_servers = ["127.0.0.9"]\n') == '[trust]\ndns_servers = ["127.0.0.9"]\n'
    merged = loopback_dns("[trust]\nflag_unverified = false\n[web]\nport = 1\n")
    assert merged.startswith(f'[trust]\ndns_servers = ["127.0.0.1"]\ndns_port = {stub.port}\nflag_unverified')
    assert dns_env()["COC_INTAKE_TRUST__DNS_PORT"] == str(stub.port)
    # The shared stub is a real DNS server: it answers, and says NXDOMAIN for names nobody added.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = [stub.host], stub.port, 5
    try:
        resolver.resolve("acme.example.", "TXT")
        raise AssertionError("the shared stub answered a name nobody added")
    except dns.resolver.NXDOMAIN:
        pass
    assert ("acme.example", "TXT") in stub.resolver.queries


def test_every_config_writer_under_tests_and_bench_goes_through_loopback_dns() -> None:
    """A new helper that writes `[store]`/`[paths]`/`[smtp_listener]` tables without `loopback_dns`
    would start the gateway on the machine's resolver: name it here."""
    offenders = []
    for path in sorted([*ROOT.glob("tests/*.py"), *ROOT.glob("bench/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if rel in NO_RESOLVER_NEEDED or rel == "tests/dnsstub.py":
            continue
        writes_config = re.search(r"^\[(store|paths|smtp_listener)\]", text, re.M) or "[paths]\\n" in text
        if writes_config and "loopback_dns" not in text:
            offenders.append(rel)
    assert offenders == [], f"config writers without tests.dnsstub.loopback_dns: {offenders}"
    assert ipaddress.ip_address(dnsstub.DnsStub.host).is_loopback
