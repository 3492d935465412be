"""No input gets a 500 (issue 19.3): the seven causes a tester found, replayed, and a fuzzer over
the OpenAPI document's routes and every role, against the simulated hall's real server. Every
refusal is a 4xx with a stable code and a sentence, logged in one line, no traceback."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kioskd.api.server import OPENAPI
from kioskd.jsonlimits import JsonRefused, depth, loads
from kioskd.sim.scenario import token

ROLES = {"kiosk": {}, "clerk": {"window": 1}, "technician": {}, "none": None}


def headers(cfg, role: str, content_type: str | None = None) -> dict[str, str]:
    h = {} if ROLES[role] is None else {"Authorization": "Bearer " + token(cfg, role, **ROLES[role])}
    if content_type:
        h["Content-Type"] = content_type
    return h


async def send(http, hall, method, path, role, data=None, content_type="application/json"):
    async with http.request(method, hall.api_url + path, data=data,
                            headers=headers(hall.cfg, role, content_type)) as r:
        text = await r.text()
        return r.status, (json.loads(text) if r.content_type == "application/json" else text)


def test_the_json_reader_refuses_with_a_code():
    assert loads(b'{"a": [1, {"b": "[[[["}]}') == {"a": [1, {"b": "[[[["}]}
    assert depth('{"a": "{{{{", "b": [[]]}') == 3
    for data, code in [(b"\xff\xfe{}", "json.not_utf8"), (b"[" * 200_000 + b"]" * 200_000,
                                                          "json.too_deep"),
                       (b"{", "json.invalid"), (b" " * (2 << 20), "json.too_big")]:
        with pytest.raises(JsonRefused) as exc:
            loads(data)
        assert exc.value.code == code and isinstance(exc.value, ValueError)


async def test_the_seven_causes_of_a_500(sim, kioskd_log):
    hall = sim.hall
    deep = b'{"category": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    cases = [
        ("POST", "/api/tickets", "kiosk", b'{"category": "\xff\xfe"}', None, 400, "request.not_utf8"),
        ("POST", "/api/tickets", "kiosk", deep, None, 400, "request.too_deep"),
        ("POST", "/api/tickets", "kiosk", b'{"category": "A"}', "application/json; charset=klingon",
         415, "request.charset"),
        ("POST", "/api/tickets", "kiosk", b'{"category": "A", "kiosk": ["kiosk-1"]}', None, 400,
         "request.kiosk"),
        ("POST", "/api/appointments", "technician", json.dumps({"version": "v1", "items": [
            {"code": "X1", "category": "B", "start": "2026-11-24T11:00:00+08:00",
             "end": "2026-11-24T12:00:00"}]}).encode(), None, 400, "appointments.item"),
        ("POST", "/api/windows/²/call-next", "technician", b"{}", None, 404, "window.unknown"),
        ("POST", "/api/windows/" + "9" * 5000 + "/call-next", "technician", b"{}", None, 404,
         "window.unknown"),
        ("POST", "/api/windows/²/rating", "clerk", b'{"level": 5}', None, 403, "rating.pad_only"),
        ("POST", "/api/devices/printer-k1/print", "technician", b'{"ticket": {"number": 1}}', None,
         404, "device.command_unknown"),
        ("POST", "/api/windows/1/sign-in", "technician", json.dumps({"clerk": "x" * 100_000}).encode(),
         None, 400, "request.clerk"),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path, role, data, ctype, want, code in cases:
            status, body = await send(http, hall, method, path, role, data,
                                      ctype or "application/json")
            assert (status, body["error"]) == (want, code), (path[:40], status, body)
            assert body["message"]
    log = kioskd_log.text
    assert "Traceback" not in log and "Error handling request" not in log
    assert len(re.findall(r"api: POST /api/\S+ refused: \d+ \S+", log)) >= len(cases)


def _paths() -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, ops in OPENAPI["paths"].items() for m in ops
            if p != "/api/events"]  # the WebSocket has its own test


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4), max_leaves=12)
fields = st.sampled_from(["category", "kiosk", "priority", "code", "ticket", "to_category",
                          "to_window", "case_no", "clerk", "version", "items", "text", "level"])
bodies = st.one_of(
    st.dictionaries(fields, json_values, max_size=5).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64))
segments = st.one_of(st.sampled_from(["1", "3", "A001", "kiosk-1", "printer-k1", "board-w1",
                                      "pad-w1", "0", "²", "-1", "99999", "call-next", "status",
                                      "frames", "%00", "..", "print"]),
                     st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                                    blacklist_characters="/?#"), min_size=1,
                             max_size=12))


@pytest.mark.timeout(600)
@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(_paths()), role=st.sampled_from(sorted(ROLES)), body=bodies,
       ctype=st.sampled_from(["application/json", "application/json; charset=latin-1",
                              "text/plain", "application/json; charset=utf-8"]),
       fill=st.lists(segments, min_size=3, max_size=3), query=st.sampled_from(["", "?n=abc",
                                                                               "?n=-5", "?n=10"]))
async def test_no_route_answers_500_to_any_body_or_role(sim, route, role, body, ctype, fill,
                                                      query):
    method, path = route
    params = iter(fill)
    path = re.sub(r"\{[^}]+\}", lambda _m: next(params), path)
    async with aiohttp.ClientSession() as http:
        async with http.request(method, sim.hall.api_url + path + query, data=body,
                                headers=headers(sim.hall.cfg, role, ctype)) as r:
            text = await r.text()
            assert r.status < 500, (method, path, role, body[:80], r.status, text[:300])
            if r.status >= 400 and r.content_type == "application/json":
                answer = json.loads(text)
                assert answer["error"] and answer["message"], answer
